// Authentication of CoinEx requests with operator-created API keys (engine state: CreateApiKey,
// RevokeApiKey; ctx.engine.apiKey(accessId)).
//
// HTTP: X-COINEX-KEY (access id), X-COINEX-SIGN (lowercase hex signature over
// METHOD + path-with-query + body + X-COINEX-TIMESTAMP), X-COINEX-TIMESTAMP, optional
// X-COINEX-WINDOWTIME (default 5,000 ms). Both the guide's HMAC-SHA256 and ccxt's
// SHA-256(prehash + secret) are accepted (src/auth/hmac.ts). The signed path and body are the
// raw request target and the raw body bytes as received.
// WebSocket: server.sign {access_id, signed_str = HMAC-SHA256(secret, timestamp), timestamp}.
//
// Failed signatures count against the key owner's authentication-attempt budget (LIMITS.md,
// shared with the other HTTP dialects). Secrets and signatures are never logged.
import type { ApiKeyPermission, ApiKeyView } from '../../core/types.js';
import type { ServerContext } from '../../server/context.js';
import { COINEX_DEFAULT_WINDOW_MS, coinexVerify, coinexWsVerify } from '../../auth/hmac.js';
import { httpShared } from '../http-common.js';
import { CoinexError, HttpCode } from './errors.js';

/** Largest X-COINEX-WINDOWTIME accepted: a longer window would let a captured request be replayed for long. */
export const MAX_WINDOW_MS = 60_000;

export interface Principal {
  userId: number;
  accessId: string;
  permissions: ApiKeyPermission[];
}

export interface SignedRequest {
  method: string;
  /** Raw request target: path and query string exactly as received. */
  url: string;
  /** Raw body text ('' when there is none). */
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function header(h: SignedRequest['headers'], name: string): string | undefined {
  const v = h[name];
  if (Array.isArray(v)) return v.length === 1 ? v[0] : undefined;
  return v;
}

const MILLIS = /^[0-9]{1,16}$/;

/**
 * Checks X-COINEX-TIMESTAMP against its window. `required`: private endpoints need it; on
 * public endpoints it is optional, and checked when sent (the guide: "in all HTTP endpoints").
 */
export function checkTimestamp(h: SignedRequest['headers'], nowMs: number, required: boolean): string | undefined {
  const ts = header(h, 'x-coinex-timestamp');
  if (ts === undefined || ts === '') {
    if (required) throw new CoinexError(HttpCode.PARAMETER, 'X-COINEX-TIMESTAMP is required');
    return undefined;
  }
  if (!MILLIS.test(ts)) throw new CoinexError(HttpCode.PARAMETER, 'X-COINEX-TIMESTAMP must be a millisecond timestamp');
  const win = header(h, 'x-coinex-windowtime');
  let window = COINEX_DEFAULT_WINDOW_MS;
  if (win !== undefined && win !== '') {
    if (!MILLIS.test(win) || Number(win) === 0 || Number(win) > MAX_WINDOW_MS) {
      throw new CoinexError(HttpCode.PARAMETER, `X-COINEX-WINDOWTIME must be 1 to ${MAX_WINDOW_MS} milliseconds`);
    }
    window = Number(win);
  }
  if (Math.abs(nowMs - Number(ts)) > window) {
    throw new CoinexError(HttpCode.EXPIRED, 'Expired request: X-COINEX-TIMESTAMP is outside its window, please check your clock');
  }
  return ts;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

function usableKey(ctx: ServerContext, accessId: unknown): ApiKeyView | undefined {
  if (typeof accessId !== 'string' || accessId === '' || accessId.length > 128) return undefined;
  const key = ctx.engine.apiKey(accessId);
  return key === undefined || key.revoked ? undefined : key;
}

function countFailure(ctx: ServerContext, userId: number, nowMs: number): void {
  if (!httpShared(ctx).authAttempts.allow(`u:${userId}`, nowMs)) {
    throw new CoinexError(HttpCode.RATE_LIMIT, 'You are making authentication attempts too rapidly.');
  }
}

function checkPermission(key: ApiKeyView, need: ApiKeyPermission): void {
  if (!key.permissions.includes(need)) {
    throw new CoinexError(HttpCode.PERMISSION, `API permission is not allowed: this key lacks the ${need} permission`);
  }
}

/** Authenticates a signed HTTP request; throws the CoinEx error otherwise. */
export function authenticateHttp(ctx: ServerContext, req: SignedRequest, need: ApiKeyPermission, nowMs: number): Principal {
  const accessId = header(req.headers, 'x-coinex-key');
  if (accessId === undefined || accessId === '') throw new CoinexError(HttpCode.ACCESS_ID, 'X-COINEX-KEY is required');
  const sign = header(req.headers, 'x-coinex-sign');
  if (sign === undefined || !HEX64.test(sign)) {
    throw new CoinexError(HttpCode.SIGN_VALUE, 'Abnormal X-COINEX-SIGN value: 64 hexadecimal digits are required');
  }
  const key = usableKey(ctx, accessId);
  if (key === undefined) throw new CoinexError(HttpCode.ACCESS_ID, 'Abnormal access_id: unknown or revoked API key');
  const ts = checkTimestamp(req.headers, nowMs, true)!;
  if (!coinexVerify(req.method, req.url, req.body, ts, key.secretKey, sign)) {
    countFailure(ctx, key.userId, nowMs);
    throw new CoinexError(HttpCode.SIGNATURE, 'Signature verification failed');
  }
  checkPermission(key, need);
  return { userId: key.userId, accessId: key.accessId, permissions: [...key.permissions] };
}

export type WsAuthResult = { ok: true; principal: Principal } | { ok: false; code: 'argument' | 'signature' | 'rate'; message: string };

/** Checks a server.sign request. */
export function authenticateWs(ctx: ServerContext, params: Record<string, unknown>, nowMs: number): WsAuthResult {
  const { access_id: accessId, signed_str: signed, timestamp } = params;
  if (typeof accessId !== 'string' || typeof signed !== 'string') {
    return { ok: false, code: 'argument', message: 'invalid argument: access_id and signed_str are required' };
  }
  const ts = typeof timestamp === 'number' && Number.isSafeInteger(timestamp) ? String(timestamp) : typeof timestamp === 'string' ? timestamp : '';
  if (!MILLIS.test(ts)) return { ok: false, code: 'argument', message: 'invalid argument: timestamp must be a millisecond timestamp' };
  const key = usableKey(ctx, accessId);
  if (key === undefined) return { ok: false, code: 'signature', message: 'invalid access_id: unknown or revoked API key' };
  if (Math.abs(nowMs - Number(ts)) > COINEX_DEFAULT_WINDOW_MS) {
    return { ok: false, code: 'signature', message: 'signature expired: timestamp is outside its 5000 ms window' };
  }
  if (!coinexWsVerify(ts, key.secretKey, signed)) {
    if (!httpShared(ctx).authAttempts.allow(`u:${key.userId}`, nowMs)) {
      return { ok: false, code: 'rate', message: 'You are making authentication attempts too rapidly.' };
    }
    return { ok: false, code: 'signature', message: 'incorrect signature' };
  }
  return { ok: true, principal: { userId: key.userId, accessId: key.accessId, permissions: [...key.permissions] } };
}
