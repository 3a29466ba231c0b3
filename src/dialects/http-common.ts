// What the three HTTP dialects (REST, Event Stream, BIST) share: HTTP Basic authentication with
// the per-user attempt limit, the REST/BIST order and records rate limits, strict parameter
// parsing (integers and exact decimals), the 405 routing helper, the encapsulated plugin scope
// with its own form-body parser and error rendering, and the mapping of engine failures to
// HTTP statuses. Nothing here knows a wire format beyond HTTP itself.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import formbody from '@fastify/formbody';
import {
  BasicVerifier,
  parseAuthQueryParam,
  parseBasicAuthorization,
  type BasicCredentials,
  type StoredUser,
} from '../auth/basic.js';
import { decodeBase64Strict } from '../auth/base64.js';
import { RateLimiter, rateLimitsFrom } from '../server/rate-limit.js';
import type { Applied, ServerContext } from '../server/context.js';
import { ErrorCode, ErrorMessage, type AssetConfig, type Failure, type MarketConfig } from '../core/types.js';

// ---------------------------------------------------------------- errors

/** An error with an HTTP status; each dialect's error handler renders `message` in its own format. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Send no body at all (REST.md's "404 Not Found / Content-Length: 0"). */
    readonly empty = false,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const WWW_AUTHENTICATE = 'Basic realm="openfloor", charset="UTF-8"';

export function badRequest(message: string): HttpError {
  return new HttpError(400, message);
}

export function notFoundEmpty(): HttpError {
  return new HttpError(404, '', {}, true);
}

/**
 * HTTP status for an engine failure. The engine's message goes into the body unchanged.
 *  1 NOT_FOUND            404 (order, trade) — callers turn "invalid asset pair" into 400 where
 *                         the pair came from parameters rather than the path
 *  2 ALREADY              409
 *  3 TONCE_SEQUENCE       409
 *  4 INSUFFICIENT_FUNDS   409 (the request is well formed; the account state refuses it)
 *  5 TOO_MANY_ORDERS      409 (a standing cap, not a rate)
 *  6 RATE_LIMIT           429
 *  7 AUTH                 401
 *  8 INVALID              400
 *  9 POST_ONLY            409
 */
export function statusForFailure(f: Failure): number {
  switch (f.code) {
    case ErrorCode.NOT_FOUND:
      return f.message === ErrorMessage.INVALID_PAIR ? 400 : 404;
    case ErrorCode.RATE_LIMIT:
      return 429;
    case ErrorCode.AUTH:
      return 401;
    case ErrorCode.INVALID:
      return 400;
    default:
      return 409;
  }
}

export function failureError(f: Failure): HttpError {
  const status = statusForFailure(f);
  return new HttpError(status, f.message, status === 401 ? { 'WWW-Authenticate': WWW_AUTHENTICATE } : {});
}

// ---------------------------------------------------------------- JSON

const HAS_NON_ASCII = /[\u007f-\uffff]/;
const NON_ASCII = /[\u007f-\uffff]/g;

/** JSON with every non-ASCII character escaped, so the body is valid US-ASCII. */
export function asciiJson(value: unknown): string {
  const s = JSON.stringify(value);
  return HAS_NON_ASCII.test(s) ? s.replace(NON_ASCII, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) : s;
}

export const JSON_ASCII = 'application/json; charset=US-ASCII';

export function sendJson(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  return sendJsonText(reply, status, asciiJson(value));
}

/** Sends an already rendered (asciiJson) body, e.g. one cached until the engine state moves on. */
export function sendJsonText(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).header('Content-Type', JSON_ASCII).send(body);
}

// ---------------------------------------------------------------- parameters

export type Params = Record<string, string>;

/**
 * Request parameters from a parsed body (form or JSON) and/or query string, as strings. A name
 * given twice, a nested object or array, or a non-scalar value is a 400: there is no guessing
 * which of two values was meant.
 */
export function collectParams(...sources: unknown[]): Params {
  const out: Params = Object.create(null) as Params;
  for (const src of sources) {
    if (src === undefined || src === null) continue;
    if (typeof src !== 'object' || Array.isArray(src)) throw badRequest('The request body must be application/x-www-form-urlencoded name=value parameters.');
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
      let s: string;
      if (typeof v === 'string') s = v;
      else if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
      else if (typeof v === 'boolean') s = String(v);
      else if (Array.isArray(v)) throw badRequest(`Parameter ${printable(k)} was given more than once.`);
      else throw badRequest(`Parameter ${printable(k)} must be a plain value.`);
      if (k in out && out[k] !== s) throw badRequest(`Parameter ${printable(k)} was given more than once.`);
      out[k] = s;
    }
  }
  return out;
}

/** A name or value quoted safely for an error message (bounded, control characters escaped). */
export function printable(s: string): string {
  const cut = s.length > 40 ? s.slice(0, 40) + '…' : s;
  return JSON.stringify(cut);
}

const INTEGER = /^[+-]?[0-9]+$/;

/**
 * Strict integer: optional sign and decimal digits only ("1e3", "0x10", "1.0", " 1" are refused),
 * within [min, max] (default: the safe-integer range). The error names the parameter.
 */
export function parseInteger(text: string | undefined, name: string, min = -Number.MAX_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined || text === '') throw badRequest(`Parameter ${name} is required.`);
  if (!INTEGER.test(text)) throw badRequest(`Parameter ${name} must be an integer, got ${printable(text)}.`);
  // Leading zeros are harmless, but an over-long string never fits: compare as BigInt first.
  const big = text.length > 20 ? undefined : BigInt(text);
  if (big === undefined || big < BigInt(min) || big > BigInt(max)) {
    throw badRequest(`Parameter ${name} is out of range (${min} to ${max}), got ${printable(text)}.`);
  }
  return Number(big);
}

export function optionalInteger(text: string | undefined, name: string, min?: number, max?: number): number | undefined {
  return text === undefined ? undefined : parseInteger(text, name, min, max);
}

/** Number of decimal places of a power-of-ten scale (config validation guarantees the power of ten). */
export function decimalsOf(scale: number): number {
  let d = 0;
  for (let x = scale; x >= 10; x /= 10) d++;
  return d;
}

const DECIMAL = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/;

/**
 * Exact decimal → scaled integer ("1.5" at scale 10000 → 15000). More fractional digits than the
 * scale allows are an error unless they are zeros; never rounded. Empty, exponent and hex forms
 * are refused, as is anything outside the safe-integer range.
 */
export function parseDecimal(text: string | undefined, scale: number, name: string, allowNegative = false): number {
  if (text === undefined || text === '') throw badRequest(`Parameter ${name} is required.`);
  const m = DECIMAL.exec(text);
  if (m === null || (m[2] === '' && (m[3] === undefined || m[3] === ''))) {
    throw badRequest(`Parameter ${name} must be a decimal number, got ${printable(text)}.`);
  }
  const [, sign, whole, frac = ''] = m;
  if (sign === '-' && !allowNegative) throw badRequest(`Parameter ${name} must not be negative.`);
  const decimals = decimalsOf(scale);
  const kept = frac.slice(0, decimals);
  if (/[^0]/.test(frac.slice(decimals))) {
    throw badRequest(`Parameter ${name} has more than ${decimals} decimal places, got ${printable(text)}.`);
  }
  const digits = (whole + kept.padEnd(decimals, '0')).replace(/^0+(?=.)/, '');
  if (digits.length > 16) throw badRequest(`Parameter ${name} is out of range, got ${printable(text)}.`);
  const big = BigInt(digits);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw badRequest(`Parameter ${name} is out of range, got ${printable(text)}.`);
  const n = Number(big);
  return sign === '-' ? -n : n;
}

/** Scaled integer → exact decimal string with exactly the scale's decimal places ("15000" at 10000 → "1.5000"). */
export function formatDecimal(value: number, scale: number): string {
  const decimals = decimalsOf(scale);
  const neg = value < 0;
  const digits = String(Math.abs(value)).padStart(decimals + 1, '0');
  const s = decimals === 0 ? digits : `${digits.slice(0, digits.length - decimals)}.${digits.slice(digits.length - decimals)}`;
  return neg ? `-${s}` : s;
}

// ---------------------------------------------------------------- markets and assets

/** Market name as the documents write it: "XBT:USDT". */
function nameOf(assets: Map<number, AssetConfig>, m: { base: number; counter: number }): string {
  return `${assets.get(m.base)?.name ?? m.base}:${assets.get(m.counter)?.name ?? m.counter}`;
}

export interface MarketInfo {
  config: MarketConfig;
  base: AssetConfig;
  counter: AssetConfig;
  /** "XBT:USDT". */
  name: string;
  /** The underlying spot market's name (a spot market's own name). */
  spotName: string;
}

/**
 * Assets and markets as the HTTP dialects need them, built once and rebuilt only after an
 * AssetAdded or MarketAdded event (engine.markets() copies every configuration, too slow to call
 * per request).
 */
export class Catalog {
  readonly assets: AssetConfig[];
  readonly assetByCode: Map<number, AssetConfig>;
  readonly markets: MarketInfo[];
  private readonly byPair: Map<number, MarketInfo>;
  private readonly byUpperName: Map<string, AssetConfig>;

  constructor(engine: ServerContext['engine']) {
    this.assets = engine.assets();
    this.assetByCode = new Map(this.assets.map((a) => [a.code, a]));
    this.byUpperName = new Map(this.assets.map((a) => [a.name.toUpperCase(), a]));
    this.markets = [];
    this.byPair = new Map();
    for (const m of engine.markets()) {
      const base = this.assetByCode.get(m.base);
      const counter = this.assetByCode.get(m.counter);
      if (base === undefined || counter === undefined) continue;
      const name = nameOf(this.assetByCode, m);
      const info: MarketInfo = { config: m, base, counter, name, spotName: m.spotName ?? name };
      this.markets.push(info);
      this.byPair.set(m.base * 65536 + m.counter, info);
    }
  }

  market(base: number, counter: number): MarketInfo | undefined {
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(counter) || counter < 0 || counter >= 65536) return undefined;
    return this.byPair.get(base * 65536 + counter);
  }

  /** Asset by name, case-insensitively ("XBT", "xbt"). */
  assetByName(name: string): AssetConfig | undefined {
    return this.byUpperName.get(name.toUpperCase());
  }
}

const catalogs = new WeakMap<ServerContext, { catalog: Catalog | undefined }>();

export function catalog(ctx: ServerContext): Catalog {
  let entry = catalogs.get(ctx);
  if (entry === undefined) {
    const e: { catalog: Catalog | undefined } = { catalog: undefined };
    entry = e;
    catalogs.set(ctx, e);
    ctx.onApplied((a) => {
      if (a.events.some((ev) => ev.type === 'MarketAdded' || ev.type === 'AssetAdded')) e.catalog = undefined;
    });
  }
  return (entry.catalog ??= new Catalog(ctx.engine));
}

/** Market of "<base>:<counter>" with numeric asset codes (REST paths). */
export function parseNumericPair(text: string): { base: number; counter: number } | undefined {
  const m = /^([0-9]{1,10}):([0-9]{1,10})$/.exec(text);
  if (m === null) return undefined;
  return { base: Number(m[1]), counter: Number(m[2]) };
}

// ---------------------------------------------------------------- authentication and limits

export interface Shared {
  verifier: BasicVerifier;
  /** Failed authentication attempts per user (LIMITS.md: 1,000 per hour per user). */
  authAttempts: RateLimiter;
  /** REST and BIST order placements, cancellations and estimates per user (300 per 10 s). */
  orders: RateLimiter;
  /** Records (history) requests per user (30 per minute). */
  records: RateLimiter;
  /** Decoded public keys, keyed by their base64 text. */
  publicKeys: Map<string, Buffer>;
}

const shared = new WeakMap<ServerContext, Shared>();

/**
 * One verifier and one set of limiters per server, shared by REST, BIST and the Event Stream, so a
 * user cannot double a budget by switching dialect.
 */
export function httpShared(ctx: ServerContext): Shared {
  let s = shared.get(ctx);
  if (s === undefined) {
    const limits = rateLimitsFrom(ctx.limits);
    s = {
      verifier: new BasicVerifier(),
      authAttempts: new RateLimiter(limits.authAttempts),
      orders: new RateLimiter(limits.restOrders),
      records: new RateLimiter(limits.recordsRequests),
      publicKeys: new Map(),
    };
    shared.set(ctx, s);
  }
  return s;
}

function storedUser(ctx: ServerContext, s: Shared, userId: number): StoredUser | undefined {
  const u = ctx.engine.user(userId);
  if (u === undefined) return undefined;
  let pub = s.publicKeys.get(u.publicKey);
  if (pub === undefined) {
    pub = decodeBase64Strict(u.publicKey) ?? Buffer.alloc(0);
    if (s.publicKeys.size >= 100_000) s.publicKeys.clear();
    s.publicKeys.set(u.publicKey, pub);
  }
  return { publicKey: pub, cookie: u.cookie };
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, message, { 'WWW-Authenticate': WWW_AUTHENTICATE });
}

/**
 * Checks Basic credentials. Throws 401 (with WWW-Authenticate and the native message) for a
 * missing, malformed or wrong credential and 429 once a user has failed too often. Only failed
 * attempts count toward the per-user limit: every REST request carries the credentials, so
 * counting successes would cap a well-behaved client at 1,000 requests an hour.
 */
export function verifyCredentials(ctx: ServerContext, creds: BasicCredentials): number {
  const s = httpShared(ctx);
  const key = `u:${creds.userId}`;
  const result = s.verifier.verify(creds.userId, creds.cookie, creds.secret, (id) => storedUser(ctx, s, id));
  if (result === 'ok') return creds.userId;
  if (!s.authAttempts.allow(key, Date.now())) throw new HttpError(429, ErrorMessage.AUTH_TOO_RAPIDLY);
  if (result === 'no_user') throw unauthorized(ErrorMessage.NO_SUCH_USER);
  if (result === 'bad_cookie') throw unauthorized(ErrorMessage.BAD_COOKIE);
  throw unauthorized(ErrorMessage.BAD_SIGNATURE);
}

/** Credentials from the Authorization header, or undefined if the request carries none. */
export function credentialsFromHeader(req: FastifyRequest): BasicCredentials | undefined {
  const header = req.headers.authorization;
  if (header === undefined || header === '') return undefined;
  const creds = parseBasicAuthorization(header);
  if (creds === undefined) {
    throw unauthorized(
      'Malformed HTTP Basic credentials: expected "Basic " and the base64 of "<user id>/<cookie>:<passphrase or base64 private key>".',
    );
  }
  return creds;
}

/** The authenticated user id; throws 401 when the request has no valid credentials. */
export function requireUser(ctx: ServerContext, req: FastifyRequest): number {
  const creds = credentialsFromHeader(req);
  if (creds === undefined) throw unauthorized(ErrorMessage.NOT_AUTHENTICATED);
  return verifyCredentials(ctx, creds);
}

/** The authenticated user id, or undefined for an anonymous request; bad credentials still throw. */
export function optionalUser(ctx: ServerContext, req: FastifyRequest, queryAuth?: unknown): number | undefined {
  let creds = credentialsFromHeader(req);
  if (creds === undefined && queryAuth !== undefined && queryAuth !== '') {
    creds = parseAuthQueryParam(queryAuth);
    if (creds === undefined) {
      throw unauthorized('Malformed auth parameter: expected the base64 of "<user id>/<cookie>:<passphrase or base64 private key>".');
    }
  }
  return creds === undefined ? undefined : verifyCredentials(ctx, creds);
}

export function limitOrders(ctx: ServerContext, key: string): void {
  if (!httpShared(ctx).orders.allow(key, Date.now())) throw new HttpError(429, ErrorMessage.ORDERS_TOO_RAPIDLY);
}

export function limitRecords(ctx: ServerContext, userId: number): void {
  if (!httpShared(ctx).records.allow(`u:${userId}`, Date.now())) {
    throw new HttpError(429, 'You are making records requests too rapidly.');
  }
}

// ---------------------------------------------------------------- submitting

/** Submits a command; a server that is shutting down answers 503 instead of throwing a 500. */
export async function submit(ctx: ServerContext, cmd: Parameters<ServerContext['submit']>[0]): Promise<Applied> {
  try {
    return await ctx.submit(cmd);
  } catch (err) {
    ctx.log.warn({ err }, 'command submission failed');
    throw new HttpError(503, 'The server is not accepting commands at the moment.');
  }
}

// ---------------------------------------------------------------- routing

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;
type Method = (typeof ALL_METHODS)[number];

/**
 * Registers `handlers` for `urls` and answers every other method with 405 and an Allow header.
 * HEAD comes with GET (Fastify adds it); OPTIONS is left alone for CORS.
 */
export function routes(
  scope: FastifyInstance,
  urls: string[],
  handlers: Partial<Record<Exclude<Method, 'HEAD'>, RouteHandlerMethod>>,
  bodyLimit: number,
): void {
  const allowed = Object.keys(handlers) as Method[];
  if (allowed.includes('GET')) allowed.push('HEAD');
  const allow = [...allowed].sort().join(', ');
  const others = ALL_METHODS.filter((m) => !allowed.includes(m));
  for (const url of urls) {
    for (const [method, handler] of Object.entries(handlers)) {
      scope.route({ method, url, handler, bodyLimit });
    }
    if (others.length > 0) {
      scope.route({
        method: others,
        url,
        bodyLimit,
        handler: async (_req, reply) => {
          reply.header('Allow', allow);
          throw new HttpError(405, `Method not allowed; this resource allows ${allow}.`);
        },
      });
    }
  }
}

/** Both spellings of a path whose documented form ends in "/". */
export function slashVariants(url: string): string[] {
  return url.endsWith('/') ? [url, url.slice(0, -1)] : [url, url + '/'];
}

/**
 * An encapsulated plugin scope for one dialect: its own form-body parser (so two dialects never
 * register the same content-type parser on one instance) and its own error rendering.
 */
export function registerScope(
  app: FastifyInstance,
  renderError: (reply: FastifyReply, err: HttpError) => void,
  body: (scope: FastifyInstance) => void | Promise<void>,
): void {
  void app.register(async (scope) => {
    await scope.register(formbody);
    scope.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
      const e = toHttpError(err);
      if (e.status >= 500) req.log.error({ err }, 'request failed');
      for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
      if (e.empty) {
        reply.code(e.status).send();
        return;
      }
      renderError(reply, e);
    });
    await body(scope);
  });
}

export function toHttpError(err: FastifyError | HttpError | Error): HttpError {
  if (err instanceof HttpError) return err;
  const code = (err as FastifyError).code;
  const status = (err as FastifyError).statusCode;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'The request body is too large.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'Unsupported Content-Type: send application/x-www-form-urlencoded parameters.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpError(400, err.message);
    default:
      break;
  }
  if (err instanceof SyntaxError || code === 'FST_ERR_CTP_INVALID_JSON_BODY') return new HttpError(400, 'The request body is not valid JSON.');
  if (typeof status === 'number' && status >= 400 && status < 500) return new HttpError(status, err.message);
  return new HttpError(500, 'Internal server error.');
}
