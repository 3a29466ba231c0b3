// The shared HTTP helpers: strict integers and exact decimals, parameter collection, ASCII JSON,
// engine failure → status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  asciiJson,
  collectParams,
  formatDecimal,
  HttpError,
  parseDecimal,
  parseInteger,
  parseNumericPair,
  statusForFailure,
} from '../../src/dialects/http-common.js';
import { ErrorCode, ErrorMessage } from '../../src/core/types.js';
import { parsePlaceOrder } from '../../src/dialects/rest/index.js';
import { accountValues, futuresToSpot } from '../../src/dialects/rest/render.js';

function status(fn: () => unknown): { status: number; message: string } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof HttpError, `expected HttpError, got ${String(e)}`);
    return { status: e.status, message: e.message };
  }
  assert.fail('expected an error');
}

test('parseInteger accepts signed decimal digits within range and refuses everything else', () => {
  assert.equal(parseInteger('42', 'x'), 42);
  assert.equal(parseInteger('-42', 'x'), -42);
  assert.equal(parseInteger('+7', 'x'), 7);
  assert.equal(parseInteger('0007', 'x'), 7);
  assert.equal(parseInteger('9007199254740991', 'x'), Number.MAX_SAFE_INTEGER);
  for (const bad of ['', '1.0', '1e3', '0x10', ' 1', '1 ', 'NaN', 'Infinity', '--1', '١٢']) {
    assert.equal(status(() => parseInteger(bad, 'quantity')).status, 400, bad);
  }
  const huge = status(() => parseInteger('9007199254740992', 'quantity'));
  assert.equal(huge.status, 400);
  assert.match(huge.message, /quantity is out of range/);
  assert.match(status(() => parseInteger('1'.repeat(400), 'q')).message, /out of range/);
  assert.match(status(() => parseInteger('-1', 'price', 0)).message, /price is out of range/);
  assert.match(status(() => parseInteger(undefined, 'base')).message, /base is required/);
});

test('parseDecimal converts exactly at the scale and never rounds', () => {
  assert.equal(parseDecimal('1.5', 10_000, 'amount'), 15_000);
  assert.equal(parseDecimal('12.3456', 10_000, 'amount'), 123_456);
  assert.equal(parseDecimal('12.34560000', 10_000, 'amount'), 123_456); // trailing zeros are exact
  assert.equal(parseDecimal('.5', 100, 'price'), 50);
  assert.equal(parseDecimal('5.', 100, 'price'), 500);
  assert.equal(parseDecimal('543.21', 100, 'price'), 54_321);
  assert.equal(parseDecimal('0', 100, 'price'), 0);
  assert.equal(parseDecimal('-1.25', 100, 'x', true), -125);
  assert.match(status(() => parseDecimal('12.34561', 10_000, 'amount')).message, /more than 4 decimal places/);
  assert.match(status(() => parseDecimal('-1', 100, 'amount')).message, /must not be negative/);
  for (const bad of ['', '.', '1e5', '0x1', '1,5', ' 1', 'abc', '1.2.3']) {
    assert.equal(status(() => parseDecimal(bad, 100, 'amount')).status, 400, bad);
  }
  assert.match(status(() => parseDecimal('90071992547409.92', 100, 'amount')).message, /out of range/);
  assert.match(status(() => parseDecimal('1'.repeat(100), 100, 'amount')).message, /out of range/);
});

test('formatDecimal writes exactly the scale decimal places', () => {
  assert.equal(formatDecimal(15_000, 10_000), '1.5000');
  assert.equal(formatDecimal(123_456, 10_000), '12.3456');
  assert.equal(formatDecimal(5, 100), '0.05');
  assert.equal(formatDecimal(-5, 100), '-0.05');
  assert.equal(formatDecimal(0, 100_000_000), '0.00000000');
  assert.equal(formatDecimal(7, 1), '7');
  assert.equal(formatDecimal(Number.MAX_SAFE_INTEGER, 100), '90071992547409.91');
  for (const v of [0, 1, 99, 100, 101, 123_456_789, -42]) assert.equal(parseDecimal(formatDecimal(v, 10_000), 10_000, 'x', true), v);
});

test('collectParams: strings only, duplicates and nesting refused', () => {
  assert.deepEqual({ ...collectParams({ a: '1' }, { b: 2 }) }, { a: '1', b: '2' });
  assert.equal(status(() => collectParams({ a: ['1', '2'] })).message, 'Parameter "a" was given more than once.');
  assert.equal(status(() => collectParams({ a: '1' }, { a: '2' })).status, 400);
  assert.equal(status(() => collectParams({ a: { b: 1 } })).status, 400);
  assert.equal(status(() => collectParams('text')).status, 400);
  assert.deepEqual({ ...collectParams(undefined, null) }, {});
});

test('asciiJson escapes non-ASCII characters', () => {
  assert.equal(asciiJson({ n: 'Ƀ€' }), '{"n":"\\u0243\\u20ac"}');
  assert.deepEqual(JSON.parse(asciiJson({ n: 'Ƀ€' })), { n: 'Ƀ€' });
  assert.equal(asciiJson([1, null]), '[1,null]');
});

test('parseNumericPair', () => {
  assert.deepEqual(parseNumericPair('63488:65283'), { base: 63488, counter: 65283 });
  assert.equal(parseNumericPair('XBT:USDT'), undefined);
  assert.equal(parseNumericPair('63488'), undefined);
  assert.equal(parseNumericPair('1:2:3'), undefined);
});

test('engine failures map to HTTP statuses', () => {
  const f = (code: number, message: string) => statusForFailure({ ok: false, code: code as 1, message });
  assert.equal(f(ErrorCode.NOT_FOUND, ErrorMessage.ORDER_NOT_FOUND), 404);
  assert.equal(f(ErrorCode.NOT_FOUND, ErrorMessage.INVALID_PAIR), 400);
  assert.equal(f(ErrorCode.INSUFFICIENT_FUNDS, ErrorMessage.INSUFFICIENT_FUNDS), 409);
  assert.equal(f(ErrorCode.TOO_MANY_ORDERS, ErrorMessage.TOO_MANY_ORDERS), 409);
  assert.equal(f(ErrorCode.RATE_LIMIT, ErrorMessage.ORDERS_TOO_RAPIDLY), 429);
  assert.equal(f(ErrorCode.AUTH, ErrorMessage.NOT_AUTHENTICATED), 401);
  assert.equal(f(ErrorCode.INVALID, ErrorMessage.PRICE_ZERO), 400);
  assert.equal(f(ErrorCode.POST_ONLY, ErrorMessage.POST_ONLY), 409);
});

test('POST /orders/ parameter table (REST.md)', () => {
  const p = (o: Record<string, string>) => parsePlaceOrder(o, 7, 99);
  assert.deepEqual(p({ base: '1', counter: '2', quantity: '5', price: '10' }), {
    type: 'PlaceOrder',
    userId: 7,
    sessionId: 99,
    tonce: null,
    base: 1,
    counter: 2,
    quantity: 5,
    price: 10,
    persist: true,
  });
  assert.equal(p({ base: '1', counter: '2', quantity: '-5' }).quantity, -5);
  assert.equal(p({ base: '1', counter: '2', total: '-500' }).total, -500);
  assert.equal(status(() => p({ base: '1', counter: '2' })).message, ErrorMessage.QUANTITY_OR_TOTAL);
  assert.match(status(() => p({ base: '1', counter: '2', quantity: '5', total: '5' })).message, /total is forbidden when quantity/);
  assert.match(status(() => p({ base: '1', counter: '2', price: '5', total: '5' })).message, /total is forbidden when price/);
  assert.match(status(() => p({ base: '1', counter: '2', price: '5' })).message, /quantity is required/);
  assert.match(status(() => p({ counter: '2', quantity: '5' })).message, /base is required/);
  assert.match(status(() => p({ base: '70000', counter: '2', quantity: '5' })).message, /base is out of range/);
});

test('account value: futures fold into their spot asset; changes against the start of the day', () => {
  const assets = [
    { code: 1, name: 'XBT', scale: 10_000 },
    { code: 2, name: 'USDT', scale: 10_000 },
    { code: 11, name: 'XBTDEC', scale: 10_000 },
    { code: 12, name: 'USDTDEC', scale: 10_000 },
  ];
  const markets = [
    { base: 1, counter: 2, priceScale: 10_000, tick: 1, kind: 'spot' as const, fees: [] },
    { base: 11, counter: 12, priceScale: 10_000, tick: 1, kind: 'futures' as const, spotName: 'XBT:USDT', expires: 1, fees: [] },
  ];
  const spotOf = futuresToSpot(assets, markets);
  assert.deepEqual([...spotOf.entries()].map(([k, v]) => [k, v.code]), [[11, 1], [12, 2]]);
  const now = [
    { asset: 1, available: 100, reserved: 20 },
    { asset: 11, available: 5, reserved: 0 },
    { asset: 2, available: 1000, reserved: 0 },
  ];
  const start = [
    { asset: 1, available: 50, reserved: 0 },
    { asset: 12, available: 7, reserved: 0 },
  ];
  assert.deepEqual(accountValues(now, start, spotOf), [
    { asset: 1, spot_value: 120, change_in_spot_value: 70, futures_value: 5, change_in_futures_value: 5, total_value: 125, change_in_total_value: 75 },
    { asset: 2, spot_value: 1000, change_in_spot_value: 1000, futures_value: 0, change_in_futures_value: -7, total_value: 1000, change_in_total_value: 993 },
  ]);
});
