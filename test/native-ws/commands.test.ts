// End to end: every command's success reply (field for field) and its documented error rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../src/client/index.js';
import { ETH, ONE_XBT, RawConn, TICK, USDT, XBT, connect, createUser, fund, fundedUser, login, startTestServer, type TestServer } from './helpers.js';

const P = 40_000 * TICK;
const isErr = (code: number, message?: string) => (e: unknown) =>
  e instanceof ApiError && e.code === code && (message === undefined || e.message === message);

async function withServer(fn: (t: TestServer) => Promise<void>, opts: Parameters<typeof startTestServer>[0] = {}): Promise<void> {
  const t = await startTestServer(opts);
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

test('GetBalances: balance, reserved_balance and total_balance per asset', { timeout: 60_000 }, () =>
  withServer(async (t) => {
    const u = await fundedUser(t.ctx, 10 * ONE_XBT, 1_000_000 * TICK);
    const c = await login(t.url, u);
    await c.placeOrder({ base: XBT, counter: USDT, quantity: 12345, price: 123 * TICK }); // bid
    await c.placeOrder({ base: XBT, counter: USDT, quantity: -2 * ONE_XBT, price: 50_000 * TICK }); // ask
    const b = await c.getBalances();
    const usdt = b.find((x) => x.asset === USDT)!;
    const xbt = b.find((x) => x.asset === XBT)!;
    // IMPL-GUIDE: a bid reserves ceil(quantity × price / 10000) of the counter asset.
    const reserved = Math.ceil((12345 * 123 * TICK) / 10000);
    assert.deepEqual(usdt, { asset: USDT, balance: 1_000_000 * TICK - reserved, reserved_balance: reserved, total_balance: 1_000_000 * TICK });
    assert.deepEqual(xbt, { asset: XBT, balance: 8 * ONE_XBT, reserved_balance: 2 * ONE_XBT, total_balance: 10 * ONE_XBT });
    assert.deepEqual(Object.keys(usdt), ['asset', 'balance', 'reserved_balance', 'total_balance']);
    await c.close();
  }));

test('PlaceOrder (limit): id and time; GetOrders lists it with its tonce; tonce rules', { timeout: 60_000 }, () =>
  withServer(async (t) => {
    const u = await fundedUser(t.ctx);
    const cl = await login(t.url, u);
    const r = await cl.request('PlaceOrder', { tonce: 42, base: XBT, counter: USDT, quantity: ONE_XBT, price: P });
    assert.deepEqual(Object.keys(r), ['tag', 'error_code', 'id', 'time']);
    const r2 = await cl.request('PlaceOrder', { base: XBT, counter: USDT, quantity: -ONE_XBT, price: P + 10 * TICK, persist: true });
    const orders = await cl.getOrders();
    assert.deepEqual(orders, [
      { id: r.id!, tonce: 42, base: XBT, counter: USDT, quantity: ONE_XBT, price: P, time: r.time! },
      { id: r2.id!, tonce: null, base: XBT, counter: USDT, quantity: -ONE_XBT, price: P + 10 * TICK, time: r2.time! },
    ]);
    // CoinFLEX: a tonce must be unique among live orders.
    await assert.rejects(cl.placeOrder({ tonce: 42, base: XBT, counter: USDT, quantity: 1, price: P }), isErr(3, 'Tonce is out of sequence.'));
    await assert.rejects(cl.placeOrder({ tonce: 0, base: XBT, counter: USDT, quantity: 1, price: P }), isErr(8, 'Tonce must not be zero.'));
    await cl.close();
  }));

test('PlaceOrder error rows 1, 4, 8, 9', { timeout: 60_000 }, () =>
  withServer(async (t) => {
    const u = await fundedUser(t.ctx, ONE_XBT, 100 * TICK);
    const c = await login(t.url, u);
    await assert.rejects(c.placeOrder({ base: XBT, counter: XBT, quantity: 1, price: P }), isErr(1, 'You specified an invalid asset pair.'));
    await assert.rejects(c.placeOrder({ base: XBT, counter: USDT, quantity: ONE_XBT, price: P }), isErr(4, 'You have insufficient funds.'));
    await assert.rejects(c.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: 0 }), isErr(8, 'Price must not be zero.'));
    await assert.rejects(c.placeOrder({ base: XBT, counter: USDT, quantity: 0, price: P }), isErr(8, 'Quantity must not be zero.'));
    await assert.rejects(c.placeOrder({ base: XBT, counter: USDT, total: 0 }), isErr(8, 'Total must not be zero.'));
    await assert.rejects(c.placeOrder({ base: XBT, counter: USDT }), isErr(8, 'You must specify either quantity or total for a market order.'));
    await assert.rejects(
      c.placeOrder({ base: XBT, counter: USDT, quantity: Number.MAX_SAFE_INTEGER, price: Number.MAX_SAFE_INTEGER - 1 }),
      isErr(8, 'Order total would overflow.'),
    );
    // Post-only that would match.
    const m = await fundedUser(t.ctx);
    const mc = await login(t.url, m);
    await mc.placeOrder({ base: XBT, counter: USDT, quantity: -ONE_XBT, price: P });
    await assert.rejects(
      mc.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P, post_only: true }),
      isErr(9, 'Post-only order with these parameters would result in an immediate match.'),
    );
    await c.close();
    await mc.close();
  }));

test('error 5: too many outstanding orders', { timeout: 60_000 }, () =>
  withServer(
    async (t) => {
      const c = await login(t.url, await fundedUser(t.ctx));
      for (let i = 0; i < 3; i++) await c.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P - i * TICK });
      await assert.rejects(c.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P }), isErr(5, 'You have too many outstanding orders.'));
      await c.close();
    },
    { config: { engine: { maxOpenOrders: 3 } } },
  ));

test('market orders: remaining by quantity and by total; EstimateMarketOrder', { timeout: 60_000 }, () =>
  withServer(async (t) => {
    const maker = await login(t.url, await fundedUser(t.ctx));
    const taker = await login(t.url, await fundedUser(t.ctx));
    await maker.placeOrder({ base: XBT, counter: USDT, quantity: -ONE_XBT, price: P });
    await maker.placeOrder({ base: XBT, counter: USDT, quantity: -ONE_XBT, price: P + TICK });
    // Estimates take no authentication and include no fees.
    const anon = await connect(t.url);
    assert.deepEqual(await anon.estimateMarketOrder({ base: XBT, counter: USDT, quantity: 3 * ONE_XBT }), { quantity: 2 * ONE_XBT, total: 2 * P + TICK });
    assert.deepEqual(await anon.estimateMarketOrder({ base: XBT, counter: USDT, total: P }), { quantity: ONE_XBT, total: P });
    assert.deepEqual(await anon.estimateMarketOrder({ base: XBT, counter: USDT, quantity: -ONE_XBT }), { quantity: 0, total: 0 });
    await assert.rejects(anon.estimateMarketOrder({ base: ETH, counter: XBT, quantity: 1 }), isErr(1, 'You specified an invalid asset pair.'));
    await assert.rejects(anon.estimateMarketOrder({ base: XBT, counter: USDT, quantity: 0 }), isErr(8, 'Quantity must not be zero.'));
    await assert.rejects(anon.estimateMarketOrder({ base: XBT, counter: USDT, total: 0 }), isErr(8, 'Total must not be zero.'));
    await assert.rejects(
      anon.estimateMarketOrder({ base: XBT, counter: USDT }),
      isErr(8, 'You must specify either quantity or total for a market order.'),
    );
    const r = await taker.request('PlaceOrder', { base: XBT, counter: USDT, quantity: ONE_XBT / 2 });
    assert.deepEqual(Object.keys(r), ['tag', 'error_code', 'remaining']);
    assert.equal(r.remaining, 0);
    const r2 = await taker.placeOrder({ base: XBT, counter: USDT, total: 10 * P });
    assert.ok(r2.remaining! > 0 && r2.remaining! < 10 * P);
    assert.deepEqual(await anon.estimateMarketOrder({ base: XBT, counter: USDT, quantity: 1 }), { quantity: 0, total: 0 });
    await Promise.all([maker.close(), taker.close(), anon.close()]);
  }));

test('ModifyOrder: reply fields, by id and by tonce, cancel by reaching zero, error rows', { timeout: 60_000 }, () =>
  withServer(async (t) => {
    const c = await login(t.url, await fundedUser(t.ctx, ONE_XBT, 100_000 * TICK));
    const { id } = await c.placeOrder({ tonce: 7, base: XBT, counter: USDT, quantity: 1000, price: P });
    const m = await c.request('ModifyOrder', { id: id!, quantity_delta: -100, price: P - TICK });
    assert.deepEqual(Object.keys(m), ['tag', 'error_code', 'id', 'tonce', 'base', 'counter', 'quantity', 'price', 'time']);
    assert.equal(m.id, id);
    assert.equal(m.tonce, 7);
    assert.equal(m.quantity, 900);
    assert.equal(m.price, P - TICK);
    const m2 = await c.modifyOrder({ tonce: 7, quantity_delta: 100 });
    assert.equal(m2.quantity, 1000);
    await assert.rejects(c.modifyOrder({ id: 999, price: P }), isErr(1, 'The specified order was not found.'));
    await assert.rejects(c.modifyOrder({ price: P }), isErr(8, 'You must specify either order ID or tonce.'));
    await assert.rejects(c.modifyOrder({ tonce: 0, price: P }), isErr(8, 'Tonce must not be zero.'));
    await assert.rejects(c.modifyOrder({ id: id! }), isErr(8, 'You must specify quantity delta and/or price.'));
    await assert.rejects(c.modifyOrder({ id: id!, quantity_delta: 0 }), isErr(8, 'Quantity delta must not be zero.'));
    await assert.rejects(c.modifyOrder({ id: id!, price: 0 }), isErr(8, 'Price must not be zero.'));
    await assert.rejects(c.modifyOrder({ id: id!, quantity_delta: 1_000_000 }), isErr(4, 'You have insufficient funds.'));
    const ask = await login(t.url, await fundedUser(t.ctx));
    await ask.placeOrder({ base: XBT, counter: USDT, quantity: -1, price: P + 5 * TICK });
    await assert.rejects(
      c.modifyOrder({ id: id!, price: P + 5 * TICK, post_only: true }),
      isErr(9, 'Post-only order with these parameters would result in an immediate match.'),
    );
    // Reaching zero cancels.
    await c.modifyOrder({ id: id!, quantity_delta: -1000 });
    assert.deepEqual(await c.getOrders(), []);
    await Promise.all([c.close(), ask.close()]);
  }));

test('CancelOrder by id and tonce; CancelAllOrders lists what it cancelled', { timeout: 60_000 }, () =>
  withServer(async (t) => {
    const c = await login(t.url, await fundedUser(t.ctx));
    const a = await c.placeOrder({ tonce: 1, base: XBT, counter: USDT, quantity: 10, price: P });
    const b = await c.placeOrder({ tonce: 2, base: XBT, counter: USDT, quantity: -20, price: P + TICK });
    const x = await c.request('CancelOrder', { id: a.id! });
    assert.deepEqual(x, { tag: x.tag, error_code: 0, id: a.id, tonce: 1, base: XBT, counter: USDT, quantity: 10, price: P, time: a.time });
    const y = await c.cancelOrder({ tonce: 2 });
    assert.deepEqual(y, { id: b.id, tonce: 2, base: XBT, counter: USDT, quantity: -20, price: P + TICK, time: b.time });
    await assert.rejects(c.cancelOrder({ id: a.id! }), isErr(1, 'The specified order was not found.'));
    await assert.rejects(c.cancelOrder({}), isErr(8, 'You must specify either order ID or tonce.'));
    const o1 = await c.placeOrder({ base: XBT, counter: USDT, quantity: 5, price: P });
    const o2 = await c.placeOrder({ tonce: 9, base: XBT, counter: USDT, quantity: -5, price: P + TICK });
    const all = await c.cancelAllOrders();
    assert.deepEqual(all.map((o) => [o.id, o.tonce, o.quantity]).sort(), [
      [o1.id, null, 5],
      [o2.id, 9, -5],
    ].sort());
    assert.deepEqual(await c.cancelAllOrders(), []);
    await c.close();
  }));

test('GetTradeVolume: 30-day volume per asset; invalid asset is error 8', { timeout: 60_000 }, () =>
  withServer(async (t) => {
    const a = await login(t.url, await fundedUser(t.ctx));
    const b = await login(t.url, await fundedUser(t.ctx));
    assert.equal(await a.getTradeVolume(USDT), 0);
    await a.placeOrder({ base: XBT, counter: USDT, quantity: -ONE_XBT, price: P });
    await b.placeOrder({ base: XBT, counter: USDT, quantity: ONE_XBT, price: P });
    assert.equal(await a.getTradeVolume(USDT), P);
    assert.equal(await b.getTradeVolume(XBT), ONE_XBT);
    await assert.rejects(a.getTradeVolume(12345), isErr(8, 'You specified an invalid asset.'));
    await Promise.all([a.close(), b.close()]);
  }));

test('WatchOrders / WatchTicker: snapshots, unsubscribe, error rows 1 and 2', { timeout: 60_000 }, () =>
  withServer(async (t) => {
    const u = await login(t.url, await fundedUser(t.ctx));
    const b1 = await u.placeOrder({ base: XBT, counter: USDT, quantity: 3, price: P });
    const a1 = await u.placeOrder({ base: XBT, counter: USDT, quantity: -4, price: P + TICK });
    const b2 = await u.placeOrder({ base: XBT, counter: USDT, quantity: 5, price: P + 0 });
    const w = await RawConn.open(t.url);
    await w.welcome();
    const r = await w.call({ tag: 1, method: 'WatchOrders', base: XBT, counter: USDT, watch: true });
    assert.deepEqual(r, {
      tag: 1,
      error_code: 0,
      orders: [
        { id: b1.id, quantity: 3, price: P, time: b1.time },
        { id: b2.id, quantity: 5, price: P, time: b2.time },
        { id: a1.id, quantity: -4, price: P + TICK, time: a1.time },
      ],
    });
    assert.deepEqual(await w.call({ tag: 2, method: 'WatchOrders', base: XBT, counter: USDT, watch: true }), {
      tag: 2,
      error_code: 2,
      error_msg: 'You are already watching the order book for the specified asset pair.',
    });
    assert.deepEqual(await w.call({ tag: 3, method: 'WatchOrders', base: XBT, counter: USDT, watch: false }), { tag: 3, error_code: 0 });
    assert.deepEqual(await w.call({ tag: 4, method: 'WatchOrders', base: XBT, counter: USDT, watch: false }), {
      tag: 4,
      error_code: 1,
      error_msg: 'You are not watching the order book for the specified asset pair.',
    });
    assert.deepEqual(await w.call({ tag: 5, method: 'WatchOrders', base: USDT, counter: XBT, watch: true }), {
      tag: 5,
      error_code: 1,
      error_msg: 'You specified an invalid asset pair.',
    });
    assert.deepEqual(await w.call({ tag: 51, method: 'WatchOrders', base: USDT, counter: XBT, watch: false }), {
      tag: 51,
      error_code: 1,
      error_msg: 'You specified an invalid asset pair.',
    });

    const tk = await w.call({ tag: 6, method: 'WatchTicker', base: XBT, counter: USDT, watch: true });
    assert.deepEqual(tk, { tag: 6, error_code: 0, last: null, bid: P, ask: P + TICK, low: null, high: null, volume: 0 });
    assert.deepEqual(await w.call({ tag: 7, method: 'WatchTicker', base: XBT, counter: USDT, watch: true }), {
      tag: 7,
      error_code: 2,
      error_msg: 'You are already watching the ticker for the specified asset pair.',
    });
    assert.deepEqual(await w.call({ tag: 8, method: 'WatchTicker', base: XBT, counter: USDT, watch: false }), { tag: 8, error_code: 0 });
    assert.deepEqual(await w.call({ tag: 9, method: 'WatchTicker', base: XBT, counter: USDT, watch: false }), {
      tag: 9,
      error_code: 1,
      error_msg: 'You are not watching the ticker for the specified asset pair.',
    });
    assert.deepEqual(await w.call({ tag: 10, method: 'WatchTicker', base: 1, counter: 2, watch: true }), {
      tag: 10,
      error_code: 1,
      error_msg: 'You specified an invalid asset pair.',
    });
    // No notices after unsubscribing.
    const before = w.frames.length;
    await u.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P - TICK });
    await w.call({ tag: 11, method: 'EstimateMarketOrder', base: XBT, counter: USDT, quantity: 1 }); // barrier
    assert.equal(w.frames.length, before + 1);
    await Promise.all([u.close(), w.close()]);
  }));

test('WatchOrders snapshot: at most 1000 bids and 1000 asks, best first', { timeout: 60_000 }, () =>
  withServer(async (t) => {
    const users = [await fundedUser(t.ctx), await fundedUser(t.ctx), await fundedUser(t.ctx)];
    const cs = await Promise.all(users.map((u) => login(t.url, u)));
    // 1,100 bids (two users) and 1,000 asks, all pipelined.
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 550; i++) {
      ps.push(cs[0]!.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P - i * TICK }));
      ps.push(cs[1]!.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P - i * TICK }));
    }
    for (let i = 0; i < 1000; i++) ps.push(cs[2]!.placeOrder({ base: XBT, counter: USDT, quantity: -1, price: P + (i + 1) * TICK }));
    await Promise.all(ps);
    const w = await connect(t.url);
    const snap = (await w.watchOrders(XBT, USDT))!;
    const bids = snap.filter((o) => o.quantity > 0);
    const asks = snap.filter((o) => o.quantity < 0);
    assert.equal(bids.length, 1000);
    assert.equal(asks.length, 1000);
    assert.equal(bids[0]!.price, P);
    assert.equal(bids[999]!.price, P - 499 * TICK);
    assert.equal(asks[0]!.price, P + TICK);
    assert.deepEqual(snap, t.ctx.engine.bookOrders(XBT, USDT, 1000));
    await Promise.all([...cs.map((c) => c.close()), w.close()]);
  }, { limits: { wsOrdersPerSecond: 1_000_000 } }));

test('pipelining: state changes in arrival order, every reply correlated by tag', { timeout: 60_000 }, () =>
  withServer(async (t) => {
    const cl = await login(t.url, await fundedUser(t.ctx));
    // 150 commands in one burst: placements with increasing tonces, some cancels by tonce,
    // queries and estimates in between; replies may come in any order.
    const burst: Promise<unknown>[] = [];
    for (let i = 1; i <= 100; i++) {
      burst.push(cl.placeOrder({ tonce: i, base: XBT, counter: USDT, quantity: i, price: P - (i % 7) * TICK }));
      if (i % 10 === 0) burst.push(cl.cancelOrder({ tonce: i - 5 }));
      if (i % 25 === 0) burst.push(cl.estimateMarketOrder({ base: XBT, counter: USDT, quantity: -1 }));
    }
    const results = await Promise.all(burst);
    assert.equal(results.length, 114);
    const orders = await cl.getOrders();
    assert.equal(orders.length, 90);
    // Order ids were assigned in arrival (tonce) order.
    const byTonce = [...orders].sort((a, b) => a.tonce! - b.tonce!);
    assert.deepEqual(byTonce.map((o) => o.id), [...orders].map((o) => o.id).sort((a, b) => a - b));
    assert.ok(!orders.some((o) => o.tonce! % 10 === 5));
    await cl.close();
  }));

test('a funded user can trade ETH and XBT books independently (several markets)', { timeout: 60_000 }, () =>
  withServer(async (t) => {
    const u = await createUser(t.ctx);
    await fund(t.ctx, u.userId, ETH, 10 * ONE_XBT);
    const c = await login(t.url, u);
    const r = await c.placeOrder({ base: ETH, counter: USDT, quantity: -ONE_XBT, price: 2000 * TICK });
    assert.ok(r.id! > 0);
    const w = await connect(t.url);
    assert.deepEqual(await w.watchOrders(XBT, USDT), []);
    assert.equal((await w.watchOrders(ETH, USDT))!.length, 1);
    await Promise.all([c.close(), w.close()]);
  }));
