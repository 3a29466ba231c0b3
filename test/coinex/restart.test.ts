// The CoinEx read model survives a restart: client ids and a fok's type travel in the journaled
// PlaceOrder (clientOrderId, dialectOrderType), and the dialect rebuilds orders, deals and candles from the journal before
// the server listens. A server is closed and a new one started on the same data directory;
// everything the dialect reports must be the same.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { account, call, startCx, E4, USDT, XBT, type Account, type CxServer } from './helpers.js';

describe('CoinEx read model across a restart', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfloor-coinex-restart-'));
  let s: CxServer | undefined;

  after(async () => {
    try {
      await s?.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function ok(srv: CxServer, method: 'GET' | 'POST', path: string, key: Account, body?: Record<string, unknown>): Promise<unknown> {
    const r = await call(srv, method, path, { key, ...(body === undefined ? {} : { body }) });
    assert.equal(r.body.code, 0, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body.data;
  }

  async function place(srv: CxServer, key: Account, o: Record<string, unknown>): Promise<number> {
    const d = (await ok(srv, 'POST', '/v2/spot/order', key, { market: 'BTCUSDT', market_type: 'SPOT', ...o })) as { order_id: number };
    return d.order_id;
  }

  /** Everything the dialect reports from its read model, for the given users and orders. */
  async function view(srv: CxServer, users: Account[], ids: number[]): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const u of users) {
      for (const path of [
        '/v2/spot/finished-order?market=BTCUSDT&market_type=SPOT',
        '/v2/spot/pending-order?market=BTCUSDT&market_type=SPOT',
        '/v2/spot/user-deals?market=BTCUSDT&market_type=SPOT&limit=100',
      ]) {
        out[`${u.userId} ${path}`] = await ok(srv, 'GET', path, u);
      }
    }
    for (const id of ids) {
      for (const u of users) {
        const r = await call(srv, 'GET', `/v2/spot/order-status?market=BTCUSDT&order_id=${id}`, { key: u });
        if (r.body.code === 0) {
          out[`status ${id}`] = r.body.data;
          break;
        }
      }
    }
    out.deals = (await call(srv, 'GET', '/v2/spot/deals?market=BTCUSDT')).body;
    for (const period of ['1min', '1hour', '1day', '1week']) {
      out[`kline ${period}`] = (await call(srv, 'GET', `/v2/spot/kline?market=BTCUSDT&period=${period}`)).body;
    }
    return out;
  }

  test('client ids, finished orders, deals and candles are reported identically after a restart', async () => {
    s = await startCx({ dataDir: dir });
    const A = await account(s, { [XBT]: 10 * E4, [USDT]: 1_000_000 * E4 });
    const B = await account(s, { [XBT]: 10 * E4, [USDT]: 1_000_000 * E4 });

    const ask = await place(s, A, { side: 'sell', type: 'limit', amount: '1', price: '100', client_id: 'ask-1' });
    const bid = await place(s, B, { side: 'buy', type: 'limit', amount: '0.4', price: '100', client_id: 'bid-1' });
    const mkt = await place(s, B, { side: 'buy', type: 'market', amount: '10', client_id: 'mkt-1' });
    const ioc = await place(s, B, { side: 'buy', type: 'ioc', amount: '0.1', price: '100', client_id: 'ioc-1' });
    // The engine runs fok as ioc; the type travels in the journaled command (dialectOrderType).
    const fok = await place(s, B, { side: 'buy', type: 'fok', amount: '0.1', price: '100', client_id: 'fok-1' });
    const rest = await place(s, A, { side: 'buy', type: 'limit', amount: '0.2', price: '90', client_id: 'rest-1' });
    const maker = await place(s, A, { side: 'buy', type: 'maker_only', amount: '0.3', price: '80', client_id: 'mk-1' });
    const plain = await place(s, B, { side: 'buy', type: 'limit', amount: '0.1', price: '70' });
    await ok(s, 'POST', '/v2/spot/modify-order', A, { market: 'BTCUSDT', market_type: 'SPOT', order_id: rest, amount: '0.25', price: '91' });
    await ok(s, 'POST', '/v2/spot/cancel-order', A, { market: 'BTCUSDT', market_type: 'SPOT', order_id: maker });
    const ids = [ask, bid, mkt, ioc, fok, rest, maker, plain];

    const before = await view(s, [A, B], ids);
    const status = (v: Record<string, unknown>, id: number) => v[`status ${id}`] as Record<string, unknown>;
    // Not vacuous: the lists hold what was placed, with client ids and types.
    assert.deepEqual(
      ids.map((id) => [status(before, id).client_id, status(before, id).type]),
      [
        ['ask-1', 'limit'],
        ['bid-1', 'limit'],
        ['mkt-1', 'market'],
        ['ioc-1', 'ioc'],
        ['fok-1', 'fok'],
        ['rest-1', 'limit'],
        ['mk-1', 'maker_only'],
        ['', 'limit'],
      ],
    );
    const finishedB = before[`${B.userId} /v2/spot/finished-order?market=BTCUSDT&market_type=SPOT`] as { client_id: string }[];
    assert.deepEqual(finishedB.map((o) => o.client_id).sort(), ['bid-1', 'fok-1', 'ioc-1', 'mkt-1']);
    const dealsB = before[`${B.userId} /v2/spot/user-deals?market=BTCUSDT&market_type=SPOT&limit=100`] as unknown[];
    assert.equal(dealsB.length, 4);
    assert.equal(((before.deals as { data: unknown[] }).data).length, 4);

    await s.close();
    s = undefined;
    s = await startCx({ dataDir: dir });
    const after = await view(s, [A, B], ids);
    assert.deepEqual(after, before);

    // The rebuilt model keeps following the live feed: a new fill updates the rebuilt order.
    await place(s, B, { side: 'buy', type: 'limit', amount: '0.1', price: '100', client_id: 'bid-2' });
    const st = (await ok(s, 'GET', `/v2/spot/order-status?market=BTCUSDT&order_id=${ask}`, A)) as Record<string, unknown>;
    assert.equal(st.client_id, 'ask-1');
    assert.equal(Number(st.filled_amount) > Number(status(before, ask).filled_amount), true);
  });
});
