// The engine benchmark's workload generator and drivers (bench/workload.ts, bench/peer.ts):
// deterministic, the documented mix, and a small run through both engines that keeps the
// openfloor book uncrossed and gives both engines the same stream.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultEngineConfig } from '../../src/core/default-config.js';
import { Engine } from '../../src/core/engine.js';
import { PeerDriver } from '../../bench/peer.js';
import {
  DEFAULT_WORKLOAD,
  generateWorkload,
  LiveOrders,
  OP_CANCEL,
  OP_LIMIT,
  OP_MARKET,
  opAt,
  OpenfloorDriver,
  Sfc32,
  SIDE_BID,
  workloadOps,
} from '../../bench/workload.js';

describe('bench workload', () => {
  it('is deterministic: same seed, same operations; another seed, another stream', () => {
    const a = generateWorkload({ count: 20_000, seed: 7 });
    const b = generateWorkload({ count: 20_000, seed: 7 });
    const c = generateWorkload({ count: 20_000, seed: 8 });
    for (const col of ['kind', 'side', 'lots', 'user', 'priceTicks', 'pick'] as const) {
      assert.deepEqual(a[col], b[col], col);
    }
    assert.notDeepEqual(a.priceTicks, c.priceTicks);
    // The streaming form yields the same operations as the stored one.
    let i = 0;
    for (const op of workloadOps({ count: 2_000, seed: 7 })) assert.deepEqual(op, opAt(a, i++));
    assert.equal(i, 2_000);
  });

  it('sfc32 is reproducible and spreads over [0, n)', () => {
    const r1 = new Sfc32(42);
    const r2 = new Sfc32(42);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const x = r1.u32();
      assert.equal(x, r2.u32());
      counts[new Sfc32(i).int(10)]!++;
    }
    for (const n of counts) assert.ok(n > 9_000 && n < 11_000, `bucket ${n}`);
  });

  it('has the documented mix, sizes and price band', () => {
    const n = 200_000;
    const w = generateWorkload({ count: n, seed: 11 });
    const o = DEFAULT_WORKLOAD;
    let limits = 0;
    let cancels = 0;
    let markets = 0;
    let bidOffset = 0;
    let bids = 0;
    let askOffset = 0;
    let asks = 0;
    for (let i = 0; i < n; i++) {
      const op = opAt(w, i);
      if (op.kind === 'cancel') {
        cancels++;
        continue;
      }
      assert.ok(op.lots >= 1 && op.lots <= 10, 'lots 1..10');
      assert.ok(op.user >= 0 && op.user < o.users, 'user index');
      if (op.kind === 'market') {
        markets++;
        continue;
      }
      limits++;
      const off = op.priceTicks - o.midTicks;
      assert.ok(Math.abs(off) <= o.bandTicks, `offset ${off} within ±${o.bandTicks}`);
      if (op.side === 'bid') {
        bidOffset += off;
        bids++;
      } else {
        askOffset += off;
        asks++;
      }
    }
    assert.ok(Math.abs(limits / n - 0.7) < 0.01, `limit share ${limits / n}`);
    assert.ok(Math.abs(cancels / n - 0.25) < 0.01, `cancel share ${cancels / n}`);
    assert.ok(Math.abs(markets / n - 0.05) < 0.005, `market share ${markets / n}`);
    assert.ok(Math.abs(bids / limits - 0.5) < 0.01, 'bids and asks balanced');
    // Bids centred a little below the mid, asks a little above.
    assert.ok(Math.abs(bidOffset / bids + o.skewTicks) < 1, `mean bid offset ${bidOffset / bids}`);
    assert.ok(Math.abs(askOffset / asks - o.skewTicks) < 1, `mean ask offset ${askOffset / asks}`);
    assert.equal(w.kind.filter((k) => k !== OP_LIMIT && k !== OP_CANCEL && k !== OP_MARKET).length, 0);
  });

  it('LiveOrders adds and swap-removes in O(1) with a consistent index', () => {
    const live = new LiveOrders();
    for (let k = 0; k < 5_000; k++) live.add(k * 3, k, k % 7);
    const rng = new Sfc32(1);
    for (let j = 0; j < 2_000; j++) {
      if (j % 2 === 0) live.removeAt(rng.int(live.length));
      else live.remove(rng.int(15_000));
    }
    for (let i = 0; i < live.length; i++) {
      const key = live.keys[i]!;
      assert.ok(live.has(key));
      assert.equal(key, live.ords[i]! * 3);
      assert.equal(live.users[i], live.ords[i]! % 7);
    }
    assert.equal(live.remove(1), false);
  });

  it('runs 2,000 operations through both engines: same stream, uncrossed book, tracked orders', () => {
    const n = 2_000;
    const w = generateWorkload({ count: n, seed: 3, users: 50 });
    const engine = new Engine(defaultEngineConfig());
    const of = new OpenfloorDriver(engine);
    of.setup(50);
    const peer = new PeerDriver(of.market.tick);
    const { base, counter } = of.market;
    for (let i = 0; i < n; i++) {
      of.step(w, i);
      peer.step(w, i);
      const d = engine.depth(base, counter, 1)!;
      const bid = d.bids[0]?.[0];
      const ask = d.asks[0]?.[0];
      if (bid !== undefined && ask !== undefined) assert.ok(bid < ask, `book crossed after op ${i}: ${bid} >= ${ask}`);
    }
    assert.equal(of.rejected, 0, 'funded users: nothing rejected');
    assert.ok(of.trades > 0 && of.crossed > 0, 'some limit orders cross');
    assert.ok(of.live.length > 0, 'orders rest');
    // Every order the driver tracks is live in the engine, and nothing else is.
    let resting = 0;
    for (const m of engine.restingOrders()) resting += m.count;
    assert.equal(resting, of.live.length);
    for (let i = 0; i < of.live.length; i++) {
      const userId = of.userIds[of.live.users[i]!]!;
      const rec = engine.openOrder(userId, of.live.keys[i]!);
      assert.ok(rec !== undefined, 'tracked order is open');
      const ord = of.live.ords[i]!;
      assert.equal(w.kind[ord], OP_LIMIT);
      assert.equal(rec.quantity > 0, w.side[ord] === SIDE_BID);
    }
    // Same price-time matching: both engines traded the same number of times, cancelled the
    // same orders and hold the same live orders in the same list order.
    assert.equal(peer.trades, of.trades);
    assert.equal(peer.cancelHash, of.cancelHash);
    assert.deepEqual(peer.live.ords, of.live.ords);
  });
});
