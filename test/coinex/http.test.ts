// The CoinEx HTTP API over real sockets: envelopes, authentication failures, bad input (no state
// change, no crash), order options, lists, futures (read-only) and limits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { crc32 } from '../../src/dialects/coinex/wire.js';
import { account, admin, call, dec, startCx, E4, USDT, XBT, type Account, type CxServer } from './helpers.js';

const DOTF = 0xff07;
const USDTDOT = 0xff08;

describe('CoinEx HTTP API', { timeout: 60_000 }, () => {
  let s: CxServer;
  let A: Account;
  let B: Account;
  let R: Account;

  before(async () => {
    s = await startCx();
    A = await account(s, { [XBT]: 10 * E4, [USDT]: 1_000_000 * E4, [DOTF]: 100 * E4 });
    B = await account(s, { [XBT]: 10 * E4, [USDT]: 1_000_000 * E4, [USDTDOT]: 1_000_000 * E4 });
    R = await account(s, { [USDT]: 1000 * E4 }, ['read']);
  });

  after(async () => {
    await s?.close();
  });

  /** Runs `fn` and checks that the engine state did not change. */
  async function unchanged(fn: () => Promise<void>): Promise<void> {
    await s.ctx.whenDurable();
    const hash = s.ctx.engine.stateHash();
    await fn();
    await s.ctx.whenDurable();
    assert.equal(s.ctx.engine.stateHash(), hash, 'engine state changed');
  }

  test('public endpoints answer the unified envelope', async () => {
    const t = await call(s, 'GET', '/v2/time');
    assert.equal(t.status, 200);
    assert.equal(t.body.code, 0);
    assert.equal(t.body.message, 'OK');
    assert.ok(Math.abs((t.body.data as { timestamp: number }).timestamp - Date.now()) < 5000);
    const m = await call(s, 'GET', '/v2/spot/market?market=BTCUSDT,ETHUSDT');
    assert.deepEqual(
      (m.body.data as { market: string }[]).map((x) => x.market),
      ['BTCUSDT', 'ETHUSDT'],
    );
    const btc = (m.body.data as Record<string, unknown>[])[0]!;
    assert.deepEqual(
      [btc.base_ccy, btc.quote_ccy, btc.base_ccy_precision, btc.quote_ccy_precision, btc.min_amount, btc.maker_fee_rate, btc.taker_fee_rate],
      ['BTC', 'USDT', 4, 0, '0.0001', '0.0002', '0.0004'],
    );
    const cur = await call(s, 'GET', '/v2/assets/all-deposit-withdraw-config');
    assert.ok((cur.body.data as { asset: { ccy: string } }[]).some((x) => x.asset.ccy === 'BTC'));
  });

  test('unknown endpoints and methods: 404 / 405 with code 4009, still an envelope', async () => {
    const nf = await call(s, 'GET', '/v2/spot/nothing-here');
    assert.equal(nf.status, 404);
    assert.equal(nf.body.code, 4009);
    const wm = await call(s, 'POST', '/v2/time');
    assert.equal(wm.status, 405);
    assert.equal(wm.body.code, 4009);
    const wm2 = await call(s, 'GET', '/v2/spot/order');
    assert.equal(wm2.status, 405);
  });

  test('authentication failures: CoinEx codes, nothing changes', async () => {
    const path = '/v2/assets/spot/balance';
    await unchanged(async () => {
      assert.equal((await call(s, 'GET', path)).body.code, 4005, 'no key');
      assert.equal((await call(s, 'GET', path, { key: A, omit: ['sign'] })).body.code, 4008, 'no signature');
      assert.equal((await call(s, 'GET', path, { key: A, sign: 'f'.repeat(64) })).body.code, 4006, 'wrong signature');
      assert.equal((await call(s, 'GET', path, { key: { ...A, secret: 'x'.repeat(64) } })).body.code, 4006, 'wrong secret');
      assert.equal((await call(s, 'GET', path, { key: { ...A, accessId: 'NOPE' } })).body.code, 4005, 'unknown key');
      assert.equal((await call(s, 'GET', path, { key: A, omit: ['timestamp'] })).body.code, 4004, 'no timestamp');
      assert.equal((await call(s, 'GET', path, { key: A, timestamp: Date.now() - 6000 })).body.code, 4010, 'stale');
      assert.equal((await call(s, 'GET', path, { key: A, timestamp: Date.now() + 6000 })).body.code, 4010, 'future');
      assert.equal((await call(s, 'GET', path, { key: A, timestamp: Date.now() - 6000, window: '10000' })).body.code, 0, 'wider window');
      assert.equal((await call(s, 'GET', '/v2/time', { timestamp: Date.now() - 60_000 })).body.code, 4010, 'public endpoints check a timestamp when sent');
      const order = { market: 'BTCUSDT', market_type: 'SPOT', side: 'buy', type: 'limit', amount: '0.1', price: '100' };
      const r = await call(s, 'POST', '/v2/spot/order', { key: R, body: order });
      assert.equal(r.body.code, 4011, 'read-only key');
      assert.equal(r.status, 200);
    });
    const ok = await call(s, 'GET', path, { key: A });
    assert.equal(ok.body.code, 0);
    // ccxt's signature form (SHA-256 of the prehash and the secret) is accepted too.
    const ts = String(Date.now());
    const sign = createHash('sha256').update('GET' + path + ts + A.secret).digest('hex');
    assert.equal((await call(s, 'GET', path, { key: A, timestamp: ts, sign })).body.code, 0);
  });

  test('revoked keys stop working at once', async () => {
    const K = await account(s, {});
    assert.equal((await call(s, 'GET', '/v2/assets/spot/balance', { key: K })).body.code, 0);
    await admin(s, '/admin/keys/revoke', { accessId: K.accessId });
    assert.equal((await call(s, 'GET', '/v2/assets/spot/balance', { key: K })).body.code, 4005);
  });

  test('bad input: unknown market, malformed decimals, off-tick prices, bad JSON — 4004, no state change', async () => {
    const place = (body: Record<string, unknown> | string) => call(s, 'POST', '/v2/spot/order', { key: A, body });
    const base = { market: 'BTCUSDT', market_type: 'SPOT', side: 'buy', type: 'limit', amount: '0.1', price: '100' };
    await unchanged(async () => {
      for (const [what, body] of [
        ['unknown market', { ...base, market: 'XBTUSDT' }],
        ['futures market on spot', { ...base, market: 'DOTFUSDTDOT' }],
        ['amount finer than the scale', { ...base, amount: '0.00001' }],
        ['exponent', { ...base, amount: '1e-1' }],
        ['negative', { ...base, amount: '-0.1' }],
        ['zero', { ...base, amount: '0' }],
        ['not a number', { ...base, price: 'abc' }],
        ['price finer than the scale', { ...base, price: '100.00001' }],
        ['price off the tick (1 USDT)', { ...base, price: '100.5' }],
        ['too large', { ...base, amount: '1000000000000' }],
        ['unknown type', { ...base, type: 'stop' }],
        ['unknown side', { ...base, side: 'long' }],
        ['margin', { ...base, market_type: 'MARGIN' }],
        ['bad client id', { ...base, client_id: 'has space' }],
        ['missing price', { ...base, price: undefined }],
        ['array body', '[1,2]'],
        ['not JSON', '{"market":'],
      ] as const) {
        const r = await place(body as Record<string, unknown>);
        assert.equal(r.body.code, 4004, `${what}: ${JSON.stringify(r.body)}`);
        assert.equal(r.status, 200);
      }
      const off = await place({ ...base, price: '100.5' });
      assert.match(off.body.message, /tick size 1/);
      assert.equal((await call(s, 'GET', '/v2/spot/depth?market=BTCUSDT&limit=7&interval=0')).body.code, 4004);
      assert.equal((await call(s, 'GET', '/v2/spot/depth?market=BTCUSDT&limit=5&interval=0.3')).body.code, 4004);
      assert.equal((await call(s, 'GET', '/v2/spot/kline?market=BTCUSDT&period=2min')).body.code, 4004);
      assert.equal((await call(s, 'GET', '/v2/spot/ticker?market=NOPE')).body.code, 4004);
      assert.equal((await call(s, 'GET', '/v2/spot/deals?market=BTCUSDT&market=ETHUSDT')).body.code, 4004, 'parameter twice');
      const big = await call(s, 'POST', '/v2/spot/order', { key: A, body: JSON.stringify({ ...base, pad: 'x'.repeat(70_000) }) });
      assert.equal(big.status, 413);
      assert.equal(big.body.code, 4004);
    });
  });

  test('engine refusals: balance not enough (3109), order not found (3600), no depth (3620) — balances untouched', async () => {
    const bal = s.ctx.engine.balances(A.userId);
    const r = await call(s, 'POST', '/v2/spot/order', { key: A, body: { market: 'BTCUSDT', side: 'buy', type: 'limit', amount: '100', price: '100000' } });
    assert.equal(r.body.code, 3109);
    const c = await call(s, 'POST', '/v2/spot/cancel-order', { key: A, body: { market: 'BTCUSDT', order_id: 999999 } });
    assert.equal(c.body.code, 3600);
    const m = await call(s, 'POST', '/v2/spot/order', { key: A, body: { market: 'ETHUSDT', side: 'buy', type: 'market', amount: '10' } });
    assert.equal(m.body.code, 3620);
    assert.deepEqual(s.ctx.engine.balances(A.userId), bal);
  });

  test('orders: batch place, list pages, status, cancel by client id and in batch', async () => {
    const orders = [
      { side: 'buy', type: 'limit', amount: '0.1', price: '100', client_id: 'grid-1' },
      { side: 'buy', type: 'limit', amount: '0.1', price: '99', client_id: 'grid-2' },
      { side: 'buy', type: 'limit', amount: '0.00001', price: '98' },
      { side: 'buy', type: 'limit', amount: '0.1', price: '97', client_id: 'grid-1' },
    ];
    const r = await call(s, 'POST', '/v2/spot/batch-order', { key: A, body: { market: 'BTCUSDT', orders } });
    assert.equal(r.body.code, 0);
    const items = r.body.data as Record<string, unknown>[];
    assert.equal(items.length, 4);
    assert.equal(items[2]!.code, 4004);
    assert.equal(items[2]!.data, null);
    const ids = [items[0]!, items[1]!, items[3]!].map((x) => x.order_id as number);
    for (const id of ids) assert.ok(s.ctx.engine.openOrder(A.userId, id));
    assert.deepEqual(
      [items[0]!.client_id, items[0]!.type, items[0]!.amount, items[0]!.price, items[0]!.unfilled_amount, items[0]!.ccy],
      ['grid-1', 'limit', '0.1', '100', '0.1', 'BTC'],
    );

    const p1 = await call(s, 'GET', '/v2/spot/pending-order?market=BTCUSDT&market_type=SPOT&page=1&limit=2', { key: A });
    assert.equal((p1.body.data as unknown[]).length, 2);
    assert.deepEqual(p1.body.pagination, { total: 3, has_next: true });
    const p2 = await call(s, 'GET', '/v2/spot/pending-order?market=BTCUSDT&market_type=SPOT&page=2&limit=2', { key: A });
    assert.equal((p2.body.data as unknown[]).length, 1);
    assert.equal(p2.body.pagination!.has_next, false);
    const byClient = await call(s, 'GET', '/v2/spot/pending-order?market=BTCUSDT&client_id=grid-1', { key: A });
    assert.equal((byClient.body.data as unknown[]).length, 2);

    const st = await call(s, 'GET', `/v2/spot/order-status?market=BTCUSDT&order_id=${ids[1]}`, { key: A });
    assert.equal((st.body.data as Record<string, unknown>).status, 'open');
    assert.equal((await call(s, 'GET', `/v2/spot/order-status?market=ETHUSDT&order_id=${ids[1]}`, { key: A })).body.code, 3600, 'another market');
    assert.equal((await call(s, 'GET', `/v2/spot/order-status?market=BTCUSDT&order_id=${ids[1]}`, { key: B })).body.code, 3600, "another user's order");

    const cc = await call(s, 'POST', '/v2/spot/cancel-order-by-client-id', { key: A, body: { market: 'BTCUSDT', market_type: 'SPOT', client_id: 'grid-1' } });
    const cancelled = cc.body.data as { code: number; data: Record<string, unknown> }[];
    assert.deepEqual(cancelled.map((x) => x.code), [0, 0]);
    assert.ok(cancelled.every((x) => x.data.status === 'cancel' && x.data.client_id === 'grid-1'));
    assert.equal(s.ctx.engine.openOrder(A.userId, ids[0]!), undefined);
    assert.equal(s.ctx.engine.openOrder(A.userId, ids[2]!), undefined);

    const cb = await call(s, 'POST', '/v2/spot/cancel-batch-order', { key: A, body: { market: 'BTCUSDT', order_ids: [ids[1], ids[0]] } });
    assert.deepEqual((cb.body.data as { code: number }[]).map((x) => x.code), [0, 3600]);
    assert.equal(s.ctx.engine.openOrders(A.userId).length, 0);
    const fin = await call(s, 'GET', '/v2/spot/finished-order?market=BTCUSDT&market_type=SPOT', { key: A });
    assert.deepEqual(
      (fin.body.data as { order_id: number }[]).map((x) => x.order_id).sort(),
      [...ids].sort(),
    );
  });

  test('modify: amount is the new total, price must sit on the tick', async () => {
    const o = await call(s, 'POST', '/v2/spot/order', { key: A, body: { market: 'BTCUSDT', side: 'sell', type: 'limit', amount: '1', price: '50000' } });
    const id = (o.body.data as { order_id: number }).order_id;
    await call(s, 'POST', '/v2/spot/order', { key: B, body: { market: 'BTCUSDT', side: 'buy', type: 'limit', amount: '0.4', price: '50000' } });
    const m = await call(s, 'POST', '/v2/spot/modify-order', { key: A, body: { market: 'BTCUSDT', order_id: id, amount: '0.5' } });
    assert.equal(m.body.code, 0, JSON.stringify(m.body));
    const d = m.body.data as Record<string, string>;
    assert.deepEqual([d.amount, d.filled_amount, d.unfilled_amount], ['0.5', '0.4', '0.1']);
    assert.equal(s.ctx.engine.openOrder(A.userId, id)!.quantity, -0.1 * E4);
    await unchanged(async () => {
      assert.equal((await call(s, 'POST', '/v2/spot/modify-order', { key: A, body: { market: 'BTCUSDT', order_id: id, amount: '0.4' } })).body.code, 4004, 'not above the filled amount');
      assert.equal((await call(s, 'POST', '/v2/spot/modify-order', { key: A, body: { market: 'BTCUSDT', order_id: id, price: '50000.5' } })).body.code, 4004);
      assert.equal((await call(s, 'POST', '/v2/spot/modify-order', { key: A, body: { market: 'BTCUSDT', order_id: id } })).body.code, 4004);
    });
    await call(s, 'POST', '/v2/spot/cancel-all-order', { key: A, body: { market: 'BTCUSDT', market_type: 'SPOT' } });
    assert.equal(s.ctx.engine.openOrders(A.userId).length, 0);
  });

  test('depth: limit, merge interval and checksum', async () => {
    for (const price of ['30001', '30002', '30011']) {
      await call(s, 'POST', '/v2/spot/order', { key: B, body: { market: 'BTCUSDT', side: 'buy', type: 'limit', amount: '0.1', price } });
    }
    const raw = await call(s, 'GET', '/v2/spot/depth?market=BTCUSDT&limit=5&interval=0');
    const d = raw.body.data as { is_full: boolean; depth: { bids: [string, string][]; asks: [string, string][]; checksum: number } };
    assert.equal(d.is_full, true);
    assert.equal(d.depth.checksum, crc32([...d.depth.bids, ...d.depth.asks].flat().join(':')));
    assert.deepEqual(d.depth.bids.slice(0, 3), [
      ['30011', '0.1'],
      ['30002', '0.1'],
      ['30001', '0.1'],
    ]);
    const merged = await call(s, 'GET', '/v2/spot/depth?market=BTCUSDT&limit=5&interval=10');
    const md = merged.body.data as { depth: { bids: [string, string][] } };
    assert.deepEqual(md.depth.bids.slice(0, 2), [
      ['30010', '0.1'],
      ['30000', '0.2'],
    ]);
    await call(s, 'POST', '/v2/spot/cancel-all-order', { key: B, body: { market: 'BTCUSDT' } });
  });

  test('futures: markets and tickers with every guide field; balances and positions read-only; trading refused (4130)', async () => {
    // A futures trade made through the engine directly (the native path).
    const sell = await s.ctx.submit({ type: 'PlaceOrder', userId: A.userId, sessionId: 1, base: DOTF, counter: USDTDOT, quantity: -2 * E4, price: 1000 * E4 });
    assert.ok(sell.result.ok);
    const buy = await s.ctx.submit({ type: 'PlaceOrder', userId: B.userId, sessionId: 1, base: DOTF, counter: USDTDOT, quantity: 3 * E4, price: 1000 * E4 });
    assert.ok(buy.result.ok);
    const t = await call(s, 'GET', '/v2/futures/ticker?market=DOTFUSDTDOT');
    const row = (t.body.data as Record<string, unknown>[])[0]!;
    for (const f of ['market', 'last', 'open', 'close', 'high', 'low', 'volume', 'value', 'volume_sell', 'volume_buy', 'index_price', 'mark_price', 'open_interest_volume', 'period']) {
      assert.ok(f in row, f);
    }
    assert.deepEqual(
      [row.last, row.open, row.volume, row.value, row.volume_buy, row.volume_sell, row.mark_price, row.index_price, row.open_interest_volume, row.period],
      ['1000', '1000', '2', '2000', '2', '0', '1000', '1000', '2', 86400],
    );
    const m = await call(s, 'GET', '/v2/futures/market?market=DOTFUSDTDOT');
    assert.equal((m.body.data as Record<string, unknown>[])[0]!.open_interest_volume, '2');
    const pos = await call(s, 'GET', '/v2/futures/pending-position?market_type=FUTURES', { key: B });
    assert.deepEqual(
      (pos.body.data as Record<string, unknown>[]).map((x) => [x.market, x.side, x.open_interest]),
      [['DOTFUSDTDOT', 'long', '2']],
    );
    const bal = await call(s, 'GET', '/v2/assets/futures/balance', { key: B });
    const usdtdot = (bal.body.data as Record<string, string>[]).find((x) => x.ccy === 'USDTDOT')!;
    const e = s.ctx.engine.balances(B.userId).find((x) => x.asset === USDTDOT)!;
    assert.deepEqual([usdtdot.available, usdtdot.frozen], [dec(e.available), dec(e.reserved)]);
    const spotBal = await call(s, 'GET', '/v2/assets/spot/balance', { key: B });
    assert.ok(!(spotBal.body.data as { ccy: string }[]).some((x) => x.ccy === 'USDTDOT'), 'futures assets are not spot balances');
    await unchanged(async () => {
      const f = await call(s, 'POST', '/v2/futures/order', { key: B, body: { market: 'DOTFUSDTDOT', market_type: 'FUTURES', side: 'buy', type: 'limit', amount: '1', price: '1000' } });
      assert.equal(f.body.code, 4130);
      assert.equal((await call(s, 'GET', '/v2/futures/pending-order?market=DOTFUSDTDOT&market_type=FUTURES', { key: B })).body.code, 4130);
      assert.equal((await call(s, 'POST', '/v2/futures/order', { body: {} })).body.code, 4005, 'authentication first');
    });
    // A dated future: its index is the underlying spot market's last price.
    const spotLast = s.ctx.engine.ticker(XBT, USDT)!.last;
    const ft = await call(s, 'GET', '/v2/futures/ticker');
    const dated = (ft.body.data as Record<string, unknown>[]).find((x) => String(x.market).startsWith('BTC'))!;
    assert.equal(dated.index_price, spotLast === null ? '0' : dec(spotLast));
  });
});

describe('CoinEx HTTP order rate limit', { timeout: 30_000 }, () => {
  test('order requests beyond the per-user budget: 4213, nothing placed', async () => {
    const s = await startCx({ config: { limits: { restOrdersPer10s: 2 } } });
    try {
      const A = await account(s);
      const body = { market: 'BTCUSDT', side: 'buy', type: 'limit', amount: '0.1', price: '100' };
      assert.equal((await call(s, 'POST', '/v2/spot/order', { key: A, body })).body.code, 0);
      assert.equal((await call(s, 'POST', '/v2/spot/order', { key: A, body })).body.code, 0);
      const third = await call(s, 'POST', '/v2/spot/order', { key: A, body });
      assert.equal(third.body.code, 4213);
      assert.equal(s.ctx.engine.openOrders(A.userId).length, 2);
    } finally {
      await s.close();
    }
  });
});
