// The template-string renderers of the hot replies and notices produce exactly the bytes of
// JSON.stringify of the spec's objects (field order included), for any integers the engine can
// produce, tags of either sign, null tonces and the optional PlaceOrder fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as render from '../../src/dialects/native-ws/render.js';
import type { BalanceChanged, OrderClosed, OrderOpened, OrderRecord } from '../../src/core/types.js';

const int = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const someInt = fc.oneof(int, fc.integer({ min: -1000, max: 1000 }), fc.constant(0), fc.constant(-0));
const tonce = fc.oneof(someInt, fc.constant(null));

test('placeOrderReply equals okReply of the present fields', () => {
  fc.assert(
    fc.property(someInt, fc.option(someInt, { nil: undefined }), fc.option(someInt, { nil: undefined }), fc.option(someInt, { nil: undefined }), (tag, id, time, remaining) => {
      const r: { id?: number; time?: number; remaining?: number } = {};
      if (id !== undefined) r.id = id;
      if (time !== undefined) r.time = time;
      if (remaining !== undefined) r.remaining = remaining;
      assert.equal(render.placeOrderReply(tag, r), render.okReply(tag, { ...r }));
    }),
    { numRuns: 500 },
  );
});

test('orderReply equals okReply(tag, wireOrder(o))', () => {
  fc.assert(
    fc.property(someInt, someInt, tonce, someInt, someInt, someInt, someInt, someInt, (tag, id, t, base, counter, quantity, price, time) => {
      const o: OrderRecord = { id, tonce: t, base, counter, quantity, price, time };
      assert.equal(render.orderReply(tag, o), render.okReply(tag, render.wireOrder(o)));
    }),
    { numRuns: 500 },
  );
});

test('notice templates equal the JSON of the notice objects', () => {
  fc.assert(
    fc.property(someInt, someInt, someInt, tonce, someInt, someInt, someInt, someInt, someInt, fc.boolean(), (userId, asset, id, t, base, counter, quantity, price, time, owner) => {
      const b: BalanceChanged = { type: 'BalanceChanged', userId, asset, available: quantity, reserved: price };
      assert.equal(render.balanceChanged(b), render.balanceChangedJson(b));
      const opened: OrderOpened = { type: 'OrderOpened', userId, id, tonce: t, base, counter, quantity, price, time };
      assert.equal(render.orderOpenedOrModified(opened, owner), render.orderOpenedOrModifiedJson(opened, owner));
      const modified = { ...opened, type: 'OrderModified' as const };
      assert.equal(render.orderOpenedOrModified(modified, owner), render.orderOpenedOrModifiedJson(modified, owner));
      const closed: OrderClosed = { type: 'OrderClosed', userId, id, tonce: t, base, counter, quantity, price, time, timeClosed: time + 1, reason: 'cancelled' };
      assert.equal(render.orderClosed(closed, owner), render.orderClosedJson(closed, owner));
    }),
    { numRuns: 500 },
  );
});

test('every notice and the PlaceOrder/CancelOrder replies are ASCII (they are framed without an ASCII check)', () => {
  const num = fc.oneof(someInt, fc.double());
  const nul = fc.oneof(num, fc.constant(null));
  const ascii = (s: string): void => assert.match(s, /^[\x20-\x7e]*$/, s);
  fc.assert(
    fc.property(
      fc.tuple(num, num, num, nul, num, num, num, num, num, fc.boolean()),
      fc.tuple(nul, nul, nul, nul, nul, nul, fc.constantFrom('bid' as const, 'ask' as const), fc.boolean(), fc.boolean()),
      ([userId, asset, id, t, base, counter, quantity, price, time, owner], [bid, ask, bidRem, askRem, last, high, takerSide, buyer, seller]) => {
        ascii(render.balanceChanged({ type: 'BalanceChanged', userId, asset, available: quantity, reserved: price }));
        ascii(render.tradeVolumeChanged({ type: 'TradeVolumeChanged', userId, asset, volume: quantity }));
        const opened: OrderOpened = { type: 'OrderOpened', userId, id, tonce: t, base, counter, quantity, price, time };
        ascii(render.orderOpenedOrModified(opened, owner));
        ascii(render.orderOpenedOrModified({ ...opened, type: 'OrderModified' }, owner));
        ascii(render.orderClosed({ type: 'OrderClosed', userId, id, tonce: t, base, counter, quantity, price, time, timeClosed: time, reason: 'cancelled' }, owner));
        ascii(
          render.ordersMatched(
            { type: 'OrdersMatched', bid, ask, bidUserId: userId, askUserId: asset, bidTonce: t, askTonce: t, base, counter, quantity, takerSide, price, total: price, bidRem, askRem, time, bidBaseFee: id, bidCounterFee: id, askBaseFee: id, askCounterFee: id },
            buyer,
            seller,
          ),
        );
        ascii(render.tickerChanged({ type: 'TickerChanged', base, counter, time, ...(last !== null ? { last } : {}), ...(high !== null ? { high, low: high, bid: high, ask: high, volume: high } : {}) }));
        ascii(render.placeOrderReply(id, { id, time, remaining: quantity }));
        ascii(render.orderReply(id, { id, tonce: t, base, counter, quantity, price, time }));
      },
    ),
    { numRuns: 500 },
  );
});
