// Conformance: ccxt's unmodified coinex class (REST and pro WebSocket, ccxt 4.5.84) against a
// real server, with keys created through the operator's admin API. Every result is checked
// against the engine's own state or the applied events, not only for "no exception".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { OrdersMatched } from '../../src/core/types.js';
import { account, ccxtClient, dec, startCx, USDT, XBT, E4, type Account, type CoinexPro, type CxServer } from './helpers.js';

const SYMBOL = 'BTC/USDT';
const PRICE = 10_000; // 1 USDT in price units

function matches(s: CxServer): OrdersMatched[] {
  return s.applied.flatMap((a) => a.events).filter((e): e is OrdersMatched => e.type === 'OrdersMatched' && e.base === XBT && e.counter === USDT);
}

function balanceOf(s: CxServer, userId: number, asset: number): { available: number; reserved: number } {
  return s.ctx.engine.balances(userId).find((b) => b.asset === asset)!;
}

describe('ccxt coinex (REST and WebSocket) against openfloor', { timeout: 60_000 }, () => {
  let s: CxServer;
  let A: Account;
  let B: Account;
  let a: CoinexPro;
  let b: CoinexPro;
  const opened: string[] = [];

  before(async () => {
    s = await startCx();
    A = await account(s);
    B = await account(s);
    a = await ccxtClient(s, A);
    b = await ccxtClient(s, B);
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await s?.close();
  });

  test('loadMarkets: every engine market, CoinEx names, precision from scale and tick', async () => {
    const markets = await a.loadMarkets();
    const m = markets[SYMBOL]!;
    assert.equal(m.id, 'BTCUSDT');
    assert.equal(m.baseId, 'BTC');
    assert.equal(m.spot, true);
    assert.equal(m.precision.amount, 0.0001);
    assert.equal(m.precision.price, 1);
    assert.equal(m.maker, 0.0002);
    assert.equal(m.taker, 0.0004);
    const engineMarkets = s.ctx.engine.markets();
    const spot = Object.values(markets).filter((x) => x!.spot);
    const swap = Object.values(markets).filter((x) => x!.swap);
    assert.equal(spot.length, engineMarkets.filter((x) => x.kind === 'spot').length);
    assert.equal(swap.length, engineMarkets.filter((x) => x.kind === 'futures').length);
    assert.ok(markets['ETH/USDT']);
    assert.equal(markets['BCH/USDT']!.precision.price, 0.01, 'tick 0.25 → 2 decimals');
  });

  test('fetchTime: the server clock', async () => {
    const before = Date.now();
    const t = await a.fetchTime();
    assert.ok(t! >= before - 1000 && t! <= Date.now() + 1000);
  });

  test('createOrder limit: rests on the book with its client id', async () => {
    const o = await a.createOrder(SYMBOL, 'limit', 'sell', 0.5, 40_000);
    opened.push(o.id!);
    assert.match(o.clientOrderId!, /^x-167673045-/);
    assert.equal(o.amount, 0.5);
    assert.equal(o.price, 40_000);
    assert.equal(o.filled, 0);
    const rec = s.ctx.engine.openOrder(A.userId, Number(o.id))!;
    assert.deepEqual([rec.quantity, rec.price], [-0.5 * E4, 40_000 * PRICE]);
    assert.equal(balanceOf(s, A.userId, XBT).reserved, 0.5 * E4);
  });

  test('fetchOrderBook: the engine depth', async () => {
    const ob = await a.fetchOrderBook(SYMBOL, 5);
    const d = s.ctx.engine.depth(XBT, USDT, 5)!;
    assert.deepEqual(Array.from(ob.asks), d.asks.map(([p, q]) => [p / PRICE, q / E4]));
    assert.deepEqual(Array.from(ob.bids), d.bids.map(([p, q]) => [p / PRICE, q / E4]));
    assert.deepEqual(Array.from(ob.asks), [[40_000, 0.5]]);
  });

  test('createOrder limit that trades: fills as the engine matched', async () => {
    const o = await b.createOrder(SYMBOL, 'limit', 'buy', 0.2, 40_000);
    assert.equal(o.status, 'closed');
    assert.equal(o.filled, 0.2);
    assert.equal(o.cost, 8000);
    const m = matches(s).at(-1)!;
    assert.equal(m.bid, Number(o.id));
    assert.equal(m.quantity, 0.2 * E4);
    assert.equal(s.ctx.engine.openOrder(A.userId, Number(opened[0]))!.quantity, -0.3 * E4);
    assert.equal(Number(o.fee!.cost), m.bidCounterFee / E4);
  });

  test('fetchTicker / fetchTickers: the engine ticker', async () => {
    const t = await a.fetchTicker(SYMBOL);
    const e = s.ctx.engine.ticker(XBT, USDT)!;
    assert.equal(t.last, e.last! / PRICE);
    assert.equal(t.high, e.high! / PRICE);
    assert.equal(t.low, e.low! / PRICE);
    assert.equal(t.baseVolume, e.volume / E4);
    assert.equal(t.open, 40_000);
    assert.equal(t.quoteVolume, 8000);
    const all = await a.fetchTickers();
    assert.equal(all[SYMBOL]!.last, t.last);
    assert.equal(Object.keys(all).length, s.ctx.engine.markets().filter((x) => x.kind === 'spot').length);
    const eth = s.ctx.engine.ticker(0xf820, USDT)!;
    assert.equal(all['ETH/USDT']!.baseVolume, eth.volume / E4);
  });

  test('fetchTrades: the matches, newest first', async () => {
    const trades = await a.fetchTrades(SYMBOL);
    const ms = matches(s);
    assert.equal(trades.length, ms.length);
    const last = trades.at(-1)!; // ccxt sorts by time ascending
    assert.equal(last.price, ms.at(-1)!.price / PRICE);
    assert.equal(last.amount, ms.at(-1)!.quantity / E4);
    assert.equal(last.side, 'buy');
    assert.equal(last.timestamp, Math.floor(ms.at(-1)!.time / 1000));
  });

  test('fetchOHLCV: candles built from the trades', async () => {
    const candles = await a.fetchOHLCV(SYMBOL, '1m');
    const ms = matches(s);
    const minute = (t: number) => Math.floor(t / 60_000_000) * 60_000;
    const byMinute = new Map<number, OrdersMatched[]>();
    for (const m of ms) byMinute.set(minute(m.time), [...(byMinute.get(minute(m.time)) ?? []), m]);
    assert.equal(candles.length, byMinute.size);
    for (const [ts, o, h, l, c, v] of candles) {
      const group = byMinute.get(ts!)!;
      assert.ok(group, `candle at ${ts}`);
      assert.equal(o, group[0]!.price / PRICE);
      assert.equal(c, group.at(-1)!.price / PRICE);
      assert.equal(h, Math.max(...group.map((m) => m.price)) / PRICE);
      assert.equal(l, Math.min(...group.map((m) => m.price)) / PRICE);
      assert.equal(v, group.reduce((x, m) => x + m.quantity, 0) / E4);
    }
  });

  test('fetchBalance: available and reserved of the engine', async () => {
    const bal = await a.fetchBalance();
    for (const [asset, code] of [
      [XBT, 'BTC'],
      [USDT, 'USDT'],
    ] as const) {
      const e = balanceOf(s, A.userId, asset);
      assert.equal(bal[code]!.free, Number(dec(e.available)), code);
      assert.equal(bal[code]!.used, Number(dec(e.reserved)), code);
    }
  });

  test('createOrder market: buys for a quote amount (price × amount)', async () => {
    const before = matches(s).length;
    const o = await b.createOrder(SYMBOL, 'market', 'buy', 0.1, 40_000);
    assert.equal(o.status, 'closed');
    assert.equal(o.type, 'market');
    assert.equal(o.filled, 0.1);
    assert.equal(o.cost, 4000);
    const ms = matches(s).slice(before);
    assert.equal(ms.length, 1);
    assert.equal(ms[0]!.bid, null, 'a market order has no engine id');
    assert.equal(s.ctx.engine.openOrder(A.userId, Number(opened[0]))!.quantity, -0.2 * E4);
    const again = await b.fetchOrder(o.id!, SYMBOL);
    assert.equal(again.status, 'closed');
    assert.equal(again.filled, 0.1);
  });

  test('createOrder post-only: rests when it does not cross, refused (3622) when it would', async () => {
    const ok = await b.createOrder(SYMBOL, 'limit', 'buy', 0.1, 39_000, { postOnly: true });
    assert.equal(ok.type, 'maker_only');
    assert.deepEqual(s.ctx.engine.openOrder(B.userId, Number(ok.id))!.price, 39_000 * PRICE);
    const openBefore = s.ctx.engine.openOrders(B.userId).length;
    const balBefore = balanceOf(s, B.userId, USDT);
    await assert.rejects(b.createOrder(SYMBOL, 'limit', 'buy', 0.1, 40_000, { postOnly: true }), (e: Error) => e.constructor.name === 'InvalidOrder' && /3622/.test(e.message));
    assert.equal(s.ctx.engine.openOrders(B.userId).length, openBefore);
    assert.deepEqual(balanceOf(s, B.userId, USDT), balBefore);
  });

  test('createOrder FOK / IOC: all or nothing, and fill-then-cancel', async () => {
    const before = matches(s).length;
    await assert.rejects(b.createOrder(SYMBOL, 'limit', 'buy', 0.3, 40_000, { timeInForce: 'FOK' }), (e: Error) => /3621/.test(e.message));
    assert.equal(matches(s).length, before, 'nothing traded');
    const ioc = await b.createOrder(SYMBOL, 'limit', 'buy', 0.3, 40_000, { timeInForce: 'IOC' });
    assert.equal(ioc.filled, 0.2);
    assert.equal(ioc.status, 'canceled');
    assert.equal(s.ctx.engine.openOrder(B.userId, Number(ioc.id)), undefined);
    assert.equal(s.ctx.engine.openOrder(A.userId, Number(opened[0])), undefined, 'the maker order is filled');
  });

  test('editOrder: new amount and price', async () => {
    const o = await a.createOrder(SYMBOL, 'limit', 'sell', 0.4, 41_000, { clientOrderId: 'edit-me_1' });
    opened.push(o.id!);
    const fill = await b.createOrder(SYMBOL, 'limit', 'buy', 0.1, 41_000);
    assert.equal(fill.filled, 0.1);
    const e = await a.editOrder(o.id!, SYMBOL, 'limit', 'sell', 0.6, 42_000);
    assert.equal(e.amount, 0.6);
    assert.equal(e.price, 42_000);
    assert.equal(e.filled, 0.1);
    assert.equal(e.remaining, 0.5);
    assert.equal(e.clientOrderId, 'edit-me_1');
    const rec = s.ctx.engine.openOrder(A.userId, Number(o.id))!;
    assert.deepEqual([rec.quantity, rec.price], [-0.5 * E4, 42_000 * PRICE]);
  });

  test('fetchOrder / fetchOpenOrders: what the engine holds', async () => {
    const o = await a.fetchOrder(opened[1]!, SYMBOL);
    assert.equal(o.status, 'open');
    assert.equal(o.clientOrderId, 'edit-me_1');
    assert.equal(o.remaining, 0.5);
    const open = await a.fetchOpenOrders(SYMBOL);
    assert.deepEqual(open.map((x) => Number(x.id)).sort(), s.ctx.engine.openOrders(A.userId).map((x) => x.id).sort());
    assert.ok(open.every((x) => x.status === 'open'));
  });

  test('cancelOrder: the engine closes it', async () => {
    const c = await a.cancelOrder(opened[1]!, SYMBOL);
    assert.equal(c.status, 'canceled');
    assert.equal(s.ctx.engine.openOrder(A.userId, Number(opened[1])), undefined);
    await assert.rejects(a.cancelOrder(opened[1]!, SYMBOL), (e: Error) => e.constructor.name === 'OrderNotFound');
  });

  test('fetchClosedOrders: filled and cancelled orders with their fills', async () => {
    const closed = await a.fetchClosedOrders(SYMBOL);
    const first = closed.find((x) => x.id === opened[0])!;
    assert.equal(first.status, 'closed');
    assert.equal(first.filled, 0.5);
    const second = closed.find((x) => x.id === opened[1])!;
    assert.equal(second.status, 'canceled');
    assert.equal(second.filled, 0.1);
  });

  test('cancelAllOrders: every open order of the market, none elsewhere', async () => {
    await b.createOrder(SYMBOL, 'limit', 'buy', 0.1, 38_000);
    const eth = await b.createOrder('ETH/USDT', 'limit', 'buy', 1, 100);
    assert.ok(s.ctx.engine.openOrders(B.userId).length >= 3);
    await b.cancelAllOrders(SYMBOL);
    const left = s.ctx.engine.openOrders(B.userId);
    assert.deepEqual(left.map((x) => x.id), [Number(eth.id)]);
    await b.cancelOrder(eth.id!, 'ETH/USDT');
  });

  test('fetchMyTrades: the user side of every match, with fees', async () => {
    const mine = await a.fetchMyTrades(SYMBOL);
    const ms = matches(s).filter((m) => m.askUserId === A.userId || m.bidUserId === A.userId);
    assert.equal(mine.length, ms.length);
    for (const t of mine) {
      const m = ms.find((x) => x.ask === Number(t.order) && x.quantity / E4 === t.amount && x.price / PRICE === t.price)!;
      assert.ok(m, `trade ${t.id}`);
      assert.equal(t.side, 'sell');
      assert.equal(t.takerOrMaker, 'maker');
      assert.equal(t.fee!.cost, m.askCounterFee / E4);
      assert.equal(t.fee!.currency, 'USDT');
    }
  });

  // ------------------------------------------------------------ WebSocket

  test('watchTicker: the engine ticker over the socket', async () => {
    const t = await a.watchTicker(SYMBOL);
    const e = s.ctx.engine.ticker(XBT, USDT)!;
    assert.equal(t.last, e.last! / PRICE);
    assert.equal(t.baseVolume, e.volume / E4);
    // Every ticker change is pushed (a new best bid too); wait for the one with the trade.
    const traded = (async () => {
      for (;;) {
        const t2 = await a.watchTicker(SYMBOL);
        if (t2.last === 37_000) return t2;
      }
    })();
    await b.createOrder(SYMBOL, 'limit', 'buy', 0.1, 37_000);
    await a.createOrder(SYMBOL, 'limit', 'sell', 0.1, 37_000);
    const t2 = await traded;
    const e2 = s.ctx.engine.ticker(XBT, USDT)!;
    assert.equal(t2.last, 37_000);
    assert.equal(t2.baseVolume, e2.volume / E4);
  });

  test('watchOrderBook: a full snapshot, then the book as it changes', async () => {
    const ob = await a.watchOrderBook(SYMBOL, 10);
    const d = s.ctx.engine.depth(XBT, USDT, 10)!;
    assert.deepEqual(Array.from(ob.bids, ([p, q]) => [p, q]), d.bids.map(([p, q]) => [p / PRICE, q / E4]));
    assert.deepEqual(Array.from(ob.asks, ([p, q]) => [p, q]), d.asks.map(([p, q]) => [p / PRICE, q / E4]));
    const next = a.watchOrderBook(SYMBOL, 10);
    const o = await b.createOrder(SYMBOL, 'limit', 'buy', 0.7, 36_000);
    const ob2 = await next;
    const d2 = s.ctx.engine.depth(XBT, USDT, 10)!;
    assert.deepEqual(Array.from(ob2.bids, ([p, q]) => [p, q]), d2.bids.map(([p, q]) => [p / PRICE, q / E4]));
    assert.ok(ob2.bids.some(([p, q]) => p === 36_000 && q === 0.7));
    await b.cancelOrder(o.id!, SYMBOL);
  });

  test('watchOrders / watchBalance / watchMyTrades / watchTrades: pushes of one trade', async () => {
    const pub = await ccxtClient(s, A); // a separate client: ccxt keeps public and own trades in one cache
    try {
      await pub.loadMarkets();
      const orders = a.watchOrders(SYMBOL);
      const reserved = a.watchBalance();
      const myTrades = a.watchMyTrades(SYMBOL);
      // watchTrades resolves on the subscription's snapshot of recent deals first.
      const initial = await pub.watchTrades(SYMBOL);
      assert.equal(initial.length, matches(s).length);
      const trades = pub.watchTrades(SYMBOL);
      // Let the subscriptions reach the server before the trade.
      await new Promise((r) => setTimeout(r, 100));
      const maker = await a.createOrder(SYMBOL, 'limit', 'sell', 0.25, 43_000);
      const r = await reserved; // the maker's reservation
      assert.equal(r['BTC']!.used, Number(dec(balanceOf(s, A.userId, XBT).reserved)));
      const balance = a.watchBalance();
      await b.createOrder(SYMBOL, 'limit', 'buy', 0.25, 43_000);
      const m = matches(s).at(-1)!;
      assert.equal(m.ask, Number(maker.id));

      const os = await orders;
      const mine = os.filter((x) => x.id === maker.id);
      assert.ok(mine.length > 0);
      assert.equal(mine.at(-1)!.clientOrderId, maker.clientOrderId);

      const bal = await balance; // the trade: base leaves the reservation, quote arrives
      for (const [asset, ccy] of [
        [XBT, 'BTC'],
        [USDT, 'USDT'],
      ] as const) {
        const e = balanceOf(s, A.userId, asset);
        assert.equal(bal[ccy]!.free, Number(dec(e.available)), ccy);
        assert.equal(bal[ccy]!.used, Number(dec(e.reserved)), ccy);
      }

      const mt = await myTrades;
      const t = mt.find((x) => x.order === maker.id)!;
      assert.ok(t, 'own trade pushed');
      assert.equal(t.amount, 0.25);
      assert.equal(t.price, 43_000);
      assert.equal(t.side, 'sell');
      assert.equal(t.id, String(s.applied.find((x) => x.events.includes(m))!.seq * 100_000));

      const ts = await trades;
      const pt = ts.find((x) => x.id === t.id)!;
      assert.ok(pt, 'public trade pushed');
      assert.equal(pt.amount, m.quantity / E4);
      assert.equal(pt.price, m.price / PRICE);
      assert.equal(pt.side, 'buy');
    } finally {
      await pub.close();
    }
  });

  test('watchOrders: put, update and finish in order', async () => {
    const o = await a.createOrder(SYMBOL, 'limit', 'sell', 0.3, 44_000);
    const seen: string[] = [];
    const done = (async () => {
      for (;;) {
        const os = await a.watchOrders(SYMBOL);
        for (const x of os) if (x.id === o.id) seen.push(`${x.status}:${x.filled}`);
        if (seen.some((x) => x.startsWith('closed'))) return;
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    await b.createOrder(SYMBOL, 'limit', 'buy', 0.1, 44_000);
    await a.cancelOrder(o.id!, SYMBOL);
    await done;
    assert.equal(seen.at(-1), 'closed:0.1', 'finish (CoinEx reports a cancel as finish)');
    assert.equal(s.ctx.engine.openOrder(A.userId, Number(o.id)), undefined);
  });
});
