// CoinEx v2 request signatures (seeds/coinex-v2-integration-guide.txt, "Authentication").
//
// The guide specifies HMAC-SHA256(secret, method + path-with-query + body + timestamp), lowercase
// hex, and the same over the timestamp alone for the WebSocket `server.sign`. ccxt's coinex class
// (4.5.x, js/src/coinex.js `sign`) does NOT do that for REST: it sends
// SHA-256(method + path-with-query + body + timestamp + secret), a plain keyed hash; its
// WebSocket client (js/src/pro/coinex.js) does use the guide's HMAC. A server that unmodified
// ccxt clients can talk to must accept both REST forms; coinexVerify does by default.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The prehash of the guide: METHOD + path-with-query + body + timestamp (body may be empty). */
function prehashParts(method: string, pathWithQuery: string, body: string | Buffer, timestamp: string | number): (string | Buffer)[] {
  // The guide: "method represents the HTTP request method in uppercase letters".
  return [method.toUpperCase(), pathWithQuery, body, String(timestamp)];
}

/** Guide-conformant REST signature: lowercase hex HMAC-SHA256 keyed with the secret. */
export function coinexSign(
  method: string,
  pathWithQuery: string,
  body: string | Buffer,
  timestampMs: string | number,
  secretKey: string,
): string {
  const h = createHmac('sha256', secretKey);
  for (const part of prehashParts(method, pathWithQuery, body, timestampMs)) h.update(part);
  return h.digest('hex');
}

/** ccxt's REST signature: lowercase hex SHA-256 of the same prehash with the secret appended. */
export function coinexCcxtSign(
  method: string,
  pathWithQuery: string,
  body: string | Buffer,
  timestampMs: string | number,
  secretKey: string,
): string {
  const h = createHash('sha256');
  for (const part of prehashParts(method, pathWithQuery, body, timestampMs)) h.update(part);
  return h.update(secretKey).digest('hex');
}

/** WebSocket `server.sign`: lowercase hex HMAC-SHA256 over the timestamp alone. */
export function coinexWsSign(timestampMs: string | number, secretKey: string): string {
  return createHmac('sha256', secretKey).update(String(timestampMs)).digest('hex');
}

/** Constant-time comparison of a received signature with the expected one; case-insensitive hex. */
export function signaturesEqual(received: unknown, expected: string): boolean {
  if (typeof received !== 'string') return false;
  const a = Buffer.from(received.toLowerCase(), 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface CoinexVerifyOptions {
  /** Also accept ccxt's SHA-256(prehash + secret) form. Default true. */
  acceptCcxtForm?: boolean;
}

/**
 * True if `signature` signs the request under `secretKey`. Never throws. `pathWithQuery` and
 * `body` must be exactly as received (the raw request target and raw body bytes): re-encoding
 * either would change the signed string.
 */
export function coinexVerify(
  method: string,
  pathWithQuery: string,
  body: string | Buffer,
  timestampMs: string | number,
  secretKey: string,
  signature: unknown,
  options: CoinexVerifyOptions = {},
): boolean {
  try {
    if (signaturesEqual(signature, coinexSign(method, pathWithQuery, body, timestampMs, secretKey))) return true;
    return (
      (options.acceptCcxtForm ?? true) &&
      signaturesEqual(signature, coinexCcxtSign(method, pathWithQuery, body, timestampMs, secretKey))
    );
  } catch {
    return false;
  }
}

/** WebSocket `server.sign` check. Never throws. */
export function coinexWsVerify(timestampMs: string | number, secretKey: string, signature: unknown): boolean {
  try {
    return signaturesEqual(signature, coinexWsSign(timestampMs, secretKey));
  } catch {
    return false;
  }
}

/** Default validity window of a signed request (the guide: 5000 ms, X-COINEX-WINDOWTIME overrides). */
export const COINEX_DEFAULT_WINDOW_MS = 5000;

/**
 * Whether X-COINEX-TIMESTAMP (and the optional X-COINEX-WINDOWTIME) make the request current at
 * `nowMs`. The guide only rejects requests sent too long ago; a timestamp more than one window in
 * the future is rejected too, or a client could pre-sign requests valid for ever. Never throws.
 */
export function coinexTimestampFresh(timestamp: unknown, windowTime: unknown, nowMs: number): boolean {
  const ts = parseMillis(timestamp);
  if (ts === undefined) return false;
  const window = windowTime === undefined || windowTime === null || windowTime === '' ? COINEX_DEFAULT_WINDOW_MS : parseMillis(windowTime);
  if (window === undefined) return false;
  return Math.abs(nowMs - ts) <= window;
}

function parseMillis(v: unknown): number | undefined {
  const text = typeof v === 'number' ? String(v) : v;
  if (typeof text !== 'string' || !/^[0-9]{1,16}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
