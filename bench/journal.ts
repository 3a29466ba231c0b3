// Journal benchmark: one JSON line on stdout (diagnostics on stderr).
//
//   node dist/bench/journal.js [--commands N] [--window W] [--resting R] [--dir D] [--encoding binary|json]
//
// --encoding: StoreOptions.recordEncoding of the journaled and snapshot stores (default
// 'binary'; the store's own default is DEFAULT_RECORD_ENCODING in src/journal/options.ts).
//
// Phases (temp data directories under os.tmpdir() or --dir, removed afterwards):
//   1. journaled: the engine workload of bench/workload.ts (seeded limit/cancel/market stream,
//      1000 funded users) pre-computed on a shadow engine, then submitted through the Sequencer
//      with fsync 'always' and W commands in flight (W concurrent clients) - group commit, one
//      append + one fdatasync per batch. → journaled_ops_per_s, fsyncs_per_s, mean batch,
//      journaled_cpu_us_per_op (process CPU time per command, all threads).
//      Before it, the same command stream is applied to fresh in-memory Engines (3 rounds, the
//      median; one events array emptied in batches, no journal) → engine_ops_per_s, engine_cpu_us_per_op, and
//      journaled_vs_engine = journaled_ops_per_s / engine_ops_per_s (issue #3 target ≥ 0.4).
//   2. replay: recovery of a crash copy of that directory (no snapshot: the whole journal is
//      read, CRC-checked, decoded and applied), 3 times, the median → replay_ops_per_s,
//      replay_rounds_ms; replay_read_ms, _scan_ms
//      (CRC walk), _decode_ms and _apply_ms time the parts apart on the same journal (read =
//      whole files into fresh buffers, which the split needs in memory - recovery itself reads
//      piecewise into one warm buffer; decode = decoding and dropping, as a replay does; apply =
//      a fresh Engine over the commands decoded beforehand, through applyQuiet as recovery does);
//      replay_journal_only_ms / _cpu_ms: the same recovery into a machine that applies nothing
//      (the journal's own share: piecewise read, CRC, decode, seq checks).
//      restart_ms (issue #3: from process start, every command journaled since the last
//      snapshot): the same recovery in a fresh node process (this file with --child-open, the
//      same node flags), from its spawn to its report that the store is open - node start-up,
//      module loading, a cold JIT and fresh memory included; then the child checks the state
//      hash. restart_warm_ms: the open above, in this process after phase 1 warmed the JIT.
//   3. snapshot: R non-crossing resting orders (fsync 'off' to build them); then the wait for
//      the sequencer's background pre-fault of the snapshot buffer (snapshot_buffer_wait_ms, with
//      the event loop's max delay meanwhile: snapshot_buffer_warm_loop_max_delay_ms); then one
//      snapshot while measuring the event loop with perf_hooks.monitorEventLoopDelay. → snapshot_ms,
//      snapshot_stall_ms (the sequencer's own measure: longest synchronous stretch, =
//      max(snapshot_serialize_ms + the write's synchronous start, snapshot_max_slice_ms)),
//      snapshot_loop_max_delay_ms (event-loop probe, started before the snapshot), snapshot_bytes.
//      snapshot2_ms, snapshot2_stall_ms, snapshot2_serialize_ms: a second snapshot after 1,000
//      more orders (step 4's first), into the same buffer.
//   4. restart from a snapshot: more commands after the snapshot, crash copies, then a fresh
//      process opens one (snapshot load + journal tail, as restart_ms) → restart_from_snapshot_ms;
//      and this process opens the other → restart_from_snapshot_warm_ms, with
//      restart_snapshot_read_ms / restart_engine_restore_ms timing the snapshot's read +
//      JSON.parse and Engine.restore apart.
import '../src/v8-tuning.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { defaultEngineConfig } from '../src/core/default-config.js';
import { Engine } from '../src/core/engine.js';
import type { Command, EngineEvent, UnstampedCommand } from '../src/core/types.js';
import { decodeCommand, openStore, openStoreWith, type Machine, type MachineKind, type RecordEncoding } from '../src/journal/index.js';
import { listSegments, scanSegment } from '../src/journal/segment.js';
import { listSnapshots, readSnapshot } from '../src/journal/snapshot.js';
import type { Applied } from '../src/server/context.js';
import type { Sequencer } from '../src/server/sequencer.js';
import { FUND_USDT, FUND_XBT, generateWorkload, OpenfloorDriver, OUT_BATCH, USDT, XBT, fakeCredentials } from './workload.js';

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
    encoding: { type: 'string' },
    'child-open': { type: 'string' },
  },
});
const ENCODING = (values.encoding ?? 'binary') as RecordEncoding;
// Defaults are issue #3's workload: 1,000,000 journaled commands, 1,000,000 resting orders.
const COMMANDS = Number(values.commands ?? process.env.BENCH_COMMANDS ?? 1_000_000);
const WINDOW = Number(values.window ?? 1000);
const RESTING = Number(values.resting ?? 1_000_000);
const USERS = Number(values.users ?? 1000);
const ROOT = values.dir ?? os.tmpdir();
const silent = pino({ level: 'silent' });
/** Runs of the in-memory engine alone (the median one is engine_ops_per_s). */
const ENGINE_ROUNDS = 3;
/** Warm replays of the whole journal (the median one is replay_ops_per_s). */
const REPLAY_ROUNDS = 3;
const config = defaultEngineConfig('coinflex', Date.UTC(2026, 0, 1));

/** A machine that applies nothing: replaying into it times the journal's side of a replay alone. */
class NullMachine implements Machine {
  lastSeq = 0;
  now = 0;
  apply(cmd: Command): { ok: true } {
    this.lastSeq = cmd.seq;
    this.now = cmd.time;
    return { ok: true };
  }
  serialize(): unknown {
    return { lastSeq: this.lastSeq, now: this.now };
  }
  stateHash(): string {
    return String(this.lastSeq);
  }
}
const nullKind: MachineKind<NullMachine> = {
  create: () => new NullMachine(),
  restore: (s) => Object.assign(new NullMachine(), s),
};

function strip(cmd: Command): UnstampedCommand {
  const { seq: _seq, time: _time, ...rest } = cmd;
  return rest as UnstampedCommand;
}

/**
 * A restart as the issue defines it, from process start: a fresh node process (this file with
 * --child-open, the same node flags) opens the store in `dir` (snapshot + journal tail) with a
 * cold JIT and fresh memory. `ms` runs from the spawn to the child's report that the store is
 * open, so node's start-up and module loading count; the child then checks the state hash.
 */
async function coldOpen(dir: string, expectHash: string): Promise<{ ms: number; replayed: number; snapshotSeq: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child-open', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  let ms = 0;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    if (text.length === 0) ms = performance.now() - t0;
    text += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const lines = text.trim().split('\n');
  if (code !== 0 || lines.length !== 2) throw new Error(`cold open of ${dir} failed (exit ${String(code)}): ${text}`);
  const opened = JSON.parse(lines[0]!) as { replayed: number; snapshotSeq: number };
  if ((JSON.parse(lines[1]!) as { hash: string }).hash !== expectHash) throw new Error(`cold open of ${dir}: state differs from the live state`);
  return { ms, ...opened };
}

/** The child of coldOpen(): opens the store, reports, then reports the state hash and exits (no close: that would snapshot). */
async function childOpen(dir: string): Promise<void> {
  const store = await openStore({ dataDir: dir, fsync: 'always' }, config, silent);
  process.stdout.write(`${JSON.stringify({ replayed: store.recovery.replayed, snapshotSeq: store.recovery.snapshotSeq })}\n`);
  process.stdout.write(`${JSON.stringify({ hash: store.engine.stateHash() })}\n`, () => process.exit(0));
}

function tmp(name: string): string {
  return fs.mkdtempSync(path.join(ROOT, `openfloor-bench-journal-${name}-`));
}

/** A copy of data directory `src` as a crash leaves it (no LOCK), at `${src}-${suffix}`, registered in `dirs` for removal. */
function crashCopy(src: string, suffix: string, dirs: string[]): string {
  const dst = `${src}-${suffix}`;
  dirs.push(dst);
  fs.cpSync(src, dst, { recursive: true });
  fs.rmSync(path.join(dst, 'LOCK'), { force: true });
  return dst;
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

/**
 * The workload as the sequencer gets it (unstamped), from a shadow engine through the bench
 * driver; and, into `engineAlone`, the in-memory engine's throughput on the same stream, stamped.
 */
function buildWorkload(engineAlone: { ops: number; cpuUsPerOp: number }): UnstampedCommand[] {
  const shadow = new Engine(config);
  const driver = new OpenfloorDriver(shadow);
  driver.setup(USERS);
  if (driver.userIds.some((id, i) => id !== i + 1)) throw new Error('unexpected user ids');
  const w = generateWorkload({ count: COMMANDS, users: USERS });
  const cmds: UnstampedCommand[] = [];
  const stamped: Command[] = [];
  for (let i = 0; i < COMMANDS; i++) {
    const cmd = driver.command(w, i);
    driver.out.length = 0;
    driver.observe(shadow.apply(cmd, driver.out), driver.out);
    stamped.push(cmd);
    cmds.push(strip(cmd));
  }
  log(`workload: ${COMMANDS} commands, ${driver.trades} trades, ${driver.live.length} resting at the end`);

  // The in-memory engine alone, same stream: ENGINE_ROUNDS runs on fresh engines, the median
  // one, events emptied in batches as bench:engine does. One run right after the shadow's was
  // JIT-cold (about half the warm rate), which flattered journaled_vs_engine.
  const rounds: { ops: number; cpuUs: number }[] = [];
  for (let r = 0; r < ENGINE_ROUNDS; r++) {
    const e = new Engine(config);
    new OpenfloorDriver(e).setup(USERS);
    const out: EngineEvent[] = [];
    const c = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < stamped.length; i++) {
      if (out.length >= OUT_BATCH) out.length = 0;
      e.apply(stamped[i]!, out);
    }
    const ops = stamped.length / ((performance.now() - t) / 1000);
    const cu = process.cpuUsage(c);
    rounds.push({ ops, cpuUs: (cu.user + cu.system) / stamped.length });
    if (e.stateHash() !== shadow.stateHash()) throw new Error('engine-only run differs from the shadow engine');
  }
  rounds.sort((a, b) => a.ops - b.ops);
  const { ops: engineOps, cpuUs: engineCpuUs } = rounds[ENGINE_ROUNDS >> 1]!;
  log(`engine alone: ${Math.round(engineOps)} ops/s (median of ${rounds.map((r) => Math.round(r.ops)).join(', ')})`);
  engineAlone.ops = engineOps;
  engineAlone.cpuUsPerOp = engineCpuUs;
  return cmds;
}

async function main(): Promise<void> {
  const dirs: string[] = [];
  try {
    // ------------------------------------------------ workload, and the in-memory engine alone
    // In a function of its own so that the shadow engine and the stamped copy of the workload are
    // garbage before the phases below: a million live objects the bench keeps would slow every
    // later phase's GC (the replay's above all), and no server holds them.
    const engineAlone = { ops: 0, cpuUsPerOp: 0 };
    let cmds: UnstampedCommand[] | undefined = buildWorkload(engineAlone);
    const { ops: engineOps, cpuUsPerOp: engineCpuUs } = engineAlone;

    // ------------------------------------------------ 1. journaled throughput
    const dir = tmp('run');
    dirs.push(dir);
    const store = await openStore({ dataDir: dir, fsync: 'always', snapshotEveryCommands: 1e12, snapshotEveryMs: 1e12, recordEncoding: ENCODING }, config, silent);
    await pump(store.sequencer, setupCommands(USERS), WINDOW);
    const before = store.sequencer.stats();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await pump(store.sequencer, cmds, WINDOW);
    const secs = (performance.now() - t0) / 1000;
    const jc = process.cpuUsage(c0);
    const journaledCpuUs = (jc.user + jc.system) / COMMANDS;
    const after = store.sequencer.stats();
    const fsyncs = after.fsyncs - before.fsyncs;
    const appends = after.appends - before.appends;
    const journaledOps = COMMANDS / secs;
    log(`journaled: ${COMMANDS} in ${secs.toFixed(2)} s, ${appends} appends (mean batch ${(COMMANDS / appends).toFixed(1)}), ${fsyncs} fsyncs, mean fdatasync ${((1000 * (after.fsyncSeconds - before.fsyncSeconds)) / fsyncs).toFixed(3)} ms`);

    // ------------------------------------------------ 2. replay
    // Crash copies (as a crash leaves the directory): the close below takes a snapshot.
    const replayDirs = Array.from({ length: REPLAY_ROUNDS }, (_, r) => crashCopy(dir, `replay${r}`, dirs));
    const replayDir = replayDirs[0]!;
    const journalOnlyDir = crashCopy(dir, 'replay-journal', dirs);
    const coldDir = crashCopy(dir, 'cold', dirs);
    await store.sequencer.close();
    const liveHash = store.engine.stateHash();
    // Phase 4 replays the first 20,000 PlaceOrders on top of its book; the rest is dropped (see buildWorkload).
    const tail = cmds.slice(0, Math.min(cmds.length, 20_000)).filter((c) => c.type === 'PlaceOrder');
    cmds = undefined;
    // In this process (JIT warm from phase 1): every command journaled since the last snapshot
    // (there is none), from opening the store to a serving-ready engine; REPLAY_ROUNDS times, each
    // from its own crash copy, the median one (a single replay of about a second moved by ±30 %
    // from run to run with the VM). The restart case is the same open in a fresh process
    // (coldOpen, below).
    const replays: { ms: number; openMs: number; replayed: number }[] = [];
    for (let r = 0; r < REPLAY_ROUNDS; r++) {
      const d = replayDirs[r]!;
      const tOpen = performance.now();
      const rp = await openStore({ dataDir: d, fsync: 'off' }, config, silent);
      const openMs = performance.now() - tOpen;
      if (rp.engine.stateHash() !== liveHash) throw new Error('replayed state differs from the live state');
      replays.push({ ms: rp.recovery.ms, openMs, replayed: rp.recovery.replayed });
      await rp.sequencer.close();
      if (r > 0) fs.rmSync(d, { recursive: true, force: true });
    }
    const replayed = replays[0]!.replayed;
    if (replays.some((x) => x.replayed !== replayed)) throw new Error('the replays saw different numbers of records');
    const replayMs = replays.map((x) => x.ms);
    const medianReplay = [...replays].sort((a, b) => a.ms - b.ms)[REPLAY_ROUNDS >> 1]!;
    const replayOps = replayed / (medianReplay.ms / 1000);
    const restartTailMs = medianReplay.openMs;
    log(`replay: ${replayed} records in ${medianReplay.ms.toFixed(0)} ms (median of ${replayMs.map((x) => x.toFixed(0)).join(', ')} ms)`);
    const cold = await coldOpen(coldDir, liveHash);
    if (cold.replayed !== replayed) throw new Error(`cold open replayed ${cold.replayed}, the warm one ${replayed}`);
    log(`restart (fresh process, no snapshot, ${cold.replayed} journal records): ${cold.ms.toFixed(0)} ms from spawn`);
    // Where replay time goes: read + CRC scan, decode, and the engine's apply, timed apart.
    // The record bounds go to flat typed arrays (not an array of tuples, whose allocation
    // would be timed as "scan").
    const split = await (async () => {
      const t = performance.now();
      const bufs: Buffer[] = [];
      for (const seg of await listSegments(replayDir)) bufs.push(fs.readFileSync(seg.file));
      const tRead = performance.now();
      const n = replayed;
      const which = new Int32Array(n);
      const starts = new Int32Array(n);
      const ends = new Int32Array(n);
      let k = 0;
      bufs.forEach((b, bi) =>
        scanSegment(b, 'x', true, undefined, (_q, _bb, st, en) => {
          which[k] = bi;
          starts[k] = st;
          ends[k++] = en;
        }),
      );
      if (k !== n) throw new Error(`scan found ${k} records, the replay ${n}`);
      const tScan = performance.now();
      // Decoding as a replay does it (each command is garbage right after its apply) ...
      let sink = 0;
      for (let i = 0; i < n; i++) sink += decodeCommand(bufs[which[i]!]!, starts[i]!, ends[i]!).seq;
      const tDecode = performance.now();
      if (sink <= 0) throw new Error('nothing decoded');
      // ... and once more, untimed, kept for the apply below (keeping a million objects alive
      // costs GC time that no replay pays).
      const decoded: Command[] = new Array<Command>(n);
      for (let i = 0; i < n; i++) decoded[i] = decodeCommand(bufs[which[i]!]!, starts[i]!, ends[i]!);
      const tApplyStart = performance.now();
      // As recovery applies them: applyQuiet, no events built.
      const e = new Engine(config);
      for (let i = 0; i < decoded.length; i++) e.applyQuiet(decoded[i]!);
      const tApply = performance.now();
      return { read: tRead - t, scan: tScan - tRead, decode: tDecode - tScan, apply: tApply - tApplyStart };
    })();
    log(`replay split: read ${split.read.toFixed(0)} ms, CRC scan ${split.scan.toFixed(0)} ms, decode ${split.decode.toFixed(0)} ms, apply ${split.apply.toFixed(0)} ms`);
    // The journal's own share of a replay: the same recovery (read, CRC, decode, seq checks) with
    // a stand-in machine whose apply does nothing, wall and CPU time.
    const journalOnly = await (async () => {
      const dst = journalOnlyDir;
      const c = process.cpuUsage();
      const t = performance.now();
      const o = await openStoreWith(nullKind, { dataDir: dst, fsync: 'off', snapshotEveryCommands: 1e12, snapshotEveryMs: 1e12 }, config, silent);
      const ms = performance.now() - t;
      const cu = process.cpuUsage(c);
      if (o.recovery.replayed !== replayed) throw new Error('journal-only replay saw a different number of records');
      await o.sequencer.close();
      return { ms, cpuMs: (cu.user + cu.system) / 1000 };
    })();
    log(`replay, journal side alone (no-op machine): ${journalOnly.ms.toFixed(0)} ms, CPU ${journalOnly.cpuMs.toFixed(0)} ms`);

    // ------------------------------------------------ 3. snapshot with many resting orders
    const sdir = tmp('snap');
    dirs.push(sdir);
    const s = await openStore({ dataDir: sdir, fsync: 'off', snapshotEveryCommands: 1e12, snapshotEveryMs: 1e12, recordEncoding: ENCODING }, config, silent);
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
    // A server pre-faults the snapshot buffer in the background as its book grows (warmSnapshotBuffer,
    // started after batches); the bench's book grew faster than that, so wait for it here, as a
    // snapshot timer would, and watch the event loop meanwhile: the page faults are not on it.
    const hw = monitorEventLoopDelay({ resolution: 1 });
    hw.enable();
    const tWarm = performance.now();
    await s.sequencer.warmSnapshotBuffer(); // the one in progress (sized for a smaller book, maybe)
    await s.sequencer.warmSnapshotBuffer(); // then one that fits, if that one did not
    const warmWaitMs = performance.now() - tWarm;
    hw.disable();
    const warmLoopMaxMs = hw.max / 1e6;
    log(`snapshot buffer: waited ${warmWaitMs.toFixed(0)} ms for the background pre-fault (${s.sequencer.stats().snapshotBuffersWarmed} warmed), event-loop max delay meanwhile ${warmLoopMaxMs.toFixed(1)} ms`);
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    // The probe measures between two of its own timer ticks: let it tick before the snapshot,
    // or the first blocking stretch (engine.serialize()) goes unseen.
    await new Promise((r) => setTimeout(r, 20));
    const snap = await s.sequencer.snapshot();
    h.disable();
    const loopMaxMs = h.max / 1e6;
    const snapBytes = fs.statSync(snap.file).size;
    log(`snapshot: ${restingCount} resting orders, ${(snapBytes / 1e6).toFixed(1)} MB, ${snap.ms.toFixed(0)} ms, stall ${snap.stallMs.toFixed(1)} ms, event-loop max delay ${loopMaxMs.toFixed(1)} ms`);

    // ------------------------------------------------ 4. restart = snapshot + journal tail
    // A second snapshot after the first 1,000 of them, into the same buffer (Engine.serializeForSnapshot).
    const tTail = performance.now();
    await pump(s.sequencer, tail.slice(0, 1000), WINDOW);
    let tailLiveMs = performance.now() - tTail;
    const snap2 = await s.sequencer.snapshot();
    log(`second snapshot: ${snap2.ms.toFixed(0)} ms, stall ${snap2.stallMs.toFixed(1)} ms (serialize ${snap2.serializeMs.toFixed(1)} ms)`);
    const tTail2 = performance.now();
    await pump(s.sequencer, tail.slice(1000), WINDOW);
    tailLiveMs += performance.now() - tTail2;
    log(`restart tail: ${tail.length} PlaceOrders on top of ${restingCount} resting took ${tailLiveMs.toFixed(0)} ms live (fsync off)`);
    const rdir = crashCopy(sdir, 'restart', dirs);
    const rdirCold = crashCopy(sdir, 'restart-cold', dirs);
    const live = s.engine.stateHash();
    await s.sequencer.close();
    // Where the restart time goes: reading + parsing the snapshot, then Engine.restore, timed
    // apart on the same file (the restart below does both again, plus the journal tail).
    const snapSplit = await (async () => {
      const { snapshots } = await listSnapshots(rdir);
      const newest = snapshots[snapshots.length - 1]!;
      const t = performance.now();
      const loaded = await readSnapshot(newest.file, newest.rel);
      const tRead = performance.now();
      Engine.restore(loaded.state as Parameters<typeof Engine.restore>[0]);
      return { read: tRead - t, restore: performance.now() - tRead };
    })();
    log(`restart split: snapshot read + JSON.parse ${snapSplit.read.toFixed(0)} ms, Engine.restore ${snapSplit.restore.toFixed(0)} ms`);
    // The store logs where its recovery time went (snapshot read, restore, journal).
    let phases: Record<string, unknown> = {};
    const capture = pino({ level: 'info' }, { write: (line: string) => void (/"recovered"/.test(line) && (phases = JSON.parse(line) as Record<string, unknown>)) });
    const t1 = performance.now();
    const r = await openStore({ dataDir: rdir, fsync: 'off' }, config, capture);
    const restartMs = performance.now() - t1;
    log(`restart phases: snapshot read ${String(phases.snapshotReadMs)} ms, restore ${String(phases.restoreMs)} ms, journal (CRC walk of the whole newest segment + tail) ${String(phases.journalMs)} ms`);
    if (r.engine.stateHash() !== live) throw new Error('restarted state differs from the live state');
    log(`restart: snapshot seq ${r.recovery.snapshotSeq} + ${r.recovery.replayed} journal records in ${restartMs.toFixed(0)} ms`);
    await r.sequencer.close();
    const coldSnap = await coldOpen(rdirCold, live);
    if (coldSnap.snapshotSeq !== r.recovery.snapshotSeq || coldSnap.replayed !== r.recovery.replayed) throw new Error('cold open from the snapshot recovered differently');
    log(`restart (fresh process, snapshot seq ${coldSnap.snapshotSeq} + ${coldSnap.replayed} journal records): ${coldSnap.ms.toFixed(0)} ms from spawn`);

    const result = {
      bench: 'journal',
      commands: COMMANDS,
      window: WINDOW,
      encoding: ENCODING,
      journaled_ops_per_s: Math.round(journaledOps),
      engine_ops_per_s: Math.round(engineOps),
      journaled_vs_engine: Math.round((journaledOps / engineOps) * 1000) / 1000,
      journaled_cpu_us_per_op: Math.round(journaledCpuUs * 100) / 100,
      engine_cpu_us_per_op: Math.round(engineCpuUs * 100) / 100,
      fsyncs_per_s: Math.round(fsyncs / secs),
      mean_batch: Math.round((COMMANDS / appends) * 10) / 10,
      replay_ops_per_s: Math.round(replayOps),
      replay_rounds_ms: replayMs.map((x) => Math.round(x)),
      replay_read_ms: Math.round(split.read),
      replay_scan_ms: Math.round(split.scan),
      replay_decode_ms: Math.round(split.decode),
      replay_apply_ms: Math.round(split.apply),
      replay_journal_only_ms: Math.round(journalOnly.ms),
      replay_journal_only_cpu_ms: Math.round(journalOnly.cpuMs),
      resting_orders: restingCount,
      snapshot_ms: Math.round(snap.ms),
      snapshot_stall_ms: Math.round(snap.stallMs * 10) / 10,
      snapshot_serialize_ms: Math.round(snap.serializeMs * 10) / 10,
      snapshot2_ms: Math.round(snap2.ms),
      snapshot2_stall_ms: Math.round(snap2.stallMs * 10) / 10,
      snapshot2_serialize_ms: Math.round(snap2.serializeMs * 10) / 10,
      snapshot_max_slice_ms: Math.round(snap.maxSliceMs * 10) / 10,
      snapshot_loop_max_delay_ms: Math.round(loopMaxMs * 10) / 10,
      snapshot_bytes: snapBytes,
      snapshot_buffer_wait_ms: Math.round(warmWaitMs),
      snapshot_buffer_warm_loop_max_delay_ms: Math.round(warmLoopMaxMs * 10) / 10,
      restart_ms: Math.round(cold.ms),
      restart_replayed: cold.replayed,
      restart_from_snapshot_ms: Math.round(coldSnap.ms),
      restart_from_snapshot_replayed: coldSnap.replayed,
      restart_from_snapshot_warm_ms: Math.round(restartMs),
      restart_tail_live_ms: Math.round(tailLiveMs),
      restart_snapshot_read_ms: Math.round(snapSplit.read),
      restart_engine_restore_ms: Math.round(snapSplit.restore),
      restart_warm_ms: Math.round(restartTailMs),
      node: process.version,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

if (values['child-open'] !== undefined) await childOpen(values['child-open']);
else await main();
