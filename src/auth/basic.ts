// HTTP Basic credentials of the REST API and Event Stream (REST.md "Authentication"):
// user-id = "<numeric id>/<base64 cookie>", password = the passphrase, or the base64 of the
// 28-byte private key derived from id and passphrase. The server stores only the public key,
// so checking a password means deriving a key and comparing public points.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeBase64Strict } from './base64.js';
import {
  cookiesEqual,
  derivePrivateKey,
  privateKeyFromBase64,
  publicKeyFromPrivate,
} from './secp224k1.js';

export interface BasicCredentials {
  userId: number;
  cookie: string;
  /** The Basic password: a passphrase or the base64 private key. */
  secret: string;
}

const USER_ID = /^[0-9]{1,16}$/;

/**
 * Splits "id/cookie:password". The user id is digits only, so the first "/" ends it (the cookie
 * itself is base64 and may contain "/"); the first ":" ends the user-id part (RFC 7617: the
 * password may contain ":", the user-id may not). Spaces in the cookie become "+": base64 has
 * no spaces, and an unescaped "+" in a query string arrives as one.
 */
export function parseCredentials(userPass: unknown): BasicCredentials | undefined {
  if (typeof userPass !== 'string') return undefined;
  const colon = userPass.indexOf(':');
  if (colon < 0) return undefined;
  const user = userPass.slice(0, colon);
  const slash = user.indexOf('/');
  if (slash < 0) return undefined;
  const idText = user.slice(0, slash);
  const cookie = user.slice(slash + 1).replaceAll(' ', '+');
  if (!USER_ID.test(idText) || cookie === '') return undefined;
  const userId = Number(idText);
  if (!Number.isSafeInteger(userId)) return undefined;
  return { userId, cookie, secret: userPass.slice(colon + 1) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Base64 of "id/cookie:password" (padding optional), decoded as UTF-8. */
function parseToken(token: string): BasicCredentials | undefined {
  const padded = token + '='.repeat((4 - (token.length % 4)) % 4);
  const raw = decodeBase64Strict(padded);
  if (raw === undefined) return undefined;
  try {
    return parseCredentials(utf8.decode(raw));
  } catch {
    return undefined; // not UTF-8
  }
}

/** Parses an `Authorization: Basic <base64>` header value; anything malformed gives undefined. */
export function parseBasicAuthorization(header: unknown): BasicCredentials | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  return m === null ? undefined : parseToken(m[1]);
}

/**
 * The Event Stream `auth` query parameter. FUTURES.md specifies the base64 Basic string (as in
 * the header, with or without the "Basic " prefix); a raw "id/cookie:password" is accepted too.
 * The two cannot be confused: base64 never contains ":", the raw form always does.
 */
export function parseAuthQueryParam(value: unknown): BasicCredentials | undefined {
  if (typeof value !== 'string') return undefined;
  if (value.includes(':')) return parseCredentials(value);
  const token = value.replace(/^basic +/i, '').replaceAll(' ', '+');
  return parseToken(token);
}

export interface StoredUser {
  /** Uncompressed 57-byte secp224k1 public key. */
  publicKey: Buffer;
  cookie: string;
}

export type BasicResult = 'ok' | 'no_user' | 'bad_cookie' | 'bad_secret';

export interface BasicVerifierOptions {
  /** Most remembered successful checks (least recently used go first). Default 10,000. */
  maxEntries?: number;
  /** How long a successful check is remembered, in ms. Default 5 minutes. */
  ttlMs?: number;
  /** Clock for the cache lifetime, injectable for tests. Default Date.now. */
  now?: () => number;
}

/**
 * Checks Basic credentials against the stored public key and cookie. Deriving a public key costs
 * an EC scalar multiplication (twice when the password is tried both ways), and REST clients send
 * the same credentials on every request, so successes are cached. The cache key is an HMAC under
 * a per-process random key, so the table never holds a usable password; an entry also records the
 * public key it was checked against, so a changed key (or cookie, checked first) is never served.
 */
export class BasicVerifier {
  private readonly cache = new Map<string, { publicKey: Buffer; expiresAt: number }>();
  private readonly hmacKey = randomBytes(32);
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: BasicVerifierOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.cache.size;
  }

  clear(): void {
    this.cache.clear();
  }

  /** Whether a live success for exactly these credentials is remembered (for tests and metrics). */
  has(userId: number, cookie: string, secret: string): boolean {
    if (!Number.isSafeInteger(userId) || userId < 0) return false;
    const hit = this.cache.get(this.cacheKey(userId, cookie, secret));
    return hit !== undefined && hit.expiresAt > this.now();
  }

  verify(
    userId: number,
    cookie: string,
    secret: string,
    lookupUser: (id: number) => StoredUser | undefined,
  ): BasicResult {
    if (!Number.isSafeInteger(userId) || userId < 0) return 'no_user';
    const user = lookupUser(userId);
    if (user === undefined) return 'no_user';
    if (!cookiesEqual(cookie, user.cookie)) return 'bad_cookie';
    if (typeof secret !== 'string') return 'bad_secret';

    const key = this.cacheKey(userId, cookie, secret);
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cache.delete(key);
      if (hit.expiresAt > now && samePublicKey(hit.publicKey, user.publicKey)) {
        this.cache.set(key, hit); // most recently used goes last
        return 'ok';
      }
    }

    if (!secretMatches(userId, secret, user.publicKey)) return 'bad_secret';
    this.cache.set(key, { publicKey: Buffer.from(user.publicKey), expiresAt: now + this.ttlMs });
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
    return 'ok';
  }

  private cacheKey(userId: number, cookie: string, secret: string): string {
    // Length-prefixing the cookie keeps (cookie, secret) pairs from running into each other.
    const head = Buffer.alloc(12);
    head.writeBigUInt64BE(BigInt(userId));
    head.writeUInt32BE(Buffer.byteLength(cookie, 'utf8'), 8);
    return createHmac('sha256', this.hmacKey).update(head).update(cookie, 'utf8').update(secret, 'utf8').digest('base64');
  }
}

function samePublicKey(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The password is a base64 private key or a passphrase; try it as the key first, then as the passphrase. */
function secretMatches(userId: number, secret: string, stored: Buffer): boolean {
  const asKey = privateKeyFromBase64(secret);
  if (asKey !== undefined && derivedMatches(asKey, stored)) return true;
  return derivedMatches(derivePrivateKey(userId, secret), stored);
}

function derivedMatches(priv: Buffer, stored: Buffer): boolean {
  try {
    return samePublicKey(publicKeyFromPrivate(priv), stored);
  } catch {
    return false; // zero scalar: matches nothing
  }
}
