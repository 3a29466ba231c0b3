// Parsing and validation of native WebSocket commands (WEBSOCKET-README.md). Pure: text in,
// a typed command or a precise error out. Nothing here touches the engine, so nothing a client
// sends can change state before it passed every check below.
//
// Rules (the spec's `<integer>` / `<boolean>` / `<string>` fields, strictly):
//  - the frame must be a JSON object with a known string `method`;
//  - every field must belong to the method (an unknown field is an error, not silently ignored);
//  - integers must be safe integers (|x| <= 2^53 - 1) written as exact integers: "1e3" and
//    "5.0" are accepted (they are integers), "1.5" or "0.99999999999999999" (which JSON.parse
//    would round to 1) are not;
//  - an optional field given as null counts as omitted;
//  - `tag` is echoed iff it is a non-zero integer; a malformed tag is reported and not echoed.
import type { MethodName, Persist } from '../../client/types.js';
import { METHOD_NAMES } from '../../client/types.js';
import { decodeBase64Strict } from '../../auth/base64.js';
import { NONCE_BYTES } from '../../auth/secp224k1.js';

export interface AuthenticateCmd {
  method: 'Authenticate';
  userId: number;
  cookie: string;
  /** Decoded 16-byte client nonce. */
  nonce: Buffer;
  /** r and s as sent; verifyChallenge checks their encoding. */
  signature: [string, string];
}
export interface PlainCmd {
  method: 'GetBalances' | 'GetOrders' | 'CancelAllOrders';
}
export interface EstimateCmd {
  method: 'EstimateMarketOrder';
  base: number;
  counter: number;
  quantity?: number;
  total?: number;
}
export interface PlaceOrderCmd {
  method: 'PlaceOrder';
  tonce?: number;
  base: number;
  counter: number;
  quantity?: number;
  price?: number;
  total?: number;
  persist?: Persist;
  postOnly?: boolean;
}
export interface ModifyOrderCmd {
  method: 'ModifyOrder';
  id?: number;
  tonce?: number;
  quantityDelta?: number;
  price?: number;
  postOnly?: boolean;
}
export interface CancelOrderCmd {
  method: 'CancelOrder';
  id?: number;
  tonce?: number;
}
export interface TradeVolumeCmd {
  method: 'GetTradeVolume';
  asset: number;
}
export interface WatchCmd {
  method: 'WatchOrders' | 'WatchTicker';
  base: number;
  counter: number;
  watch: boolean;
}

export type NativeCommand =
  | AuthenticateCmd
  | PlainCmd
  | EstimateCmd
  | PlaceOrderCmd
  | ModifyOrderCmd
  | CancelOrderCmd
  | TradeVolumeCmd
  | WatchCmd;

export type ParseResult =
  | { ok: true; tag: number; cmd: NativeCommand }
  | { ok: false; tag: number; message: string };

type Kind = 'int' | 'bool' | 'string' | 'persist' | 'signature';
interface FieldSpec {
  kind: Kind;
  required: boolean;
}
const req = (kind: Kind): FieldSpec => ({ kind, required: true });
const opt = (kind: Kind): FieldSpec => ({ kind, required: false });

/** Fields each method accepts besides `tag` and `method`, in the spec's order. */
export const FIELDS: Record<MethodName, Record<string, FieldSpec>> = {
  Authenticate: { user_id: req('int'), cookie: req('string'), nonce: req('string'), signature: req('signature') },
  GetBalances: {},
  GetOrders: {},
  EstimateMarketOrder: { base: req('int'), counter: req('int'), quantity: opt('int'), total: opt('int') },
  PlaceOrder: {
    tonce: opt('int'),
    base: req('int'),
    counter: req('int'),
    quantity: opt('int'),
    price: opt('int'),
    total: opt('int'),
    persist: opt('persist'),
    post_only: opt('bool'),
  },
  ModifyOrder: { id: opt('int'), tonce: opt('int'), quantity_delta: opt('int'), price: opt('int'), post_only: opt('bool') },
  CancelOrder: { id: opt('int'), tonce: opt('int') },
  CancelAllOrders: {},
  GetTradeVolume: { asset: req('int') },
  WatchOrders: { base: req('int'), counter: req('int'), watch: req('bool') },
  WatchTicker: { base: req('int'), counter: req('int'), watch: req('bool') },
};

const METHODS = new Set<string>(METHOD_NAMES);
/** FIELDS[m] as [name, spec] pairs, and its names, computed once. */
const FIELD_LIST = Object.fromEntries(Object.entries(FIELDS).map(([m, spec]) => [m, Object.entries(spec)])) as Record<MethodName, [string, FieldSpec][]>;
const ALLOWED = Object.fromEntries(Object.entries(FIELDS).map(([m, spec]) => [m, Object.keys(spec)])) as Record<MethodName, string[]>;
/** A number literal with a fraction or an exponent has a digit right before its '.', 'e' or 'E'. */
const MAYBE_NON_INTEGER = /\d[.eE]/;
const MAX_SHOWN = 40;

/** A short, safe rendering of a client value for an error message. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'object':
      return 'an object';
    case 'string':
      return `string ${quote(v)}`;
    case 'number':
      return `number ${String(v)}`;
    case 'boolean':
      return String(v);
    default:
      return typeof v;
  }
}

/** A client-chosen string, truncated and JSON-quoted. */
function quote(s: string): string {
  return JSON.stringify(s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}…` : s);
}

/** A field name as error messages show it: 'price'. */
function name(key: string): string {
  return `'${quote(key).slice(1, -1)}'`;
}

function checkField(key: string, spec: FieldSpec, v: unknown): string | undefined {
  switch (spec.kind) {
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) return `Field ${name(key)} must be an integer, got ${describe(v)}.`;
      if (!Number.isSafeInteger(v)) {
        return `Field ${name(key)} is out of range: integers must lie between -9007199254740991 and 9007199254740991.`;
      }
      return undefined;
    case 'bool':
      return typeof v === 'boolean' ? undefined : `Field ${name(key)} must be a boolean, got ${describe(v)}.`;
    case 'string':
      return typeof v === 'string' ? undefined : `Field ${name(key)} must be a string, got ${describe(v)}.`;
    case 'persist':
      return typeof v === 'boolean' || v === 'fill_or_kill'
        ? undefined
        : `Field ${name(key)} must be true, false or "fill_or_kill", got ${describe(v)}.`;
    case 'signature':
      return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string'
        ? undefined
        : `Field ${name(key)} must be an array of two base64 strings (r and s), got ${describe(v)}.`;
  }
}

const NUMBER = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** True iff a JSON number literal denotes a mathematical integer (e.g. "1e3", "5.0"; not "1.5", "1e-1"). */
export function isIntegerLiteral(tok: string): boolean {
  const m = NUMBER.exec(tok);
  if (!m) return false;
  const digits = m[1] + (m[2] ?? '');
  let exp = m[3] === undefined ? 0 : Number(m[3]);
  if (!Number.isFinite(exp)) exp = m[3]!.startsWith('-') ? -Infinity : Infinity;
  // Position of the decimal point within `digits` once the exponent is applied.
  const point = m[1].length + exp;
  for (let i = Math.max(0, point); i < digits.length; i++) if (digits.charCodeAt(i) !== 48) return false;
  return true;
}

/**
 * The first number literal in a JSON text that is not an exact integer, or undefined. Only number
 * tokens outside strings are examined; the text is already known to be valid JSON.
 */
export function firstNonIntegerLiteral(text: string): string | undefined {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) break;
        else i++;
      }
      i++;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      let plain = true;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d >= 48 && d <= 57) i++;
        else if (d === 46 /* . */ || d === 101 /* e */ || d === 69 /* E */ || d === 43 /* + */ || d === 45) {
          plain = false;
          i++;
        } else break;
      }
      if (!plain) {
        const tok = text.slice(start, i);
        if (!isIntegerLiteral(tok)) return tok.length > MAX_SHOWN ? `${tok.slice(0, MAX_SHOWN)}…` : tok;
      }
    } else i++;
  }
  return undefined;
}

function fail(tag: number, message: string): ParseResult {
  return { ok: false, tag, message };
}

/** Parses one text frame. Never throws. */
export function parseMessage(text: string): ParseResult {
  return parseCommon(text) ?? parseStrict(text);
}

/**
 * The general parser (JSON.parse, then every rule above). parseMessage gives the same result for
 * every text; it only takes a shortcut for the most common frames first.
 */
export function parseStrict(text: string): ParseResult {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return fail(0, 'Invalid JSON: each message must be one JSON object.');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    return fail(0, `The message must be a JSON object, got ${describe(msg)}.`);
  }
  const o = msg as Record<string, unknown>;

  let tag = 0;
  if (Object.hasOwn(o, 'tag') && o.tag !== null) {
    const t = o.tag;
    if (typeof t !== 'number' || !Number.isSafeInteger(t)) {
      return fail(0, `Field 'tag' must be an integer between -9007199254740991 and 9007199254740991, got ${describe(t)}.`);
    }
    tag = t === 0 ? 0 : t; // normalises -0
  }

  if (!Object.hasOwn(o, 'method')) return fail(tag, "Missing field 'method'.");
  const method = o.method;
  if (typeof method !== 'string') return fail(tag, `Field 'method' must be a string, got ${describe(method)}.`);
  if (!METHODS.has(method)) {
    return fail(tag, `Unknown method ${quote(method)}; expected one of: ${METHOD_NAMES.join(', ')}.`);
  }
  const m = method as MethodName;
  const spec = FIELDS[m];

  for (const key in o) {
    if (key === 'tag' || key === 'method') continue;
    if (!Object.hasOwn(spec, key)) {
      const allowed = ALLOWED[m];
      return fail(
        tag,
        `Unexpected field ${name(key)} for method ${m}` +
          (allowed.length ? ` (allowed: ${allowed.join(', ')}).` : ' (it takes no fields besides tag).'),
      );
    }
  }
  const v: Record<string, unknown> = {};
  for (const [key, fs] of FIELD_LIST[m]) {
    const x = Object.hasOwn(o, key) ? o[key] : undefined;
    if (x === undefined || (x === null && !fs.required)) {
      if (fs.required) return fail(tag, `Missing field ${name(key)} for method ${m}.`);
      continue;
    }
    const err = checkField(key, fs, x);
    if (err) return fail(tag, err);
    v[key] = typeof x === 'number' && x === 0 ? 0 : x; // normalises -0
  }

  const bad = MAYBE_NON_INTEGER.test(text) ? firstNonIntegerLiteral(text) : undefined;
  if (bad !== undefined) return fail(tag, `Number ${bad} is not an integer: every number in this API is an integer.`);

  const cmd = build(m, v);
  return typeof cmd === 'string' ? fail(tag, cmd) : { ok: true, tag, cmd };
}

const int = (v: Record<string, unknown>, k: string) => v[k] as number;
function setIf<T extends object, K extends keyof T>(o: T, k: K, x: unknown): void {
  if (x !== undefined) o[k] = x as T[K];
}

function build(m: MethodName, v: Record<string, unknown>): NativeCommand | string {
  switch (m) {
    case 'Authenticate': {
      const nonce = decodeBase64Strict(v.nonce);
      if (nonce === undefined || nonce.length !== NONCE_BYTES) {
        return "Field 'nonce' must be the base64 encoding of 16 random bytes (24 characters).";
      }
      const sig = v.signature as [string, string];
      return { method: m, userId: int(v, 'user_id'), cookie: v.cookie as string, nonce, signature: [sig[0], sig[1]] };
    }
    case 'GetBalances':
    case 'GetOrders':
    case 'CancelAllOrders':
      return { method: m };
    case 'EstimateMarketOrder': {
      const c: EstimateCmd = { method: m, base: int(v, 'base'), counter: int(v, 'counter') };
      setIf(c, 'quantity', v.quantity);
      setIf(c, 'total', v.total);
      return c;
    }
    case 'PlaceOrder': {
      const c: PlaceOrderCmd = { method: m, base: int(v, 'base'), counter: int(v, 'counter') };
      setIf(c, 'tonce', v.tonce);
      setIf(c, 'quantity', v.quantity);
      setIf(c, 'price', v.price);
      setIf(c, 'total', v.total);
      setIf(c, 'persist', v.persist);
      setIf(c, 'postOnly', v.post_only);
      return c;
    }
    case 'ModifyOrder': {
      const c: ModifyOrderCmd = { method: m };
      setIf(c, 'id', v.id);
      setIf(c, 'tonce', v.tonce);
      setIf(c, 'quantityDelta', v.quantity_delta);
      setIf(c, 'price', v.price);
      setIf(c, 'postOnly', v.post_only);
      return c;
    }
    case 'CancelOrder': {
      const c: CancelOrderCmd = { method: m };
      setIf(c, 'id', v.id);
      setIf(c, 'tonce', v.tonce);
      return c;
    }
    case 'GetTradeVolume':
      return { method: m, asset: int(v, 'asset') };
    case 'WatchOrders':
    case 'WatchTicker':
      return { method: m, base: int(v, 'base'), counter: int(v, 'counter'), watch: v.watch as boolean };
  }
}

// ---------------------------------------------------------------- the common frames, fast

/** Integer fields of the methods parseCommon reads, by name (PlaceOrder / CancelOrder). */
const PLACE_INTS = ['tonce', 'base', 'counter', 'quantity', 'price', 'total'] as const;
const CANCEL_INTS = ['id', 'tonce'] as const;

/** Digits beyond which an integer literal may not be a safe integer (parseCommon then steps aside). */
const MAX_FAST_DIGITS = 15;

/**
 * PlaceOrder and CancelOrder frames of the plainest form - `{"tag":<int>,"method":"PlaceOrder",
 * "base":<int>,…}` with no whitespace, every value a plain integer literal of at most 15 digits
 * (no fraction, exponent or leading zero), each field once and known to the method, and the
 * required ones present - parsed without JSON.parse. Such a frame is valid JSON and passes every
 * check of parseStrict, which would return exactly this result. Anything else (another method, a
 * boolean or null, whitespace, an escape, a duplicate or unknown field, an error of any kind):
 * undefined, and parseStrict decides, with its exact messages.
 */
export function parseCommon(text: string): ParseResult | undefined {
  const n = text.length;
  let i: number;
  let tag = 0;
  // {"tag":<int>, (optional) then "method":"
  if (text.startsWith('{"tag":')) {
    i = 7;
    const end = intEnd(text, i);
    if (end < 0) return undefined;
    tag = intValue(text, i, end);
    i = end;
    if (text.charCodeAt(i) !== 44 /* , */) return undefined;
    i++;
  } else i = 1;
  if (!text.startsWith('"method":"', i) || text.charCodeAt(0) !== 123 /* { */) return undefined;
  i += 10;
  let place: boolean;
  if (text.startsWith('PlaceOrder"', i)) {
    place = true;
    i += 11;
  } else if (text.startsWith('CancelOrder"', i)) {
    place = false;
    i += 12;
  } else return undefined;
  const names: readonly string[] = place ? PLACE_INTS : CANCEL_INTS;
  // Values by index in `names`; NaN = absent.
  const vals = [NaN, NaN, NaN, NaN, NaN, NaN];
  while (i < n && text.charCodeAt(i) === 44 /* , */) {
    if (text.charCodeAt(i + 1) !== 34 /* " */) return undefined;
    const q = text.indexOf('"', i + 2);
    if (q < 0 || text.charCodeAt(q + 1) !== 58 /* : */) return undefined;
    const k = names.indexOf(text.slice(i + 2, q));
    if (k < 0 || vals[k] === vals[k] /* present already */) return undefined;
    const end = intEnd(text, q + 2);
    if (end < 0) return undefined;
    vals[k] = intValue(text, q + 2, end);
    i = end;
  }
  if (i !== n - 1 || text.charCodeAt(i) !== 125 /* } */) return undefined;
  if (place) {
    const [tonce, base, counter, quantity, price, total] = vals as [number, number, number, number, number, number];
    if (base !== base || counter !== counter) return undefined; // required: parseStrict reports it
    const c: PlaceOrderCmd = { method: 'PlaceOrder', base, counter };
    if (tonce === tonce) c.tonce = tonce;
    if (quantity === quantity) c.quantity = quantity;
    if (price === price) c.price = price;
    if (total === total) c.total = total;
    return { ok: true, tag, cmd: c };
  }
  const c: CancelOrderCmd = { method: 'CancelOrder' };
  if (vals[0] === vals[0]) c.id = vals[0];
  if (vals[1] === vals[1]) c.tonce = vals[1];
  return { ok: true, tag, cmd: c };
}

/**
 * End of a plain JSON integer literal starting at `i` (-?(0|[1-9][0-9]*), at most
 * MAX_FAST_DIGITS digits, followed by ',' or '}'), or -1.
 */
function intEnd(text: string, i: number): number {
  if (text.charCodeAt(i) === 45 /* - */) i++;
  const start = i;
  let c = text.charCodeAt(i);
  while (c >= 48 && c <= 57) c = text.charCodeAt(++i);
  const digits = i - start;
  if (digits === 0 || digits > MAX_FAST_DIGITS || (digits > 1 && text.charCodeAt(start) === 48)) return -1;
  return c === 44 || c === 125 ? i : -1;
}

/** The value of the literal text[i, end) checked by intEnd (-0 as 0, as parseStrict normalises it). */
function intValue(text: string, i: number, end: number): number {
  const neg = text.charCodeAt(i) === 45;
  let v = 0;
  for (let j = neg ? i + 1 : i; j < end; j++) v = v * 10 + (text.charCodeAt(j) - 48);
  return neg && v !== 0 ? -v : v;
}
