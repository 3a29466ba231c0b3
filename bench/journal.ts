// Journal benchmark: one JSON line on stdout (diagnostics on stderr).
//
//   node dist/bench/journal.js [--commands N] [--window W] [--resting R] [--dir D]
//
// Phases (temp data directories under os.tmpdir() or --dir, removed afterwards):
//   1. journaled: the engine workload of bench/workload.ts (seeded limit/cancel/market stream,
//      1000 funded users) pre-computed on a shadow engine, then submitted through the Sequencer
//      with fsync 'always' and W commands in flight (W concurrent clients) - group commit, one
//      append + one fdatasync per batch. → journaled_ops_per_s, fsyncs_per_s, mean batch.
//   2. replay: recovery of a crash copy of that directory (no snapshot: the whole journal is
//      read, CRC-checked, parsed and applied). → replay_ops_per_s.
//   3. snapshot: R non-crossing resting orders (fsync 'off' to build them), then one snapshot
//      while measuring the event loop with perf_hooks.monitorEventLoopDelay. → snapshot_ms,
//      snapshot_stall_ms (the sequencer's own measure: longest synchronous stretch),
//      snapshot_loop_max_delay_ms (event-loop probe), snapshot_bytes.
//   4. restart: more commands after the snapshot, crash copy, openStore on it (snapshot load +
//      journal tail). → restart_ms. The replay open of step 2 is the other restart case, every
//      command journaled since the last snapshot → restart_journal_tail_ms.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { defaultEngineConfig } from '../src/core/default-config.js';
import { Engine } from '../src/core/engine.js';
import type { Command, UnstampedCommand } from '../src/core/types.js';
import { openStore } from '../src/journal/index.js';
import type { Applied } from '../src/server/context.js';
import type { Sequencer } from '../src/server/sequencer.js';
import { FUND_USDT, FUND_XBT, generateWorkload, OpenfloorDriver, USDT, XBT, fakeCredentials } from './workload.js';

const log = (msg: string): void => {
  process.stderr.write(`[bench:journal] ${msg}\n`);
};

const { values } = parseArgs({
  options: {
    commands: { type: 'string' },
    window: { type: 'string' },
    resting: { type: 'string' },
    users: { type: 'string' },
    dir: { type: 'string' },
  },
});
const COMMANDS = Number(values.commands ?? process.env.BENCH_COMMANDS ?? 200_000);
const WINDOW = Number(values.window ?? 1000);
const RESTING = Number(values.resting ?? 200_000);
const USERS = Number(values.users ?? 1000);
const ROOT = values.dir ?? os.tmpdir();
const silent = pino({ level: 'silent' });
const config = defaultEngineConfig('coinflex', Date.UTC(2026, 0, 1));

function strip(cmd: Command): UnstampedCommand {
  const { seq: _seq, time: _time, ...rest } = cmd;
  return rest as UnstampedCommand;
}

function tmp(name: string): string {
  return fs.mkdtempSync(path.join(ROOT, `openfloor-bench-journal-${name}-`));
}

function crashCopy(src: string, dst: string): void {
  fs.cpSync(src, dst, { recursive: true });
  fs.rmSync(path.join(dst, 'LOCK'), { force: true });
}

/** Submits with at most `window` commands in flight; resolves when all are durable. */
async function pump(seq: Sequencer, cmds: UnstampedCommand[], window: number): Promise<void> {
  const ring: Promise<Applied>[] = new Array<Promise<Applied>>(window);
  for (let i = 0; i < cmds.length; i++) {
    const slot = i % window;
    if (i >= window) await ring[slot];
    ring[slot] = seq.submit(cmds[i]!);
  }
  await Promise.all(ring.filter((p) => p !== undefined));
}

function setupCommands(users: number): UnstampedCommand[] {
  const cmds: UnstampedCommand[] = [];
  for (let u = 0; u < users; u++) cmds.push({ type: 'CreateUser', ...fakeCredentials(u) });
  for (let id = 1; id <= users; id++) {
    cmds.push({ type: 'Deposit', userId: id, asset: USDT, amount: FUND_USDT });
    cmds.push({ type: 'Deposit', userId: id, asset: XBT, amount: FUND_XBT });
  }
  return cmds;
}

async function main(): Promise<void> {
  const dirs: string[] = [];
  try {
    // ------------------------------------------------ workload on a shadow engine
    const shadow = new Engine(config);
    const driver = new OpenfloorDriver(shadow);
    driver.setup(USERS);
    if (driver.userIds.some((id, i) => id !== i + 1)) throw new Error('unexpected user ids');
    const w = generateWorkload({ count: COMMANDS, users: USERS });
    const cmds: UnstampedCommand[] = [];
    for (let i = 0; i < COMMANDS; i++) {
      const cmd = driver.command(w, i);
      driver.out.length = 0;
      driver.observe(shadow.apply(cmd, driver.out), driver.out);
      cmds.push(strip(cmd));
    }
    log(`workload: ${COMMANDS} commands, ${driver.trades} trades, ${driver.live.length} resting at the end`);

    // ------------------------------------------------ 1. journaled throughput
    const dir = tmp('run');
    dirs.push(dir);
    const store = await openStore({ dataDir: dir, fsync: 'always', snapshotEveryCommands: 1e12, snapshotEveryMs: 1e12 }, config, silent);
    await pump(store.sequencer, setupCommands(USERS), WINDOW);
    const before = store.sequencer.stats();
    const t0 = performance.now();
    await pump(store.sequencer, cmds, WINDOW);
    const secs = (performance.now() - t0) / 1000;
    const after = store.sequencer.stats();
    const fsyncs = after.fsyncs - before.fsyncs;
    const appends = after.appends - before.appends;
    const journaledOps = COMMANDS / secs;
    log(`journaled: ${COMMANDS} in ${secs.toFixed(2)} s, ${appends} appends (mean batch ${(COMMANDS / appends).toFixed(1)}), ${fsyncs} fsyncs, mean fdatasync ${((1000 * (after.fsyncSeconds - before.fsyncSeconds)) / fsyncs).toFixed(3)} ms`);

    // ------------------------------------------------ 2. replay
    const replayDir = `${dir}-replay`;
    dirs.push(replayDir);
    crashCopy(dir, replayDir);
    await store.sequencer.close();
    // This open is also the restart case: every command journaled since the last
    // snapshot (there is none), from opening the store to a serving-ready engine.
    const tOpen = performance.now();
    const rp = await openStore({ dataDir: replayDir, fsync: 'off' }, config, silent);
    const restartTailMs = performance.now() - tOpen;
    const replayOps = rp.recovery.replayed / (rp.recovery.ms / 1000);
    if (rp.engine.stateHash() !== store.engine.stateHash()) throw new Error('replayed state differs from the live state');
    log(`replay: ${rp.recovery.replayed} records in ${rp.recovery.ms.toFixed(0)} ms`);
    await rp.sequencer.close();

    // ------------------------------------------------ 3. snapshot with many resting orders
    const sdir = tmp('snap');
    dirs.push(sdir);
    const s = await openStore({ dataDir: sdir, fsync: 'off', snapshotEveryCommands: 1e12, snapshotEveryMs: 1e12 }, config, silent);
    await pump(s.sequencer, setupCommands(USERS), WINDOW);
    const tick = config.markets.find((m) => m.base === XBT && m.counter === USDT)!.tick;
    const resting: UnstampedCommand[] = [];
    for (let i = 0; i < RESTING; i++) {
      const bid = i % 2 === 0;
      const ticks = bid ? 30_000 - (i % 5000) : 50_000 + (i % 5000);
      const userId = 1 + (Math.floor(i / 2) % USERS);
      resting.push({ type: 'PlaceOrder', userId, sessionId: userId, base: XBT, counter: USDT, quantity: bid ? 100 : -100, price: ticks * tick, persist: true });
    }
    await pump(s.sequencer, resting, WINDOW);
    const restingCount = s.engine.restingOrders().reduce((a, m) => a + m.count, 0);
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const snap = await s.sequencer.snapshot();
    h.disable();
    const loopMaxMs = h.max / 1e6;
    const snapBytes = fs.statSync(snap.file).size;
    log(`snapshot: ${restingCount} resting orders, ${(snapBytes / 1e6).toFixed(1)} MB, ${snap.ms.toFixed(0)} ms, stall ${snap.stallMs.toFixed(1)} ms, event-loop max delay ${loopMaxMs.toFixed(1)} ms`);

    // ------------------------------------------------ 4. restart = snapshot + journal tail
    const tail = cmds.slice(0, Math.min(cmds.length, 20_000)).filter((c) => c.type === 'PlaceOrder');
    await pump(s.sequencer, tail, WINDOW);
    const rdir = `${sdir}-restart`;
    dirs.push(rdir);
    crashCopy(sdir, rdir);
    const live = s.engine.stateHash();
    await s.sequencer.close();
    const t1 = performance.now();
    const r = await openStore({ dataDir: rdir, fsync: 'off' }, config, silent);
    const restartMs = performance.now() - t1;
    if (r.engine.stateHash() !== live) throw new Error('restarted state differs from the live state');
    log(`restart: snapshot seq ${r.recovery.snapshotSeq} + ${r.recovery.replayed} journal records in ${restartMs.toFixed(0)} ms`);
    await r.sequencer.close();

    const result = {
      bench: 'journal',
      commands: COMMANDS,
      window: WINDOW,
      journaled_ops_per_s: Math.round(journaledOps),
      fsyncs_per_s: Math.round(fsyncs / secs),
      mean_batch: Math.round((COMMANDS / appends) * 10) / 10,
      replay_ops_per_s: Math.round(replayOps),
      resting_orders: restingCount,
      snapshot_ms: Math.round(snap.ms),
      snapshot_stall_ms: Math.round(snap.stallMs * 10) / 10,
      snapshot_loop_max_delay_ms: Math.round(loopMaxMs * 10) / 10,
      snapshot_bytes: snapBytes,
      restart_ms: Math.round(restartMs),
      restart_replayed: r.recovery.replayed,
      restart_journal_tail_ms: Math.round(restartTailMs),
      restart_journal_tail_replayed: rp.recovery.replayed,
      node: process.version,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

await main();
