// Request rate limits (coinflex-api/LIMITS.md, coinfloor-api/LIMITS.md), shared by every dialect.
//
// Sliding-window counter: per key, the counts of the current and the previous fixed window
// (aligned to multiples of windowMs). A request is allowed if
//   previous · (time left of the current window) / windowMs + current + 1 <= limit,
// i.e. the previous window's count fades out linearly. Unlike a plain fixed window, a client
// cannot send `limit` just before a boundary and `limit` again just after it. O(1) memory per
// key, integer arithmetic only (no rounding), and time is always passed in, so it is exact to test.
import type { LimitsConfig } from './dialect.js';

export interface RateLimit {
  /** Requests allowed per window. 0 denies everything. */
  limit: number;
  windowMs: number;
}

export interface RateLimiterOptions extends RateLimit {
  /**
   * Most keys tracked. When full, the least recently used key is forgotten, which resets its
   * count (errs on the side of allowing: refusing new keys would let anyone lock others out).
   * Default 100,000.
   */
  maxKeys?: number;
}

interface Counter {
  /** Index of the current window: floor(now / windowMs). */
  window: number;
  previous: number;
  current: number;
}

export class RateLimiter {
  readonly limit: number;
  readonly windowMs: number;
  private readonly maxKeys: number;
  /** Map order = least recently used first, so idle keys are evicted from the front. */
  private readonly counters = new Map<string, Counter>();

  constructor(options: RateLimiterOptions) {
    const { limit, windowMs, maxKeys = 100_000 } = options;
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`invalid limit: ${limit}`);
    if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError(`invalid windowMs: ${windowMs}`);
    if (!Number.isSafeInteger(maxKeys) || maxKeys <= 0) throw new RangeError(`invalid maxKeys: ${maxKeys}`);
    // previous·windowMs must stay an exact double.
    if (limit * windowMs * 2 > Number.MAX_SAFE_INTEGER) throw new RangeError('limit × windowMs too large');
    this.limit = limit;
    this.windowMs = windowMs;
    this.maxKeys = maxKeys;
  }

  /** Number of keys currently tracked. */
  get size(): number {
    return this.counters.size;
  }

  /** Counts one request for `key` at `nowMs` and says whether it is within the limit. Denied requests are not counted. */
  allow(key: string, nowMs: number): boolean {
    if (!Number.isFinite(nowMs)) return false;
    const window = Math.floor(nowMs / this.windowMs);
    this.evictIdle(window);

    let c = this.counters.get(key);
    if (c === undefined) {
      c = { window, previous: 0, current: 0 };
    } else {
      this.counters.delete(key); // re-inserted below as most recently used
      if (window === c.window + 1) c = { window, previous: c.current, current: 0 };
      else if (window > c.window + 1) c = { window, previous: 0, current: 0 };
      // window < c.window: the clock went back; keep counting in the newer window (stricter).
    }
    this.counters.set(key, c);
    if (this.counters.size > this.maxKeys) this.counters.delete(this.counters.keys().next().value as string);

    // Time left in the current window, clamped to [0, windowMs] in case the clock went back.
    const left = Math.min(this.windowMs, Math.max(0, (c.window + 1) * this.windowMs - nowMs));
    const allowed = c.previous * left + (c.current + 1) * this.windowMs <= this.limit * this.windowMs;
    if (allowed) c.current++;
    return allowed;
  }

  /** Forgets every key. */
  clear(): void {
    this.counters.clear();
  }

  /** A key last seen two or more windows ago behaves exactly like an unseen one, so drop it. */
  private evictIdle(window: number): void {
    for (const [key, c] of this.counters) {
      if (c.window >= window - 1) break; // the rest were used more recently
      this.counters.delete(key);
    }
  }
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * LIMITS.md figures. CoinFLEX's table (the newer API) is the default; the key a dialect uses
 * (user id or session id) is part of the figure and noted on each line.
 */
export const LIMITS = {
  /** Authentication attempts: 1,000 per hour per user. */
  authAttempts: { limit: 1000, windowMs: HOUR },
  /** WebSocket order placements incl. cancellations and market order estimates: 200 per second per user. */
  wsOrders: { limit: 200, windowMs: SECOND },
  /** REST order placements (same scope): 300 per 10 s window per user. */
  restOrders: { limit: 300, windowMs: 10 * SECOND },
  /** Information requests (balances, open orders, trade volume): 10 per 10 s per session. */
  infoRequests: { limit: 10, windowMs: 10 * SECOND },
  /** Records (historical) requests: 30 per minute per user. */
  recordsRequests: { limit: 30, windowMs: MINUTE },
  /** Conversion requests (CoinFLEX only): 1 per 5 s per user. */
  conversionRequests: { limit: 1, windowMs: 5 * SECOND },
} as const satisfies Record<string, RateLimit>;

/** Coinfloor's older table, where it differs from CoinFLEX's. */
export const COINFLOOR_LIMITS = {
  /** Order placements incl. cancellations and estimates: 1,000 per 1,000 seconds per user. */
  orders: { limit: 1000, windowMs: 1000 * SECOND },
  /** Records requests: 10 per minute per user. */
  recordsRequests: { limit: 10, windowMs: MINUTE },
} as const satisfies Record<string, RateLimit>;

/** Open orders per user (both tables): a standing cap for the engine, not a rate. */
export const MAX_OPEN_ORDERS_PER_USER = 1000;

/** The rate limits of a server's configured LimitsConfig (dialect.ts). */
export function rateLimitsFrom(config: LimitsConfig): {
  authAttempts: RateLimit;
  wsOrders: RateLimit;
  restOrders: RateLimit;
  infoRequests: RateLimit;
  recordsRequests: RateLimit;
} {
  return {
    authAttempts: { limit: config.authAttemptsPerHour, windowMs: HOUR },
    wsOrders: { limit: config.wsOrdersPerSecond, windowMs: SECOND },
    restOrders: { limit: config.restOrdersPer10s, windowMs: 10 * SECOND },
    infoRequests: { limit: config.infoRequestsPer10s, windowMs: 10 * SECOND },
    recordsRequests: { limit: config.recordsPerMinute, windowMs: MINUTE },
  };
}
