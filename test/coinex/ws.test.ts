// The CoinEx WebSocket API over real sockets: compressed frames, server methods, errors,
// incremental depth with checksum, bbo, private pushes and revocation; and the agreement of the
// native WebSocket API and the CoinEx API on the same trades.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeClient } from '../../src/client/index.js';
import type { OrdersMatchedNotice } from '../../src/client/types.js';
import { createDialect as createNativeDialect } from '../../src/dialects/native-ws/index.js';
import { crc32 } from '../../src/dialects/coinex/wire.js';
import { account, admin, call, dec, startCx, CxSocket, E4, USDT, XBT, type Account, type CxServer } from './helpers.js';

type Msg = Record<string, unknown>;
type Level = [string, string];
interface DepthData {
  market: string;
  is_full: boolean;
  depth: { bids: Level[]; asks: Level[]; checksum: number; last: string; updated_at: number };
}

describe('CoinEx WebSocket API', { timeout: 60_000 }, () => {
  let s: CxServer;
  let A: Account;
  let B: Account;
  const sockets: CxSocket[] = [];
  const open = async (path = '/v2/spot'): Promise<CxSocket> => {
    const c = await CxSocket.open(`${s.wsUrl}${path}`);
    sockets.push(c);
    return c;
  };

  before(async () => {
    s = await startCx();
    A = await account(s);
    B = await account(s);
  });

  after(async () => {
    for (const c of sockets) await c.close();
    await s?.close();
  });

  test('server methods; every frame compressed; errors with CoinEx codes', async () => {
    const c = await open('/v2/spot/');
    const ping = await c.request('server.ping');
    assert.deepEqual([ping.code, ping.message, ping.data], [0, 'OK', { result: 'pong' }]);
    const time = await c.request('server.time');
    assert.ok(Math.abs((time.data as { timestamp: number }).timestamp - Date.now()) < 5000);
    assert.equal((await c.request('no.such.method')).code, 20002);
    assert.equal((await c.request('order.subscribe', { market_list: [] })).code, 21001, 'private before server.sign');
    assert.equal((await c.request('depth.subscribe', { market_list: [['NOPE', 5, '0', true]] })).code, 20001);
    assert.equal((await c.request('depth.subscribe', { market_list: [['BTCUSDT', 7, '0', true]] })).code, 20001);
    assert.equal((await c.request('state.subscribe', { market_list: 'BTCUSDT' })).code, 20001);
    const badSign = await c.request('server.sign', { access_id: A.accessId, signed_str: 'f'.repeat(64), timestamp: Date.now() });
    assert.equal(badSign.code, 21002);
    const stale = await c.sign(A, Date.now() - 60_000);
    assert.equal(stale.code, 21002);
    const n = c.messages.length;
    c.ws.send('not json');
    const garbage = await c.next((m) => m.id === null && m.code === 20001, n);
    assert.ok(garbage);
    assert.equal((await c.request('server.ping')).code, 0, 'the connection survives bad input');

    const f = await open('/v2/futures');
    assert.equal((await f.request('no.such.method')).code, 30002);
    assert.equal((await f.sign(A)).code, 0);
    assert.equal((await f.request('order.subscribe', { market_list: [] })).code, 30002, 'futures orders are not offered');
    assert.equal((await f.request('balance.subscribe', { ccy_list: [] })).code, 0);
    assert.ok(c.allBinary && f.allBinary, 'every server message is a gzip binary frame');
  });

  test('depth: a full snapshot, incremental updates that rebuild the engine book, checksums that match', async () => {
    const c = await open();
    assert.equal((await c.request('depth.subscribe', { market_list: [['BTCUSDT', 5, '0', false]] })).code, 0);
    const first = (await c.next((m) => m.method === 'depth.update')).data as DepthData;
    assert.equal(first.is_full, true);
    const book = { bids: new Map<string, string>(), asks: new Map<string, string>() };
    const apply = (d: DepthData): void => {
      if (d.is_full) {
        book.bids.clear();
        book.asks.clear();
      }
      for (const [side, levels] of [
        ['bids', d.depth.bids],
        ['asks', d.depth.asks],
      ] as const) {
        for (const [p, q] of levels) {
          if (q === '0') book[side].delete(p);
          else book[side].set(p, q);
        }
      }
      const bids = [...book.bids].sort((x, y) => Number(y[0]) - Number(x[0]));
      const asks = [...book.asks].sort((x, y) => Number(x[0]) - Number(y[0]));
      assert.equal(d.depth.checksum, crc32([...bids, ...asks].flat().join(':')), 'checksum of the rebuilt book');
    };
    apply(first);
    let seen = c.messages.indexOf(c.messages.find((m) => m.method === 'depth.update')!) + 1;
    const ids: number[] = [];
    for (const [side, price, amount] of [
      ['buy', '20001', '0.1'],
      ['buy', '20002', '0.2'],
      ['sell', '20010', '0.3'],
      ['buy', '20002', '0.1'],
      ['sell', '20002', '0.25'],
    ] as const) {
      const r = await call(s, 'POST', '/v2/spot/order', { key: side === 'buy' ? A : B, body: { market: 'BTCUSDT', side, type: 'limit', amount, price } });
      assert.equal(r.body.code, 0, JSON.stringify(r.body));
      ids.push((r.body.data as { order_id: number }).order_id);
      const m = await c.next((x) => x.method === 'depth.update', seen);
      seen = c.messages.indexOf(m) + 1;
      const d = m.data as DepthData;
      assert.equal(d.is_full, false);
      apply(d);
      const e = s.ctx.engine.depth(XBT, USDT, 5)!;
      assert.deepEqual(
        [...book.bids].sort((x, y) => Number(y[0]) - Number(x[0])),
        e.bids.map(([p, q]) => [dec(p), dec(q)]),
      );
      assert.deepEqual(
        [...book.asks].sort((x, y) => Number(x[0]) - Number(y[0])),
        e.asks.map(([p, q]) => [dec(p), dec(q)]),
      );
    }
    assert.equal((await c.request('depth.unsubscribe', { market_list: ['BTCUSDT'] })).code, 0);
    await call(s, 'POST', '/v2/spot/cancel-all-order', { key: A, body: { market: 'BTCUSDT' } });
    await call(s, 'POST', '/v2/spot/cancel-all-order', { key: B, body: { market: 'BTCUSDT' } });
    const marker = await c.request('server.ping');
    assert.ok(!c.messages.slice(seen, c.messages.indexOf(marker)).some((m) => m.method === 'depth.update'), 'no depth after unsubscribe');
  });

  test('bbo and state: current values on subscribe, then changes', async () => {
    const c = await open();
    await c.request('bbo.subscribe', { market_list: ['BTCUSDT'] });
    const b0 = await c.next((m) => m.method === 'bbo.update');
    assert.equal((b0.data as Msg).best_bid_price, '0');
    await c.request('state.subscribe', { market_list: ['BTCUSDT'] });
    const s0 = await c.next((m) => m.method === 'state.update');
    const list = (s0.data as { state_list: Msg[] }).state_list;
    assert.equal(list[0]!.market, 'BTCUSDT');
    assert.equal(list[0]!.period, 86400);
    const n = c.messages.length;
    const r = await call(s, 'POST', '/v2/spot/order', { key: A, body: { market: 'BTCUSDT', side: 'buy', type: 'limit', amount: '0.5', price: '21000' } });
    const b1 = await c.next((m) => m.method === 'bbo.update', n);
    assert.deepEqual([(b1.data as Msg).best_bid_price, (b1.data as Msg).best_bid_size], ['21000', '0.5']);
    await call(s, 'POST', '/v2/spot/cancel-order', { key: A, body: { market: 'BTCUSDT', order_id: (r.body.data as Msg).order_id } });
  });

  test('private pushes after server.sign: order, balance, user deals; none once the key is revoked', async () => {
    const K = await account(s);
    const c = await open();
    assert.equal((await c.sign(K)).code, 0);
    for (const [method, params] of [
      ['order.subscribe', { market_list: ['BTCUSDT'] }],
      ['balance.subscribe', { ccy_list: ['BTC', 'USDT'] }],
      ['user_deals.subscribe', { market_list: [] }],
    ] as const) {
      assert.equal((await c.request(method, params)).code, 0, method);
    }
    const n = c.messages.length;
    const r = await call(s, 'POST', '/v2/spot/order', { key: K, body: { market: 'BTCUSDT', side: 'sell', type: 'limit', amount: '0.2', price: '22000', client_id: 'mine' } });
    const id = (r.body.data as Msg).order_id;
    const put = await c.next((m) => m.method === 'order.update', n);
    const putData = put.data as { event: string; order: Msg };
    assert.deepEqual([putData.event, putData.order.order_id, putData.order.client_id, putData.order.margin_market], ['put', id, 'mine', '']);
    const bal = await c.next((m) => m.method === 'balance.update', n);
    const btc = (bal.data as { balance_list: Msg[] }).balance_list.find((x) => x.ccy === 'BTC')!;
    const e = s.ctx.engine.balances(K.userId).find((x) => x.asset === XBT)!;
    assert.deepEqual([btc.available, btc.frozen], [dec(e.available), dec(e.reserved)]);
    assert.equal(typeof btc.updated_at, 'number');

    await call(s, 'POST', '/v2/spot/order', { key: B, body: { market: 'BTCUSDT', side: 'buy', type: 'limit', amount: '0.05', price: '22000' } });
    const upd = await c.next((m) => m.method === 'order.update' && (m.data as Msg).event === 'update', n);
    assert.equal(((upd.data as { order: Msg }).order).filled_amount, '0.05');
    const deal = await c.next((m) => m.method === 'user_deals.update', n);
    assert.deepEqual([(deal.data as Msg).order_id, (deal.data as Msg).side, (deal.data as Msg).role, (deal.data as Msg).amount], [id, 'sell', 'maker', '0.05']);

    await admin(s, '/admin/keys/revoke', { accessId: K.accessId });
    const from = c.messages.length;
    const more = await s.ctx.submit({ type: 'PlaceOrder', userId: K.userId, sessionId: 1, base: XBT, counter: USDT, quantity: -0.1 * E4, price: 23_000 * E4 });
    assert.ok(more.result.ok);
    const marker = await c.request('server.ping');
    const after = c.messages.slice(from, c.messages.indexOf(marker));
    assert.ok(!after.some((m) => m.method === 'order.update' || m.method === 'balance.update'), 'no private pushes after revocation');
    assert.equal((await c.request('order.subscribe', { market_list: [] })).code, 21001);
  });
});

describe('native WebSocket API and CoinEx API agree on trades', { timeout: 60_000 }, () => {
  test('every match: same price, quantity, time and taker side, over both sockets and CoinEx REST', async () => {
    const s: CxServer = await startCx({ extraDialects: [createNativeDialect()] });
    let native: NativeClient | undefined;
    let cx: CxSocket | undefined;
    try {
      const A = await account(s);
      const B = await account(s);
      // A native trader, created through the admin API with a passphrase.
      const nu = await admin(s, '/admin/users', { passphrase: 'native trader passphrase' });
      const nuId = nu.userId as number;
      await s.ctx.submit({ type: 'Deposit', userId: nuId, asset: USDT, amount: 1_000_000 * E4 });
      native = await NativeClient.connect(`${s.wsUrl}/`, { pingIntervalMs: 0 });
      await native.authenticate({ userId: nuId, cookie: nu.cookie as string, passphrase: 'native trader passphrase' });
      const nativeMatches: OrdersMatchedNotice[] = [];
      native.on('OrdersMatched', (n: OrdersMatchedNotice) => {
        if (n.base === XBT && n.counter === USDT) nativeMatches.push(n);
      });
      await native.watchOrders(XBT, USDT);
      cx = await CxSocket.open(`${s.wsUrl}/v2/spot`);
      assert.equal((await cx.request('deals.subscribe', { market_list: ['BTCUSDT'] })).code, 0);

      // Liquidity from a CoinEx client, taken by a CoinEx market order, a native limit order and a CoinEx limit order.
      for (const [price, amount] of [
        ['30000', '0.1'],
        ['30001', '0.2'],
        ['30005', '0.3'],
        ['30010', '1'],
      ]) {
        assert.equal((await call(s, 'POST', '/v2/spot/order', { key: A, body: { market: 'BTCUSDT', side: 'sell', type: 'limit', amount, price } })).body.code, 0);
      }
      assert.equal((await call(s, 'POST', '/v2/spot/order', { key: B, body: { market: 'BTCUSDT', side: 'buy', type: 'market', amount: '6000.5' } })).body.code, 0);
      await native.placeOrder({ base: XBT, counter: USDT, quantity: 0.4 * E4, price: 30_010 * E4 });
      assert.equal((await call(s, 'POST', '/v2/spot/order', { key: B, body: { market: 'BTCUSDT', side: 'buy', type: 'limit', amount: '0.2', price: '30010' } })).body.code, 0);
      await s.ctx.whenDurable();

      const engineMatches = s.applied.flatMap((a) => a.events).filter((e) => e.type === 'OrdersMatched' && e.base === XBT);
      assert.ok(engineMatches.length >= 5);
      // Barriers: a reply on each socket after the last trade means every push before it arrived.
      await cx.request('server.ping');
      await native.getBalances();
      assert.equal(nativeMatches.length, engineMatches.length);

      const pushed = cx.messages
        .filter((m) => m.method === 'deals.update')
        .flatMap((m) => [...((m.data as { deal_list: Msg[] }).deal_list)].reverse());
      const rest = [...((await call(s, 'GET', '/v2/spot/deals?market=BTCUSDT&limit=100')).body.data as Msg[])].reverse();
      assert.equal(pushed.length, nativeMatches.length);
      assert.equal(rest.length, nativeMatches.length);
      nativeMatches.forEach((n, i) => {
        const expected = {
          created_at: Math.floor(n.time / 1000),
          price: dec(n.price),
          amount: dec(n.quantity),
          side: n.taker_side === 'bid' ? 'buy' : 'sell',
        };
        for (const [src, d] of [
          ['push', pushed[i]!],
          ['rest', rest[i]!],
        ] as const) {
          assert.deepEqual({ created_at: d.created_at, price: d.price, amount: d.amount, side: d.side }, expected, `${src} deal ${i}`);
        }
        assert.equal(pushed[i]!.deal_id, rest[i]!.deal_id);
      });
    } finally {
      await cx?.close();
      await native?.close();
      await s.close();
    }
  });
});
