// The books on their own: the fast book against the naive oracle under random operations, and
// the building blocks (exact arithmetic, the PRNG, the trailing windows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gcd, mulDivCeil, mulDivFloor, mulDivRem } from '../../src/core/arith.js';
import { FastBook, NO_ORDER, OrderPool, type Book } from '../../src/core/book.js';
import { Prng } from '../../src/core/prng.js';
import { dayOf, minuteOf, TradeWindow, VolumeStore } from '../../src/core/window.js';
import { NaiveBook } from './naive-book.js';

type BookOp = { k: 'insert'; bid: boolean; price: number; q: number } | { k: 'remove'; pick: number } | { k: 'reduce'; pick: number; by: number };

function snapshot(book: Book, pool: OrderPool) {
  const side = (isBid: boolean) => {
    const ids: number[] = [];
    book.forEach(isBid, (h) => {
      ids.push(pool.id(h));
    });
    const best = book.best(isBid);
    return { ids, best: best === NO_ORDER ? null : pool.id(best), bestPrice: book.bestPrice(isBid), depth: book.depth(isBid, 5), all: book.depth(isBid, 1_000) };
  };
  return { size: book.size, bids: side(true), asks: side(false) };
}

/** Runs random op sequences on a FastBook and the naive book side by side; their views must agree after every op. */
function checkAgainstNaive(opArb: fc.Arbitrary<BookOp>, maxLength: number, numRuns: number, seed: number): void {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength, size: 'max' }), (ops) => {
      // Each book has its own pool, so a bug that writes another order's row shows up as a difference.
      const fastPool = new OrderPool();
      const naivePool = new OrderPool();
      const fast = new FastBook(fastPool);
      const naive = new NaiveBook(naivePool);
      const live: [number, number][] = [];
      let id = 1;
      for (const op of ops) {
        if (op.k === 'insert') {
          const make = (pool: OrderPool) => pool.alloc(id, 1, 0, op.bid, op.q, op.price, id, 0, true, 1, 0);
          const pair: [number, number] = [make(fastPool), make(naivePool)];
          id++;
          fast.insert(pair[0]);
          naive.insert(pair[1]);
          live.push(pair);
        } else if (live.length > 0) {
          const i = op.pick % live.length;
          const [f, n] = live[i]!;
          if (op.k === 'remove') {
            fast.remove(f);
            naive.remove(n);
            fastPool.release(f);
            naivePool.release(n);
            live.splice(i, 1);
          } else {
            const by = Math.min(op.by, fastPool.remaining(f) - 1);
            fast.reduce(f, by);
            naive.reduce(n, by);
          }
        }
        assert.deepEqual(snapshot(fast, fastPool), snapshot(naive, naivePool));
      }
    }),
    { numRuns, seed },
  );
}

test('FastBook behaves exactly like the naive book', () => {
  const opArb: fc.Arbitrary<BookOp> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ k: fc.constant('insert' as const), bid: fc.boolean(), price: fc.integer({ min: 1, max: 12 }), q: fc.integer({ min: 1, max: 9 }) }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('remove' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('reduce' as const), pick: fc.nat(), by: fc.integer({ min: 0, max: 8 }) }) },
  );
  checkAgainstNaive(opArb, 200, 300, 7);
});

test('FastBook behaves exactly like the naive book over many prices and deep queues (emptied levels kept, purged, dropped)', () => {
  // Hundreds of prices empty on each side (past the 256 emptied levels a side keeps, so they are
  // purged), and a few hot prices whose queues grow past 64 orders (such a level is not kept).
  const opArb: fc.Arbitrary<BookOp> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant('insert' as const), bid: fc.boolean(), price: fc.integer({ min: 1, max: 2_000 }), q: fc.integer({ min: 1, max: 9 }) }) },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('insert' as const), bid: fc.boolean(), price: fc.integer({ min: 1_000, max: 1_002 }), q: fc.integer({ min: 1, max: 9 }) }) },
    { weight: 5, arbitrary: fc.record({ k: fc.constant('remove' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('reduce' as const), pick: fc.nat(), by: fc.integer({ min: 0, max: 8 }) }) },
  );
  checkAgainstNaive(opArb, 3_000, 4, 11);
});

test('FastBook: priority within a level is arrival order; forEach can stop early', () => {
  const pool = new OrderPool();
  const book = new FastBook(pool);
  const o = (id: number, isBid: boolean, price: number) => pool.alloc(id, 1, 0, isBid, 1, price, 0, 0, true, 1, 0);
  for (const x of [o(1, true, 5), o(2, true, 7), o(3, true, 5), o(4, false, 9), o(5, false, 8), o(6, false, 9)]) book.insert(x);
  const ids = (isBid: boolean) => {
    const out: number[] = [];
    book.forEach(isBid, (x) => {
      out.push(pool.id(x));
    });
    return out;
  };
  assert.deepEqual(ids(true), [2, 1, 3]);
  assert.deepEqual(ids(false), [5, 4, 6]);
  const firstTwo: number[] = [];
  book.forEach(true, (x) => {
    firstTwo.push(pool.id(x));
    return firstTwo.length < 2;
  });
  assert.deepEqual(firstTwo, [2, 1]);
  assert.deepEqual(book.depth(true, 10), [
    [7, 1],
    [5, 2],
  ]);
});

test('FastBook: an emptied price level reused at another price starts empty and sorts by its new price', () => {
  const pool = new OrderPool();
  const book = new FastBook(pool);
  const o = (id: number, price: number, q: number) => pool.alloc(id, 1, 0, true, q, price, 0, 0, true, 1, 0);
  const a = o(1, 10, 3);
  const b = o(2, 10, 4);
  book.insert(a);
  book.insert(b);
  book.remove(a);
  book.remove(b);
  // The level of price 10 is emptied (kept for price 10, or a spare for another price).
  const c = o(3, 20, 5);
  const d = o(4, 5, 1);
  book.insert(c);
  book.insert(d);
  const e = o(5, 10, 2);
  book.insert(e);
  const ids: number[] = [];
  book.forEach(true, (x) => {
    ids.push(pool.id(x));
  });
  assert.deepEqual(ids, [3, 5, 4]);
  assert.deepEqual(book.depth(true, 10), [
    [20, 5],
    [10, 2],
    [5, 1],
  ]);
  book.reduce(c, 2);
  book.remove(e);
  assert.deepEqual(book.depth(true, 10), [
    [20, 3],
    [5, 1],
  ]);
  assert.equal(book.best(true), c);
});

test('mulDivRem is exact, with and without BigInt', () => {
  const big = fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) });
  fc.assert(
    fc.property(big, big, fc.bigInt({ min: 1n, max: BigInt(Number.MAX_SAFE_INTEGER) }), (a, b, c) => {
      const r = mulDivRem(Number(a), Number(b), Number(c));
      const q = (a * b) / c;
      if (q > BigInt(Number.MAX_SAFE_INTEGER)) assert.equal(r.q, Infinity);
      else {
        assert.equal(r.q, Number(q));
        assert.equal(r.r, Number((a * b) % c));
        assert.equal(mulDivFloor(Number(a), Number(b), Number(c)), Number(q));
        assert.equal(mulDivCeil(Number(a), Number(b), Number(c)), Number(q + ((a * b) % c === 0n ? 0n : 1n)));
      }
    }),
    { numRuns: 2_000, seed: 11 },
  );
  // Small operands, where floating division could be off by one in the last place.
  for (let a = 0; a < 300; a += 7) for (let b = 1; b < 50_000; b += 997) for (const c of [1, 3, 7, 10_000, 99_991]) {
    const r = mulDivRem(a, b, c);
    assert.equal(r.q * c + r.r, a * b);
    assert.ok(r.r >= 0 && r.r < c);
  }
  assert.equal(mulDivCeil(12345, 1234500, 10_000), 1523991);
  assert.equal(gcd(10_000, 100_000_000 * 100), 10_000);
});

test('Prng: deterministic per seed, restorable, below(n) in range and roughly uniform', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  const seqA = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(
    Array.from({ length: 100 }, () => b.nextU32()),
    seqA,
  );
  assert.notDeepEqual(
    Array.from({ length: 100 }, () => new Prng(43).nextU32()),
    seqA,
  );
  const c = new Prng(a.state());
  assert.equal(c.nextU32(), a.nextU32());
  const counts = new Array<number>(10).fill(0);
  const p = new Prng(1);
  for (let i = 0; i < 100_000; i++) counts[p.below(10)]!++;
  for (const n of counts) assert.ok(Math.abs(n - 10_000) < 500, String(counts));
  for (const n of [1, 2, 3, 10_000, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 3, 2 ** 53]) {
    for (let i = 0; i < 200; i++) {
      const x = p.below(n);
      assert.ok(Number.isSafeInteger(x) && x >= 0 && x < n, `${x} of ${n}`);
    }
  }
  // Above 2^32 both halves of the range are reached.
  let high = 0;
  for (let i = 0; i < 1_000; i++) if (p.below(2 ** 40) >= 2 ** 39) high++;
  assert.ok(high > 400 && high < 600, String(high));
});

test('Prng: the stream and state are pinned (they are part of every snapshot and journal replay)', () => {
  // Values of the original implementation; a faster one must reproduce them bit for bit.
  const p = new Prng(42);
  assert.deepEqual(Array.from({ length: 4 }, () => p.nextU32()), [2837322924, 544945897, 479756282, 3500138142]);
  assert.deepEqual(
    [10_000, 1_000_000, 3, 2 ** 32, 2 ** 32 + 1, 2 ** 53].map((n) => p.below(n)),
    [6180, 173290, 1, 1112262688, 1393954368, 1651678956738754],
  );
  assert.deepEqual(p.state(), [1808124726, 2239175890, 553397748, 41692802]);
  // State words with the top bit set survive state() / restore as unsigned integers.
  const q = new Prng([0xffffffff, 0x80000000, 1, 0x7fffffff]);
  assert.deepEqual(Array.from({ length: 3 }, () => q.nextU32()), [576, 4294956343, 576]);
  assert.deepEqual(q.state(), [3073, 1023, 2147484671, 6292480]);
  assert.deepEqual(new Prng(q.state()).state(), q.state());
});

test('TradeWindow: 24 h of minute buckets, serialise/restore keeps the logical state', () => {
  const MIN = 60_000_000;
  const w = new TradeWindow();
  w.add(minuteOf(0), 100, 1, 10);
  w.add(minuteOf(30 * MIN), 50, 2, 20);
  w.add(minuteOf(30 * MIN + 5), 70, 3, 30);
  assert.deepEqual([w.lowest, w.highest, w.volume, w.total], [50, 100, 6, 60]);
  const r = TradeWindow.restore(JSON.parse(JSON.stringify(w.serialize(31 * MIN))) as ReturnType<TradeWindow['serialize']>, 31 * MIN);
  assert.deepEqual([r.lowest, r.highest, r.volume, r.total], [50, 100, 6, 60]);
  assert.equal(w.advance(minuteOf(1440 * MIN - 1)), false);
  assert.equal(w.advance(minuteOf(1440 * MIN)), true);
  assert.deepEqual([w.lowest, w.highest, w.volume, w.total], [50, 70, 5, 50]);
  assert.equal(r.advance(minuteOf(1440 * MIN)), true);
  assert.deepEqual(r.serialize(1440 * MIN), w.serialize(1440 * MIN));
  w.advance(minuteOf(1470 * MIN));
  assert.deepEqual([w.lowest, w.highest, w.volume, w.total], [null, null, 0, 0]);
});

test('VolumeStore: 30 days of day buckets per window, windows independent', () => {
  const DAY = 86_400_000_000;
  const store = new VolumeStore();
  const other = store.create();
  const v = store.create();
  store.add(other, dayOf(0), 1_000);
  store.add(v, dayOf(0), 5);
  store.add(v, dayOf(DAY - 1), 6);
  store.add(v, dayOf(10 * DAY), 7);
  assert.equal(store.sum(v, dayOf(10 * DAY)), 18);
  assert.equal(store.sum(v, dayOf(29 * DAY + DAY - 1)), 18);
  assert.equal(store.sum(v, dayOf(30 * DAY)), 7);
  assert.equal(store.sum(v, dayOf(40 * DAY)), 0);
  store.add(v, dayOf(30 * DAY), 1); // reuses day 0's bucket
  assert.equal(store.sum(v, dayOf(30 * DAY)), 8);
  const r = store.restore(store.serialize(v));
  assert.equal(store.sum(r, dayOf(30 * DAY)), 8);
  assert.deepEqual(store.serialize(r), store.serialize(v));
  assert.equal(store.sum(other, dayOf(0)), 1_000);
  // Past the initial capacity: the store grows and every window keeps its buckets.
  const many = Array.from({ length: 300 }, (_, i) => {
    const w = store.create();
    store.add(w, dayOf(i * DAY), i + 1);
    return w;
  });
  many.forEach((w, i) => assert.deepEqual(store.serialize(w), [[i, i + 1]]));
  assert.equal(store.sum(v, dayOf(30 * DAY)), 8);
});

test('VolumeStore: the memoised sum always equals a fresh sum of the buckets', () => {
  const DAY = 86_400_000_000;
  type Step = { dt: number; amount: number; query: boolean };
  const stepArb: fc.Arbitrary<Step> = fc.record({
    dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: DAY / 2 }), fc.integer({ min: 0, max: 40 * DAY }), fc.integer({ min: -DAY, max: 0 })),
    amount: fc.oneof(fc.integer({ min: 0, max: 1_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
    query: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 80 }), (steps) => {
      const store = new VolumeStore();
      const v = store.create();
      let t = 5 * DAY;
      for (const s of steps) {
        t = Math.max(0, t + s.dt);
        if (s.query) store.sum(v, dayOf(t + (s.amount % (3 * DAY)))); // fills the memo, possibly for another day
        store.add(v, dayOf(t), s.amount);
        // A restored window has no memo: its sum is computed from the buckets.
        assert.equal(store.sum(v, dayOf(t)), store.sum(store.restore(store.serialize(v)), dayOf(t)));
      }
    }),
    { numRuns: 300 },
  );
});

test('OrderPool: rows keep their values across growth, freed handles are reused, reserve sizes once', () => {
  const pool = new OrderPool();
  const handles: number[] = [];
  // Past the initial capacity several times, with every field distinct per order.
  for (let i = 0; i < 5_000; i++) handles.push(pool.alloc(1e12 + i, i + 1, i % 3, i % 2 === 0, 10 + i, 100 + i, 1.7e15 + i, i % 5 === 0 ? 0 : -i - 1, i % 7 !== 0, 9e9 + i, 2 ** 52 + i));
  assert.equal(pool.size, 5_000);
  assert.ok(pool.capacity >= 5_000);
  handles.forEach((h, i) => {
    assert.deepEqual(
      [pool.id(h), pool.userId(h), pool.marketIndex(h), pool.isBid(h), pool.remaining(h), pool.price(h), pool.time(h), pool.tonce(h), pool.persist(h), pool.sessionId(h), pool.reserved(h), pool.resting(h)],
      [1e12 + i, i + 1, i % 3, i % 2 === 0, 10 + i, 100 + i, 1.7e15 + i, i % 5 === 0 ? null : -i - 1, i % 7 !== 0, 9e9 + i, 2 ** 52 + i, false],
    );
  });
  pool.setResting(handles[3]!, true);
  assert.equal(pool.resting(handles[3]!), true);
  assert.equal(pool.isBid(handles[3]!), false);
  assert.equal(pool.persist(handles[3]!), true);
  pool.setResting(handles[3]!, false);
  assert.equal(pool.resting(handles[3]!), false);
  // A released handle comes back (most recent first) and its row is fully rewritten.
  pool.release(handles[10]!);
  pool.release(handles[20]!);
  assert.equal(pool.size, 4_998);
  const again = pool.alloc(7, 7, 0, true, 1, 1, 1, 0, true, 1, 1);
  assert.equal(again, handles[20]);
  assert.deepEqual([pool.id(again), pool.tonce(again), pool.levelIndex(again), pool.userIndex(again), pool.resting(again)], [7, null, -1, -1, false]);
  assert.equal(pool.alloc(8, 8, 0, true, 1, 1, 1, 0, true, 1, 1), handles[10]);
  const capacity = pool.capacity;
  pool.reserve(capacity * 3);
  assert.ok(pool.capacity >= pool.size + capacity * 3);
  assert.equal(pool.id(handles[4_999]!), 1e12 + 4_999);
});
