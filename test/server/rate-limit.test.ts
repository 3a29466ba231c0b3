import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  COINFLOOR_LIMITS,
  LIMITS,
  MAX_OPEN_ORDERS_PER_USER,
  RateLimiter,
  rateLimitsFrom,
  type RateLimit,
} from '../../src/server/rate-limit.js';

/** How many of `count` requests at `nowMs` are allowed. */
function burst(rl: RateLimiter, key: string, nowMs: number, count: number): number {
  let ok = 0;
  for (let i = 0; i < count; i++) if (rl.allow(key, nowMs)) ok++;
  return ok;
}

test('a fresh window allows exactly `limit`, then refuses; keys are independent', () => {
  const rl = new RateLimiter({ limit: 10, windowMs: 10_000 });
  assert.equal(burst(rl, 'a', 0, 15), 10);
  assert.equal(rl.allow('a', 9_999), false);
  assert.equal(burst(rl, 'b', 5_000, 15), 10);
});

test('the previous window fades out linearly (sliding-window counter)', () => {
  const rl = new RateLimiter({ limit: 10, windowMs: 10_000 });
  assert.equal(burst(rl, 'k', 9_000, 10), 10); // all 10 late in window 0
  assert.equal(rl.allow('k', 10_000), false); // window 1 starts: previous counts fully
  // At 30% into window 1 the previous window weighs 70%: 7 + 3 = 10, so 3 more are allowed.
  assert.equal(burst(rl, 'k', 13_000, 10), 3);
  // At 50%: 5 + 3 + 2 = 10.
  assert.equal(burst(rl, 'k', 15_000, 10), 2);
  // Window 2: window 1's 5 weigh fully at its start.
  assert.equal(burst(rl, 'k', 20_000, 10), 5);
  // Two windows of silence: as good as new.
  assert.equal(burst(rl, 'k', 40_000, 20), 10);
});

test('no more than limit + limit·(fraction elapsed) around any boundary, unlike a fixed window', () => {
  const rl = new RateLimiter({ limit: 200, windowMs: 1000 });
  assert.equal(burst(rl, 'u', 999, 500), 200);
  assert.equal(burst(rl, 'u', 1000, 500), 0); // a fixed window would allow 200 more here
  assert.equal(burst(rl, 'u', 1001, 500), 0); // 200·0.999 = 199.8 + 1 > 200
  assert.equal(burst(rl, 'u', 1005, 500), 1); // 200·0.995 = 199 + 1 = 200
});

test('denied requests are not counted', () => {
  const rl = new RateLimiter({ limit: 2, windowMs: 1000 });
  assert.equal(burst(rl, 'x', 0, 1000), 2);
  assert.equal(burst(rl, 'x', 2000, 2), 2); // window 1 saw only refusals, so nothing carries over
});

test('limit 0 refuses everything; bad time fails closed; bad config throws', () => {
  const none = new RateLimiter({ limit: 0, windowMs: 1000 });
  assert.equal(none.allow('a', 0), false);
  const rl = new RateLimiter({ limit: 5, windowMs: 1000 });
  assert.equal(rl.allow('a', NaN), false);
  assert.equal(rl.allow('a', Infinity), false);
  for (const bad of [
    { limit: -1, windowMs: 1000 }, { limit: 1.5, windowMs: 1000 }, { limit: 1, windowMs: 0 },
    { limit: 1, windowMs: 0.5 }, { limit: 1, windowMs: 1000, maxKeys: 0 }, { limit: 2 ** 40, windowMs: 2 ** 20 },
  ]) {
    assert.throws(() => new RateLimiter(bad), RangeError, JSON.stringify(bad));
  }
});

test('a clock going backwards never grants extra requests', () => {
  const rl = new RateLimiter({ limit: 3, windowMs: 1000 });
  assert.equal(burst(rl, 'k', 5_500, 3), 3);
  assert.equal(burst(rl, 'k', 1_000, 3), 0);
  assert.equal(burst(rl, 'k', 5_999, 3), 0);
});

test('memory: idle keys are evicted, and the key count is capped', () => {
  const rl = new RateLimiter({ limit: 1, windowMs: 1000 });
  for (let i = 0; i < 1000; i++) rl.allow(`k${i}`, 500);
  assert.equal(rl.size, 1000);
  rl.allow('late', 1_500); // one window later: the others still matter (previous window)
  assert.equal(rl.size, 1001);
  rl.allow('later', 2_000); // two windows later: they are as good as new, so dropped
  assert.equal(rl.size, 2);

  const capped = new RateLimiter({ limit: 1, windowMs: 1000, maxKeys: 3 });
  for (const k of ['a', 'b', 'c']) assert.equal(capped.allow(k, 0), true);
  assert.equal(capped.allow('a', 1), false); // touch a: b is now the least recently used
  assert.equal(capped.allow('d', 2), true);
  assert.equal(capped.size, 3);
  assert.equal(capped.allow('a', 3), false); // a kept its count
  assert.equal(capped.allow('c', 3), false); // so did c
  assert.equal(capped.allow('b', 3), true); // b was forgotten (and now evicts d)
  capped.clear();
  assert.equal(capped.size, 0);
});

test('property: in any window-length interval, at most 2·limit requests pass, and a steady client is never starved', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 1000 }),
      fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 300 }),
      (limit, windowMs, gaps) => {
        const rl = new RateLimiter({ limit, windowMs });
        let t = 0;
        const passed: number[] = [];
        for (const g of gaps) {
          t += g;
          if (rl.allow('k', t)) passed.push(t);
        }
        // Sliding check: no interval [t, t + windowMs) holds more than 2·limit.
        for (let i = 0, j = 0; i < passed.length; i++) {
          while (passed[i] - passed[j] >= windowMs) j++;
          assert.ok(i - j + 1 <= 2 * limit);
        }
        // Within one aligned window, at most limit pass.
        const perWindow = new Map<number, number>();
        for (const p of passed) perWindow.set(Math.floor(p / windowMs), (perWindow.get(Math.floor(p / windowMs)) ?? 0) + 1);
        for (const n of perWindow.values()) assert.ok(n <= limit);
        // After two idle windows, a request always passes.
        assert.equal(rl.allow('k', t + 2 * windowMs), true);
      },
    ),
    { numRuns: 200, seed: 42 },
  );
});

test('presets reproduce LIMITS.md', () => {
  const expect: Record<keyof typeof LIMITS, RateLimit> = {
    authAttempts: { limit: 1000, windowMs: 3_600_000 },
    wsOrders: { limit: 200, windowMs: 1000 },
    restOrders: { limit: 300, windowMs: 10_000 },
    infoRequests: { limit: 10, windowMs: 10_000 },
    recordsRequests: { limit: 30, windowMs: 60_000 },
    conversionRequests: { limit: 1, windowMs: 5000 },
  };
  assert.deepEqual(LIMITS, expect);
  assert.deepEqual(COINFLOOR_LIMITS, { orders: { limit: 1000, windowMs: 1_000_000 }, recordsRequests: { limit: 10, windowMs: 60_000 } });
  assert.equal(MAX_OPEN_ORDERS_PER_USER, 1000);

  // Every preset builds, and its fresh window holds exactly its figure.
  for (const preset of [...Object.values(LIMITS), ...Object.values(COINFLOOR_LIMITS)]) {
    const rl = new RateLimiter(preset);
    assert.equal(burst(rl, 'user', 0, preset.limit + 5), preset.limit);
  }
});

test('rateLimitsFrom maps the server LimitsConfig onto windows', () => {
  const r = rateLimitsFrom({
    authAttemptsPerHour: 1000, wsOrdersPerSecond: 200, restOrdersPer10s: 300, infoRequestsPer10s: 10,
    recordsPerMinute: 30, wsIdleTimeoutMs: 60_000, maxMessageBytes: 1 << 20, maxBufferedBytes: 1 << 22,
  });
  assert.deepEqual(r, {
    authAttempts: LIMITS.authAttempts,
    wsOrders: LIMITS.wsOrders,
    restOrders: LIMITS.restOrders,
    infoRequests: LIMITS.infoRequests,
    recordsRequests: LIMITS.recordsRequests,
  });
});
