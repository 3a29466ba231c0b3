// Reservations after fills, fees (maker/taker, volume tiers, from the reservation when the
// available balance cannot pay), and stochastic rounding (IMPL-GUIDE.md of both venues).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent, FeeTier } from '../../src/core/types.js';
import { DAY, Harness, ofType, ok, testConfig, USDC, USDT, XBT } from './helpers.js';

const USDC_M = { base: USDC, counter: USDT };

/** Coinfloor IMPL-GUIDE worked example at a given seed; returns the trade and the buyer's state. */
function workedExample(seed: number) {
  const h = Harness.of(testConfig({ seed, usdcFees: [{ minVolume: 0, makerPpm: 300, takerPpm: 300 }] }));
  const buyer = h.user({ [USDT]: 1523991 });
  const seller = h.user({ [USDC]: 100_000 });
  const bid = h.limit(buyer, 12345, 1234500, USDC_M);
  assert.deepEqual(h.balance(buyer, USDT), { asset: USDT, available: 0, reserved: 1523991 });
  const step = h.place(seller, { ...USDC_M, quantity: -1234, price: 1234500 });
  ok(step.result);
  const [trade] = ofType(step.events, 'OrdersMatched');
  assert.ok(trade);
  return { h, buyer, bid, trade, step };
}

test('Coinfloor IMPL-GUIDE worked example: fee from the reservation, bid_rem 11110, 77 returned', () => {
  let exact = false;
  const seen = new Set<string>();
  for (let seed = 1; seed <= 200; seed++) {
    const { h, buyer, bid, trade } = workedExample(seed);
    // Total 152337.3 and fee 0.03 % of it round either way, nothing else.
    assert.ok(trade.total === 152337 || trade.total === 152338, String(trade.total));
    assert.ok(trade.bidCounterFee === 45 || trade.bidCounterFee === 46, String(trade.bidCounterFee));
    assert.equal(trade.bid, bid);
    assert.equal(trade.quantity, 1234);
    assert.equal(trade.bidRem, 11110);
    const left = 1523991 - trade.total - trade.bidCounterFee;
    assert.deepEqual(h.balance(buyer, USDT), { asset: USDT, available: left - 1371530, reserved: 1371530 });
    assert.deepEqual(h.engine.openOrder(buyer, bid)?.quantity, 11110);
    seen.add(`${trade.total}/${trade.bidCounterFee}`);
    if (trade.total === 152338 && trade.bidCounterFee === 46) {
      // The guide's numbers: 1371607 left, 1371530 needed for 11110, 77 returned.
      assert.equal(left, 1371607);
      assert.equal(h.balance(buyer, USDT).available, 77);
      exact = true;
    }
  }
  assert.ok(exact, 'some seed reproduces the guide exactly');
  assert.ok(seen.size >= 3, `the rounding varies with the seed: ${[...seen].join(', ')}`);
});

test('CoinFLEX rule: the fee comes from the available balance when it can pay it', () => {
  const h = Harness.of(testConfig({ usdcFees: [{ minVolume: 0, makerPpm: 300, takerPpm: 300 }] }));
  const buyer = h.user({ [USDT]: 1523991 + 1000 });
  const seller = h.user({ [USDC]: 100_000 });
  const bid = h.limit(buyer, 12345, 1234500, USDC_M);
  const step = h.place(seller, { ...USDC_M, quantity: -1234, price: 1234500 });
  const [trade] = ofType(step.events, 'OrdersMatched');
  assert.equal(trade!.bidRem, 11111);
  // The reservation now covers exactly the remaining 11111; the excess (0 or 1) went back.
  const b = h.balance(buyer, USDT);
  assert.equal(b.reserved, 1371653);
  assert.equal(b.available + b.reserved, 1523991 + 1000 - trade!.total - trade!.bidCounterFee);
  assert.equal(h.engine.openOrder(buyer, bid)?.quantity, 11111);
  // The seller's fee comes out of the proceeds.
  assert.equal(h.balance(seller, USDT).available, trade!.total - trade!.askCounterFee);
});

test('a fee larger than the available balance is taken from the reservation in full', () => {
  const h = Harness.of(testConfig({ usdcFees: [{ minVolume: 0, makerPpm: 300, takerPpm: 300 }] }));
  const buyer = h.user({ [USDT]: 1523991 + 10 });
  const seller = h.user({ [USDC]: 100_000 });
  h.limit(buyer, 12345, 1234500, USDC_M);
  const [trade] = ofType(h.place(seller, { ...USDC_M, quantity: -1234, price: 1234500 }).events, 'OrdersMatched');
  assert.equal(trade!.bidRem, 11110);
  const b = h.balance(buyer, USDT);
  assert.equal(b.reserved, 1371530);
  assert.equal(b.available, 10 + 1523991 - trade!.total - trade!.bidCounterFee - 1371530);
});

test("a bid whose reservation the fee exhausts closes with reason 'exhausted'", () => {
  const h = Harness.of(testConfig({ fees: [{ minVolume: 0, makerPpm: 500_000, takerPpm: 500_000 }] }));
  const buyer = h.user({ [USDT]: 200 });
  const seller = h.user({ [XBT]: 10 });
  const bid = h.limit(buyer, 2, 1_000_000); // 100 per unit, reserves 200, available 0
  const step = h.place(seller, { quantity: -1, price: 1_000_000 });
  const [trade] = ofType(step.events, 'OrdersMatched');
  assert.deepEqual([trade!.total, trade!.bidCounterFee, trade!.askCounterFee, trade!.bidRem], [100, 50, 50, 0]);
  const closed = ofType(step.events, 'OrderClosed').find((c) => c.id === bid);
  assert.equal(closed?.reason, 'exhausted');
  assert.equal(closed?.quantity, 0);
  assert.deepEqual(h.balance(buyer, USDT), { asset: USDT, available: 50, reserved: 0 });
  assert.deepEqual(h.balance(buyer, XBT), { asset: XBT, available: 1, reserved: 0 });
  assert.deepEqual(h.engine.openOrders(buyer), []);
  assert.deepEqual(h.engine.depth(XBT, USDT, 5), { bids: [], asks: [] });
});

test('maker and taker rates follow the 30-day volume tier of each party, in the counter asset', () => {
  const fees: FeeTier[] = [
    { minVolume: 0, makerPpm: 2_000, takerPpm: 4_000 },
    { minVolume: 100_000, makerPpm: 1_000, takerPpm: 3_000 },
    { minVolume: 200_000, makerPpm: 0, takerPpm: 2_000 },
  ];
  const h = Harness.of(testConfig({ fees }));
  const maker = h.user({ [XBT]: 1_000_000 });
  const taker = h.user({ [USDT]: 1_000_000_000 });
  // Each trade: 1000 at 1_000_000 = 100_000 counter units, fee rates exact.
  const trade = (who: number) => {
    h.limit(maker, -1_000, 1_000_000);
    const step = h.place(who, { quantity: 1_000, price: 1_000_000 });
    return ofType(step.events, 'OrdersMatched')[0]!;
  };
  const t1 = trade(taker);
  assert.deepEqual([t1.total, t1.bidCounterFee, t1.askCounterFee], [100_000, 400, 200]);
  assert.equal(h.engine.tradeVolume(taker, USDT), 100_000);
  assert.equal(h.engine.tradeVolume(taker, XBT), 1_000);
  const t2 = trade(taker);
  assert.deepEqual([t2.bidCounterFee, t2.askCounterFee], [300, 100]);
  const t3 = trade(taker);
  assert.deepEqual([t3.bidCounterFee, t3.askCounterFee], [200, 0]);
  assert.equal(h.engine.tradeVolume(taker, USDT), 300_000);
  // The tier looks at the trailing 30 days: after 30 days the volume has expired.
  h.time += 29 * DAY;
  const t4 = trade(taker);
  assert.deepEqual([t4.bidCounterFee], [200]);
  h.time += 2 * DAY;
  assert.equal(h.engine.tradeVolume(taker, USDT), 400_000); // queries use the engine's time
  h.run({ type: 'Tick' });
  assert.equal(h.engine.tradeVolume(taker, USDT), 100_000); // only t4 is left in the window
  const t5 = trade(taker);
  assert.deepEqual([t5.bidCounterFee], [300]);
  // TradeVolumeChanged reports each party's new volume in both assets.
  h.limit(maker, -1_000, 1_000_000);
  const step = h.place(taker, { quantity: 1_000, price: 1_000_000 });
  const tv = ofType(step.events, 'TradeVolumeChanged');
  assert.deepEqual(
    tv.map((e) => [e.userId, e.asset, e.volume]),
    [
      [taker, XBT, 3_000],
      [taker, USDT, 300_000],
      [maker, XBT, h.engine.tradeVolume(maker, XBT)],
      [maker, USDT, h.engine.tradeVolume(maker, USDT)],
    ],
  );
});

test('one command that trades with many users reports every changed volume once, in order of first change', () => {
  const h = Harness.of(testConfig());
  // 20 makers at 20 prices: a market buy sweeping them changes 42 (user, asset) volumes, more
  // than the engine's lists start with.
  const makers = Array.from({ length: 20 }, () => h.user({ [XBT]: 1_000_000 }));
  makers.forEach((m, i) => h.limit(m, -1_000, 1_000_000 + i));
  const taker = h.user({ [USDT]: 1_000_000_000 });
  const step = h.place(taker, { quantity: 20_000 });
  assert.equal(ofType(step.events, 'OrdersMatched').length, 20);
  const tv = ofType(step.events, 'TradeVolumeChanged');
  const expected: [number, number, number][] = [];
  for (const m of makers) {
    if (expected.length === 0) expected.push([taker, XBT, 0], [taker, USDT, 0]);
    expected.push([m, XBT, 0], [m, USDT, 0]);
  }
  for (const e of expected) e[2] = h.engine.tradeVolume(e[0], e[1]);
  assert.deepEqual(
    tv.map((e) => [e.userId, e.asset, e.volume]),
    expected,
  );
  assert.equal(expected[0]![2], 20_000);
  // And the next command starts a fresh list.
  h.limit(makers[0]!, -1_000, 2_000_000);
  const next = h.place(taker, { quantity: 1_000, price: 2_000_000 });
  assert.deepEqual(
    ofType(next.events, 'TradeVolumeChanged').map((e) => [e.userId, e.asset]),
    [
      [taker, XBT],
      [taker, USDT],
      [makers[0], XBT],
      [makers[0], USDT],
    ],
  );
});

/** Exact rational totals vs. stochastic ones over many trades. */
function roundingRun(seed: number, trades: number) {
  const h = Harness.of(testConfig({ seed, fees: [{ minVolume: 0, makerPpm: 1_234, takerPpm: 2_345 }] }));
  const seller = h.user({ [XBT]: 100_000_000 });
  const buyer = h.user({ [USDT]: 1_000_000_000_000 });
  h.limit(seller, -100_000_000, 12_347);
  let exactTotal = 0; // in 1/10000 units
  let total = 0;
  let exactFees = 0; // in 1/10^6 units of the counter
  let fees = 0;
  const events: EngineEvent[] = [];
  for (let i = 0; i < trades; i++) {
    const q = 1 + (i % 97);
    const step = h.place(buyer, { quantity: q });
    events.push(...step.events);
    const [e] = ofType(step.events, 'OrdersMatched');
    const exact = q * 12_347; // / 10_000
    assert.ok(e!.total === Math.floor(exact / 10_000) || e!.total === Math.ceil(exact / 10_000));
    assert.ok(e!.bidCounterFee === Math.floor((e!.total * 2_345) / 1e6) || e!.bidCounterFee === Math.ceil((e!.total * 2_345) / 1e6));
    exactTotal += exact;
    total += e!.total;
    exactFees += e!.total * 2_345 + e!.total * 1_234;
    fees += e!.bidCounterFee + e!.askCounterFee;
  }
  return { totalError: total - exactTotal / 10_000, feeError: fees - exactFees / 1e6, events };
}

test('stochastic rounding: the cumulative rounding error stays within a few standard deviations of zero', () => {
  const N = 4_000;
  const r = roundingRun(7, N);
  // Each rounding is a Bernoulli error with variance <= 1/4: sd of the sum <= sqrt(N) / 2 ~ 32.
  // Deterministic rounding (always down) would be off by ~ N * 0.5 = 2000 here.
  assert.ok(Math.abs(r.totalError) < 5 * Math.sqrt(N) * 0.5, `total error ${r.totalError}`);
  assert.ok(Math.abs(r.feeError) < 5 * Math.sqrt(2 * N) * 0.5, `fee error ${r.feeError}`);
  // Mean error per trade tends to zero.
  assert.ok(Math.abs(r.totalError / N) < 0.05);
});

test('stochastic rounding is deterministic for a seed and differs between seeds', () => {
  const a = roundingRun(99, 300);
  const b = roundingRun(99, 300);
  const c = roundingRun(100, 300);
  assert.deepEqual(a.events, b.events);
  assert.notDeepEqual(
    ofType(a.events, 'OrdersMatched').map((e) => e.total),
    ofType(c.events, 'OrdersMatched').map((e) => e.total),
  );
});

test('a bid taker that trades below its limit gets the price improvement back at once', () => {
  const h = Harness.of();
  const s = h.user({ [XBT]: 100 });
  const b = h.user({ [USDT]: 10_000 });
  h.limit(s, -5, 1_000_000);
  const step = h.place(b, { quantity: 10, price: 2_000_000 }); // reserves 2000, pays 500 for 5
  ok(step.result);
  assert.deepEqual(h.balance(b, USDT), { asset: USDT, available: 10_000 - 500 - 1_000, reserved: 1_000 });
  const [bc] = ofType(step.events, 'BalanceChanged').filter((e) => e.userId === b && e.asset === USDT).slice(-1);
  assert.deepEqual(bc, { type: 'BalanceChanged', userId: b, asset: USDT, available: 8_500, reserved: 1_000 });
});
