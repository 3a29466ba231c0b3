// Matching: price-time priority, the maker's price, every OrdersMatched field, market orders
// (by quantity and by total, limited by liquidity and by balance), persist flags, self-trades.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OrdersMatched } from '../../src/core/types.js';
import { failure, Harness, ofType, ok, testConfig, types, USDT, XBT } from './helpers.js';

test('price-time priority: better price first, then earlier order; trades at the maker price', () => {
  const h = Harness.of();
  const s1 = h.user({ [XBT]: 1_000 });
  const s2 = h.user({ [XBT]: 1_000 });
  const s3 = h.user({ [XBT]: 1_000 });
  const buyer = h.user({ [USDT]: 100_000_000 });
  const a1 = h.limit(s1, -10, 1_002_000); // worse price, earliest
  const a2 = h.limit(s2, -10, 1_000_000); // best price, first
  const a3 = h.limit(s3, -10, 1_000_000); // best price, second
  const s = h.place(buyer, { quantity: 25, price: 2_000_000 });
  ok(s.result);
  const m = ofType(s.events, 'OrdersMatched');
  assert.deepEqual(
    m.map((x) => [x.ask, x.quantity, x.price]),
    [
      [a2, 10, 1_000_000],
      [a3, 10, 1_000_000],
      [a1, 5, 1_002_000],
    ],
  );
  // The taker's limit never sets the price; the bid got the price improvement back.
  const spent = 1_000 + 1_000 + 501; // 10 * 100 + 10 * 100 + 5 * 100.2
  assert.deepEqual(h.balance(buyer, USDT), { asset: USDT, available: 100_000_000 - spent, reserved: 0 });
  assert.equal(h.balance(buyer, XBT).available, 25);
  assert.deepEqual(h.engine.depth(XBT, USDT, 10), { bids: [], asks: [[1_002_000, 5]] });
});

test('a limit order stops at its own price and rests with the remainder', () => {
  const h = Harness.of();
  const s = h.user({ [XBT]: 1_000 });
  const b = h.user({ [USDT]: 100_000_000 });
  h.limit(s, -10, 1_000_000);
  h.limit(s, -10, 1_000_500);
  const step = h.place(b, { quantity: 15, price: 1_000_400 });
  const id = (ok(step.result) as { id: number }).id;
  assert.equal(ofType(step.events, 'OrdersMatched').length, 1);
  const [opened] = ofType(step.events, 'OrderOpened');
  assert.deepEqual(opened, { type: 'OrderOpened', userId: b, id, tonce: null, base: XBT, counter: USDT, quantity: 5, price: 1_000_400, time: h.time });
  assert.deepEqual(h.engine.depth(XBT, USDT, 10), { bids: [[1_000_400, 5]], asks: [[1_000_500, 10]] });
  // Reservation: the rest of the bid at its own price.
  assert.equal(h.balance(b, USDT).reserved, Math.ceil((5 * 1_000_400) / 10_000));
});

test('OrdersMatched carries every field: ids, users, tonces, taker side, remainders, fees', () => {
  const h = Harness.of(testConfig({ fees: [{ minVolume: 0, makerPpm: 1_000, takerPpm: 2_000 }] }));
  const maker = h.user({ [XBT]: 100_000 });
  const taker = h.user({ [USDT]: 1_000_000_000 });
  const ask = h.limit(maker, -30_000, 2_000_000, { tonce: 5 });
  const s = h.place(taker, { quantity: 10_000, price: 2_000_000, tonce: 9 });
  const bid = (ok(s.result) as { id: number }).id;
  const [e] = ofType(s.events, 'OrdersMatched');
  // total = 10000 * 2000000 / 10000 = 2000000 exactly; fees 0.1 % and 0.2 % exactly.
  assert.deepEqual(e, {
    type: 'OrdersMatched',
    bid,
    ask,
    bidUserId: taker,
    askUserId: maker,
    bidTonce: 9,
    askTonce: 5,
    base: XBT,
    counter: USDT,
    quantity: 10_000,
    takerSide: 'bid',
    price: 2_000_000,
    total: 2_000_000,
    bidRem: 0,
    askRem: 20_000,
    time: h.time,
    bidBaseFee: 0,
    bidCounterFee: 4_000,
    askBaseFee: 0,
    askCounterFee: 2_000,
  } satisfies OrdersMatched);
  assert.deepEqual(h.balance(maker, USDT), { asset: USDT, available: 2_000_000 - 2_000, reserved: 0 });
  assert.deepEqual(h.balance(maker, XBT), { asset: XBT, available: 70_000, reserved: 20_000 });
  assert.deepEqual(h.balance(taker, USDT), { asset: USDT, available: 1_000_000_000 - 2_000_000 - 4_000, reserved: 0 });
  assert.deepEqual(h.balance(taker, XBT), { asset: XBT, available: 10_000, reserved: 0 });
  // Now an ask takes: taker side 'ask', the resting bid is the maker.
  const b2 = h.limit(taker, 5_000, 1_900_000);
  const s2 = h.place(maker, { quantity: -2_000, price: 1_000_000 });
  const a2 = (ok(s2.result) as { id: number }).id;
  const [e2] = ofType(s2.events, 'OrdersMatched');
  assert.ok(e2);
  assert.deepEqual([e2.bid, e2.ask, e2.takerSide, e2.price, e2.total, e2.bidRem, e2.askRem], [b2, a2, 'ask', 1_900_000, 380_000, 3_000, 0]);
  assert.deepEqual([e2.bidCounterFee, e2.askCounterFee], [380, 760]);
});

test('market order by quantity: limited by liquidity, remaining reported', () => {
  const h = Harness.of();
  const s = h.user({ [XBT]: 1_000 });
  const b = h.user({ [USDT]: 100_000_000 });
  h.limit(s, -10, 1_000_000);
  h.limit(s, -20, 1_100_000);
  const step = h.place(b, { quantity: 50, tonce: 3 });
  assert.deepEqual(ok(step.result), { ok: true, remaining: 20 });
  const m = ofType(step.events, 'OrdersMatched');
  assert.deepEqual(
    m.map((x) => [x.bid, x.bidTonce, x.bidRem, x.quantity, x.price, x.takerSide]),
    [
      [null, 3, null, 10, 1_000_000, 'bid'],
      [null, 3, null, 20, 1_100_000, 'bid'],
    ],
  );
  assert.equal(h.balance(b, USDT).available, 100_000_000 - 1_000 - 2_200);
  assert.equal(h.balance(b, USDT).reserved, 0);
  // No OrderOpened/OrderClosed for the market order itself.
  assert.deepEqual(
    ofType(step.events, 'OrderClosed').map((c) => c.userId),
    [s, s],
  );
  assert.equal(ofType(step.events, 'OrderOpened').length, 0);
  // An empty book: nothing trades, everything remains.
  assert.deepEqual(ok(h.place(b, { quantity: 7 }).result), { ok: true, remaining: 7 });
});

test('market sell by quantity: limited by the base balance', () => {
  const h = Harness.of();
  const b = h.user({ [USDT]: 100_000_000 });
  const s = h.user({ [XBT]: 15 });
  h.limit(b, 10, 1_000_000);
  h.limit(b, 10, 900_000);
  const step = h.place(s, { quantity: -40 });
  assert.deepEqual(ok(step.result), { ok: true, remaining: 25 });
  const m = ofType(step.events, 'OrdersMatched');
  assert.deepEqual(
    m.map((x) => [x.ask, x.quantity, x.price, x.takerSide, x.askRem, x.bidRem]),
    [
      [null, 10, 1_000_000, 'ask', null, 0],
      [null, 5, 900_000, 'ask', null, 5],
    ],
  );
  assert.deepEqual(h.balance(s, XBT), { asset: XBT, available: 0, reserved: 0 });
  assert.equal(h.balance(s, USDT).available, 1_000 + 450);
});

test('market buy by total: spends at most the total, limited by liquidity and by balance', () => {
  const h = Harness.of();
  const s = h.user({ [XBT]: 10_000 });
  h.limit(s, -10, 1_000_000); // 10 units of 100 USDT units
  h.limit(s, -10, 2_000_000);
  // Total 2500 counter units: 10 at 100 = 1000, then 7 at 200 = 1400, remaining 100 cannot buy one more.
  const b = h.user({ [USDT]: 100_000 });
  const step = h.place(b, { total: 2_500 });
  assert.deepEqual(ok(step.result), { ok: true, remaining: 100 });
  assert.deepEqual(
    ofType(step.events, 'OrdersMatched').map((x) => [x.quantity, x.total]),
    [
      [10, 1_000],
      [7, 1_400],
    ],
  );
  assert.equal(h.balance(b, USDT).available, 100_000 - 2_400);
  // Limited by balance: a buyer with 500 can buy only 2 more at 200.
  const poor = h.user({ [USDT]: 500 });
  const step2 = h.place(poor, { total: 2_000 });
  assert.deepEqual(ok(step2.result), { ok: true, remaining: 1_600 });
  assert.deepEqual(h.balance(poor, USDT), { asset: USDT, available: 100, reserved: 0 });
  assert.equal(h.balance(poor, XBT).available, 2);
  // By quantity, also limited by balance.
  h.limit(s, -10, 2_000_000);
  const poor2 = h.user({ [USDT]: 450 });
  assert.deepEqual(ok(h.place(poor2, { quantity: 5 }).result), { ok: true, remaining: 3 });
  assert.deepEqual(h.balance(poor2, USDT).available, 50);
});

test('market sell by total: receives at most the total', () => {
  const h = Harness.of();
  const b = h.user({ [USDT]: 100_000_000 });
  h.limit(b, 10, 1_000_000);
  h.limit(b, 10, 500_000);
  const s = h.user({ [XBT]: 100 });
  const step = h.place(s, { total: -1_250 });
  assert.deepEqual(ok(step.result), { ok: true, remaining: 0 });
  assert.deepEqual(
    ofType(step.events, 'OrdersMatched').map((x) => [x.quantity, x.total, x.price]),
    [
      [10, 1_000, 1_000_000],
      [5, 250, 500_000],
    ],
  );
  assert.deepEqual(h.balance(s, XBT).available, 85);
  const s2 = h.user({ [XBT]: 2 });
  assert.deepEqual(ok(h.place(s2, { total: -1_000 }).result), { ok: true, remaining: 900 });
});

test('market buy pays its taker fee from the available balance and never overdraws', () => {
  const h = Harness.of(testConfig({ fees: [{ minVolume: 0, makerPpm: 0, takerPpm: 100_000 }] })); // 10 %
  const s = h.user({ [XBT]: 1_000 });
  h.limit(s, -100, 1_000_000);
  const b = h.user({ [USDT]: 1_100 }); // 10 units cost 1000 + 100 fee
  const step = h.place(b, { quantity: 100 });
  assert.deepEqual(ok(step.result), { ok: true, remaining: 90 });
  const [e] = ofType(step.events, 'OrdersMatched');
  assert.deepEqual([e!.quantity, e!.total, e!.bidCounterFee], [10, 1_000, 100]);
  assert.deepEqual(h.balance(b, USDT), { asset: USDT, available: 0, reserved: 0 });
});

test('market buy: funds of exactly total + fee buy it all, one unit less buys one lot less (below and past 2^53 / 10^6)', () => {
  // The engine skips its affordability search when the worst-case total plus fee fits; both
  // sides of that boundary, with funds small and large enough that funds * 10^6 passes 2^53.
  for (const [q, funds, remaining, bought, left] of [
    [10_000, 1_002_500_000, 0, 10_000, 0],
    [10_000, 1_002_499_999, 1, 9_999, 100_249],
    [100_000, 10_025_000_000, 0, 100_000, 0],
    [100_000, 10_024_999_999, 1, 99_999, 100_249],
  ] as const) {
    const h = Harness.of(testConfig({ fees: [{ minVolume: 0, makerPpm: 0, takerPpm: 2_500 }] }));
    const s = h.user({ [XBT]: q });
    h.limit(s, -q, 1_000_000_000); // q * 100,000 USDT units, fee 0.25 %
    const b = h.user({ [USDT]: funds });
    assert.deepEqual(ok(h.place(b, { quantity: q }).result), { ok: true, remaining }, String(funds));
    assert.deepEqual(h.balance(b, XBT), { asset: XBT, available: bought, reserved: 0 });
    assert.deepEqual(h.balance(b, USDT), { asset: USDT, available: left, reserved: 0 });
  }
});

test("persist 'fill_or_kill': cancelled after any immediate matches", () => {
  const h = Harness.of();
  const s = h.user({ [XBT]: 1_000 });
  const b = h.user({ [USDT]: 100_000_000 });
  h.limit(s, -10, 1_000_000);
  const step = h.place(b, { quantity: 25, price: 1_000_000, persist: 'fill_or_kill', tonce: 4 });
  const id = (ok(step.result) as { id: number }).id;
  assert.equal(ofType(step.events, 'OrdersMatched')[0]!.quantity, 10);
  assert.equal(ofType(step.events, 'OrderOpened').length, 0);
  const closed = ofType(step.events, 'OrderClosed').find((c) => c.id === id);
  assert.deepEqual(closed, {
    type: 'OrderClosed',
    userId: b,
    id,
    tonce: 4,
    base: XBT,
    counter: USDT,
    quantity: 15,
    price: 1_000_000,
    time: h.time,
    timeClosed: h.time,
    reason: 'killed',
  });
  assert.deepEqual(h.balance(b, USDT), { asset: USDT, available: 100_000_000 - 1_000, reserved: 0 });
  assert.deepEqual(h.engine.openOrders(b), []);
  assert.deepEqual(h.engine.depth(XBT, USDT, 5), { bids: [], asks: [] });
  // No match at all: killed whole. Fully matched: closed as filled, never killed.
  const step2 = h.place(b, { quantity: 5, price: 900_000, persist: 'fill_or_kill' });
  ok(step2.result);
  assert.deepEqual(types(step2.events), ['BalanceChanged', 'OrderClosed', 'BalanceChanged']);
  assert.equal(ofType(step2.events, 'OrderClosed')[0]!.reason, 'killed');
  h.limit(s, -10, 1_000_000);
  const step3 = h.place(b, { quantity: 10, price: 1_000_000, persist: 'fill_or_kill' });
  assert.deepEqual(
    ofType(step3.events, 'OrderClosed').map((c) => c.reason),
    ['filled', 'filled'],
  );
});

test('persist false: cancelled when its session disconnects, persist true stays', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 100_000_000 });
  const keep = h.limit(a, 1, 100, { sessionId: 1 });
  const drop = h.limit(a, 1, 100, { sessionId: 1, persist: false });
  const other = h.limit(a, 1, 100, { sessionId: 2, persist: false });
  const s = h.run({ type: 'Disconnect', sessionId: 1 });
  ok(s.result);
  const closed = ofType(s.events, 'OrderClosed');
  assert.deepEqual(
    closed.map((c) => [c.id, c.reason, c.quantity]),
    [[drop, 'disconnected', 1]],
  );
  assert.deepEqual(
    h.engine.openOrders(a).map((o) => o.id),
    [keep, other],
  );
  // Disconnect of an unknown session is a no-op.
  assert.deepEqual(h.run({ type: 'Disconnect', sessionId: 77 }).events, []);
});

test('ServerStarted cancels every non-persistent order of every session', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 100_000_000, [XBT]: 100 });
  const b = h.user({ [USDT]: 100_000_000 });
  const keep = h.limit(a, 1, 100);
  const d1 = h.limit(a, -1, 200, { sessionId: 5, persist: false });
  const d2 = h.limit(b, 1, 100, { sessionId: 3, persist: false });
  const d3 = h.limit(a, 1, 100, { sessionId: 3, persist: false });
  const s = h.run({ type: 'ServerStarted' });
  assert.deepEqual(
    ofType(s.events, 'OrderClosed').map((c) => c.id),
    [d2, d3, d1],
  );
  assert.deepEqual(
    h.engine.openOrders(a).map((o) => o.id),
    [keep],
  );
  assert.deepEqual(h.engine.openOrders(b), []);
  assert.deepEqual(h.balance(a, XBT), { asset: XBT, available: 100, reserved: 0 });
});

test('self-trades: no fees and no trade volume', () => {
  const h = Harness.of(testConfig({ fees: [{ minVolume: 0, makerPpm: 1_000, takerPpm: 2_000 }] }));
  const a = h.user({ [XBT]: 1_000, [USDT]: 10_000_000 });
  const ask = h.limit(a, -10, 1_000_000, { tonce: 1 });
  const step = h.place(a, { quantity: 10, price: 1_000_000, tonce: 2 });
  const bid = (ok(step.result) as { id: number }).id;
  const [e] = ofType(step.events, 'OrdersMatched');
  assert.deepEqual([e!.bid, e!.ask, e!.bidUserId, e!.askUserId, e!.bidTonce, e!.askTonce], [bid, ask, a, a, 2, 1]);
  assert.deepEqual([e!.bidCounterFee, e!.askCounterFee, e!.bidBaseFee, e!.askBaseFee], [0, 0, 0, 0]);
  assert.equal(ofType(step.events, 'TradeVolumeChanged').length, 0);
  assert.equal(h.engine.tradeVolume(a, USDT), 0);
  assert.equal(h.engine.tradeVolume(a, XBT), 0);
  assert.deepEqual(h.balance(a, USDT), { asset: USDT, available: 10_000_000, reserved: 0 });
  assert.deepEqual(h.balance(a, XBT), { asset: XBT, available: 1_000, reserved: 0 });
  // A market order against one's own order: also free.
  h.limit(a, -10, 1_000_000);
  const s2 = h.place(a, { quantity: 10 });
  assert.equal(ofType(s2.events, 'OrdersMatched')[0]!.bidCounterFee, 0);
  assert.deepEqual(h.balance(a, USDT), { asset: USDT, available: 10_000_000, reserved: 0 });
});

test('EstimateMarketOrder: quantity and total over the book, no fees, no state change', () => {
  const h = Harness.of(testConfig({ fees: [{ minVolume: 0, makerPpm: 1_000, takerPpm: 2_000 }] }));
  const s = h.user({ [XBT]: 1_000 });
  const b = h.user({ [USDT]: 100_000_000 });
  h.limit(s, -10, 1_000_000);
  h.limit(s, -10, 2_000_000);
  h.limit(b, 10, 500_000);
  const before = h.engine.stateHash();
  assert.deepEqual(h.engine.estimateMarketOrder(XBT, USDT, 15, undefined), { ok: true, quantity: 15, total: 2_000 });
  assert.deepEqual(h.engine.estimateMarketOrder(XBT, USDT, 100, undefined), { ok: true, quantity: 20, total: 3_000 });
  assert.deepEqual(h.engine.estimateMarketOrder(XBT, USDT, -4, undefined), { ok: true, quantity: 4, total: 200 });
  assert.deepEqual(h.engine.estimateMarketOrder(XBT, USDT, undefined, 2_500), { ok: true, quantity: 17, total: 2_400 });
  assert.deepEqual(h.engine.estimateMarketOrder(XBT, USDT, undefined, -100), { ok: true, quantity: 2, total: 100 });
  assert.equal(h.engine.stateHash(), before);
  // The estimate matches what a market order then does (no fractional totals here).
  const step = h.place(b, { total: 2_500 });
  assert.deepEqual(ok(step.result), { ok: true, remaining: 100 });
  assert.deepEqual(
    ofType(step.events, 'OrdersMatched').reduce((q, e) => q + e.quantity, 0),
    17,
  );
  failure(h.engine.estimateMarketOrder(USDT, XBT, 1, undefined), 1, 'You specified an invalid asset pair.');
  failure(h.engine.estimateMarketOrder(XBT, USDT, 0, undefined), 8, 'Quantity must not be zero.');
  failure(h.engine.estimateMarketOrder(XBT, USDT, undefined, 0), 8, 'Total must not be zero.');
  failure(h.engine.estimateMarketOrder(XBT, USDT, undefined, undefined), 8, 'You must specify either quantity or total for a market order.');
  failure(h.engine.estimateMarketOrder(XBT, USDT, 1, 1), 8);
});

test('a market order is capped by the balance it started with: self-trades cannot recycle it', () => {
  const h = Harness.of();
  const u = h.user({ [XBT]: 1, [USDT]: 100_000_000 });
  h.limit(u, 1_000, 1_000_000); // own resting bid, far larger than the XBT balance
  const s = h.place(u, { quantity: -1_000 }); // market sell of 1,000 with 1 unit available
  ok(s.result);
  assert.equal(ofType(s.events, 'OrdersMatched').length, 1);
  assert.equal((s.result as { remaining: number }).remaining, 999);
  const b = h.place(u, { quantity: -1 }); // another seller's view is unchanged: the unit came back
  ok(b.result);
});

test('asset codes outside 16 bits never alias onto a real market', () => {
  const h = Harness.of();
  const u = h.user({ [USDT]: 100_000_000 });
  for (const [base, counter] of [
    [XBT - 1, USDT + 65_536],
    [XBT + 0.5, USDT],
    [-XBT, USDT],
  ]) {
    failure(h.place(u, { base, counter, quantity: 1, price: 1_000_000 }).result, 1, 'You specified an invalid asset pair.');
    assert.equal(h.engine.ticker(base!, counter!), undefined);
  }
});
