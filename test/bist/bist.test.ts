// BIST v1 (/bist/<BASE>/<COUNTER>/) and v2 (/v2/bist/...) against a real server: every function
// of BIST.md, BIST_v2.md and BIST-Migration.md with its decimal formats and field names.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorMessage } from '../../src/core/types.js';
import { createUser, GBP, http, startTestServer, TAKER_FEES, XBT, type Res, type TestServer, type TestUser } from '../rest/helpers.js';

let s: TestServer;
let alice: TestUser;
let bob: TestUser;

const V1 = '/bist/XBT/GBP/';
const V2 = '/v2/bist/XBT/GBP/';
const DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

before(async () => {
  s = await startTestServer({ fees: TAKER_FEES });
  alice = await createUser(s.ctx, 'alice', [
    [XBT, 100_000], // 10 XBT
    [GBP, 1_000_000], // £10,000.00
  ]);
  bob = await createUser(s.ctx, 'bob', [
    [XBT, 100_000],
    [GBP, 1_000_000],
  ]);
});

after(async () => {
  await s.close();
});

const call = (path: string, user?: TestUser, form?: Record<string, string | number>, method = form ? 'POST' : 'GET') =>
  http(s.url + path, { method, ...(user ? { auth: user.auth } : {}), ...(form ? { form } : {}) });

function ok(r: Res): unknown {
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'application/json; charset=US-ASCII');
  return r.json();
}

function err(r: Res, status: number, message?: string | RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('content-type'), 'application/json; charset=US-ASCII');
  const body = r.json() as { error: string };
  assert.deepEqual(Object.keys(body), ['error']);
  if (typeof message === 'string') assert.equal(body.error, message);
  else if (message) assert.match(body.error, message);
}

test('ticker: nulls before any trade; v1 has vwap, v2 does not', { timeout: 30_000 }, async () => {
  const t1 = ok(await call(V1 + 'ticker/')) as Record<string, unknown>;
  assert.deepEqual(t1, { last: null, high: null, low: null, vwap: null, volume: '0.0000', bid: null, ask: null });
  assert.deepEqual(Object.keys(t1), ['last', 'high', 'low', 'vwap', 'volume', 'bid', 'ask']);
  const t2 = ok(await call(V2 + 'ticker/')) as Record<string, unknown>;
  assert.deepEqual(t2, { last: null, high: null, low: null, volume: '0.0000', bid: null, ask: null });
  assert.deepEqual(ok(await call('/bist/xbt/gbp/ticker')), t1, 'names in any case, trailing slash optional');
  err(await call('/bist/XBT/EUR/ticker/'), 404, ErrorMessage.INVALID_PAIR);
  err(await call('/bist/GBP/XBT/ticker/'), 404, ErrorMessage.INVALID_PAIR);
  err(await call('/v2/bist/NOPE/GBP/ticker/'), 404, ErrorMessage.INVALID_PAIR);
});

test('private functions need Basic credentials: 401 with WWW-Authenticate', { timeout: 30_000 }, async () => {
  for (const fn of ['balance', 'user_transactions', 'open_orders', 'cancel_order', 'buy', 'sell', 'buy_market', 'sell_market', 'estimate_buy_market']) {
    const r = await call(V1 + fn + '/', undefined, { id: 1, amount: '1', price: '1', quantity: '1' });
    err(r, 401, ErrorMessage.NOT_AUTHENTICATED);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic /);
  }
  const wrong = await http(s.url + V1 + 'balance/', { method: 'POST', auth: 'Basic ' + Buffer.from(`${alice.id}/${alice.cookie}:wrong`).toString('base64') });
  err(wrong, 401, ErrorMessage.BAD_SIGNATURE);
  err(await http(s.url + V1 + 'balance/', { method: 'POST', auth: 'Basic ***' }), 401, /^Malformed/);
});

test('balance: <asset>_balance, _reserved, _available for the endpoint assets, decimals at their scales', { timeout: 30_000 }, async () => {
  const b = ok(await call(V1 + 'balance/', alice, {}));
  assert.deepEqual(b, {
    gbp_balance: '10000.00',
    xbt_balance: '10.0000',
    gbp_reserved: '0.00',
    xbt_reserved: '0.0000',
    gbp_available: '10000.00',
    xbt_available: '10.0000',
  });
  assert.deepEqual(ok(await call(V2 + 'balance/', alice)), b, 'GET works too (the curl example)');
});

test('limit orders, market orders, estimates, order book, transactions, user transactions, cancel', { timeout: 30_000 }, async () => {
  // Alice offers 2 XBT at £500.00.
  const sell = ok(await call(V1 + 'sell/', alice, { amount: '2', price: '500.00' })) as Record<string, unknown>;
  assert.deepEqual(Object.keys(sell), ['id', 'datetime', 'type', 'price', 'amount']);
  assert.match(sell.datetime as string, DATETIME);
  assert.deepEqual({ ...sell, id: 0, datetime: '' }, { id: 0, datetime: '', type: 1, price: '500.00', amount: '2.0000' });
  const sellId = sell.id as number;
  assert.deepEqual(ok(await call(V1 + 'balance/', alice, {})), {
    gbp_balance: '10000.00',
    xbt_balance: '10.0000',
    gbp_reserved: '0.00',
    xbt_reserved: '2.0000',
    gbp_available: '10000.00',
    xbt_available: '8.0000',
  });

  // Order book: price and amount strings.
  assert.deepEqual(ok(await call(V1 + 'order_book/')), { bids: [], asks: [['500.00', '2.0000']] });

  // Estimates: v1 with credentials, v2 public.
  err(await call(V1 + 'estimate_buy_market/', undefined, { quantity: '0.5' }), 401);
  assert.deepEqual(ok(await call(V1 + 'estimate_buy_market/', bob, { quantity: '0.5' })), { quantity: '0.5000', total: '250.00' });
  assert.deepEqual(ok(await call(V2 + 'estimate_buy_market/', undefined, { total: '1500.00' })), { quantity: '2.0000', total: '1000.00' });
  assert.deepEqual(ok(await call(V2 + 'estimate_sell_market/', undefined, { quantity: '1' })), { quantity: '0.0000', total: '0.00' });

  // Bob buys 0.5 XBT by quantity, then £250.00 worth by total.
  assert.deepEqual(ok(await call(V1 + 'buy_market/', bob, { quantity: '0.5' })), { remaining: '0.0000' });
  assert.deepEqual(ok(await call(V2 + 'buy_market/', bob, { total: '250.00' })), { remaining: '0.00' });

  // Ticker after two trades at £500.00, one XBT in total.
  assert.deepEqual(ok(await call(V1 + 'ticker/')), {
    last: '500.00',
    high: '500.00',
    low: '500.00',
    vwap: '500.00',
    volume: '1.0000',
    bid: null,
    ask: '500.00',
  });

  // Public transactions (v1): newest first, integer date, string price and amount.
  const tx = ok(await call(V1 + 'transactions/')) as Record<string, unknown>[];
  assert.equal(tx.length, 2);
  assert.deepEqual(Object.keys(tx[0]!), ['date', 'tid', 'price', 'amount']);
  assert.ok(Number.isInteger(tx[0]!.date));
  assert.ok((tx[0]!.tid as number) > (tx[1]!.tid as number));
  assert.deepEqual(tx.map((t) => [t.price, t.amount]), [
    ['500.00', '0.5000'],
    ['500.00', '0.5000'],
  ]);
  assert.deepEqual(ok(await call(V1 + 'transactions/?time=minute')), tx);
  err(await call(V1 + 'transactions/?time=week'), 400, 'Parameter time must be minute or hour.');
  err(await call(V2 + 'transactions/'), 410, /^This resource has been removed\. Please refer to http:\/\/bitcoincharts\.com/);

  // Bob's user transactions: trades (type 2) with Bitstamp's signs, deposits (type 0).
  const bobTx = ok(await call(V1 + 'user_transactions/', bob, {})) as Record<string, unknown>[];
  assert.equal(bobTx.length, 4);
  assert.deepEqual(Object.keys(bobTx[0]!), ['datetime', 'id', 'type', 'gbp', 'xbt', 'xbt_gbp', 'fee', 'order_id']);
  const strip = (t: Record<string, unknown>) => {
    const { datetime, id, ...rest } = t;
    assert.match(datetime as string, DATETIME);
    assert.ok(Number.isInteger(id));
    return rest;
  };
  assert.deepEqual(bobTx.map(strip), [
    { type: 2, gbp: '-250.00', xbt: '0.5000', xbt_gbp: '500.00', fee: '0.25', order_id: null },
    { type: 2, gbp: '-250.00', xbt: '0.5000', xbt_gbp: '500.00', fee: '0.25', order_id: null },
    { type: 0, gbp: '10000.00', xbt: '0.0000', xbt_gbp: '0.00', fee: '0.00' },
    { type: 0, gbp: '0.00', xbt: '10.0000', xbt_gbp: '0.00', fee: '0.00' },
  ]);
  const aliceTx = ok(await call(V1 + 'user_transactions/', alice, { sort: 'asc', offset: 2, limit: 1 })) as Record<string, unknown>[];
  assert.deepEqual(aliceTx.map(strip), [{ type: 2, gbp: '250.00', xbt: '-0.5000', xbt_gbp: '500.00', fee: '0.00', order_id: sellId }]);
  err(await call(V1 + 'user_transactions/', alice, { limit: 1001 }), 400, /limit is out of range/);
  err(await call(V1 + 'user_transactions/', alice, { sort: 'up' }), 400, 'Parameter sort must be asc or desc.');

  // Bob bids 1 XBT at £490.00 with a nonce (the tonce); open orders list only this market.
  const buy = ok(await call(V1 + 'buy/', bob, { amount: '1', price: '490.00', nonce: 7 })) as Record<string, unknown>;
  assert.deepEqual({ ...buy, id: 0, datetime: '' }, { id: 0, datetime: '', type: 0, price: '490.00', amount: '1.0000' });
  assert.equal(s.ctx.engine.openOrder(bob.id, buy.id as number)!.tonce, 7);
  assert.deepEqual(ok(await call(V1 + 'open_orders/', bob, {})), [buy]);
  assert.deepEqual(ok(await call('/bist/XBT/USDT/open_orders/', bob, {})), []);
  assert.deepEqual(ok(await call(V1 + 'order_book/')), { bids: [['490.00', '1.0000']], asks: [['500.00', '1.0000']] });

  // Alice sells into it at market; then a total with nothing left to sell into.
  assert.deepEqual(ok(await call(V1 + 'sell_market/', alice, { quantity: '1' })), { remaining: '0.0000' });
  assert.deepEqual(ok(await call(V1 + 'sell_market/', alice, { total: '100.00' })), { remaining: '100.00' });
  assert.deepEqual(ok(await call(V1 + 'open_orders/', bob, {})), []);

  // Cancel: true as text/plain, then false.
  const cancelled = await call(V1 + 'cancel_order/', alice, { id: sellId });
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.headers.get('content-type'), 'text/plain; charset=US-ASCII');
  assert.equal(cancelled.text, 'true');
  const again = await call(V1 + 'cancel_order/', alice, { id: sellId });
  assert.equal(again.text, 'false');
  assert.equal(again.headers.get('content-type'), 'application/json; charset=US-ASCII');
  err(await call(V1 + 'cancel_order/', alice, { id: 'x' }), 400, /id must be an integer/);
  // An order of another market is not found through this endpoint.
  const other = await http(s.url + '/orders/', { method: 'POST', auth: alice.auth, form: { base: XBT, counter: 0xff03, quantity: -1, price: 40000000 } });
  const otherId = (other.json() as { id: number }).id;
  assert.equal((await call(V1 + 'cancel_order/', alice, { id: otherId })).text, 'false');
  assert.equal((await call('/bist/XBT/USDT/cancel_order/', alice, { id: otherId })).text, 'true');
});

test('withdrawals show as type 1 with a negative amount', { timeout: 30_000 }, async () => {
  assert.ok((await s.ctx.submit({ type: 'AddWithdrawalAddress', userId: bob.id, asset: GBP, address: 'GB29NWBK60161331926819' })).result.ok);
  assert.ok((await s.ctx.submit({ type: 'Withdraw', userId: bob.id, asset: GBP, amount: 1000, address: 'GB29NWBK60161331926819' })).result.ok);
  const [w] = ok(await call(V1 + 'user_transactions/', bob, { limit: 1 })) as Record<string, unknown>[];
  assert.deepEqual({ ...w, datetime: '', id: 0 }, { datetime: '', id: 0, type: 1, gbp: '-10.00', xbt: '0.0000', xbt_gbp: '0.00', fee: '0.00' });
});

test('bitcoin_withdrawal: to the address on file only, 204 No Content', { timeout: 30_000 }, async () => {
  err(await call(V1 + 'bitcoin_withdrawal/', alice, { amount: '0.5' }), 409, 'There is no XBT withdrawal address on file for this user.');
  assert.ok((await s.ctx.submit({ type: 'AddWithdrawalAddress', userId: alice.id, asset: XBT, address: 'bc1qexampleaddress' })).result.ok);
  err(await call(V1 + 'bitcoin_withdrawal/', alice, { amount: '0.5', address: 'bc1qattacker' }), 400, /address parameter is not supported/);
  err(await call(V1 + 'bitcoin_withdrawal/', alice, { amount: '0.00001' }), 400, /more than 4 decimal places/);
  err(await call(V1 + 'bitcoin_withdrawal/', alice, { amount: '100000' }), 409, ErrorMessage.INSUFFICIENT_FUNDS);
  const before = s.ctx.engine.balances(alice.id).find((b) => b.asset === XBT)!.available;
  const r = await call(V2 + 'bitcoin_withdrawal/', alice, { amount: '0.5' });
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
  assert.equal(s.ctx.engine.balances(alice.id).find((b) => b.asset === XBT)!.available, before - 5000);
  const [w] = ok(await call(V1 + 'user_transactions/', alice, { limit: 1 })) as Record<string, unknown>[];
  assert.deepEqual({ ...w, datetime: '', id: 0 }, { datetime: '', id: 0, type: 1, gbp: '0.00', xbt: '-0.5000', xbt_gbp: '0.00', fee: '0.00' });
});

test('bad parameters: 400 with the reason, nothing placed', { timeout: 30_000 }, async () => {
  await s.ctx.whenDurable();
  const seq = s.ctx.engine.lastSeq;
  err(await call(V1 + 'buy/', bob, { amount: '0.00001', price: '500' }), 400, /amount has more than 4 decimal places/);
  err(await call(V1 + 'buy/', bob, { amount: '1', price: '500.001' }), 400, /price has more than 2 decimal places/);
  err(await call(V1 + 'buy/', bob, { amount: '1e3', price: '500' }), 400, /amount must be a decimal number/);
  err(await call(V1 + 'buy/', bob, { amount: '-1', price: '500' }), 400, /amount must not be negative/);
  err(await call(V1 + 'buy/', bob, { amount: '1', price: '99999999999999999999' }), 400, /price is out of range/);
  err(await call(V1 + 'buy/', bob, { price: '500' }), 400, /amount is required/);
  err(await call(V1 + 'buy/', bob, { amount: '1', price: '500', nonce: 0 }), 400, /nonce is out of range/);
  err(await call(V1 + 'buy/', bob, { amount: '1', price: '500', ttl: 0 }), 400, /ttl is out of range/);
  err(await call(V1 + 'buy/', bob, { amount: '1', price: '500', ttl: 86401 }), 400, /ttl is out of range/);
  err(await call(V1 + 'buy_market/', bob, { quantity: '1', total: '1' }), 400, 'Give either quantity or total, not both.');
  err(await call(V1 + 'buy_market/', bob, {}), 400, ErrorMessage.QUANTITY_OR_TOTAL);
  err(await call(V1 + 'sell_market/', bob, { total: '0.001' }), 400, /total has more than 2 decimal places/);
  err(
    await http(s.url + V1 + 'buy/', { method: 'POST', auth: bob.auth, body: `amount=1&price=5&x=${'y'.repeat(70_000)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    413,
  );
  await s.ctx.whenDurable();
  assert.equal(s.ctx.engine.lastSeq, seq, 'nothing reached the engine');
  // Refused by the engine: its message, 409 for funds.
  err(await call(V1 + 'sell/', bob, { amount: '1000', price: '500' }), 409, ErrorMessage.INSUFFICIENT_FUNDS);
  err(await call(V1 + 'buy/', bob, { amount: '0', price: '500' }), 400, ErrorMessage.QUANTITY_ZERO);
  err(await call(V2 + 'estimate_buy_market/', undefined, { quantity: '0' }), 400, ErrorMessage.QUANTITY_ZERO);
});

test('405 with Allow for a wrong method', { timeout: 30_000 }, async () => {
  const r = await call(V1 + 'buy/');
  err(r, 405);
  assert.equal(r.headers.get('allow'), 'POST');
  assert.equal((await call(V1 + 'ticker/', undefined, {})).status, 405);
  assert.equal((await call(V1 + 'balance/', alice, undefined, 'DELETE')).headers.get('allow'), 'GET, HEAD, POST');
});

test('ttl: the order is cancelled after its time to live', { timeout: 30_000 }, async () => {
  const placed = ok(await call(V2 + 'buy/', bob, { amount: '0.1', price: '100.00', ttl: 1 })) as { id: number };
  await s.ctx.whenDurable();
  assert.ok(s.ctx.engine.openOrder(bob.id, placed.id), 'open at first');
  const closed = new Promise<void>((resolve) => {
    const off = s.ctx.onApplied((a) => {
      if (a.events.some((e) => e.type === 'OrderClosed' && e.id === placed.id)) {
        off();
        resolve();
      }
    });
  });
  await closed;
  assert.equal(s.ctx.engine.openOrder(bob.id, placed.id), undefined);
  const open = ok(await call(V2 + 'open_orders/', bob)) as unknown[];
  assert.ok(!open.some((o) => (o as { id: number }).id === placed.id));
});
