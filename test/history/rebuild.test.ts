// The history store rebuilt from the journal: missing (deleted) and behind (an older copy),
// with snapshots and archived segments in play; the records served afterwards are identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HISTORY_FILE, HistoryStore } from '../../src/history/index.js';
import { createUser, GBP, http, startTestServer, TAKER_FEES, USDT, XBT, type TestServer, type TestUser } from '../rest/helpers.js';

async function trade(s: TestServer, maker: TestUser, taker: TestUser, rounds: number, price: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const r = await http(s.url + '/orders/', { method: 'POST', auth: maker.auth, form: { base: XBT, counter: USDT, quantity: -100, price } });
    assert.equal(r.status, 201, r.text);
    const m = await http(s.url + '/orders/', { method: 'POST', auth: taker.auth, form: { base: XBT, counter: USDT, quantity: 60 } });
    assert.equal(m.status, 200, m.text);
  }
  const g = await http(s.url + '/bist/XBT/GBP/sell/', { method: 'POST', auth: maker.auth, form: { amount: '0.01', price: '500.00' } });
  assert.equal(g.status, 200, g.text);
  const b = await http(s.url + '/bist/XBT/GBP/buy_market/', { method: 'POST', auth: taker.auth, form: { quantity: '0.01' } });
  assert.equal(b.status, 200, b.text);
}

interface Records {
  trades: unknown;
  takerTrades: unknown;
  userTx: unknown;
  market: unknown;
}

async function records(s: TestServer, maker: TestUser, taker: TestUser): Promise<Records> {
  const get = async (path: string, u?: TestUser) => {
    const r = await http(s.url + path, u ? { auth: u.auth } : {});
    assert.equal(r.status, 200, r.text);
    return r.json();
  };
  return {
    trades: await get('/trades/', maker),
    takerTrades: await get('/trades/?since=0', taker),
    userTx: await get('/bist/XBT/GBP/user_transactions/?limit=1000', taker),
    market: await get('/bist/XBT/GBP/transactions/'),
  };
}

function removeHistory(dir: string): void {
  for (const f of readdirSync(dir)) if (f.startsWith(HISTORY_FILE)) rmSync(join(dir, f));
}

test('history rebuilt from the journal when missing or behind', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfloor-rebuild-'));
  const opts = { dataDir: dir, fees: TAKER_FEES, snapshotEveryCommands: 7, keepSnapshots: 50, limits: { recordsPerMinute: 1000 } };
  try {
    // Run 1: some trading.
    let s = await startTestServer(opts);
    const maker = await createUser(s.ctx, 'maker', [
      [XBT, 10_000_000],
      [GBP, 10_000_000],
    ]);
    const taker = await createUser(s.ctx, 'taker', [
      [USDT, 100_000_000_000],
      [GBP, 10_000_000],
    ]);
    await trade(s, maker, taker, 6, 40000000);
    const first = await records(s, maker, taker);
    assert.ok((first.trades as unknown[]).length >= 7, 'at least one trade per market order');
    await s.close();
    const copyAtRun1 = join(dir, 'history-run1.copy');
    copyFileSync(join(dir, HISTORY_FILE), copyAtRun1);
    assert.ok(readdirSync(join(dir, 'snapshots')).length > 0, 'snapshots were taken');

    // Run 2: the history file is gone: rebuilt from genesis + the whole journal (archive included).
    removeHistory(dir);
    s = await startTestServer(opts);
    assert.deepEqual(await records(s, maker, taker), first);
    await trade(s, maker, taker, 4, 41000000);
    const second = await records(s, maker, taker);
    assert.ok((second.trades as unknown[]).length > 7 + 4);
    const seqAfterRun2 = s.ctx.engine.lastSeq;
    await s.close();

    // Run 3: an older copy of the store (behind by run 2): caught up from a snapshot onwards.
    removeHistory(dir);
    copyFileSync(copyAtRun1, join(dir, HISTORY_FILE));
    const old = new HistoryStore(join(dir, HISTORY_FILE));
    const oldSeq = old.lastSeq;
    old.close();
    assert.ok(oldSeq > 0 && oldSeq < seqAfterRun2);
    s = await startTestServer(opts);
    assert.ok(s.history.lastSeq >= seqAfterRun2);
    assert.deepEqual(await records(s, maker, taker), second);
    await s.close();
    assert.ok(existsSync(join(dir, HISTORY_FILE)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
