// PlaceOrder: the field table, every error of its table, tonce rules, tick rounding (SCALE.md),
// the open-order limit (LIMITS.md), insufficient funds and total overflow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultEngineConfig } from '../../src/core/default-config.js';
import { ErrorCode, ErrorMessage } from '../../src/core/types.js';
import { EUR, ETH, failure, Harness, ofType, ok, testConfig, USDC, USDT, XBT } from './helpers.js';

test('field table: quantity+price is a limit order, quantity or total alone a market order', () => {
  const h = Harness.of();
  const a = h.user({ [XBT]: 100_000, [USDT]: 1_000_000_000 });
  const limit = ok(h.place(a, { quantity: 10, price: 1_000_000 }).result) as { id?: number; time?: number; remaining?: number };
  assert.equal(typeof limit.id, 'number');
  assert.equal(limit.time, h.time);
  assert.equal(limit.remaining, undefined);
  const byQuantity = ok(h.place(a, { quantity: -5 }).result) as { id?: number; remaining?: number };
  assert.equal(byQuantity.id, undefined);
  assert.equal(byQuantity.remaining, 0);
  const byTotal = ok(h.place(a, { total: -1000 }).result) as { id?: number; time?: number; remaining?: number };
  assert.equal(byTotal.id, undefined);
  assert.equal(byTotal.time, undefined);
  assert.equal(typeof byTotal.remaining, 'number');
});

test('field table violations and zero values are error 8 with the spec messages', () => {
  const h = Harness.of();
  const a = h.user({ [XBT]: 100_000, [USDT]: 1_000_000_000 });
  failure(h.place(a, {}).result, 8, ErrorMessage.QUANTITY_OR_TOTAL);
  failure(h.place(a, { tonce: 0, quantity: 1, price: 10 }).result, 8, ErrorMessage.TONCE_ZERO);
  failure(h.place(a, { quantity: 1, price: 0 }).result, 8, ErrorMessage.PRICE_ZERO);
  failure(h.place(a, { quantity: 0, price: 10 }).result, 8, ErrorMessage.QUANTITY_ZERO);
  failure(h.place(a, { quantity: 0 }).result, 8, ErrorMessage.QUANTITY_ZERO);
  failure(h.place(a, { total: 0 }).result, 8, ErrorMessage.TOTAL_ZERO);
  // (varies): price without quantity, price with total, quantity with total, junk numbers.
  failure(h.place(a, { price: 10 }).result, 8);
  failure(h.place(a, { quantity: 1, price: 10, total: 10 }).result, 8);
  failure(h.place(a, { quantity: 1, total: 10 }).result, 8);
  failure(h.place(a, { quantity: 1.5, price: 10 }).result, 8);
  failure(h.place(a, { quantity: 1, price: -10 }).result, 8);
  failure(h.place(a, { quantity: 1, price: 10.5 }).result, 8);
  failure(h.place(a, { quantity: Number.NaN }).result, 8);
  failure(h.place(a, { total: 2 ** 60 }).result, 8);
  failure(h.place(a, { quantity: 1, price: 10, tonce: 1.5 }).result, 8);
  // A bid price below one tick rounds down to zero.
  failure(h.place(a, { base: ETH, counter: USDT, quantity: 1, price: 999 }).result, 8, ErrorMessage.PRICE_ZERO);
  // Nothing above changed any state.
  assert.deepEqual(h.engine.openOrders(a), []);
  assert.deepEqual(h.balance(a, USDT), { asset: USDT, available: 1_000_000_000, reserved: 0 });
});

test('invalid pair and unknown user are error 1', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 1_000_000 });
  failure(h.place(a, { base: USDT, counter: XBT, quantity: 1, price: 10 }).result, 1, ErrorMessage.INVALID_PAIR);
  failure(h.place(a, { base: XBT, counter: 0x1234, quantity: 1 }).result, 1, ErrorMessage.INVALID_PAIR);
  failure(h.place(999, { quantity: 1, price: 10 }).result, 1, ErrorMessage.NO_SUCH_USER);
});

test('the IMPL-GUIDE reservation: 12345 at 1234500 reserves 1523991', () => {
  for (const market of [
    { base: USDC, counter: USDT, funds: USDT },
    { base: XBT, counter: EUR, funds: EUR },
    { base: XBT, counter: USDT, funds: USDT },
  ]) {
    const h = Harness.of();
    const a = h.user({ [market.funds]: 2_000_000 });
    const s = h.place(a, { base: market.base, counter: market.counter, quantity: 12345, price: 1234500 });
    ok(s.result);
    assert.deepEqual(h.balance(a, market.funds), { asset: market.funds, available: 2_000_000 - 1523991, reserved: 1523991 });
    const [bc] = ofType(s.events, 'BalanceChanged');
    assert.deepEqual(bc, { type: 'BalanceChanged', userId: a, asset: market.funds, available: 2_000_000 - 1523991, reserved: 1523991 });
    // An ask reserves its base quantity.
    const b = h.user({ [market.base]: 20_000 });
    ok(h.place(b, { base: market.base, counter: market.counter, quantity: -12345, price: 1234600 }).result);
    assert.deepEqual(h.balance(b, market.base), { asset: market.base, available: 20_000 - 12345, reserved: 12345 });
  }
});

test('insufficient funds is error 4, and the exact reservation is enough', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 1523990, [XBT]: 12344 });
  failure(h.place(a, { quantity: 12345, price: 1234500 }).result, ErrorCode.INSUFFICIENT_FUNDS, ErrorMessage.INSUFFICIENT_FUNDS);
  failure(h.place(a, { quantity: -12345, price: 1234500 }).result, 4, ErrorMessage.INSUFFICIENT_FUNDS);
  h.deposit(a, USDT, 1);
  h.deposit(a, XBT, 1);
  ok(h.place(a, { quantity: 12345, price: 1234500 }).result);
  ok(h.place(a, { quantity: -12345, price: 1234600 }).result);
  assert.deepEqual(h.balance(a, USDT), { asset: USDT, available: 0, reserved: 1523991 });
  assert.deepEqual(h.balance(a, XBT), { asset: XBT, available: 0, reserved: 12345 });
  // Reserved funds are not available to another order.
  failure(h.place(a, { quantity: 1, price: 1 }).result, 4);
});

test('LIMITS.md: the 1,001st open order is error 5; closing one makes room', () => {
  const h = Harness.of(defaultEngineConfig());
  const a = h.user({ [USDT]: 10_000_000_000 });
  const ids: number[] = [];
  for (let i = 0; i < 1000; i++) ids.push(h.limit(a, 1, 10_000 * (i + 1)));
  assert.equal(h.engine.openOrders(a).length, 1000);
  failure(h.place(a, { quantity: 1, price: 10_000 }).result, ErrorCode.TOO_MANY_ORDERS, ErrorMessage.TOO_MANY_ORDERS);
  // Market orders open nothing and are not limited.
  ok(h.place(a, { quantity: 1 }).result);
  // Another user is unaffected.
  const b = h.user({ [USDT]: 1_000_000 });
  ok(h.place(b, { quantity: 1, price: 10_000 }).result);
  ok(h.run({ type: 'CancelOrder', userId: a, id: ids[500]! }).result);
  ok(h.place(a, { quantity: 1, price: 10_000 }).result);
  failure(h.place(a, { quantity: 1, price: 10_000 }).result, 5);
});

test("'unique' tonce rule: unique among the user's live orders only", () => {
  const h = Harness.of(testConfig({ tonceRule: 'unique' }));
  const a = h.user({ [USDT]: 1_000_000_000, [XBT]: 1_000_000 });
  const b = h.user({ [USDT]: 1_000_000_000, [XBT]: 1_000_000 });
  const id = h.limit(a, 1, 100, { tonce: 7 });
  failure(h.place(a, { quantity: 1, price: 100, tonce: 7 }).result, 3, ErrorMessage.TONCE_SEQUENCE);
  failure(h.place(a, { quantity: -1, tonce: 7 }).result, 3, ErrorMessage.TONCE_SEQUENCE);
  // Smaller tonces are fine under this rule, and other users may use the same tonce.
  h.limit(a, 1, 100, { tonce: 3 });
  h.limit(b, 1, 100, { tonce: 7 });
  // Once the order closes its tonce is free again.
  ok(h.run({ type: 'CancelOrder', userId: a, id }).result);
  h.limit(a, 1, 100, { tonce: 7 });
  // A filled order frees its tonce too.
  ok(h.place(b, { quantity: -3, price: 100 }).result);
  assert.deepEqual(h.engine.openOrders(a), []);
  h.limit(a, 1, 100, { tonce: 7 });
});

test("'increasing' tonce rule (Coinfloor): strictly greater than any accepted since CancelAllOrders", () => {
  const h = Harness.of(testConfig({ tonceRule: 'increasing' }));
  const a = h.user({ [USDT]: 1_000_000, [XBT]: 1_000 });
  h.limit(a, 1, 100, { tonce: 10 });
  failure(h.place(a, { quantity: 1, price: 100, tonce: 10 }).result, 3, ErrorMessage.TONCE_SEQUENCE);
  failure(h.place(a, { quantity: 1, price: 100, tonce: 9 }).result, 3, ErrorMessage.TONCE_SEQUENCE);
  // A failed command does not consume its tonce.
  failure(h.place(a, { quantity: 1_000_000, price: 100_000, tonce: 20 }).result, 4);
  h.limit(a, 1, 100, { tonce: 11 });
  // Orders without a tonce are unaffected.
  h.limit(a, 1, 100);
  // Closing the order does not reset the sequence; a market order advances it.
  ok(h.run({ type: 'CancelOrder', userId: a, tonce: 11 }).result);
  failure(h.place(a, { quantity: 1, price: 100, tonce: 11 }).result, 3);
  ok(h.place(a, { quantity: -1, tonce: 15 }).result);
  failure(h.place(a, { quantity: 1, price: 100, tonce: 12 }).result, 3);
  h.limit(a, 1, 100, { tonce: 16 });
  // CancelAllOrders resets the counter to zero.
  ok(h.run({ type: 'CancelAllOrders', userId: a }).result);
  h.limit(a, 1, 100, { tonce: 1 });
  failure(h.place(a, { quantity: 1, price: 100, tonce: 0 }).result, 8, ErrorMessage.TONCE_ZERO);
  failure(h.place(a, { quantity: 1, price: 100, tonce: -5 }).result, 3);
  // The counter is per user.
  const b = h.user({ [USDT]: 1_000_000 });
  h.limit(b, 1, 100, { tonce: 1 });
});

test('SCALE.md tick examples: bids round down, asks round up (default coinflex profile)', () => {
  const FLEX = 0xff05;
  const DOTF = 0xff07;
  const USDTDOT = 0xff08;
  const BCH = 0xf808;
  const examples: [number, number, number, number, number][] = [
    // base, counter, quantity, price placed, price opened
    [XBT, USDT, -1, 40000001, 40010000],
    [ETH, USDT, 10, 1601900, 1601000],
    [FLEX, USDT, 15000, 102060, 102050],
    [DOTF, USDTDOT, 32000, 10033000, 10020000],
    [BCH, USDT, -10001, 2687600, 2690000],
    [XBT, USDT, 11234, 39999999, 39990000],
    [USDC, USDT, -10001, 10001, 10010],
    [USDC, USDT, 10019, 11299, 11290],
  ];
  for (const [base, counter, quantity, placed, opened] of examples) {
    const h = Harness.of(defaultEngineConfig());
    const a = h.user({ [base]: 1_000_000, [counter]: 1_000_000_000 });
    const s = h.place(a, { base, counter, quantity, price: placed });
    ok(s.result);
    const [o] = ofType(s.events, 'OrderOpened');
    assert.ok(o);
    assert.deepEqual([o.quantity, o.price], [quantity, opened], `${quantity} @ ${placed}`);
    const funds = quantity > 0 ? counter : base;
    const reserved = quantity > 0 ? Math.ceil((quantity * opened) / 10_000) : -quantity;
    assert.equal(h.balance(a, funds).reserved, reserved);
  }
});

test('Order total would overflow: rejected exactly at 2^53, and exact below it when products pass 2^53', () => {
  const h = Harness.of();
  const MAX = Number.MAX_SAFE_INTEGER;
  const a = h.user({ [USDT]: MAX });
  // quantity * price ~ 9e16 is far beyond 2^53; the total ~ 9e12 is not.
  const q = 900_719_925_474; // ~ 2^53 / 10^4
  const p = 99_991; // q * p ~ 9e16 > 2^53
  const expected = BigInt(q) * BigInt(p);
  const reserve = Number((expected + 9_999n) / 10_000n);
  assert.ok(q * p > MAX);
  ok(h.place(a, { quantity: q, price: p }).result);
  assert.equal(h.balance(a, USDT).reserved, reserve);
  // A total of exactly MAX_SAFE_INTEGER is representable; one more unit is not.
  const h2 = Harness.of();
  const b = h2.user({ [USDT]: MAX, [XBT]: MAX });
  // quantity 1 at price 10^4 * MAX would total MAX, but the price itself is not a safe integer;
  // use quantity 10^4 and price MAX: total = MAX exactly.
  ok(h2.place(b, { quantity: 10_000, price: MAX }).result);
  assert.equal(h2.balance(b, USDT).reserved, MAX);
  failure(h2.place(b, { quantity: 10_001, price: MAX }).result, 8, ErrorMessage.TOTAL_OVERFLOW);
  failure(h2.place(b, { quantity: MAX, price: 20_000 }).result, 8, ErrorMessage.TOTAL_OVERFLOW);
  // Asks overflow too: their trade total would not be representable.
  failure(h2.place(b, { quantity: -MAX, price: 20_000 }).result, 8, ErrorMessage.TOTAL_OVERFLOW);
  assert.equal(h2.engine.openOrders(b).length, 1);
});

test('post_only: error 9 when the order would match, otherwise it rests', () => {
  const h = Harness.of();
  const a = h.user({ [XBT]: 1_000, [USDT]: 10_000_000 });
  const b = h.user({ [XBT]: 1_000, [USDT]: 10_000_000 });
  h.limit(a, -10, 1_000_000);
  h.limit(a, 10, 900_000);
  failure(h.place(b, { quantity: 1, price: 1_000_000, postOnly: true }).result, 9, ErrorMessage.POST_ONLY);
  failure(h.place(b, { quantity: 1, price: 2_000_000, postOnly: true }).result, 9, ErrorMessage.POST_ONLY);
  failure(h.place(b, { quantity: -1, price: 900_000, postOnly: true }).result, 9, ErrorMessage.POST_ONLY);
  assert.deepEqual(h.balance(b, USDT), { asset: USDT, available: 10_000_000, reserved: 0 });
  const s = h.place(b, { quantity: 1, price: 999_999, postOnly: true });
  ok(s.result);
  assert.equal(ofType(s.events, 'OrdersMatched').length, 0);
  ok(h.place(b, { quantity: -1, price: 1_000_000, postOnly: true }).result); // best bid is now 999_999
  // Post-only into an empty side never matches.
  const h2 = Harness.of();
  const c = h2.user({ [USDT]: 1_000_000 });
  ok(h2.place(c, { quantity: 1, price: 1_000, postOnly: true }).result);
});

test('futures markets trade only between start and expiry', () => {
  const start = Date.UTC(2026, 0, 10);
  const expires = Date.UTC(2026, 1, 10);
  const h = Harness.of(
    testConfig({
      extraMarkets: [{ base: ETH, counter: USDC, priceScale: 10_000, tick: 1, kind: 'futures', spotName: 'ETH:USDT', start, expires, tenor: 'G26', fees: [{ minVolume: 0, makerPpm: 0, takerPpm: 0 }] }],
    }),
  );
  const a = h.user({ [USDC]: 1_000_000, [ETH]: 1_000 });
  const F = { base: ETH, counter: USDC };
  failure(h.place(a, { ...F, quantity: 1, price: 100 }).result, 8);
  failure(h.place(a, { ...F, quantity: 1 }).result, 8);
  h.time = start * 1000 - 1;
  const s = h.place(a, { ...F, quantity: 1, price: 100 }); // exactly at start
  ok(s.result);
  h.time = expires * 1000 - 2;
  ok(h.place(a, { ...F, quantity: -1, price: 200 }).result); // last microsecond
  failure(h.place(a, { ...F, quantity: 1, price: 100 }).result, 8); // at expiry
  // After expiry resting orders can be cancelled (also by modifying them to zero), not changed.
  const [bid, ask] = h.engine.openOrders(a);
  failure(h.run({ type: 'ModifyOrder', userId: a, id: ask!.id, price: 100 }).result, 8);
  failure(h.run({ type: 'ModifyOrder', userId: a, id: bid!.id, quantityDelta: 1 }).result, 8);
  ok(h.run({ type: 'ModifyOrder', userId: a, id: bid!.id, quantityDelta: -1 }).result);
  ok(h.run({ type: 'CancelOrder', userId: a, id: ask!.id }).result);
  assert.deepEqual(h.engine.openOrders(a), []);
});
