// REST.md against a real server over loopback: every documented request and response, the
// statuses around them, and bad input that must change nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorMessage } from '../../src/core/types.js';
import { MICROS_PER_DAY } from '../../src/history/index.js';
import {
  basic,
  createUser,
  GBP,
  http,
  startTestServer,
  TAKER_FEES,
  USDT,
  USDTDEC,
  USDTJUN20,
  XBT,
  XBTDEC,
  XBTJUN20,
  type Res,
  type TestServer,
  type TestUser,
} from './helpers.js';

const JSON_TYPE = 'application/json; charset=US-ASCII';
const PAIR = `${XBT}:${USDT}`;

let s: TestServer;
let alice: TestUser;
let bob: TestUser;

before(async () => {
  s = await startTestServer({ fees: TAKER_FEES });
  alice = await createUser(s.ctx, 'alice passphrase', [
    [XBT, 1_000_000],
    [USDT, 10_000_000_000],
  ]);
  bob = await createUser(s.ctx, 'bob passphrase', [
    [XBT, 1_000_000],
    [USDT, 10_000_000_000],
  ]);
});

after(async () => {
  await s.close();
});

function isJson(r: Res, status = 200): unknown {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('content-type'), JSON_TYPE);
  assert.ok(/^[\x20-\x7e]*$/.test(r.text), 'body is US-ASCII');
  return r.json();
}

function isEmpty404(r: Res): void {
  assert.equal(r.status, 404);
  assert.equal(r.headers.get('content-length'), '0');
  assert.equal(r.text, '');
}

function isError(r: Res, status: number, message?: string | RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  if (typeof message === 'string') assert.equal(r.text, message);
  else if (message) assert.match(r.text, message);
}

const get = (path: string, user?: TestUser) => http(s.url + path, user ? { auth: user.auth } : {});
const post = (path: string, user: TestUser, form: Record<string, string | number>) => http(s.url + path, { method: 'POST', auth: user.auth, form });
const del = (path: string, user: TestUser) => http(s.url + path, { method: 'DELETE', auth: user.auth });

/** Runs requests that must be refused before reaching the engine: no command, nothing changed. */
async function changesNothing(fn: () => Promise<void>): Promise<void> {
  await s.ctx.whenDurable();
  const seq = s.ctx.engine.lastSeq;
  const balances = JSON.stringify(s.ctx.engine.balances(alice.id));
  const orders = JSON.stringify(s.ctx.engine.openOrders(alice.id));
  await fn();
  await s.ctx.whenDurable();
  assert.equal(s.ctx.engine.lastSeq, seq, 'no command was submitted');
  assert.equal(JSON.stringify(s.ctx.engine.balances(alice.id)), balances);
  assert.equal(JSON.stringify(s.ctx.engine.openOrders(alice.id)), orders);
}

test('GET /assets/: active assets by default, every asset with activeOnly=false; spot fields only for futures', { timeout: 30_000 }, async () => {
  const active = isJson(await get('/assets/'));
  assert.deepEqual(active, [
    { id: XBT, name: 'XBT', scale: 10000 },
    { id: USDT, name: 'USDT', scale: 10000 },
    { id: GBP, name: 'GBP', scale: 100 },
    { id: XBTDEC, spot_id: XBT, spot_name: 'XBT', name: 'XBTDEC', scale: 10000 },
    { id: USDTDEC, spot_id: USDT, spot_name: 'USDT', name: 'USDTDEC', scale: 10000 },
  ]);
  assert.deepEqual(isJson(await get('/assets/?activeOnly=true')), active);
  const all = isJson(await get('/assets/?activeOnly=false')) as { id: number }[];
  assert.deepEqual(
    all.map((a) => a.id),
    [XBT, USDT, GBP, XBTDEC, USDTDEC, XBTJUN20, USDTJUN20],
  );
  assert.deepEqual(Object.keys(all[3]!), ['id', 'spot_id', 'spot_name', 'name', 'scale']);
  isError(await get('/assets/?activeOnly=maybe'), 400, 'Parameter activeOnly must be true or false.');
  assert.deepEqual(isJson(await get('/assets')), active, 'without the trailing slash too');
});

test('GET /markets/: name, spot_name, futures dates and tenor, tick', { timeout: 30_000 }, async () => {
  const markets = isJson(await get('/markets/')) as Record<string, unknown>[];
  assert.deepEqual(markets[0], { base: XBT, counter: USDT, name: 'XBT:USDT', spot_name: 'XBT:USDT', tick: 10000 });
  assert.deepEqual(markets[1], { base: XBT, counter: GBP, name: 'XBT:GBP', spot_name: 'XBT:GBP', tick: 1 });
  assert.deepEqual(markets[2], {
    base: XBTDEC,
    counter: USDTDEC,
    name: 'XBTDEC:USDTDEC',
    spot_name: 'XBT:USDT',
    start: Date.UTC(2099, 8, 1),
    expires: Date.UTC(2099, 11, 25, 8),
    tenor: 'Z99',
    tick: 5000,
  });
  assert.equal(markets.length, 4);
});

test('GET /tickers/ and /tickers/<base>:<counter>; 404 for an unknown market, 400 for a malformed one', { timeout: 30_000 }, async () => {
  const all = isJson(await get('/tickers/')) as Record<string, unknown>[];
  assert.equal(all.length, 4);
  const one = isJson(await get(`/tickers/${PAIR}`)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(one), ['base', 'counter', 'name', 'spot_name', 'last', 'bid', 'ask', 'low', 'high', 'volume', 'time']);
  assert.deepEqual(one, all[0]);
  assert.equal(one.name, 'XBT:USDT');
  assert.equal(one.last, null);
  assert.equal(one.volume, 0);
  const fut = isJson(await get(`/tickers/${XBTDEC}:${USDTDEC}`)) as Record<string, unknown>;
  assert.equal(fut.spot_name, 'XBT:USDT');
  isEmpty404(await get(`/tickers/${XBT}:1`));
  isEmpty404(await get(`/tickers/${USDT}:${XBT}`));
  isError(await get('/tickers/XBT:USDT'), 400, /numeric asset codes/);
});

test('GET /depth/<base>:<counter>: top 20 aggregated levels per side', { timeout: 30_000 }, async () => {
  for (let i = 0; i < 25; i++) {
    const r = await post('/orders/', alice, { base: XBT, counter: USDT, quantity: -(100 + i), price: (4000 + i) * 10000 });
    assert.equal(r.status, 201, r.text);
  }
  assert.equal((await post('/orders/', bob, { base: XBT, counter: USDT, quantity: -7, price: 40000000 })).status, 201);
  assert.equal((await post('/orders/', bob, { base: XBT, counter: USDT, quantity: 50, price: 39990000 })).status, 201);
  const d = isJson(await get(`/depth/${PAIR}`)) as { bids: number[][]; asks: number[][] };
  assert.deepEqual(Object.keys(d), ['bids', 'asks']);
  assert.deepEqual(d.bids, [[39990000, 50]]);
  assert.equal(d.asks.length, 20);
  assert.deepEqual(d.asks[0], [40000000, 107]);
  assert.deepEqual(d.asks[19], [40190000, 119]);
  // The /tickers/ list (rendered once per engine sequence number) moved on with the book.
  const all = isJson(await get('/tickers/')) as Record<string, unknown>[];
  assert.equal(all[0]!.bid, 39990000);
  assert.equal(all[0]!.ask, 40000000);
  isEmpty404(await get(`/depth/${XBT}:1`));
  const cancelled = isJson(await del('/orders/', alice)) as unknown[];
  assert.equal(cancelled.length, 25);
  assert.equal((isJson(await del('/orders/', bob)) as unknown[]).length, 2);
  assert.deepEqual(isJson(await get(`/depth/${PAIR}`)), { bids: [], asks: [] });
});

test('authentication: 401 with WWW-Authenticate for missing, malformed and wrong credentials', { timeout: 30_000 }, async () => {
  const check = async (auth: string | undefined, message: string | RegExp) => {
    const r = await http(s.url + '/balances/', auth === undefined ? {} : { auth });
    isError(r, 401, message);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic realm="openfloor"/);
  };
  await check(undefined, ErrorMessage.NOT_AUTHENTICATED);
  await check(basic(`${alice.id}/${bob.cookie}:${alice.passphrase}`), ErrorMessage.BAD_COOKIE);
  await check(basic(`${alice.id}/${alice.cookie}:wrong`), ErrorMessage.BAD_SIGNATURE);
  await check(basic(`999/${alice.cookie}:${alice.passphrase}`), ErrorMessage.NO_SUCH_USER);
  await check('Basic !!!notbase64', /^Malformed HTTP Basic credentials/);
  await check('Basic ' + Buffer.from('no-colon-here').toString('base64'), /^Malformed/);
  await check(basic(`abc/${alice.cookie}:${alice.passphrase}`), /^Malformed/);
  await check('Bearer abc', /^Malformed/);
  await check('Basic ' + Buffer.from([0xff, 0xfe, 0x3a]).toString('base64'), /^Malformed/);
  // The base64 private key works as the password too.
  const r = await http(s.url + '/balances/', { auth: basic(`${alice.id}/${alice.cookie}:${alice.privateKey}`) });
  assert.equal(r.status, 200);
});

test('GET /balances/ and /balances/<id>', { timeout: 30_000 }, async () => {
  const list = isJson(await get('/balances/', alice)) as Record<string, number>[];
  assert.deepEqual(list.find((b) => b.id === XBT), { id: XBT, available: 1_000_000, reserved: 0 });
  assert.deepEqual(Object.keys(list[0]!), ['id', 'available', 'reserved']);
  assert.deepEqual(isJson(await get(`/balances/${USDT}`, alice)), { id: USDT, available: 10_000_000_000, reserved: 0 });
  assert.deepEqual(isJson(await get(`/balances/${GBP}`, alice)), { id: GBP, available: 0, reserved: 0 });
  isEmpty404(await get('/balances/12345', alice));
  isEmpty404(await get('/balances/99999999', alice));
  isError(await get('/balances/XBT', alice), 400, /id must be an integer/);
});

test('orders: POST limit → 201 + Location; GET; market orders; DELETE one and all; 404s', { timeout: 30_000 }, async () => {
  const r = await post('/orders/', alice, { base: XBT, counter: USDT, quantity: -5000, price: 40000000 });
  const order = isJson(r, 201) as Record<string, number>;
  assert.deepEqual(Object.keys(order), ['id', 'base', 'counter', 'quantity', 'price', 'time']);
  assert.equal(r.headers.get('location'), String(order.id));
  assert.equal(r.headers.get('content-location'), String(order.id));
  assert.deepEqual({ ...order, id: 0, time: 0 }, { id: 0, base: XBT, counter: USDT, quantity: -5000, price: 40000000, time: 0 });
  assert.deepEqual(isJson(await get(`/orders/${order.id}`, alice)), order);
  assert.deepEqual(isJson(await get('/orders/', alice)), [order]);
  isEmpty404(await get(`/orders/${order.id}`, bob), );
  isEmpty404(await get('/orders/987654', alice));
  isError(await get('/orders/abc', alice), 400);

  // The engine rounds a bid down to the tick; the response shows the order as opened.
  const bid = isJson(await post('/orders/', alice, { base: XBT, counter: USDT, quantity: 100, price: 39995555 }), 201) as Record<string, number>;
  assert.equal(bid.price, 39990000);

  // Market orders: by quantity, then by total; 200 {"remaining": n}.
  assert.equal((await post('/orders/', bob, { base: XBT, counter: USDT, quantity: 2000 })).text, '{"remaining":0}');
  const byTotal = await post('/orders/', bob, { base: XBT, counter: USDT, total: 4_000_000 });
  assert.deepEqual(isJson(byTotal), { remaining: 0 });
  // Selling into the bid by total more than it holds: the untraded total remains.
  const sell = isJson(await post('/orders/', bob, { base: XBT, counter: USDT, total: -1_000_000 })) as { remaining: number };
  assert.equal(sell.remaining, 1_000_000 - 399_900);
  const after = isJson(await get(`/orders/${order.id}`, alice)) as Record<string, number>;
  assert.equal(after.quantity, -2000);

  // DELETE one: 200 with the cancelled order; again: 404 empty.
  assert.deepEqual(isJson(await del(`/orders/${order.id}`, alice)), { ...order, quantity: -2000 });
  isEmpty404(await del(`/orders/${order.id}`, alice));
  // DELETE all.
  await post('/orders/', alice, { base: XBT, counter: USDT, quantity: -1, price: 50000000 });
  await post('/orders/', alice, { base: XBT, counter: GBP, quantity: -1, price: 100000 });
  const all = isJson(await del('/orders/', alice)) as Record<string, number>[];
  assert.equal(all.length, 2);
  assert.deepEqual(isJson(await del('/orders/', alice)), []);
  assert.deepEqual(isJson(await get('/orders/', alice)), []);
});

test('POST /orders/ refusals: engine messages with 400/409, and bad input that never reaches the engine', { timeout: 30_000 }, async () => {
  // Refused by the engine: the account is untouched.
  const before = JSON.stringify(s.ctx.engine.balances(alice.id));
  isError(await post('/orders/', alice, { base: XBT, counter: USDT, quantity: -999_999_999, price: 40000000 }), 409, ErrorMessage.INSUFFICIENT_FUNDS);
  isError(await post('/orders/', alice, { base: XBT, counter: USDT, quantity: 1, price: 0 }), 400, ErrorMessage.PRICE_ZERO);
  isError(await post('/orders/', alice, { base: XBT, counter: USDT, quantity: 0, price: 1 }), 400, ErrorMessage.QUANTITY_ZERO);
  isError(await post('/orders/', alice, { base: XBT, counter: USDT, total: 0 }), 400, ErrorMessage.TOTAL_ZERO);
  isError(
    await post('/orders/', alice, { base: XBT, counter: USDT, quantity: 9_000_000_000_000_000, price: 9_000_000_000_000_000 }),
    400,
    ErrorMessage.TOTAL_OVERFLOW,
  );
  assert.equal(JSON.stringify(s.ctx.engine.balances(alice.id)), before);

  await changesNothing(async () => {
    const form = (f: Record<string, string | number>) => post('/orders/', alice, f);
    isError(await form({ base: 1, counter: 2, quantity: 5, price: 5 }), 400, ErrorMessage.INVALID_PAIR);
    isError(await form({ base: 'XBT', counter: USDT, quantity: 5, price: 5 }), 400, /base must be an integer/);
    isError(await form({ base: XBT, counter: USDT, quantity: '1e3', price: 5 }), 400, /quantity must be an integer/);
    isError(await form({ base: XBT, counter: USDT, quantity: '1.5', price: 5 }), 400, /quantity must be an integer/);
    isError(await form({ base: XBT, counter: USDT, quantity: '99999999999999999999', price: 5 }), 400, /quantity is out of range/);
    isError(await form({ base: XBT, counter: USDT, quantity: 5, price: -5 }), 400, /price is out of range/);
    isError(await form({ base: XBT, counter: USDT }), 400, ErrorMessage.QUANTITY_OR_TOTAL);
    isError(await form({ base: XBT, counter: USDT, quantity: 5, total: 5 }), 400, /total is forbidden/);
    isError(await form({ base: XBT, counter: USDT, price: 5 }), 400, /quantity is required/);
    const raw = (body: string, type = 'application/x-www-form-urlencoded') =>
      http(s.url + '/orders/', { method: 'POST', auth: alice.auth, body, headers: { 'content-type': type } });
    isError(await raw(`base=${XBT}&counter=${USDT}&quantity=1&quantity=2&price=5`), 400, /given more than once/);
    isError(await raw('%%%&&&==='), 400);
    isError(await raw(`base=${XBT}&counter=${USDT}&quantity=%FF&price=5`), 400);
    isError(await raw('just text', 'text/plain'), 400, /name=value parameters/);
    isError(await raw('<order/>', 'application/xml'), 415);
    isError(await raw('{"base":', 'application/json'), 400, /not valid JSON/);
    isError(await raw(`base=${XBT}&counter=${USDT}&quantity=1&price=5&pad=${'x'.repeat(70_000)}`), 413, /too large/);
    isError(await raw(''), 400, /base is required/);
  });

  // JSON bodies are accepted too.
  const j = await http(s.url + '/orders/', {
    method: 'POST',
    auth: alice.auth,
    body: JSON.stringify({ base: XBT, counter: USDT, quantity: -1, price: 60000000 }),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(j.status, 201, j.text);
  isJson(await del('/orders/', alice));
});

test('405 with Allow for a wrong method', { timeout: 30_000 }, async () => {
  const r = await http(s.url + '/orders/', { method: 'PUT', auth: alice.auth });
  isError(r, 405);
  assert.equal(r.headers.get('allow'), 'DELETE, GET, HEAD, POST');
  assert.equal((await http(s.url + '/tickers/', { method: 'POST' })).status, 405);
  assert.equal((await http(s.url + '/balances/', { method: 'DELETE', auth: alice.auth })).status, 405);
  assert.equal((await http(s.url + `/orders/1`, { method: 'PATCH', auth: alice.auth })).headers.get('allow'), 'DELETE, GET, HEAD');
});

test('GET /trades/ and /trades/<time>: since/until strict, sort defaults, limit; 404 empty', { timeout: 30_000 }, async () => {
  // Five trades at distinct times: alice's resting ask, bob's market buys.
  const ask = isJson(await post('/orders/', alice, { base: XBT, counter: USDT, quantity: -10_000, price: 50000000 }), 201) as { id: number };
  for (let i = 1; i <= 5; i++) {
    assert.equal((await post('/orders/', bob, { base: XBT, counter: USDT, quantity: 100 * i })).status, 200);
  }
  const all = isJson(await get('/trades/', alice)) as Record<string, number | null>[];
  const mine = all.filter((t) => t.price === 50000000);
  assert.equal(mine.length, 5);
  const times = mine.map((t) => t.time as number);
  assert.deepEqual([...times].sort((a, b) => b - a), times, 'descending without since');
  assert.deepEqual(Object.keys(mine[0]!), ['time', 'base', 'counter', 'quantity', 'price', 'total', 'base_fee', 'counter_fee', 'order_id']);
  // Newest: bob bought 500 at 5000 → alice sold 500 for 25,000,000; maker fee 0.
  assert.deepEqual(mine[0], {
    time: times[0],
    base: XBT,
    counter: USDT,
    quantity: -500,
    price: 50000000,
    total: -2_500_000,
    base_fee: 0,
    counter_fee: 0,
    order_id: ask.id,
  });
  // Bob's view: positive amounts, taker fee 0.1 % of the total, market order → order_id null.
  const bobs = isJson(await get(`/trades/?since=${times[4]! - 1}`, bob)) as Record<string, number | null>[];
  assert.deepEqual(
    bobs.map((t) => [t.quantity, t.total, t.counter_fee, t.order_id]),
    [100, 200, 300, 400, 500].map((q) => [q, q * 5000, q * 5, null]),
  );
  const asc = [...times].reverse();
  // since: strictly after, ascending by default.
  assert.deepEqual((isJson(await get(`/trades/?since=${asc[1]}`, alice)) as { time: number }[]).map((t) => t.time), asc.slice(2));
  // until: strictly before, descending by default.
  const until = (isJson(await get(`/trades/?until=${asc[2]}&since=${asc[0]! - 1}&sort=desc`, alice)) as { time: number }[]).map((t) => t.time);
  assert.deepEqual(until, [asc[1], asc[0]]);
  // limit picks from the sorted end.
  assert.deepEqual((isJson(await get(`/trades/?limit=2`, alice)) as { time: number }[]).map((t) => t.time), times.slice(0, 2));
  assert.deepEqual((isJson(await get(`/trades/?limit=2&since=${asc[0]! - 1}`, alice)) as { time: number }[]).map((t) => t.time), asc.slice(0, 2));
  // One trade by its time.
  assert.deepEqual(isJson(await get(`/trades/${times[0]}`, alice)), mine[0]);
  isEmpty404(await get('/trades/1', alice));
  isError(await get('/trades/?sort=sideways', alice), 400, 'Parameter sort must be asc or desc.');
  isError(await get('/trades/?limit=0', alice), 400, /limit is out of range/);
  isError(await get('/trades/?since=yesterday', alice), 400, /since must be an integer/);
  isError(await get('/trades/abc', alice), 400);
  isError(await get('/trades/'), 401);
  isJson(await del('/orders/', alice));
});

test('GET /positions/ and /account_value/', { timeout: 30_000 }, async () => {
  const positions = isJson(await get('/positions/', alice)) as Record<string, number>[];
  assert.deepEqual(positions, s.ctx.engine.positions(alice.id).map((p) => ({ asset: p.asset, position: p.position, through: p.through })));
  assert.ok(positions.length > 0);
  assert.deepEqual(Object.keys(positions[0]!), ['asset', 'position', 'through']);

  const dayBefore = Math.floor((Date.now() * 1000) / MICROS_PER_DAY);
  const values = isJson(await get('/account_value/', alice)) as Record<string, number>[];
  const dayAfter = Math.floor((Date.now() * 1000) / MICROS_PER_DAY);
  const xbt = values.find((v) => v.asset === XBT)!;
  assert.deepEqual(Object.keys(xbt), [
    'asset',
    'spot_value',
    'change_in_spot_value',
    'futures_value',
    'change_in_futures_value',
    'total_value',
    'change_in_total_value',
  ]);
  const bal = s.ctx.engine.balances(alice.id).find((b) => b.asset === XBT)!;
  assert.equal(xbt.spot_value, bal.available + bal.reserved);
  assert.equal(xbt.total_value, xbt.spot_value + xbt.futures_value);
  if (dayBefore === dayAfter && dayBefore === Math.floor(s.ctx.engine.now / MICROS_PER_DAY)) {
    // Every balance appeared today: the change is the whole value.
    assert.equal(xbt.change_in_spot_value, xbt.spot_value);
  }
  assert.ok(!values.some((v) => v.asset === XBTDEC), 'futures are folded into their spot asset');
  isError(await get('/account_value/'), 401);
});

test('rate limits: orders, records and failed logins answer 429', { timeout: 30_000 }, async () => {
  const small = await startTestServer({ limits: { restOrdersPer10s: 3, recordsPerMinute: 2, authAttemptsPerHour: 2 } });
  try {
    const u = await createUser(small.ctx, 'limited', [[XBT, 1000]]);
    const order = () => http(small.url + '/orders/', { method: 'POST', auth: u.auth, form: { base: XBT, counter: USDT, quantity: -1, price: 40000000 } });
    for (let i = 0; i < 3; i++) assert.equal((await order()).status, 201);
    const seq = small.ctx.engine.lastSeq;
    isError(await order(), 429, ErrorMessage.ORDERS_TOO_RAPIDLY);
    isError(await http(small.url + '/orders/', { method: 'DELETE', auth: u.auth }), 429, ErrorMessage.ORDERS_TOO_RAPIDLY);
    assert.equal(small.ctx.engine.lastSeq, seq, 'refused orders never reach the engine');

    for (let i = 0; i < 2; i++) assert.equal((await http(small.url + '/trades/', { auth: u.auth })).status, 200);
    isError(await http(small.url + '/trades/', { auth: u.auth }), 429, 'You are making records requests too rapidly.');

    const bad = basic(`${u.id}/${u.cookie}:guess`);
    for (let i = 0; i < 2; i++) isError(await http(small.url + '/balances/', { auth: bad }), 401, ErrorMessage.BAD_SIGNATURE);
    isError(await http(small.url + '/balances/', { auth: bad }), 429, ErrorMessage.AUTH_TOO_RAPIDLY);
    // The real owner is not locked out.
    assert.equal((await http(small.url + '/balances/', { auth: u.auth })).status, 200);
  } finally {
    await small.close();
  }
});
