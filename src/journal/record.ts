// Journal record payloads (segment format version 2; see README.md).
//
// A payload is either
//   - JSON: the UTF-8 JSON text of the stamped command, first byte '{' (0x7b) - every record of
//     a version-1 segment, and in version 2 the fallback for any command without a binary
//     layout or with a value the layout cannot hold exactly; or
//   - binary: byte 0 = layout kind (1 … 12, one per command type, table LAYOUTS below),
//     bytes 1-2 u16 `present` (bit i: field i of the layout is there), bytes 3-4 u16 `nulls`
//     (bit i: field i is null), bytes 5-12 seq (f64), 13-20 time (f64), then every present,
//     non-null field in layout order: numbers f64, booleans and `persist` one byte
//     (0 false, 1 true, 2 'fill_or_kill'), strings u16 length + that many ASCII bytes.
//     All integers little-endian.
//
// The encoder takes a command only if the decoder gives back exactly the same thing JSON would:
// a plain object whose every defined member is a field of its layout, numbers finite and not -0,
// strings ASCII (≤ 65,535 chars), booleans where booleans belong. Anything else - unknown
// members, NaN, nested objects, non-ASCII text - is journaled as JSON. The decoded object has
// its members in layout order (seq, time, type, then the fields); absent members are absent.
import type { CancelOrder, Command, PlaceOrder } from '../core/types.js';

export const JSON_KIND = 0x7b;
export const BINARY_HEADER_BYTES = 21;

const F_NUM = 0;
const F_NUM_OR_NULL = 1;
const F_BOOL = 2;
const F_PERSIST = 3;
const F_STR = 4;

interface Layout {
  type: string;
  names: string[];
  kinds: number[];
}

function layout(type: string, fields: [string, number][]): Layout {
  return { type, names: fields.map((f) => f[0]), kinds: fields.map((f) => f[1]) };
}

/** Index = kind byte. Never reorder or reuse an entry: journals on disk refer to them. */
const LAYOUTS: (Layout | undefined)[] = [
  undefined,
  layout('PlaceOrder', [
    ['userId', F_NUM],
    ['sessionId', F_NUM],
    ['tonce', F_NUM_OR_NULL],
    ['base', F_NUM],
    ['counter', F_NUM],
    ['quantity', F_NUM],
    ['price', F_NUM],
    ['total', F_NUM],
    ['persist', F_PERSIST],
    ['postOnly', F_BOOL],
    ['clientOrderId', F_STR],
  ]),
  layout('ModifyOrder', [
    ['userId', F_NUM],
    ['id', F_NUM],
    ['tonce', F_NUM],
    ['quantityDelta', F_NUM],
    ['price', F_NUM],
    ['postOnly', F_BOOL],
  ]),
  layout('CancelOrder', [
    ['userId', F_NUM],
    ['id', F_NUM],
    ['tonce', F_NUM],
  ]),
  layout('CancelAllOrders', [['userId', F_NUM]]),
  layout('Disconnect', [['sessionId', F_NUM]]),
  layout('ServerStarted', []),
  layout('Tick', []),
  layout('CreateUser', [
    ['publicKey', F_STR],
    ['cookie', F_STR],
  ]),
  layout('Deposit', [
    ['userId', F_NUM],
    ['asset', F_NUM],
    ['amount', F_NUM],
  ]),
  layout('Withdraw', [
    ['userId', F_NUM],
    ['asset', F_NUM],
    ['amount', F_NUM],
    ['address', F_STR],
  ]),
  layout('AddWithdrawalAddress', [
    ['userId', F_NUM],
    ['asset', F_NUM],
    ['address', F_STR],
  ]),
  layout('RevokeApiKey', [['accessId', F_STR]]),
];

const KIND_BY_TYPE = new Map<string, number>();
for (let k = 1; k < LAYOUTS.length; k++) KIND_BY_TYPE.set(LAYOUTS[k]!.type, k);

/** Highest binary kind byte. */
export const MAX_BINARY_KIND = LAYOUTS.length - 1;

const MAX_STR = 0xffff;

/**
 * Bytes needed to encode `cmd` in its binary layout, or -1 if it has none or a value it cannot
 * hold exactly (→ journal it as JSON). seq and time on `cmd` are ignored (the caller stamps).
 */
export function binarySize(cmd: object): number {
  const c = cmd as Record<string, unknown>;
  const kind = KIND_BY_TYPE.get(c.type as string);
  if (kind === undefined) return -1;
  const proto = Object.getPrototypeOf(c) as unknown;
  if (proto !== Object.prototype && proto !== null) return -1;
  const l = LAYOUTS[kind]!;
  const names = l.names;
  const kinds = l.kinds;
  let size = BINARY_HEADER_BYTES;
  let found = 0;
  for (let i = 0; i < names.length; i++) {
    const v = c[names[i]!];
    if (v === undefined) continue;
    found++;
    switch (kinds[i]) {
      case F_NUM_OR_NULL:
      case F_NUM:
        if (v === null && kinds[i] === F_NUM_OR_NULL) break;
        if (typeof v !== 'number' || !Number.isFinite(v) || (v === 0 && 1 / v < 0)) return -1;
        size += 8;
        break;
      case F_BOOL:
        if (typeof v !== 'boolean') return -1;
        size += 1;
        break;
      case F_PERSIST:
        if (typeof v !== 'boolean' && v !== 'fill_or_kill') return -1;
        size += 1;
        break;
      default: {
        if (typeof v !== 'string' || v.length > MAX_STR) return -1;
        for (let j = 0; j < v.length; j++) if (v.charCodeAt(j) > 0x7f) return -1;
        size += 2 + v.length;
      }
    }
  }
  // Every other defined member would be lost: count them.
  let members = 0;
  for (const k in c) {
    if (k === 'type' || k === 'seq' || k === 'time') continue;
    if (c[k] !== undefined) members++;
  }
  if (members !== found) return -1;
  return size;
}

/**
 * Writes the binary payload of `cmd` (binarySize(cmd) must have returned ≥ 0) at `off` of `buf`
 * (`dv` a DataView over the same memory, byteOffset 0 relative to `buf`). Returns the end offset.
 */
export function encodeBinary(cmd: object, seq: number, time: number, buf: Uint8Array, dv: DataView, off: number): number {
  const c = cmd as Record<string, unknown>;
  const kind = KIND_BY_TYPE.get(c.type as string)!;
  const l = LAYOUTS[kind]!;
  const names = l.names;
  const kinds = l.kinds;
  let present = 0;
  let nulls = 0;
  let p = off + BINARY_HEADER_BYTES;
  for (let i = 0; i < names.length; i++) {
    const v = c[names[i]!];
    if (v === undefined) continue;
    present |= 1 << i;
    if (v === null) {
      nulls |= 1 << i;
      continue;
    }
    switch (kinds[i]) {
      case F_NUM:
      case F_NUM_OR_NULL:
        dv.setFloat64(p, v as number, true);
        p += 8;
        break;
      case F_BOOL:
        buf[p++] = v ? 1 : 0;
        break;
      case F_PERSIST:
        buf[p++] = v === 'fill_or_kill' ? 2 : v ? 1 : 0;
        break;
      default: {
        const s = v as string;
        const n = s.length;
        buf[p] = n & 0xff;
        buf[p + 1] = n >>> 8;
        p += 2;
        for (let j = 0; j < n; j++) buf[p + j] = s.charCodeAt(j);
        p += n;
      }
    }
  }
  buf[off] = kind;
  buf[off + 1] = present & 0xff;
  buf[off + 2] = present >>> 8;
  buf[off + 3] = nulls & 0xff;
  buf[off + 4] = nulls >>> 8;
  dv.setFloat64(off + 5, seq, true);
  dv.setFloat64(off + 13, time, true);
  return p;
}

let scratchDv: DataView | undefined;
let scratchFor: Uint8Array | undefined;
/** scratchFor.byteOffset: where buf[0] is in scratchDv. */
let scratchBase = 0;

/**
 * A DataView over buf's ArrayBuffer (from its start; buf[0] is at scratchBase), kept for the
 * next record of the same buffer. Keyed by the buffer object, not by `buf.buffer`: the
 * `buffer` and `byteOffset` getters were a builtin call each per record, ~15 % of a replay's
 * journal side. A typed array's memory never moves, so the same object means the same view.
 */
function viewOf(buf: Uint8Array): DataView {
  if (scratchFor !== buf || scratchDv === undefined) {
    scratchFor = buf;
    scratchBase = buf.byteOffset;
    scratchDv = new DataView(buf.buffer);
  }
  return scratchDv;
}

/**
 * Decodes the binary payload buf[start, end) (`fast` false: the table-driven decoder for every
 * kind, for tests that compare it with the hand-written ones). Throws (a plain Error with the reason) if it is
 * malformed; the caller adds file and offset.
 */
export function decodeBinary(buf: Uint8Array, start: number, end: number, fast = true): Command {
  const kind = buf[start]!;
  const l = kind <= MAX_BINARY_KIND ? LAYOUTS[kind] : undefined;
  if (l === undefined) throw new Error(`unknown record kind ${kind}`);
  if (end - start < BINARY_HEADER_BYTES) throw new Error('binary record too short');
  const dv = viewOf(buf);
  const base = scratchBase;
  const present = buf[start + 1]! | (buf[start + 2]! << 8);
  const nulls = buf[start + 3]! | (buf[start + 4]! << 8);
  const names = l.names;
  const kinds = l.kinds;
  if (present >>> names.length !== 0 || (nulls & ~present) !== 0) throw new Error('bad field bits in binary record');
  if (kind === KIND_PLACE && fast) return decodePlace(buf, dv, base, start, end, present, nulls);
  if (kind === KIND_CANCEL && fast) return decodeCancel(dv, base, start, end, present, nulls);
  const o: Record<string, unknown> = { seq: dv.getFloat64(base + start + 5, true), time: dv.getFloat64(base + start + 13, true), type: l.type };
  let p = start + BINARY_HEADER_BYTES;
  for (let i = 0; i < names.length; i++) {
    if ((present & (1 << i)) === 0) continue;
    const name = names[i]!;
    if ((nulls & (1 << i)) !== 0) {
      if (kinds[i] !== F_NUM_OR_NULL) throw new Error('bad null bit in binary record');
      o[name] = null;
      continue;
    }
    switch (kinds[i]) {
      case F_NUM:
      case F_NUM_OR_NULL:
        if (p + 8 > end) throw new Error('binary record too short');
        o[name] = dv.getFloat64(base + p, true);
        p += 8;
        break;
      case F_BOOL: {
        if (p + 1 > end) throw new Error('binary record too short');
        const b = buf[p++]!;
        if (b > 1) throw new Error(`bad boolean ${b} in binary record`);
        o[name] = b === 1;
        break;
      }
      case F_PERSIST: {
        if (p + 1 > end) throw new Error('binary record too short');
        const b = buf[p++]!;
        if (b > 2) throw new Error(`bad persist value ${b} in binary record`);
        o[name] = b === 2 ? 'fill_or_kill' : b === 1;
        break;
      }
      default: {
        if (p + 2 > end) throw new Error('binary record too short');
        const n = buf[p]! | (buf[p + 1]! << 8);
        p += 2;
        if (p + n > end) throw new Error('binary record too short');
        let s = '';
        if (n <= 32) {
          for (let j = 0; j < n; j++) s += String.fromCharCode(buf[p + j]!);
        } else {
          s = Buffer.from(buf.buffer, buf.byteOffset + p, n).toString('latin1');
        }
        o[name] = s;
        p += n;
      }
    }
  }
  if (p !== end) throw new Error(`binary record has ${end - p} trailing bytes`);
  return o as unknown as Command;
}

/**
 * The command held in the payload buf[start, end) (JSON or binary). Throws an Error with the
 * reason if the payload does not decode; the caller adds file and offset.
 */
export function decodeCommand(buf: Uint8Array, start: number, end: number): Command {
  if (buf[start] === JSON_KIND) {
    try {
      return JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8')) as Command;
    } catch (e) {
      throw new Error(`not valid JSON (${(e as Error).message})`);
    }
  }
  return decodeBinary(buf, start, end);
}

/** Could buf[start, end) be a payload (cheap shape check used to tell torn tails from damage)? */
export function plausiblePayload(buf: Uint8Array, start: number, end: number): boolean {
  const k = buf[start]!;
  if (k === JSON_KIND) return buf[end - 1] === 0x7d;
  return k >= 1 && k <= MAX_BINARY_KIND && end - start >= BINARY_HEADER_BYTES;
}

// ---------------------------------------------------------------- hot paths
//
// PlaceOrder and CancelOrder (most of an exchange's traffic) have hand-written encoders and
// decoders with the same result as the generic, table-driven ones above (which the tests
// check): named property accesses instead of keyed ones, one pass instead of two.

const KIND_PLACE = 1;
const KIND_CANCEL = 3;

function exactNum(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && (v !== 0 || 1 / v > 0);
}

/** Defined own members of `c` other than type, seq and time (the layout must account for all). */
function definedMembers(c: Record<string, unknown>): number {
  let n = 0;
  for (const k in c) {
    if (k === 'type' || k === 'seq' || k === 'time') continue;
    if (c[k] !== undefined) n++;
  }
  return n;
}

function encodePlace(c: PlaceOrder, seq: number, time: number, buf: Uint8Array, dv: DataView, off: number): number {
  const cid = c.clientOrderId;
  const cidLen = typeof cid === 'string' ? cid.length : 0;
  if (off + BINARY_HEADER_BYTES + 8 * 8 + 2 + 2 + cidLen > buf.length) return -2;
  let present = 0;
  let nulls = 0;
  let found = 0;
  let p = off + BINARY_HEADER_BYTES;
  const userId = c.userId;
  if (userId !== undefined) {
    if (!exactNum(userId)) return -1;
    present |= 1;
    dv.setFloat64(p, userId, true);
    p += 8;
    found++;
  }
  const sessionId = c.sessionId;
  if (sessionId !== undefined) {
    if (!exactNum(sessionId)) return -1;
    present |= 2;
    dv.setFloat64(p, sessionId, true);
    p += 8;
    found++;
  }
  const tonce = c.tonce;
  if (tonce !== undefined) {
    present |= 4;
    found++;
    if (tonce === null) nulls |= 4;
    else {
      if (!exactNum(tonce)) return -1;
      dv.setFloat64(p, tonce, true);
      p += 8;
    }
  }
  const base = c.base;
  if (base !== undefined) {
    if (!exactNum(base)) return -1;
    present |= 8;
    dv.setFloat64(p, base, true);
    p += 8;
    found++;
  }
  const counter = c.counter;
  if (counter !== undefined) {
    if (!exactNum(counter)) return -1;
    present |= 16;
    dv.setFloat64(p, counter, true);
    p += 8;
    found++;
  }
  const quantity = c.quantity;
  if (quantity !== undefined) {
    if (!exactNum(quantity)) return -1;
    present |= 32;
    dv.setFloat64(p, quantity, true);
    p += 8;
    found++;
  }
  const price = c.price;
  if (price !== undefined) {
    if (!exactNum(price)) return -1;
    present |= 64;
    dv.setFloat64(p, price, true);
    p += 8;
    found++;
  }
  const total = c.total;
  if (total !== undefined) {
    if (!exactNum(total)) return -1;
    present |= 128;
    dv.setFloat64(p, total, true);
    p += 8;
    found++;
  }
  const persist = c.persist as unknown;
  if (persist !== undefined) {
    if (persist === true) buf[p++] = 1;
    else if (persist === false) buf[p++] = 0;
    else if (persist === 'fill_or_kill') buf[p++] = 2;
    else return -1;
    present |= 256;
    found++;
  }
  const postOnly = c.postOnly as unknown;
  if (postOnly !== undefined) {
    if (typeof postOnly !== 'boolean') return -1;
    buf[p++] = postOnly ? 1 : 0;
    present |= 512;
    found++;
  }
  if (cid !== undefined) {
    if (typeof cid !== 'string' || cidLen > MAX_STR) return -1;
    buf[p] = cidLen & 0xff;
    buf[p + 1] = cidLen >>> 8;
    p += 2;
    for (let j = 0; j < cidLen; j++) {
      const ch = cid.charCodeAt(j);
      if (ch > 0x7f) return -1;
      buf[p + j] = ch;
    }
    p += cidLen;
    present |= 1024;
    found++;
  }
  if (definedMembers(c as unknown as Record<string, unknown>) !== found) return -1;
  buf[off] = KIND_PLACE;
  buf[off + 1] = present & 0xff;
  buf[off + 2] = present >>> 8;
  buf[off + 3] = nulls;
  buf[off + 4] = 0;
  dv.setFloat64(off + 5, seq, true);
  dv.setFloat64(off + 13, time, true);
  return p;
}

function encodeCancel(c: CancelOrder, seq: number, time: number, buf: Uint8Array, dv: DataView, off: number): number {
  if (off + BINARY_HEADER_BYTES + 3 * 8 > buf.length) return -2;
  let present = 0;
  let found = 0;
  let p = off + BINARY_HEADER_BYTES;
  const userId = c.userId;
  if (userId !== undefined) {
    if (!exactNum(userId)) return -1;
    present |= 1;
    dv.setFloat64(p, userId, true);
    p += 8;
    found++;
  }
  const id = c.id;
  if (id !== undefined) {
    if (!exactNum(id)) return -1;
    present |= 2;
    dv.setFloat64(p, id, true);
    p += 8;
    found++;
  }
  const tonce = c.tonce;
  if (tonce !== undefined) {
    if (!exactNum(tonce)) return -1;
    present |= 4;
    dv.setFloat64(p, tonce, true);
    p += 8;
    found++;
  }
  if (definedMembers(c as unknown as Record<string, unknown>) !== found) return -1;
  buf[off] = KIND_CANCEL;
  buf[off + 1] = present;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf[off + 4] = 0;
  dv.setFloat64(off + 5, seq, true);
  dv.setFloat64(off + 13, time, true);
  return p;
}

/**
 * Writes the binary payload of `cmd` at `off` of `buf` (`dv` a DataView over the whole
 * ArrayBuffer of `buf`, which must start at byteOffset 0). Returns the end offset; -1 if `cmd`
 * has no binary form that gives it back exactly (journal it as JSON); -2 if `buf` has too
 * little room after `off` (grow it and call again). seq and time on `cmd` are ignored.
 */
export function encodeCommand(cmd: object, seq: number, time: number, buf: Uint8Array, dv: DataView, off: number): number {
  const proto = Object.getPrototypeOf(cmd) as unknown;
  if (proto !== Object.prototype && proto !== null) return -1;
  const type = (cmd as { type?: unknown }).type;
  if (type === 'PlaceOrder') return encodePlace(cmd as PlaceOrder, seq, time, buf, dv, off);
  if (type === 'CancelOrder') return encodeCancel(cmd as CancelOrder, seq, time, buf, dv, off);
  const size = binarySize(cmd);
  if (size < 0) return -1;
  if (off + size > buf.length) return -2;
  return encodeBinary(cmd, seq, time, buf, dv, off);
}

function decodePlace(buf: Uint8Array, dv: DataView, base: number, start: number, end: number, present: number, nulls: number): Command {
  // The common shapes as one object literal each (one allocation, every member in-object, the
  // same member order as below); anything else, including a malformed length, takes the general path.
  const f = start + BINARY_HEADER_BYTES;
  if (nulls === 0) {
    const a = base + f;
    if (present === 0x7b && end === f + 48) {
      // A limit order: userId, sessionId, base, counter, quantity, price.
      return {
        seq: dv.getFloat64(base + start + 5, true),
        time: dv.getFloat64(base + start + 13, true),
        type: 'PlaceOrder',
        userId: dv.getFloat64(a, true),
        sessionId: dv.getFloat64(a + 8, true),
        base: dv.getFloat64(a + 16, true),
        counter: dv.getFloat64(a + 24, true),
        quantity: dv.getFloat64(a + 32, true),
        price: dv.getFloat64(a + 40, true),
      } as unknown as Command;
    }
    if (present === 0x3b && end === f + 40) {
      // A market order: no price.
      return {
        seq: dv.getFloat64(base + start + 5, true),
        time: dv.getFloat64(base + start + 13, true),
        type: 'PlaceOrder',
        userId: dv.getFloat64(a, true),
        sessionId: dv.getFloat64(a + 8, true),
        base: dv.getFloat64(a + 16, true),
        counter: dv.getFloat64(a + 24, true),
        quantity: dv.getFloat64(a + 32, true),
      } as unknown as Command;
    }
    if (present === 0x7f && end === f + 56) {
      // A limit order with a tonce.
      return {
        seq: dv.getFloat64(base + start + 5, true),
        time: dv.getFloat64(base + start + 13, true),
        type: 'PlaceOrder',
        userId: dv.getFloat64(a, true),
        sessionId: dv.getFloat64(a + 8, true),
        tonce: dv.getFloat64(a + 16, true),
        base: dv.getFloat64(a + 24, true),
        counter: dv.getFloat64(a + 32, true),
        quantity: dv.getFloat64(a + 40, true),
        price: dv.getFloat64(a + 48, true),
      } as unknown as Command;
    }
  }
  if ((nulls & ~4) !== 0) throw new Error('bad null bit in binary record');
  const o: Record<string, unknown> = { seq: dv.getFloat64(base + start + 5, true), time: dv.getFloat64(base + start + 13, true), type: 'PlaceOrder' };
  let p = start + BINARY_HEADER_BYTES;
  // Bytes the fixed-size fields take: 8 per number (tonce only if not null), 1 per flag.
  const nums = popcount(present & 0xfb) + ((present & 4) !== 0 && (nulls & 4) === 0 ? 1 : 0);
  const fixed = 8 * nums + ((present >>> 8) & 1) + ((present >>> 9) & 1);
  if (p + fixed + ((present & 1024) !== 0 ? 2 : 0) > end) throw new Error('binary record too short');
  if (present & 1) {
    o.userId = dv.getFloat64(base + p, true);
    p += 8;
  }
  if (present & 2) {
    o.sessionId = dv.getFloat64(base + p, true);
    p += 8;
  }
  if (present & 4) {
    if (nulls & 4) o.tonce = null;
    else {
      o.tonce = dv.getFloat64(base + p, true);
      p += 8;
    }
  }
  if (present & 8) {
    o.base = dv.getFloat64(base + p, true);
    p += 8;
  }
  if (present & 16) {
    o.counter = dv.getFloat64(base + p, true);
    p += 8;
  }
  if (present & 32) {
    o.quantity = dv.getFloat64(base + p, true);
    p += 8;
  }
  if (present & 64) {
    o.price = dv.getFloat64(base + p, true);
    p += 8;
  }
  if (present & 128) {
    o.total = dv.getFloat64(base + p, true);
    p += 8;
  }
  if (present & 256) {
    const b = buf[p++]!;
    if (b > 2) throw new Error(`bad persist value ${b} in binary record`);
    o.persist = b === 2 ? 'fill_or_kill' : b === 1;
  }
  if (present & 512) {
    const b = buf[p++]!;
    if (b > 1) throw new Error(`bad boolean ${b} in binary record`);
    o.postOnly = b === 1;
  }
  if (present & 1024) {
    const n = buf[p]! | (buf[p + 1]! << 8);
    p += 2;
    if (p + n > end) throw new Error('binary record too short');
    o.clientOrderId = asciiAt(buf, p, n);
    p += n;
  }
  if (p !== end) throw new Error(`binary record has ${end - p} trailing bytes`);
  return o as unknown as Command;
}

function decodeCancel(dv: DataView, base: number, start: number, end: number, present: number, nulls: number): Command {
  if (nulls !== 0) throw new Error('bad null bit in binary record');
  let p = start + BINARY_HEADER_BYTES;
  // The common shapes as one object literal each (see decodePlace).
  if (present === 3 && end === p + 16) {
    return {
      seq: dv.getFloat64(base + start + 5, true),
      time: dv.getFloat64(base + start + 13, true),
      type: 'CancelOrder',
      userId: dv.getFloat64(base + p, true),
      id: dv.getFloat64(base + p + 8, true),
    } as unknown as Command;
  }
  if (present === 7 && end === p + 24) {
    return {
      seq: dv.getFloat64(base + start + 5, true),
      time: dv.getFloat64(base + start + 13, true),
      type: 'CancelOrder',
      userId: dv.getFloat64(base + p, true),
      id: dv.getFloat64(base + p + 8, true),
      tonce: dv.getFloat64(base + p + 16, true),
    } as unknown as Command;
  }
  const o: Record<string, unknown> = { seq: dv.getFloat64(base + start + 5, true), time: dv.getFloat64(base + start + 13, true), type: 'CancelOrder' };
  if (p + 8 * (((present & 1) + ((present >>> 1) & 1) + ((present >>> 2) & 1)) | 0) !== end) throw new Error('binary record length does not match its fields');
  if (present & 1) {
    o.userId = dv.getFloat64(base + p, true);
    p += 8;
  }
  if (present & 2) {
    o.id = dv.getFloat64(base + p, true);
    p += 8;
  }
  if (present & 4) o.tonce = dv.getFloat64(base + p, true);
  return o as unknown as Command;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}

function asciiAt(buf: Uint8Array, p: number, n: number): string {
  if (n > 32) return Buffer.from(buf.buffer, buf.byteOffset + p, n).toString('latin1');
  let s = '';
  for (let j = 0; j < n; j++) s += String.fromCharCode(buf[p + j]!);
  return s;
}
