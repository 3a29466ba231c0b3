// ModifyOrder, CancelOrder and CancelAllOrders: errors, sign conventions, queue position,
// reservations, crossing modifications and their events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorMessage } from '../../src/core/types.js';
import { ETH, failure, Harness, ofType, ok, stateOf, testConfig, types, USDT, XBT } from './helpers.js';

test('ModifyOrder errors: every message of its table', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 1_000_000, [XBT]: 1_000 });
  const b = h.user({ [USDT]: 1_000_000 });
  const id = h.limit(a, 10, 1_000_000, { tonce: 3 });
  const ask = h.limit(a, -10, 2_000_000);
  const before = stateOf(h.engine);
  const mod = (fields: Record<string, unknown>, userId = a) => h.run({ type: 'ModifyOrder', userId, ...fields });
  failure(mod({ quantityDelta: 1 }).result, 8, ErrorMessage.ID_OR_TONCE);
  failure(mod({ tonce: 0, quantityDelta: 1 }).result, 8, ErrorMessage.TONCE_ZERO);
  failure(mod({ id }).result, 8, ErrorMessage.DELTA_OR_PRICE);
  failure(mod({ id, quantityDelta: 0 }).result, 8, ErrorMessage.DELTA_ZERO);
  failure(mod({ id, price: 0 }).result, 8, ErrorMessage.PRICE_ZERO);
  failure(mod({ id: 999, quantityDelta: 1 }).result, 1, ErrorMessage.ORDER_NOT_FOUND);
  failure(mod({ tonce: 4, quantityDelta: 1 }).result, 1, ErrorMessage.ORDER_NOT_FOUND);
  failure(mod({ id, quantityDelta: 1 }, b).result, 1, ErrorMessage.ORDER_NOT_FOUND);
  failure(mod({ id, quantityDelta: 1 }, 999).result, 1);
  failure(mod({ id, quantityDelta: 10_000 }).result, 4, ErrorMessage.INSUFFICIENT_FUNDS);
  failure(mod({ id, price: 2_000_000_000 }).result, 4, ErrorMessage.INSUFFICIENT_FUNDS);
  failure(mod({ id: ask, quantityDelta: -991 }).result, 4, ErrorMessage.INSUFFICIENT_FUNDS);
  failure(mod({ id, price: 2_000_000, postOnly: true }).result, 9, ErrorMessage.POST_ONLY);
  failure(mod({ id: ask, price: 1_000_000, postOnly: true }).result, 9, ErrorMessage.POST_ONLY);
  failure(mod({ id, quantityDelta: 1.5 }).result, 8);
  failure(mod({ id, price: -5 }).result, 8);
  failure(mod({ id, quantityDelta: 2 ** 53, price: 1_000_000 }).result, 8);
  failure(mod({ id, quantityDelta: 10_000, price: Number.MAX_SAFE_INTEGER }).result, 8, ErrorMessage.TOTAL_OVERFLOW);
  // The order is unchanged after every failure.
  assert.deepEqual(stateOf(h.engine), before);
});

test('quantity_delta sign convention: positive grows a bid and shrinks an ask', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 1_000_000, [XBT]: 1_000 });
  const bid = h.limit(a, 10, 1_000_000);
  const ask = h.limit(a, -10, 2_000_000);
  const mod = (id: number, quantityDelta: number) => (ok(h.run({ type: 'ModifyOrder', userId: a, id, quantityDelta }).result) as { order: { quantity: number } }).order.quantity;
  assert.equal(mod(bid, 5), 15);
  assert.equal(mod(bid, -3), 12);
  assert.equal(mod(ask, -5), -15);
  assert.equal(mod(ask, 3), -12);
  assert.deepEqual(h.balance(a, USDT), { asset: USDT, available: 1_000_000 - 1_200, reserved: 1_200 });
  assert.deepEqual(h.balance(a, XBT), { asset: XBT, available: 1_000 - 12, reserved: 12 });
});

test('reaching or crossing zero cancels the order and returns its reservation', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 1_000_000, [XBT]: 1_000 });
  const bid = h.limit(a, 10, 1_000_000, { tonce: 8 });
  const ask = h.limit(a, -10, 2_000_000);
  const s1 = h.run({ type: 'ModifyOrder', userId: a, id: bid, quantityDelta: -10 });
  const r1 = ok(s1.result) as { order: { id: number; quantity: number; tonce: number | null } };
  assert.deepEqual([r1.order.id, r1.order.quantity, r1.order.tonce], [bid, 0, 8]);
  assert.deepEqual(types(s1.events), ['OrderClosed', 'BalanceChanged', 'TickerChanged']);
  assert.equal(ofType(s1.events, 'OrderClosed')[0]!.reason, 'cancelled');
  assert.equal(ofType(s1.events, 'OrderClosed')[0]!.quantity, 10);
  const s2 = h.run({ type: 'ModifyOrder', userId: a, id: ask, quantityDelta: 25, price: 5 });
  ok(s2.result);
  assert.deepEqual(h.engine.openOrders(a), []);
  assert.deepEqual(h.balance(a, USDT), { asset: USDT, available: 1_000_000, reserved: 0 });
  assert.deepEqual(h.balance(a, XBT), { asset: XBT, available: 1_000, reserved: 0 });
});

test('queue position: a smaller quantity keeps its place, a larger one or a new price goes to the back', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 10_000_000 });
  const b = h.user({ [USDT]: 10_000_000 });
  const c = h.user({ [USDT]: 10_000_000 });
  const seller = h.user({ [XBT]: 1_000_000 });
  const A = h.limit(a, 10, 1_000_000);
  const B = h.limit(b, 10, 1_000_000);
  const C = h.limit(c, 10, 1_000_000);
  const queue = () => h.engine.bookOrders(XBT, USDT, 10)!.map((o) => o.id);
  ok(h.run({ type: 'ModifyOrder', userId: a, id: A, quantityDelta: -5 }).result);
  assert.deepEqual(queue(), [A, B, C]);
  // Same price given explicitly is no price change.
  ok(h.run({ type: 'ModifyOrder', userId: a, id: A, quantityDelta: -1, price: 1_000_000 }).result);
  assert.deepEqual(queue(), [A, B, C]);
  ok(h.run({ type: 'ModifyOrder', userId: a, id: A, quantityDelta: 1 }).result);
  assert.deepEqual(queue(), [B, C, A]);
  ok(h.run({ type: 'ModifyOrder', userId: b, id: B, price: 999_999 }).result);
  assert.deepEqual(queue(), [C, A, B]);
  ok(h.run({ type: 'ModifyOrder', userId: b, id: B, price: 1_000_000 }).result);
  assert.deepEqual(queue(), [C, A, B]);
  // Matching follows the queue.
  const step = h.place(seller, { quantity: -12 });
  assert.deepEqual(
    ofType(step.events, 'OrdersMatched').map((e) => [e.bid, e.quantity]),
    [
      [C, 10],
      [A, 2],
    ],
  );
});

test('ModifyOrder moves the reservation: more before OrderModified, less after it', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 1_000_000 });
  const id = h.limit(a, 10, 1_000_000, { tonce: 42 });
  const up = h.run({ type: 'ModifyOrder', userId: a, tonce: 42, price: 1_500_000 });
  const r = ok(up.result) as { order: unknown };
  assert.deepEqual(r.order, { id, tonce: 42, base: XBT, counter: USDT, quantity: 10, price: 1_500_000, time: h.time });
  assert.deepEqual(types(up.events), ['BalanceChanged', 'OrderModified', 'TickerChanged']);
  assert.deepEqual(up.events[0], { type: 'BalanceChanged', userId: a, asset: USDT, available: 1_000_000 - 1_500, reserved: 1_500 });
  assert.deepEqual(up.events[1], { type: 'OrderModified', userId: a, id, tonce: 42, base: XBT, counter: USDT, quantity: 10, price: 1_500_000, time: h.time });
  const down = h.run({ type: 'ModifyOrder', userId: a, id, quantityDelta: -6 });
  assert.deepEqual(types(down.events), ['OrderModified', 'BalanceChanged']);
  assert.deepEqual(down.events[1], { type: 'BalanceChanged', userId: a, asset: USDT, available: 1_000_000 - 600, reserved: 600 });
  // The order keeps its opening time in GetOrders.
  const opened = h.engine.openOrder(a, id)!;
  assert.ok(opened.time < h.time);
});

test('ModifyOrder prices are rounded to the tick like PlaceOrder (bids down, asks up)', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 10_000_000, [ETH]: 1_000 });
  const bid = h.limit(a, 10, 1_000_000, { base: ETH, counter: USDT });
  const ask = h.limit(a, -10, 2_000_000, { base: ETH, counter: USDT });
  const p = (id: number, price: number) => (ok(h.run({ type: 'ModifyOrder', userId: a, id, price }).result) as { order: { price: number } }).order.price;
  assert.equal(p(bid, 1_201_999), 1_201_000);
  assert.equal(p(ask, 1_800_001), 1_801_000);
  failure(h.run({ type: 'ModifyOrder', userId: a, id: bid, price: 999 }).result, 8, ErrorMessage.PRICE_ZERO);
});

test('a modification that crosses trades as a taker, then reports OrderModified with the rest', () => {
  const h = Harness.of(testConfig({ fees: [{ minVolume: 0, makerPpm: 1_000, takerPpm: 2_000 }] }));
  const a = h.user({ [USDT]: 10_000_000 });
  const s = h.user({ [XBT]: 1_000 });
  const ask = h.limit(s, -50, 2_000_000);
  const bid = h.limit(a, 100, 1_000_000); // reserves 10_000
  const step = h.run({ type: 'ModifyOrder', userId: a, id: bid, price: 3_000_000 }); // reserves 30_000
  ok(step.result);
  const t = types(step.events);
  assert.deepEqual(t.slice(0, 3), ['BalanceChanged', 'OrdersMatched', 'OrderClosed']);
  assert.deepEqual(step.events[0], { type: 'BalanceChanged', userId: a, asset: USDT, available: 10_000_000 - 30_000, reserved: 30_000 });
  assert.ok(t.indexOf('OrderModified') > t.indexOf('OrdersMatched'));
  const [m] = ofType(step.events, 'OrdersMatched');
  assert.deepEqual([m!.bid, m!.ask, m!.takerSide, m!.price, m!.quantity, m!.total, m!.bidRem, m!.bidCounterFee, m!.askCounterFee], [bid, ask, 'bid', 2_000_000, 50, 10_000, 50, 20, 10]);
  const [mod] = ofType(step.events, 'OrderModified');
  assert.deepEqual([mod!.quantity, mod!.price], [50, 3_000_000]);
  // Paid 10_000 + 20 fee; the rest of the bid (50 at 3_000_000) holds 15_000.
  assert.deepEqual(h.balance(a, USDT), { asset: USDT, available: 10_000_000 - 10_000 - 20 - 15_000, reserved: 15_000 });
  assert.deepEqual(h.engine.depth(XBT, USDT, 5), { bids: [[3_000_000, 50]], asks: [] });
});

test('a modification that fills completely closes the order exactly once', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 10_000_000 });
  const s = h.user({ [XBT]: 1_000 });
  h.limit(s, -20, 2_000_000);
  const bid = h.limit(a, 10, 1_000_000);
  const step = h.run({ type: 'ModifyOrder', userId: a, id: bid, price: 2_000_000 });
  const r = ok(step.result) as { order: { quantity: number } };
  assert.equal(r.order.quantity, 0);
  const closed = ofType(step.events, 'OrderClosed');
  assert.deepEqual(
    closed.map((c) => [c.id, c.reason]),
    [[bid, 'filled']],
  );
  assert.equal(ofType(step.events, 'OrderModified').length, 0);
  assert.deepEqual(h.engine.openOrders(a), []);
  assert.deepEqual(h.balance(a, USDT), { asset: USDT, available: 10_000_000 - 2_000, reserved: 0 });
  assert.deepEqual(h.engine.depth(XBT, USDT, 5), { bids: [], asks: [[2_000_000, 10]] });
  // Its tonce-free id is gone: a further modify finds nothing.
  failure(h.run({ type: 'ModifyOrder', userId: a, id: bid, quantityDelta: 1 }).result, 1);
});

test('CancelOrder by id or tonce: reply, OrderClosed before BalanceChanged, errors', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 1_000_000, [XBT]: 100 });
  const b = h.user();
  const t0 = h.time + 1;
  const id = h.limit(a, 10, 1_000_000, { tonce: 5 });
  const ask = h.limit(a, -7, 2_000_000);
  failure(h.run({ type: 'CancelOrder', userId: a }).result, 8, ErrorMessage.ID_OR_TONCE);
  failure(h.run({ type: 'CancelOrder', userId: a, tonce: 0 }).result, 8, ErrorMessage.TONCE_ZERO);
  failure(h.run({ type: 'CancelOrder', userId: a, id: 999 }).result, 1, ErrorMessage.ORDER_NOT_FOUND);
  failure(h.run({ type: 'CancelOrder', userId: b, id }).result, 1, ErrorMessage.ORDER_NOT_FOUND);
  failure(h.run({ type: 'CancelOrder', userId: 999, id }).result, 1);
  const s = h.run({ type: 'CancelOrder', userId: a, tonce: 5 });
  assert.deepEqual(ok(s.result), { ok: true, order: { id, tonce: 5, base: XBT, counter: USDT, quantity: 10, price: 1_000_000, time: t0 } });
  assert.deepEqual(types(s.events), ['OrderClosed', 'BalanceChanged', 'TickerChanged']);
  assert.deepEqual(s.events[0], { type: 'OrderClosed', userId: a, id, tonce: 5, base: XBT, counter: USDT, quantity: 10, price: 1_000_000, time: t0, timeClosed: h.time, reason: 'cancelled' });
  failure(h.run({ type: 'CancelOrder', userId: a, id }).result, 1);
  const s2 = h.run({ type: 'CancelOrder', userId: a, id: ask });
  assert.equal((ok(s2.result) as { order: { quantity: number } }).order.quantity, -7);
  assert.deepEqual(h.balance(a, XBT), { asset: XBT, available: 100, reserved: 0 });
});

test('CancelAllOrders returns every open order of the user, across markets, and nobody else’s', () => {
  const h = Harness.of();
  const a = h.user({ [USDT]: 10_000_000, [XBT]: 100, [ETH]: 100 });
  const b = h.user({ [USDT]: 10_000_000 });
  const o1 = h.limit(a, 10, 1_000_000);
  const other = h.limit(b, 10, 1_000_000);
  const o2 = h.limit(a, -10, 2_000_000, { base: ETH, counter: USDT, tonce: 3 });
  const o3 = h.limit(a, -10, 2_000_000);
  const s = h.run({ type: 'CancelAllOrders', userId: a });
  const r = ok(s.result) as { orders: { id: number; quantity: number; base: number }[] };
  assert.deepEqual(
    r.orders.map((o) => [o.id, o.quantity, o.base]),
    [
      [o1, 10, XBT],
      [o2, -10, ETH],
      [o3, -10, XBT],
    ],
  );
  assert.deepEqual(
    ofType(s.events, 'OrderClosed').map((c) => c.id),
    [o1, o2, o3],
  );
  assert.deepEqual(h.engine.openOrders(a), []);
  assert.deepEqual(
    h.engine.openOrders(b).map((o) => o.id),
    [other],
  );
  assert.deepEqual(
    h.engine.balances(a).filter((x) => x.reserved !== 0),
    [],
  );
  assert.deepEqual(ok(h.run({ type: 'CancelAllOrders', userId: a }).result), { ok: true, orders: [] });
  failure(h.run({ type: 'CancelAllOrders', userId: 999 }).result, 1);
});
