// `npm run bench:engine`: one seeded workload through openfloor's core and through the peer
// nodejs-order-book in the same process, then one JSON line on stdout (diagnostics on stderr).
//
// Phases, each on a fresh engine / book and the same operation stream (bench/workload.ts):
//   1. throughput: a shadow run through openfloor's driver (translation of the workload into
//      Commands and live-order bookkeeping from the events, to pick cancel targets) records the
//      Command stream, timed as openfloor_driver_ops_per_s. Then a fresh engine applies the
//      recorded Commands (warm-up untimed, the measured ops as one block, events into one array,
//      counted; --rounds times on fresh engines, median round) → openfloor_ops_per_s; each round
//      must reach the shadow's state hash and event count (same_state). The peer gets the same
//      stream translated beforehand into its own calls (cancel targets from the shadow) and runs
//      it the same way → peer_ops_per_s; its trades and final book must equal openfloor's
//      (same_stream). Commands are built outside the timed loops as exchange-core's benchmarks
//      pre-generate theirs: building input is not the engine's work, and it took ~a third of the
//      driver run's time.
//      openfloor_rounds_minor_faults: each round's minor page faults (fresh memory: 10–20 µs each on
//      the development VM), to tell a round slowed by heap growth from one slowed by the host.
//      host_memory_ns_per_round: the host's memory latency read just before each round (ns per
//      dependent load through 16 MB, bench/host-probe.ts), the other half of that question.
//   2. latency: the same stream again; after the warm-up every command's engine call alone is
//      timed with process.hrtime.bigint() (all of them, not a sample) → p50 / p99 / p99.9 / max.
//   3. heap: global.gc(), then N non-crossing resting orders, global.gc() again; the growth of
//      heapUsed + arrayBuffers divided by N. Then engine.serialize() and stateHash() on that
//      book are timed (median of 3 each): serialize_ms_1m / state_hash_ms_1m.
//
// Options (flags or env): --commands N (BENCH_COMMANDS, default 1,000,000), --warmup N
// (BENCH_WARMUP, default commands / 10), --seed S (BENCH_SEED), --users U (BENCH_USERS, 1000),
// --skew T (BENCH_SKEW, ticks), --heap-orders N (BENCH_HEAP_ORDERS, default = commands),
// --rounds N (BENCH_ROUNDS, default 5: openfloor's timed phase 1 runs N times on fresh engines and
// reports the median round, the best, and each), --no-peer, --no-peer-latency, --no-heap. Run
// with node --expose-gc.

import '../src/v8-tuning.js';
import { parseArgs } from 'node:util';
import { defaultEngineConfig } from '../src/core/default-config.js';
import { Engine } from '../src/core/engine.js';
import type { Command, CommandResult, EngineConfig, EngineEvent, PlaceOrder } from '../src/core/types.js';
import { MemoryLatencyProbe } from './host-probe.js';
import { PEER_PACKAGE, PEER_VERSION, PeerDriver, type PeerStream } from './peer.js';
import {
  BENCH_EPOCH_US,
  DEFAULT_WORKLOAD,
  generateWorkload,
  LOT_UNITS,
  OP_CANCEL,
  OP_LIMIT,
  OP_MARKET,
  OpenfloorDriver,
  OUT_BATCH,
  Sfc32,
  type Workload,
} from './workload.js';

const log = (msg: string): void => {
  process.stderr.write(`[bench:engine] ${msg}\n`);
};

function intOption(flag: string | undefined, env: string, dflt: number): number {
  const raw = flag ?? process.env[env];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`bad value for ${env}: ${raw}`);
  return v;
}

function options() {
  const { values } = parseArgs({
    options: {
      commands: { type: 'string' },
      warmup: { type: 'string' },
      seed: { type: 'string' },
      users: { type: 'string' },
      skew: { type: 'string' },
      'heap-orders': { type: 'string' },
      'no-peer': { type: 'boolean', default: false },
      'no-peer-latency': { type: 'boolean', default: false },
      'no-heap': { type: 'boolean', default: false },
      rounds: { type: 'string' },
    },
  });
  const commands = intOption(values.commands, 'BENCH_COMMANDS', 1_000_000);
  if (commands === 0) throw new Error('--commands must be positive');
  return {
    commands,
    warmup: intOption(values.warmup, 'BENCH_WARMUP', Math.round(commands / 10)),
    seed: intOption(values.seed, 'BENCH_SEED', DEFAULT_WORKLOAD.seed),
    users: intOption(values.users, 'BENCH_USERS', DEFAULT_WORKLOAD.users),
    skew: intOption(values.skew, 'BENCH_SKEW', DEFAULT_WORKLOAD.skewTicks),
    heapOrders: intOption(values['heap-orders'], 'BENCH_HEAP_ORDERS', commands),
    peer: !values['no-peer'],
    peerLatency: !values['no-peer'] && !values['no-peer-latency'],
    heap: !values['no-heap'],
    rounds: Math.max(1, intOption(values.rounds, 'BENCH_ROUNDS', 5)),
  };
}

/** The targets (1,000,000 resting orders for the heap figure). */
const TARGETS = { ops_per_s: 1_000_000, ratio: 20, p99_ns: 5_000, heap_bytes_per_resting_order: 300 } as const;

type Gc = () => void;
const gcFn: Gc | undefined = (globalThis as { gc?: Gc }).gc;
function fullGc(): void {
  if (gcFn === undefined) return;
  gcFn();
  gcFn();
}
function heapNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function newOpenfloor(config: EngineConfig, users: number): OpenfloorDriver<Engine> {
  const driver = new OpenfloorDriver(new Engine(config));
  driver.setup(users);
  return driver;
}

function restingCount(engine: Engine): number {
  let n = 0;
  for (const m of engine.restingOrders()) n += m.count;
  return n;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---------------------------------------------------------------- phase 1: throughput

interface Throughput {
  seconds: number;
  opsPerS: number;
  /** Ops per second of process CPU time (user + system, all threads): less sensitive to a busy machine. */
  cpuOpsPerS: number;
  /** Minor page faults during the block (each costs 10–20 µs on the development VM). */
  minorFaults: number;
}

/** driver.step over ops [warmup, length), timed as one block, recording each Command and cancel target. */
function measuredRecording(driver: OpenfloorDriver<Engine>, w: Workload, warmup: number, commands: Command[], cancelOrd: Int32Array): Throughput {
  return timedBlock(w.length - warmup, () => {
    for (let i = warmup; i < w.length; i++) {
      commands[i] = driver.step(w, i);
      if (w.kind[i] === OP_CANCEL) cancelOrd[i] = driver.cancelOrd;
    }
  });
}

/** Runs f once, timed by the wall clock and by process CPU time, as n ops. */
function timedBlock(n: number, f: () => void): Throughput {
  const faults0 = process.resourceUsage().minorPageFault;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  f();
  const t1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(c0);
  const minorFaults = process.resourceUsage().minorPageFault - faults0;
  const seconds = Number(t1 - t0) / 1e9;
  return { seconds, opsPerS: n / seconds, cpuOpsPerS: n / ((cpu.user + cpu.system) / 1e6), minorFaults };
}

/**
 * Applies recorded Commands: [0, warmup) untimed, then the rest timed as one block. The events
 * go to one array emptied in batches as the driver does; they are counted, and so are refusals.
 */
function applyRecorded(engine: Engine, commands: Command[], warmup: number): { t: Throughput; events: number; rejected: number } {
  const out: EngineEvent[] = [];
  for (let i = 0; i < warmup; i++) {
    if (out.length >= OUT_BATCH) out.length = 0;
    engine.apply(commands[i]!, out);
  }
  out.length = 0;
  fullGc();
  let events = 0;
  let rejected = 0;
  const t = timedBlock(commands.length - warmup, () => {
    for (let i = warmup; i < commands.length; i++) {
      if (out.length >= OUT_BATCH) {
        events += out.length;
        out.length = 0;
      }
      if (!engine.apply(commands[i]!, out).ok) rejected++;
    }
  });
  return { t, events: events + out.length, rejected };
}

/** The peer's resting orders (sum over its price levels' order queues). */
function peerOrderCount(peer: PeerDriver): number {
  const snap = peer.book.snapshot();
  let n = 0;
  for (const l of snap.bids) n += l.orders.length;
  for (const l of snap.asks) n += l.orders.length;
  return n;
}

/** Whether two aggregated depths hold the same [price, quantity] levels (order aside). */
function sameLevels(a: readonly (readonly [number, number])[], b: readonly (readonly [number, number])[]): boolean {
  if (a.length !== b.length) return false;
  const key = (l: readonly (readonly [number, number])[]): string => l.map(([p, q]) => `${p}:${q}`).sort().join(',');
  return key(a) === key(b);
}

// ---------------------------------------------------------------- phase 2: latency

interface Latency {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  /** [p50, p99] per operation kind. */
  byKind: { limit: [number, number]; cancel: [number, number]; market: [number, number] };
}

function summarise(ns: Float64Array, w: Workload, warmup: number): Latency {
  let sum = 0;
  const perKind: number[][] = [[], [], []];
  for (let i = 0; i < ns.length; i++) {
    sum += ns[i]!;
    perKind[w.kind[warmup + i]!]!.push(ns[i]!);
  }
  const pk = (k: number): [number, number] => {
    const a = Float64Array.from(perKind[k]!).sort();
    return [percentile(a, 0.5), percentile(a, 0.99)];
  };
  const byKind = { limit: pk(OP_LIMIT), cancel: pk(OP_CANCEL), market: pk(OP_MARKET) };
  ns.sort();
  return { p50: percentile(ns, 0.5), p99: percentile(ns, 0.99), p999: percentile(ns, 0.999), max: ns[ns.length - 1] ?? 0, mean: sum / ns.length, byKind };
}

/** Every measured command's engine.apply alone; command building and bookkeeping are outside. */
function openfloorLatency(driver: OpenfloorDriver<Engine>, w: Workload, warmup: number): Latency {
  for (let i = 0; i < warmup; i++) driver.step(w, i);
  const engine = driver.engine;
  const out = driver.out;
  const ns = new Float64Array(w.length - warmup);
  for (let i = warmup; i < w.length; i++) {
    // As in driver.step: emptied in batches, so a command's events never regrow the array.
    if (out.length >= 1024) out.length = 0;
    const from = out.length;
    const cmd = driver.command(w, i);
    const t0 = process.hrtime.bigint();
    const res = engine.apply(cmd, out);
    const t1 = process.hrtime.bigint();
    ns[i - warmup] = Number(t1 - t0);
    driver.observe(res, out, from);
  }
  return summarise(ns, w, warmup);
}

function peerLatency(driver: PeerDriver, w: Workload, warmup: number): Latency {
  for (let i = 0; i < warmup; i++) driver.step(w, i);
  const ns = new Float64Array(w.length - warmup);
  for (let i = warmup; i < w.length; i++) ns[i - warmup] = driver.timedStep(w, i);
  return summarise(ns, w, warmup);
}

/** Median cost of an empty hrtime.bigint() pair, for reference. */
function timerOverhead(): number {
  const n = 100_000;
  const ns = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const t1 = process.hrtime.bigint();
    ns[i] = Number(t1 - t0);
  }
  ns.sort();
  return percentile(ns, 0.5);
}

// ---------------------------------------------------------------- phase 3: heap per resting order

/** Non-crossing resting orders: bids 1..band ticks below the mid, asks 1..band above, 1..maxLots lots. */
function restingOrderStream(seed: number, count: number, f: (i: number, bid: boolean, quantity: number, priceTicks: number) => void): void {
  const o = DEFAULT_WORKLOAD;
  const rng = new Sfc32(seed ^ 0x4ea9);
  for (let i = 0; i < count; i++) {
    const bid = (rng.u32() & 1) === 0;
    const dist = 1 + rng.int(o.bandTicks);
    f(i, bid, (1 + rng.int(o.maxLots)) * LOT_UNITS, bid ? o.midTicks - dist : o.midTicks + dist);
  }
}

/** Median of 3 timed engine.serialize() calls (what the journal's snapshot stalls matching for), and of stateHash(). */
function serializeTimes(engine: Engine): { serializeMs: number; hashMs: number } {
  const time = (f: () => unknown): number => {
    const ms: number[] = [];
    for (let i = 0; i < 3; i++) {
      fullGc();
      const t0 = process.hrtime.bigint();
      f();
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return ms.sort((a, b) => a - b)[1]!;
  };
  return { serializeMs: time(() => engine.serialize()), hashMs: time(() => engine.stateHash()) };
}

function openfloorHeap(config: EngineConfig, users: number, count: number, seed: number): { bytesPerOrder: number; resting: number; serializeMs: number; hashMs: number } {
  // Enough users that nobody reaches the per-user open-order limit.
  const n = Math.max(users, Math.ceil(count / Math.max(1, config.maxOpenOrders - 1)));
  const driver = newOpenfloor(config, n);
  const engine = driver.engine;
  const { base, counter, tick } = driver.market;
  const userIds = driver.userIds;
  const out: EngineEvent[] = [];
  let seq = driver.seq;
  fullGc();
  const before = heapNow();
  restingOrderStream(seed, count, (i, bid, quantity, priceTicks) => {
    out.length = 0;
    seq++;
    const userId = userIds[i % n]!;
    const cmd: PlaceOrder = { type: 'PlaceOrder', seq, time: BENCH_EPOCH_US + seq, userId, sessionId: userId, base, counter, quantity: bid ? quantity : -quantity, price: priceTicks * tick };
    const res: CommandResult = engine.apply(cmd, out);
    if (!res.ok) throw new Error(`openfloor rejected a resting order: ${res.message}`);
  });
  out.length = 0;
  fullGc();
  const after = heapNow();
  const resting = restingCount(engine);
  return { bytesPerOrder: (after - before) / count, resting, ...serializeTimes(engine) };
}

function peerHeap(tick: number, count: number, seed: number): { bytesPerOrder: number } {
  const driver = new PeerDriver(tick);
  fullGc();
  const before = heapNow();
  restingOrderStream(seed, count, (i, bid, quantity, priceTicks) => driver.rest(i, bid, quantity, priceTicks * tick));
  fullGc();
  const after = heapNow();
  if (driver.book.depth()[0].length === 0) throw new Error('peer book empty');
  return { bytesPerOrder: (after - before) / count };
}

// ---------------------------------------------------------------- main

function bookNotCrossed(driver: OpenfloorDriver): boolean {
  const d = driver.engine.depth(driver.market.base, driver.market.counter, 1);
  if (d === undefined) return false;
  const bid = d.bids[0]?.[0];
  const ask = d.asks[0]?.[0];
  return bid === undefined || ask === undefined || bid < ask;
}

function main(): void {
  const opt = options();
  if (gcFn === undefined) log('warning: run node with --expose-gc; heap figures will be noisy');
  const config = defaultEngineConfig();
  const total = opt.warmup + opt.commands;
  const w = generateWorkload({ count: total, seed: opt.seed, users: opt.users, skewTicks: opt.skew });
  let limits = 0;
  let cancels = 0;
  for (let i = opt.warmup; i < total; i++) {
    if (w.kind[i] === OP_LIMIT) limits++;
    else if (w.kind[i] === OP_CANCEL) cancels++;
  }
  const markets = total - limits - cancels - opt.warmup;
  log(`workload: ${opt.warmup} warm-up + ${opt.commands} measured ops, seed ${opt.seed}, ${opt.users} users, skew ${opt.skew} ticks`);

  // Phase 1: throughput. A shadow run through the driver (translation and live-order
  // bookkeeping included: openfloor_driver_ops_per_s) records openfloor's Commands and each
  // cancel's target; then a fresh engine applies the recorded Commands and the peer makes the
  // same calls, both timed as a block with nothing but the engine and its output in the loop.
  let shadow: OpenfloorDriver<Engine> | null = newOpenfloor(config, opt.users);
  const tick = shadow.market.tick;
  const market = shadow.market;
  let commands: Command[] | null = new Array<Command>(total);
  const cancelOrd = new Int32Array(total).fill(-1);
  for (let i = 0; i < opt.warmup; i++) {
    commands[i] = shadow.step(w, i);
    if (w.kind[i] === OP_CANCEL) cancelOrd[i] = shadow.cancelOrd;
  }
  // Counters of the measured ops only.
  const e0 = { events: shadow.events, trades: shadow.trades, crossed: shadow.crossed, rejected: shadow.rejected, cancelMisses: shadow.cancelMisses };
  const driverT = measuredRecording(shadow, w, opt.warmup, commands, cancelOrd);
  const ofEvents = shadow.events - e0.events;
  const ofTrades = shadow.trades - e0.trades;
  const ofCrossed = shadow.crossed - e0.crossed;
  const ofRejected = shadow.rejected - e0.rejected;
  const ofCancelMisses = shadow.cancelMisses - e0.cancelMisses;
  const ofResting = restingCount(shadow.engine);
  if (ofResting !== shadow.live.length) log(`warning: engine rests ${ofResting} orders but the driver tracks ${shadow.live.length}`);
  const notCrossed = bookNotCrossed(shadow);
  const shadowHash = shadow.engine.stateHash();
  const ofDepth = shadow.engine.depth(market.base, market.counter, Number.MAX_SAFE_INTEGER)!;
  log(`openfloor through the driver: ${round(driverT.opsPerS)} ops/s (${round(driverT.seconds, 3)} s), ${ofEvents} events, ${ofTrades} trades, ${ofResting} resting`);
  shadow = null;

  // Several rounds, each on a fresh engine: this VM's speed drifts by a third within minutes, so
  // one round says more about the minute than about the engine. The median round is the figure.
  const rounds: Throughput[] = [];
  const hostMemoryNs: number[] = [];
  let probe: MemoryLatencyProbe | null = new MemoryLatencyProbe();
  let sameState = true;
  for (let r = 0; r < opt.rounds; r++) {
    hostMemoryNs.push(probe.measure());
    const timed = newOpenfloor(config, opt.users);
    const run = applyRecorded(timed.engine, commands, opt.warmup);
    // The recorded run must be the shadow's run: same events, same final state.
    const same = run.events === ofEvents && run.rejected === ofRejected + ofCancelMisses && timed.engine.stateHash() === shadowHash;
    if (!same) log(`warning: round ${r + 1}: the recorded commands did not reproduce the shadow run`);
    sameState &&= same;
    rounds.push(run.t);
    fullGc();
  }
  const byRate = [...rounds].sort((a, b) => a.opsPerS - b.opsPerS);
  const ofT = byRate[(byRate.length - 1) >> 1]!;
  const ofBest = byRate[byRate.length - 1]!;
  log(`openfloor: ${round(ofT.opsPerS)} ops/s (median of ${rounds.length} rounds; ${rounds.map((t) => round(t.opsPerS)).join(', ')}), ${ofEvents} events`);
  log(`host memory latency before each round: ${hostMemoryNs.map((x) => round(x, 1)).join(', ')} ns per load`);
  commands = null;
  probe = null;
  fullGc();

  let peerT: Throughput | null = null;
  let peerResting = 0;
  let peerTrades = 0;
  let sameStream: boolean | null = null;
  if (opt.peer) {
    let stream: PeerStream | null = PeerDriver.prebuild(w, 0, total, tick, cancelOrd);
    let peer: PeerDriver | null = new PeerDriver(tick);
    peer.runPrebuilt(stream, 0, opt.warmup);
    const t0 = peer.trades;
    fullGc();
    peerT = timedBlock(opt.commands, () => peer!.runPrebuilt(stream!, opt.warmup, total));
    peerTrades = peer.trades - t0;
    const [asks, bids] = peer.book.depth();
    peerResting = peerOrderCount(peer);
    sameStream = peerTrades === ofTrades && peer.rejected === 0 && sameLevels(bids, ofDepth.bids) && sameLevels(asks, ofDepth.asks);
    if (!sameStream) log('warning: the two engines diverged (different trades or books)');
    log(`${PEER_PACKAGE}: ${round(peerT.opsPerS)} ops/s (${round(peerT.seconds, 3)} s), ${peerTrades} trades, ${peerResting} resting`);
    peer = null;
    stream = null;
    fullGc();
  }

  // Phase 2: latency.
  const timerNs = timerOverhead();
  const ofLat: Latency = openfloorLatency(newOpenfloor(config, opt.users), w, opt.warmup);
  log(`openfloor latency: p50 ${ofLat.p50} ns, p99 ${ofLat.p99} ns, p99.9 ${ofLat.p999} ns, max ${ofLat.max} ns (timer pair ${timerNs} ns); [p50, p99] by kind ${JSON.stringify(ofLat.byKind)}`);
  fullGc();
  let peerLat: Latency | null = null;
  if (opt.peerLatency) {
    peerLat = peerLatency(new PeerDriver(tick), w, opt.warmup);
    log(`${PEER_PACKAGE} latency: p50 ${peerLat.p50} ns, p99 ${peerLat.p99} ns; [p50, p99] by kind ${JSON.stringify(peerLat.byKind)}`);
    fullGc();
  }

  // Phase 3: heap per resting order.
  let heap: { bytesPerOrder: number; resting: number; serializeMs: number; hashMs: number } | null = null;
  let peerHeapR: { bytesPerOrder: number } | null = null;
  if (opt.heap && opt.heapOrders > 0) {
    heap = openfloorHeap(config, opt.users, opt.heapOrders, opt.seed);
    log(`openfloor heap: ${round(heap.bytesPerOrder, 1)} bytes per resting order (${heap.resting} resting); serialize() ${round(heap.serializeMs, 1)} ms, stateHash() ${round(heap.hashMs, 1)} ms`);
    fullGc();
    if (opt.peer) {
      peerHeapR = peerHeap(tick, opt.heapOrders, opt.seed);
      log(`${PEER_PACKAGE} heap: ${round(peerHeapR.bytesPerOrder, 1)} bytes per resting order`);
      fullGc();
    }
  }

  const ratio = peerT === null ? null : ofT.opsPerS / peerT.opsPerS;
  const result = {
    bench: 'engine',
    openfloor_ops_per_s: round(ofT.opsPerS),
    openfloor_best_ops_per_s: round(ofBest.opsPerS),
    openfloor_rounds_ops_per_s: rounds.map((t) => round(t.opsPerS)),
    openfloor_rounds_minor_faults: rounds.map((t) => t.minorFaults),
    host_memory_ns_per_round: hostMemoryNs.map((x) => round(x, 1)),
    openfloor_driver_ops_per_s: round(driverT.opsPerS),
    peer_ops_per_s: peerT === null ? null : round(peerT.opsPerS),
    ratio: ratio === null ? null : round(ratio, 2),
    p50_ns: ofLat.p50,
    p99_ns: ofLat.p99,
    p999_ns: ofLat.p999,
    max_ns: ofLat.max,
    mean_ns: round(ofLat.mean),
    latency_by_kind_ns: ofLat.byKind,
    heap_bytes_per_resting_order: heap === null ? null : round(heap.bytesPerOrder, 1),
    heap_resting_orders: heap === null ? null : heap.resting,
    /** engine.serialize() with heap_resting_orders resting orders (1,000,000 by default), median of 3. */
    serialize_ms_1m: heap === null ? null : round(heap.serializeMs, 1),
    state_hash_ms_1m: heap === null ? null : round(heap.hashMs, 1),
    events_per_s: round(ofEvents / ofT.seconds),
    trades_per_s: round(ofTrades / ofT.seconds),
    resting_orders: ofResting,
    peer_resting_orders: peerT === null ? null : peerResting,
    peer_p50_ns: peerLat?.p50 ?? null,
    peer_p99_ns: peerLat?.p99 ?? null,
    peer_heap_bytes_per_resting_order: peerHeapR === null ? null : round(peerHeapR.bytesPerOrder, 1),
    same_stream: sameStream,
    same_state: sameState,
    book_not_crossed: notCrossed,
    commands: opt.commands,
    warmup: opt.warmup,
    users: opt.users,
    seed: opt.seed,
    skew_ticks: opt.skew,
    mix: { limit: limits, cancel: cancels, market: markets },
    trades: ofTrades,
    peer_trades: peerT === null ? null : peerTrades,
    crossing_share: round(ofCrossed / Math.max(1, limits), 3),
    rejected: ofRejected,
    cancel_misses: ofCancelMisses,
    events: ofEvents,
    openfloor_seconds: round(ofT.seconds, 3),
    openfloor_cpu_ops_per_s: round(ofT.cpuOpsPerS),
    peer_seconds: peerT === null ? null : round(peerT.seconds, 3),
    peer_cpu_ops_per_s: peerT === null ? null : round(peerT.cpuOpsPerS),
    targets: TARGETS,
    meets: {
      ops_per_s: ofT.opsPerS >= TARGETS.ops_per_s,
      ratio: ratio === null ? null : ratio >= TARGETS.ratio,
      p99_ns: ofLat.p99 <= TARGETS.p99_ns,
      heap_bytes_per_resting_order: heap === null ? null : heap.bytesPerOrder <= TARGETS.heap_bytes_per_resting_order,
    },
    latency_method: 'separate pass, every measured command, process.hrtime.bigint() around the engine call only',
    timer_overhead_ns: timerNs,
    market: 'XBT:USDT, lot 100 units (0.01 XBT), tick 1 USDT, mid 40000 USDT',
    peer: `${PEER_PACKAGE}@${PEER_VERSION}`,
    node: process.version,
    gc_exposed: gcFn !== undefined,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
