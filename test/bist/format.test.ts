// BIST record formatting with hand-made data: datetimes, signs, field names, nulls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { datetime, renderBalance, renderBook, renderOrder, renderTicker, renderUserTransaction, type BistMarket } from '../../src/dialects/bist/format.js';
import { TxKind } from '../../src/history/index.js';

const M: BistMarket = { base: 1, counter: 2, baseName: 'xbt', counterName: 'gbp', baseScale: 100_000_000, counterScale: 100, priceScale: 100 };

test('datetime: UTC, whole seconds, Bitstamp layout', () => {
  assert.equal(datetime(Date.UTC(2013, 8, 26, 13, 46, 59, 999) * 1000 + 999), '2013-09-26 13:46:59');
  assert.equal(datetime(0), '1970-01-01 00:00:00');
});

test('ticker with and without vwap; nulls stay null', () => {
  const t = { base: 1, counter: 2, last: 54321, bid: null, ask: 54400, low: 50000, high: 60000, volume: 150_000_000, vwap: 55555, time: 0 };
  assert.deepEqual(renderTicker(M, t, true), { last: '543.21', high: '600.00', low: '500.00', vwap: '555.55', volume: '1.50000000', bid: null, ask: '544.00' });
  assert.deepEqual(Object.keys(renderTicker(M, t, false)), ['last', 'high', 'low', 'volume', 'bid', 'ask']);
});

test('order book, balance, orders', () => {
  assert.deepEqual(renderBook(M, { bids: [[54321, 1]], asks: [] }), { bids: [['543.21', '0.00000001']], asks: [] });
  assert.deepEqual(renderBalance(M, [{ asset: 1, available: 5, reserved: 10 }]), {
    gbp_balance: '0.00',
    xbt_balance: '0.00000015',
    gbp_reserved: '0.00',
    xbt_reserved: '0.00000010',
    gbp_available: '0.00',
    xbt_available: '0.00000005',
  });
  assert.deepEqual(renderOrder(M, { id: 9, quantity: -250_000_000, price: 100, time: 1_000_000 }), {
    id: 9,
    datetime: '1970-01-01 00:00:01',
    type: 1,
    price: '1.00',
    amount: '2.50000000',
  });
});

test('user transactions: trade signs as Bitstamp, deposits in their asset field', () => {
  const base = { id: 3, time: 0, counter: 2, baseFee: 0, orderId: 8, tid: 1 };
  assert.deepEqual(
    renderUserTransaction(M, { ...base, kind: TxKind.TRADE, base: 1, quantity: 100_000_000, price: 50000, total: 50000, counterFee: 50 }),
    { datetime: '1970-01-01 00:00:00', id: 3, type: 2, gbp: '-500.00', xbt: '1.00000000', xbt_gbp: '500.00', fee: '0.50', order_id: 8 },
  );
  assert.deepEqual(
    renderUserTransaction(M, { ...base, kind: TxKind.DEPOSIT, base: 2, counter: null, quantity: 1234, price: null, total: null, counterFee: null, orderId: null, tid: null }),
    { datetime: '1970-01-01 00:00:00', id: 3, type: 0, gbp: '12.34', xbt: '0.00000000', xbt_gbp: '0.00', fee: '0.00' },
  );
});
