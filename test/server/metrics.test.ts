// GET /metrics on the admin listener: counters move with trading, connections, rejections.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { AdminOps } from '../../src/server/admin.js';
import { startServer, type RunningServer } from '../../src/server/server.js';

/** Parses the Prometheus text format into 'name{a="x",b="y"}' (labels sorted by name) → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    const series = line.slice(0, i);
    const b = series.indexOf('{');
    let key = series;
    if (b >= 0) {
      const labels = series.slice(b + 1, -1).match(/[a-zA-Z_]+="(?:[^"\\]|\\.)*"/g) ?? [];
      key = `${series.slice(0, b)}{${labels.sort().join(',')}}`;
    }
    out.set(key, Number(line.slice(i + 1)));
  }
  return out;
}

async function scrape(s: RunningServer): Promise<Map<string, number>> {
  const r = await fetch(`${s.adminUrl}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
  return parse(await r.text());
}

const val = (m: Map<string, number>, key: string): number => m.get(key) ?? 0;

test('metrics: commands by type and result, latency, journal, resting orders, rejects, connections, event loop', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfloor-metrics-'));
  let s: RunningServer | undefined;
  try {
    s = await startServer({ dataDir: dir, fsync: 'always', logLevel: 'silent' });
    const before = await scrape(s);
    const ops = new AdminOps(s.ctx);
    const alice = await ops.createUser('alice');
    const bob = await ops.createUser('bob');
    await ops.deposit(alice.userId, 'USDT', '100000');
    await ops.deposit(bob.userId, 'XBT', '10');
    const XBT = 0xf800;
    const USDT = 0xff03;
    const session = s.ctx.newSessionId();
    // Three bids rest, one ask trades against the best of them, one bid is refused.
    for (const price of [30000, 29999, 29998]) {
      const a = await s.ctx.submit({ type: 'PlaceOrder', userId: alice.userId, sessionId: session, base: XBT, counter: USDT, quantity: 1000, price: price * 10000 });
      assert.equal(a.result.ok, true);
    }
    const trade = await s.ctx.submit({ type: 'PlaceOrder', userId: bob.userId, sessionId: session, base: XBT, counter: USDT, quantity: -1000, price: 30000 * 10000 });
    assert.equal(trade.result.ok, true);
    assert.ok(trade.events.some((e) => e.type === 'OrdersMatched'));
    const refused = await s.ctx.submit({ type: 'PlaceOrder', userId: alice.userId, sessionId: session, base: XBT, counter: USDT, quantity: 100_0000, price: 30000 * 10000 });
    assert.equal(refused.result.ok, false);

    const hasNative = s.endpoints.some((e) => e.dialect === 'native-ws' && e.paths.includes('/'));
    let ws: WebSocket | undefined;
    if (hasNative) {
      ws = new WebSocket(`${s.wsUrl}/`);
      await new Promise<void>((resolve, reject) => {
        ws!.once('message', () => resolve());
        ws!.once('error', reject);
      });
    }

    const after = await scrape(s);
    assert.equal(val(after, 'openfloor_commands_total{result="ok",type="PlaceOrder"}') - val(before, 'openfloor_commands_total{result="ok",type="PlaceOrder"}'), 4);
    assert.equal(val(after, 'openfloor_commands_total{result="INSUFFICIENT_FUNDS",type="PlaceOrder"}'), 1);
    assert.equal(val(after, 'openfloor_commands_total{result="ok",type="CreateUser"}') - val(before, 'openfloor_commands_total{result="ok",type="CreateUser"}'), 2);
    assert.equal(val(after, 'openfloor_rejects_total{code="INSUFFICIENT_FUNDS",source="engine"}'), 1);
    assert.ok(val(after, 'openfloor_command_latency_seconds_count{type="PlaceOrder"}') >= 5);
    assert.equal(val(after, 'openfloor_resting_orders{market="XBT:USDT"}'), 2);
    assert.equal(val(after, 'openfloor_resting_orders{market="ETH:USDT"}'), 0);
    assert.ok(val(after, 'openfloor_journal_append_latency_seconds_count') > val(before, 'openfloor_journal_append_latency_seconds_count'));
    assert.ok(val(after, 'openfloor_journal_fsync_latency_seconds_count') > 0);
    assert.ok(val(after, 'openfloor_journal_appends') > 0);
    assert.equal(val(after, 'openfloor_last_seq'), s.ctx.engine.lastSeq);
    assert.ok(after.has('openfloor_event_loop_lag_seconds{quantile="0.99"}'));
    assert.ok([...after.keys()].some((k) => k.startsWith('openfloor_process_')), 'default process metrics');

    if (hasNative && ws) {
      assert.equal(val(after, 'openfloor_connections_open{dialect="native-ws"}'), 1);
      assert.ok(val(after, 'openfloor_connections_total{dialect="native-ws"}') >= 1);
      const closed = new Promise<void>((resolve) => ws!.once('close', () => resolve()));
      ws.close();
      await closed;
      // The server sees the close after the client does; poll a bounded number of scrapes.
      let open = 1;
      for (let i = 0; i < 100 && open !== 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        open = val(await scrape(s), 'openfloor_connections_open{dialect="native-ws"}');
      }
      assert.equal(open, 0);
    }

    // Snapshot counter moves with an admin snapshot.
    const snapBefore = val(after, 'openfloor_snapshots');
    await s.ctx.submit({ type: 'Tick' });
    const r = await fetch(`${s.adminUrl}/admin/snapshot`, { method: 'POST', headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 200);
    assert.equal(val(await scrape(s), 'openfloor_snapshots'), snapBefore + 1);
  } finally {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
