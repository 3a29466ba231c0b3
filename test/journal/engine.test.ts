// The journal with the real Engine: replaying the journal from zero rebuilds exactly the live
// state after any command sequence, and snapshots round-trip the state.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { defaultEngineConfig } from '../../src/core/default-config.js';
import type { UnstampedCommand } from '../../src/core/types.js';
import { openStore, verify } from '../../src/journal/index.js';
import type { StoreOptions } from '../../src/journal/options.js';
import { crashCopy, silent, snapshotFiles, tmpDir } from './helpers.js';

const XBT = 0xf800;
const USDT = 0xff03;
const TICK = 10_000; // XBT:USDT price units per tick (1 USDT)
const CONFIG = defaultEngineConfig('coinflex', Date.UTC(2026, 0, 1));

function key(i: number): { publicKey: string; cookie: string } {
  const k = Buffer.alloc(57, i + 1);
  k[0] = 4;
  return { publicKey: k.toString('base64'), cookie: Buffer.alloc(15, i + 7).toString('base64') };
}

/** Users 1..3 exist and are funded before the random part. */
function setup(): UnstampedCommand[] {
  const cmds: UnstampedCommand[] = [];
  for (let i = 0; i < 3; i++) cmds.push({ type: 'CreateUser', ...key(i) });
  for (let u = 1; u <= 3; u++) {
    cmds.push({ type: 'Deposit', userId: u, asset: USDT, amount: 10_000_000 * 10_000 });
    cmds.push({ type: 'Deposit', userId: u, asset: XBT, amount: 100 * 10_000 });
    cmds.push({ type: 'AddWithdrawalAddress', userId: u, asset: XBT, address: `addr-${u}` });
  }
  return cmds;
}

const user = fc.integer({ min: 1, max: 3 });
const session = fc.integer({ min: 1, max: 4 });
const command: fc.Arbitrary<UnstampedCommand> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      userId: user,
      sessionId: session,
      bid: fc.boolean(),
      lots: fc.integer({ min: 1, max: 8 }),
      ticks: fc.integer({ min: 39_990, max: 40_010 }),
      market: fc.boolean(),
      persist: fc.constantFrom<boolean | 'fill_or_kill'>(true, false, 'fill_or_kill'),
      postOnly: fc.boolean(),
      tonce: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
    }).map(({ userId, sessionId, bid, lots, ticks, market, persist, postOnly, tonce }): UnstampedCommand => {
      const quantity = (bid ? 1 : -1) * lots * 100;
      return market
        ? { type: 'PlaceOrder', userId, sessionId, base: XBT, counter: USDT, quantity }
        : { type: 'PlaceOrder', userId, sessionId, base: XBT, counter: USDT, quantity, price: ticks * TICK, persist, postOnly, ...(tonce === undefined ? {} : { tonce }) };
    }),
  },
  { weight: 2, arbitrary: fc.record({ userId: user, id: fc.integer({ min: 1, max: 40 }) }).map((c): UnstampedCommand => ({ type: 'CancelOrder', ...c })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ userId: user, id: fc.integer({ min: 1, max: 40 }), quantityDelta: fc.integer({ min: -300, max: 300 }), ticks: fc.integer({ min: 39_990, max: 40_010 }) })
      .map(({ userId, id, quantityDelta, ticks }): UnstampedCommand => ({ type: 'ModifyOrder', userId, id, quantityDelta, price: ticks * TICK })),
  },
  { weight: 1, arbitrary: user.map((userId): UnstampedCommand => ({ type: 'CancelAllOrders', userId })) },
  { weight: 1, arbitrary: session.map((sessionId): UnstampedCommand => ({ type: 'Disconnect', sessionId })) },
  { weight: 1, arbitrary: fc.constant<UnstampedCommand>({ type: 'Tick' }) },
  { weight: 1, arbitrary: fc.record({ userId: user, amount: fc.integer({ min: 1, max: 50_000 }) }).map((c): UnstampedCommand => ({ type: 'Withdraw', asset: XBT, address: `addr-${c.userId}`, ...c })) },
  { weight: 1, arbitrary: fc.constant<UnstampedCommand>({ type: 'ServerStarted' }) },
);

function opts(dataDir: string, more: Partial<StoreOptions> = {}): StoreOptions {
  return { dataDir, fsync: 'always', onFatal: (e) => assert.fail(e), ...more };
}

describe('journal + Engine', () => {
  for (const recordEncoding of ['json', 'binary'] as const)
  it(`replaying the journal from zero equals the live state after any command sequence (${recordEncoding} records)`, async (t) => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 80 }), fc.nat(80), async (cmds, snapAt) => {
        const dir = tmpDir(t, `openfloor-journal-prop${run++}-`);
        const { engine, sequencer } = await openStore(opts(dir, { segmentBytes: 4096, recordEncoding }), CONFIG, silent);
        for (const c of setup()) await sequencer.submit(c);
        // All at once: one or a few group commits, applied in arrival order.
        const ps = cmds.map((c, i) => {
          const p = sequencer.submit(c);
          if (i === snapAt) void sequencer.snapshot(); // a snapshot while commands keep coming
          return p;
        });
        const applied = await Promise.all(ps);
        assert.deepEqual(applied.map((a) => a.seq), cmds.map((_, i) => setup().length + 1 + i));
        const live = engine.stateHash();
        const lastSeq = engine.lastSeq;

        // A crash now: recovery = newest snapshot (if any) + journal tail.
        const crash = crashCopy(dir, `${dir}-crash`);
        t.after(() => fs.rmSync(crash, { recursive: true, force: true }));
        const r = await openStore(opts(crash, { segmentBytes: 4096, recordEncoding }), CONFIG, silent);
        assert.equal(r.engine.stateHash(), live);
        assert.equal(r.engine.lastSeq, lastSeq);
        await r.sequencer.close();

        // The whole journal from the genesis config.
        await sequencer.whenDurable();
        const v = await verify(dir);
        assert.equal(v.ok, true, v.message);
        assert.equal(v.hash, live);
        assert.equal(v.commands, lastSeq);

        // Clean shutdown: final snapshot, restart from it.
        await sequencer.close();
        const again = await openStore(opts(dir, { recordEncoding }), CONFIG, silent);
        assert.equal(again.recovery.snapshotSeq, lastSeq);
        assert.equal(again.engine.stateHash(), live);
        await again.sequencer.close();
      }),
      { numRuns: 20 },
    );
  });

  it('round-trips state → snapshot → state with many resting orders', async (t) => {
    const dir = tmpDir(t);
    const { engine, sequencer } = await openStore(opts(dir, { fsync: 'off' }), CONFIG, silent);
    for (const c of setup()) await sequencer.submit(c);
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 3000; i++) {
      const bid = i % 2 === 0;
      const ticks = bid ? 39_000 - (i % 500) : 41_000 + (i % 500);
      ps.push(sequencer.submit({ type: 'PlaceOrder', userId: 1 + (i % 3), sessionId: 1 + (i % 4), base: XBT, counter: USDT, quantity: bid ? 100 : -100, price: ticks * TICK, persist: i % 3 !== 0 }));
    }
    ps.push(sequencer.submit({ type: 'PlaceOrder', userId: 2, sessionId: 2, base: XBT, counter: USDT, quantity: 250, price: 41_002 * TICK, persist: true }));
    await Promise.all(ps);
    const live = engine.stateHash();
    const state = engine.serialize();
    const snap = await sequencer.snapshot();
    assert.equal(snap.seq, engine.lastSeq);
    assert.ok(snap.stallMs >= 0 && snap.ms >= snap.stallMs);
    await sequencer.close();
    assert.equal(snapshotFiles(dir).length, 1);
    const r = await openStore(opts(dir, { fsync: 'off' }), CONFIG, silent);
    assert.equal(r.recovery.replayed, 0);
    assert.equal(r.engine.stateHash(), live);
    assert.deepEqual(r.engine.serialize(), state);
    await r.sequencer.close();
  });

  it('pre-faults the snapshot buffer in the background once the book outgrows it; the snapshot taken into it is exact', async (t) => {
    const dir = tmpDir(t);
    const { engine, sequencer } = await openStore(opts(dir, { fsync: 'off' }), CONFIG, silent);
    // 16,000 resting orders: more than the 1 MB from which the sequencer warms a buffer itself.
    const users = 20;
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < users; i++) ps.push(sequencer.submit({ type: 'CreateUser', ...key(i) }));
    for (let u = 1; u <= users; u++) {
      ps.push(sequencer.submit({ type: 'Deposit', userId: u, asset: USDT, amount: 10_000_000 * 10_000 }));
      ps.push(sequencer.submit({ type: 'Deposit', userId: u, asset: XBT, amount: 100 * 10_000 }));
    }
    for (let i = 0; i < 16_000; i++) {
      const bid = i % 2 === 0;
      const ticks = bid ? 39_000 - (i % 500) : 41_000 + (i % 500);
      const userId = 1 + (Math.floor(i / 2) % users);
      ps.push(sequencer.submit({ type: 'PlaceOrder', userId, sessionId: userId, base: XBT, counter: USDT, quantity: bid ? 100 : -100, price: ticks * TICK }));
    }
    const results = (await Promise.all(ps)) as { result: { ok: boolean } }[];
    assert.ok(results.every((a) => a.result.ok));
    assert.equal(engine.restingOrders().reduce((a, m) => a + m.count, 0), 16_000);
    await sequencer.warmSnapshotBuffer(); // the one started after some batch, maybe for a smaller book
    await sequencer.warmSnapshotBuffer();
    assert.ok(sequencer.stats().snapshotBuffersWarmed >= 1);
    assert.equal(engine.snapshotBufferWanted(), 0, 'the machine holds a buffer that fits');
    const live = engine.stateHash();
    const state = engine.serialize();
    await sequencer.snapshot();
    await sequencer.close();
    const r = await openStore(opts(dir, { fsync: 'off' }), CONFIG, silent);
    assert.equal(r.recovery.replayed, 0, 'restored from the snapshot alone');
    assert.equal(r.engine.stateHash(), live);
    assert.deepEqual(r.engine.serialize(), state);
    await r.sequencer.close();
  });

  it('uses initialConfig only for a fresh data directory', async (t) => {
    const dir = tmpDir(t);
    const a = await openStore(opts(dir), CONFIG, silent);
    const n = a.engine.markets().length;
    await a.sequencer.close();
    const other = { ...CONFIG, markets: CONFIG.markets.slice(0, 1) };
    const b = await openStore(opts(dir), other, silent);
    assert.equal(b.engine.markets().length, n);
    await b.sequencer.close();
    const v = await verify(dir);
    assert.equal(v.ok, true, v.message);
  });
});
