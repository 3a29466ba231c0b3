// The sequencer: the single writer between the dialects and the engine.
//
// submit() stamps a command (seq, micro-timestamp), applies it to the engine at once - so the
// next command sees its effects and arrival order is the order of record - and queues the
// journal record, encoded straight into a batch buffer (binary or JSON, src/journal/record.ts;
// the engine is given the decoded record, exactly what a replay reads). A group-commit loop
// appends every queued record in one write and, under fsync policy 'always', one fdatasync;
// only then are the Applied published to listeners (in seq order) and the submit promises
// resolved (or the submitTo sinks called: the same, without a promise per command). Nothing about
// a command leaves the process before it is durable. Commands keep
// being applied (into the other batch buffer) while a batch is written and synced; a batch of
// EARLY_FLUSH_AT commands starts its write at once rather than after the event-loop turn; a
// small batch at a moderate rate is fdatasync'ed on the loop itself (LOOP_SYNC_BELOW).
//
// Failure: if a journal write or fsync fails (or the engine throws), the in-memory state is
// ahead of the disk. The sequencer logs at fatal level, rejects everything pending, refuses
// further submits and calls onFatal, which by default exits the process with code 70
// (FATAL_EXIT_CODE): a restart recovers exactly the durable prefix, which is all that was ever
// acknowledged.
import type { Logger } from 'pino';
import type { Command, EngineEvent, UnstampedCommand } from '../core/types.js';
import { MicroClock } from '../journal/clock.js';
import { crc32c } from '../journal/crc32c.js';
import { JOURNAL_DIR, MAX_RECORD_BYTES, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../journal/format.js';
import { binarySize, decodeBinary, encodeCommand } from '../journal/record.js';
import type { Machine } from '../journal/machine.js';
import type { ResolvedStoreOptions } from '../journal/options.js';
import { applyRetention } from '../journal/retention.js';
import { SegmentWriter } from '../journal/segment.js';
import { writeSnapshot } from '../journal/snapshot.js';
import type { Applied, AppliedListener, AppliedSink } from './context.js';
import { prefaultedFloat64Array } from './prefault.js';
import * as path from 'node:path';

/** Session ids are boot * SESSION_SPAN + n: unique across restarts (boot is persisted before use). */
export const SESSION_SPAN = 2 ** 24;

export interface SnapshotResult {
  seq: number;
  file: string;
  /** Wall time of the whole snapshot (serialise, write, fsync, rename). */
  ms: number;
  /**
   * Longest time the event loop was blocked by it: the first stretch (engine.serialize() plus
   * the synchronous start of the write) or the longest JSON slice, whichever is longer.
   */
  stallMs: number;
  /** engine.serialize() alone. */
  serializeMs: number;
  /** Longest JSON/CRC/hash slice between two yields to the event loop. */
  maxSliceMs: number;
}

/** Counters for status pages and metrics; stats() returns a copy. */
export interface SequencerStats {
  /** Commands made durable and published by this process. */
  commands: number;
  /** Group-commit appends (one write each); `batches` is the same number. */
  appends: number;
  batches: number;
  appendedBytes: number;
  fsyncs: number;
  /** Of `fsyncs`, those done on the event loop (small batches at a moderate rate: LOOP_SYNC_BELOW). */
  loopFsyncs: number;
  /** Cumulative time in journal writes / fdatasyncs (monotonic counters). */
  appendSeconds: number;
  fsyncSeconds: number;
  lastAppendMs: number;
  lastFsyncMs: number;
  lastAppendSeconds: number;
  lastFsyncSeconds: number;
  /** Commands in the last / largest group commit. */
  lastBatch: number;
  maxBatch: number;
  segmentsCreated: number;
  snapshots: number;
  snapshotFailures: number;
  /** Snapshot buffers pre-faulted off the event loop and handed to the machine (see warmSnapshotBuffer). */
  snapshotBuffersWarmed: number;
  lastSnapshotSeq: number;
  lastSnapshotMs: number;
  lastSnapshotStallMs: number;
  lastSnapshotBytes: number;
  /** Highest seq published (durable under the fsync policy) and highest applied. */
  durableSeq: number;
  lastSeq: number;
}

/** Everything openStore hands the sequencer after recovery. */
export interface SequencerInit {
  machine: Machine;
  options: ResolvedStoreOptions;
  log: Logger;
  /** Seq of the last command in the recovered state. */
  lastSeq: number;
  /** Micro-timestamp of the last recovered command (the clock never goes below it). */
  lastTime: number;
  lastSnapshotSeq: number;
  lastSnapshotFile: string;
  /** The newest segment opened for append, or null to create one at the first write. */
  writer: SegmentWriter | null;
  boot: number;
  /** Persists boot + 1 synchronously and returns it (when a boot's session ids run out). */
  bumpBoot: () => number;
  /** Releases the data directory lock. */
  release: () => Promise<void>;
}

/** Commands applied but not yet published, with whom to tell (submit()'s promise or a submitTo sink). */
class Batch {
  readonly applied: Applied[] = [];
  readonly sinks: AppliedSink[] = [];
  get length(): number {
    return this.applied.length;
  }
}

/**
 * Pending commands at which a group commit starts at once instead of after the current
 * event-loop turn: with many clients in flight, half a window (the documented 1,000) is applied
 * while the other half is written and fdatasync'ed.
 */
const EARLY_FLUSH_AT = 512;

/**
 * Under fsync 'always', a batch smaller than this is fdatasync'ed on the event loop itself when
 * the disk answers within LOOP_SYNC_MAX_MS (moving average) and the journal is not the
 * bottleneck (more time has passed since the last fdatasync ended than one takes); otherwise it
 * goes through the thread pool, so the loop keeps applying commands meanwhile (back to back,
 * syncs on the loop would serialise cohorts of commands that could overlap). A small batch at
 * a moderate rate has nothing to overlap with (the loop turn that gathered it is over), and the
 * pool's round trip (a thread woken, then the loop woken by it: cross-CPU wake-ups, costly on a
 * VM) cost more than the fdatasync itself: on the 2-core development VM, server CPU per command
 * fell ~10 % at 10,000 commands/s and ~20 % saturated with one command in flight per connection
 * (bench/ws.ts, BENCHMARKS.md).
 */
const LOOP_SYNC_BELOW = 128;
const LOOP_SYNC_MAX_MS = 2;

/** Initial size of a batch buffer (grown when a batch needs more). */
const BATCH_BUFFER_BYTES = 256 * 1024;
/** Snapshot buffers (numbers) from which warmSnapshotBuffer pre-faults: 1 MB, ~14,500 resting orders, ~3 ms of faults. */
const WARM_SNAPSHOT_BUFFER_FROM = 131_072;

function newBatchBuffer(bytes: number): Buffer {
  // Not from the shared pool: byteOffset 0, so one DataView covers it.
  return Buffer.allocUnsafeSlow(bytes);
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

type State = 'open' | 'closing' | 'closed' | 'failed';

export class Sequencer {
  private readonly st: SequencerStats;

  private readonly machine: Machine;
  private readonly opts: ResolvedStoreOptions;
  private readonly log: Logger;
  private readonly clock: MicroClock;
  private readonly journalDir: string;
  private readonly sync: boolean;
  private state: State = 'open';
  private failure: Error | undefined;
  private nextSeq: number;
  private lastTime: number;
  private writer: SegmentWriter | null;
  private pending = new Batch();
  /** The batch being written right now. */
  private inflight: Batch | null = null;
  /** Journal records of `pending`, encoded back to back: fill[0, fillLen). */
  private fill: Buffer = newBatchBuffer(BATCH_BUFFER_BYTES);
  private fillDv = new DataView(this.fill.buffer, 0, this.fill.length);
  private fillLen = 0;
  /** The other batch buffer, free while no write holds it. */
  private spare: Buffer | null = newBatchBuffer(BATCH_BUFFER_BYTES);
  private readonly binary: boolean;
  /** Pending commands at which a group commit starts without waiting for the event loop. */
  private readonly flushAt = EARLY_FLUSH_AT;
  private flushing = false;
  private kickScheduled = false;
  private dirty = false;
  private syncDue = false;
  private lastSyncAt = performance.now();
  /** Moving average of fdatasync time (ms): decides whether a small batch may sync on the loop. */
  private fsyncAvgMs = 0;
  /** The current flushLoop pass fdatasync'ed on the event loop. */
  private syncedOnLoop = false;
  private syncWaiters: Waiter[] = [];
  private durableSeq: number;
  private durableWaiters: Waiter[] = [];
  private listeners: AppliedListener[] = [];
  private boot: number;
  private sessionCounter = 0;
  private readonly bumpBoot: () => number;
  private readonly release: () => Promise<void>;
  private lastSnapshotSeq: number;
  private lastSnapshotFile: string;
  private lastSnapshotAt = performance.now();
  private snapshotRunning = false;
  private warming: Promise<void> | null = null;
  private snapshotChain: Promise<unknown> = Promise.resolve();
  private readonly timers: NodeJS.Timeout[] = [];
  private closing: Promise<void> | undefined;
  private failCleanup: Promise<void> = Promise.resolve();

  constructor(init: SequencerInit) {
    this.machine = init.machine;
    this.opts = init.options;
    this.log = init.log;
    this.clock = new MicroClock(init.lastTime);
    this.journalDir = path.join(init.options.dataDir, JOURNAL_DIR);
    this.sync = init.options.fsync !== 'off';
    this.binary = init.options.recordEncoding === 'binary';
    this.nextSeq = init.lastSeq + 1;
    this.lastTime = init.lastTime;
    this.durableSeq = init.lastSeq;
    this.writer = init.writer;
    this.boot = init.boot;
    this.bumpBoot = init.bumpBoot;
    this.release = init.release;
    this.lastSnapshotSeq = init.lastSnapshotSeq;
    this.lastSnapshotFile = init.lastSnapshotFile;
    this.st = {
      commands: 0,
      appends: 0,
      batches: 0,
      appendedBytes: 0,
      fsyncs: 0,
      loopFsyncs: 0,
      appendSeconds: 0,
      fsyncSeconds: 0,
      lastAppendMs: 0,
      lastFsyncMs: 0,
      lastAppendSeconds: 0,
      lastFsyncSeconds: 0,
      lastBatch: 0,
      maxBatch: 0,
      segmentsCreated: 0,
      snapshots: 0,
      snapshotFailures: 0,
      snapshotBuffersWarmed: 0,
      lastSnapshotSeq: init.lastSnapshotSeq,
      lastSnapshotMs: 0,
      lastSnapshotStallMs: 0,
      lastSnapshotBytes: 0,
      durableSeq: init.lastSeq,
      lastSeq: init.lastSeq,
    };
    if (this.opts.fsync === 'interval') {
      this.timers.push(
        setInterval(() => {
          if (this.dirty && this.state !== 'failed') {
            this.syncDue = true;
            this.kick();
          }
        }, this.opts.fsyncIntervalMs),
      );
    }
    this.timers.push(setInterval(() => this.maybeSnapshot(), Math.max(10, Math.min(this.opts.snapshotEveryMs, 1000))));
    for (const t of this.timers) t.unref();
  }

  /** A copy of the counters (cumulative since this process opened the store). */
  stats(): SequencerStats {
    return { ...this.st, lastSeq: this.nextSeq - 1 };
  }

  /** Seq of the last command applied (durable or about to be). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /**
   * Stamps, applies and journals a command. Resolves with the Applied once it is durable and
   * has been published to every listener. Rejects without any effect if the command cannot be
   * serialised as JSON or is larger than 4 MiB; rejects if the sequencer is closed or failed.
   */
  submit(cmd: UnstampedCommand): Promise<Applied> {
    return new Promise((resolve, reject) => this.submitTo(cmd, { applied: resolve, failed: reject }));
  }

  /**
   * submit() for hot paths: the outcome goes to `sink` (ServerContext.submitTo) instead of a
   * promise. Errors before the command was taken call sink.failed at once.
   */
  submitTo(cmd: UnstampedCommand, sink: AppliedSink): void {
    if (this.state !== 'open') return sink.failed(this.closedError());
    const seq = this.nextSeq;
    const time = this.clock.next();
    // The record goes straight into the batch buffer; fillLen moves past it only once the
    // engine has taken the command (a command the engine throws on is never journaled).
    const at = this.fillLen;
    let end: number;
    let command: Command;
    const p = at + RECORD_HEADER_BYTES;
    end = this.binary ? encodeCommand(cmd, seq, time, this.fill, this.fillDv, p) : -1;
    if (end === -2) {
      this.grow(binarySize(cmd) + RECORD_HEADER_BYTES);
      end = encodeCommand(cmd, seq, time, this.fill, this.fillDv, p);
    }
    if (end >= 0) {
      // The engine gets exactly what a replay will read back: the decoded record.
      command = decodeBinary(this.fill, p, end);
    } else {
      // JSON record: anything without a binary layout (or with values it cannot hold exactly).
      // Stamps are set last so a stray seq/time on the input cannot override them; seq and time
      // come first in the JSON for readability.
      const stamped = { seq: 0, time: 0, ...cmd } as Command;
      stamped.seq = seq;
      stamped.time = time;
      let json: string;
      try {
        json = JSON.stringify(stamped);
      } catch (e) {
        return sink.failed(new Error(`command cannot be journaled: ${(e as Error).message}`));
      }
      const n = Buffer.byteLength(json);
      if (n > MAX_RECORD_BYTES) return sink.failed(new Error(`command too large to journal (${n + RECORD_HEADER_BYTES} bytes)`));
      if (at + RECORD_HEADER_BYTES + n > this.fill.length) this.grow(RECORD_HEADER_BYTES + n);
      end = at + RECORD_HEADER_BYTES + this.fill.write(json, at + RECORD_HEADER_BYTES, 'utf8');
      // The engine gets exactly what a replay will read back (JSON drops undefined, turns NaN
      // into null, -0 into 0, …), so the live state and the replayed state cannot differ.
      // A flat command of JSON-exact values already is that copy: skip the parse.
      command = isJsonExactFlat(stamped) ? stamped : (JSON.parse(json) as Command);
    }
    const fill = this.fill;
    const dv = this.fillDv;
    dv.setUint32(at, end - at - RECORD_HEADER_BYTES, true);
    dv.setUint32(at + 4, crc32c(fill, 0, at + RECORD_HEADER_BYTES, end), true);
    const events: EngineEvent[] = [];
    let result;
    try {
      result = this.machine.apply(command, events);
    } catch (e) {
      const err = new Error(`engine.apply threw on seq ${seq} (${command.type}); its state can no longer be trusted: ${(e as Error).message}`);
      this.fail(err);
      return sink.failed(err);
    }
    this.fillLen = end;
    this.nextSeq = seq + 1;
    this.lastTime = time;
    this.pending.applied.push({ seq, time, command, result, events });
    this.pending.sinks.push(sink);
    if (!this.flushing) {
      // A large batch starts its write + fdatasync at once (in the thread pool), so the commands
      // still arriving are applied while it syncs; smaller ones wait one event-loop turn for
      // company.
      if (this.pending.applied.length >= this.flushAt) void this.flushLoop();
      else if (!this.kickScheduled) this.kick();
    }
  }

  /** Makes room for `need` more bytes in the batch buffer, keeping what it holds. */
  private grow(need: number): void {
    const old = this.fill;
    const next = newBatchBuffer(Math.max(old.length * 2, this.fillLen + need));
    old.copy(next, 0, 0, this.fillLen);
    this.fill = next;
    this.fillDv = new DataView(next.buffer, 0, next.length);
  }

  /** Resolves once every command applied so far is durable (and published). */
  whenDurable(): Promise<void> {
    return this.durableThrough(this.nextSeq - 1);
  }

  /** Subscribes to every applied, durable command in seq order; returns the unsubscribe function. */
  onApplied(listener: AppliedListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** boot * 2^24 + n, n = 1, 2, …; the boot counter is persisted before it is used. */
  newSessionId(): number {
    if (this.sessionCounter >= SESSION_SPAN - 1) {
      this.boot = this.bumpBoot();
      this.sessionCounter = 0;
    }
    this.sessionCounter++;
    return this.boot * SESSION_SPAN + this.sessionCounter;
  }

  /**
   * Takes a snapshot of the current state now (after any snapshot in progress). The engine is
   * serialised synchronously; JSON text is produced and written in slices; the file becomes
   * visible only once the journal is durable through its seq. With nothing new since the last
   * snapshot, returns that one (ms 0).
   */
  snapshot(): Promise<SnapshotResult> {
    const p = this.snapshotChain.then(() => this.takeSnapshot());
    this.snapshotChain = p.catch(() => undefined);
    return p;
  }

  /**
   * Stops accepting commands, flushes the journal, takes a final snapshot, releases the directory.
   * After a failure it only releases the file and the lock (no snapshot of a suspect state).
   */
  close(): Promise<void> {
    if (this.state === 'failed') return this.failCleanup;
    if (this.closing) return this.closing;
    this.state = 'closing';
    this.closing = (async () => {
      await this.whenDurable();
      try {
        await this.snapshot();
      } catch (e) {
        // The journal is complete and durable; the next start just replays a longer tail.
        this.log.error({ err: e }, 'final snapshot failed (nothing lost: the journal is complete)');
      }
      if (this.opts.fsync === 'interval' && this.dirty) await this.requestSync();
      for (const t of this.timers) clearInterval(t);
      await this.snapshotChain;
      if (this.writer) {
        await this.writer.close();
        this.writer = null;
      }
      this.state = 'closed';
      await this.release();
      this.log.info({ seq: this.nextSeq - 1 }, 'journal closed');
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- group commit

  private kick(): void {
    if (this.flushing || this.kickScheduled) return;
    this.kickScheduled = true;
    // One turn of the event loop lets everything submitted in the meantime join the batch.
    setImmediate(() => {
      this.kickScheduled = false;
      void this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    if (this.flushing || this.state === 'failed') return;
    this.flushing = true;
    try {
      for (;;) {
        if (this.pending.length > 0) {
          const batch = this.pending;
          const buf = this.fill;
          const bytes = this.fillLen;
          this.pending = new Batch();
          const next = this.spare !== null && this.spare.length >= BATCH_BUFFER_BYTES ? this.spare : newBatchBuffer(BATCH_BUFFER_BYTES);
          this.spare = null;
          this.fill = next;
          this.fillDv = new DataView(next.buffer, 0, next.length);
          this.fillLen = 0;
          this.inflight = batch;
          await this.writeBatch(batch, buf.subarray(0, bytes));
          this.spare = buf.length <= 4 * BATCH_BUFFER_BYTES ? buf : null;
          this.inflight = null;
          this.publish(batch);
          this.maybeSnapshot();
          // After a sync on the loop, let I/O run first: commands read meanwhile join the next batch.
          if (this.syncedOnLoop) break;
          continue;
        }
        if (this.dirty && (this.syncDue || this.syncWaiters.length > 0)) {
          await this.fsyncJournal(false);
          continue;
        }
        break;
      }
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.flushing = false;
      if (this.syncedOnLoop) {
        this.syncedOnLoop = false;
        if (this.pending.length > 0) this.kick();
      }
    }
  }

  private async writeBatch(batch: Batch, buf: Buffer): Promise<void> {
    const bytes = buf.length;
    const firstSeq = batch.applied[0]!.seq;
    if (this.writer === null) {
      this.writer = await SegmentWriter.create(this.journalDir, firstSeq, this.sync);
      this.st.segmentsCreated++;
    } else if (this.writer.size > SEGMENT_HEADER_BYTES && this.writer.size + bytes > this.opts.segmentBytes) {
      if (this.sync) await this.writer.datasync();
      await this.writer.close();
      this.writer = null;
      this.writer = await SegmentWriter.create(this.journalDir, firstSeq, this.sync);
      this.st.segmentsCreated++;
      this.log.debug({ firstSeq }, 'journal segment rolled over');
    }
    const t0 = performance.now();
    this.writer.appendSync(buf);
    const t1 = performance.now();
    const st = this.st;
    st.appends++;
    st.batches++;
    st.appendedBytes += bytes;
    st.lastAppendMs = t1 - t0;
    st.lastAppendSeconds = (t1 - t0) / 1000;
    st.appendSeconds += (t1 - t0) / 1000;
    st.lastBatch = batch.length;
    if (batch.length > st.maxBatch) st.maxBatch = batch.length;
    this.dirty = this.sync;
    if (this.opts.fsync === 'always') {
      const avg = this.fsyncAvgMs;
      await this.fsyncJournal(batch.length < LOOP_SYNC_BELOW && avg < LOOP_SYNC_MAX_MS && t1 - this.lastSyncAt > avg);
    } else if (this.opts.fsync === 'interval' && t1 - this.lastSyncAt >= this.opts.fsyncIntervalMs) {
      await this.fsyncJournal(false);
    }
  }

  /** fdatasyncs the journal; `onLoop`: on the event loop (blocking it), else in the thread pool. */
  private async fsyncJournal(onLoop: boolean): Promise<void> {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    this.syncDue = false;
    this.dirty = false;
    if (this.writer) {
      const t0 = performance.now();
      if (onLoop) {
        this.writer.datasyncSync();
        this.syncedOnLoop = true;
        this.st.loopFsyncs++;
      } else {
        await this.writer.datasync();
      }
      this.lastSyncAt = performance.now();
      const d = this.lastSyncAt - t0;
      this.fsyncAvgMs += (d - this.fsyncAvgMs) / 16;
      this.st.fsyncs++;
      this.st.lastFsyncMs = d;
      this.st.lastFsyncSeconds = d / 1000;
      this.st.fsyncSeconds += d / 1000;
    }
    for (const w of waiters) w.resolve();
  }

  /** Under 'interval': resolves after an fdatasync that covers everything written so far. */
  private requestSync(): Promise<void> {
    if (!this.dirty) return Promise.resolve();
    if (this.state === 'failed') return Promise.reject(this.closedError());
    return new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ seq: 0, resolve, reject });
      this.kick();
    });
  }

  /** Gives a sink its outcome (`applied`, else `err`); a sink that throws is logged, never lets the loop fail. */
  private tell(sink: AppliedSink, applied: Applied | null, err: Error | null): void {
    try {
      if (applied !== null) sink.applied(applied);
      else sink.failed(err!);
    } catch (e) {
      this.log.error({ err: e, seq: applied?.seq }, 'submitTo sink threw');
    }
  }

  private publish(batch: Batch): void {
    const listeners = this.listeners;
    const applied = batch.applied;
    const n = applied.length;
    if (listeners.length > 0) {
      for (let i = 0; i < n; i++) {
        const a = applied[i]!;
        for (const l of listeners) {
          try {
            l(a);
          } catch (e) {
            this.log.error({ err: e, seq: a.seq }, 'onApplied listener threw');
          }
        }
      }
    }
    const last = applied[n - 1]!.seq;
    this.durableSeq = last;
    this.st.durableSeq = last;
    this.st.commands += n;
    const sinks = batch.sinks;
    for (let i = 0; i < n; i++) this.tell(sinks[i]!, applied[i]!, null);
    let i = 0;
    while (i < this.durableWaiters.length && this.durableWaiters[i]!.seq <= last) this.durableWaiters[i++]!.resolve();
    if (i > 0) this.durableWaiters.splice(0, i);
  }


  private durableThrough(seq: number): Promise<void> {
    if (this.durableSeq >= seq) return Promise.resolve();
    if (this.state === 'failed') return Promise.reject(this.closedError());
    return new Promise<void>((resolve, reject) => {
      this.durableWaiters.push({ seq, resolve, reject });
    });
  }

  private fail(err: Error): void {
    if (this.state === 'failed') return;
    this.state = 'failed';
    this.failure = err;
    this.log.fatal({ err }, 'journal failure: the in-memory state may be ahead of the disk; refusing to serve it');
    for (const t of this.timers) clearInterval(t);
    const inflight = this.inflight;
    const pending = this.pending;
    this.inflight = null;
    this.pending = new Batch();
    for (const b of [inflight, pending]) if (b) for (const sink of b.sinks) this.tell(sink, null, err);
    for (const w of this.durableWaiters) w.reject(err);
    for (const w of this.syncWaiters) w.reject(err);
    this.durableWaiters = [];
    this.syncWaiters = [];
    // Nothing is written any more: let go of the file and the directory lock (matters only when
    // onFatal does not end the process, e.g. in tests).
    const writer = this.writer;
    this.writer = null;
    this.failCleanup = (async () => {
      await writer?.close().catch(() => undefined);
      await this.release().catch(() => undefined);
    })();
    this.opts.onFatal(err);
  }

  private closedError(): Error {
    if (this.state === 'failed') return new Error(`sequencer failed: ${this.failure?.message ?? 'unknown error'}`);
    return new Error('sequencer is closed');
  }

  // ---------------------------------------------------------------- snapshots

  private maybeSnapshot(): void {
    void this.warmSnapshotBuffer(); // returns at once while one runs or none is wanted
    if (this.snapshotRunning || this.state !== 'open') return;
    const since = this.nextSeq - 1 - this.lastSnapshotSeq;
    if (since <= 0) return;
    if (since >= this.opts.snapshotEveryCommands || performance.now() - this.lastSnapshotAt >= this.opts.snapshotEveryMs) {
      this.snapshotRunning = true; // claimed now so the next batch does not start another
      this.snapshot().catch((e: unknown) => {
        this.log.error({ err: e }, 'snapshot failed (the journal is unaffected; will retry)');
      });
    }
  }

  /**
   * Makes sure the buffer the next snapshot serializes into is mapped memory, pre-faulting a new
   * one off the event loop when the book has outgrown the machine's (prefault.ts). Without it the
   * first snapshot of a process, and the first after the book outgrows the buffer's headroom,
   * takes those page faults inside serialize(): ~300 ms of stall with a million resting orders on
   * the development VM. Runs by itself after batches; resolves when the warm in progress (or the
   * one started now) is done. Small buffers are left to serialize(): their faults cost little.
   */
  warmSnapshotBuffer(): Promise<void> {
    if (this.warming !== null) return this.warming;
    const want = this.state === 'open' ? (this.machine.snapshotBufferWanted?.() ?? 0) : 0;
    if (want < WARM_SNAPSHOT_BUFFER_FROM) return Promise.resolve();
    const warming = prefaultedFloat64Array(want)
      .then((buf) => {
        if (this.machine.adoptSnapshotBuffer?.(buf) === true) this.st.snapshotBuffersWarmed++;
      })
      .catch((e: unknown) => {
        this.log.warn({ err: e }, 'pre-faulting the snapshot buffer failed (the next snapshot allocates its own)');
      })
      .finally(() => {
        this.warming = null;
      });
    this.warming = warming;
    return warming;
  }

  private async takeSnapshot(): Promise<SnapshotResult> {
    const seq = this.nextSeq - 1;
    if (this.state === 'failed') throw this.closedError();
    if (seq === this.lastSnapshotSeq) {
      this.snapshotRunning = false;
      return { seq, file: this.lastSnapshotFile, ms: 0, stallMs: 0, serializeMs: 0, maxSliceMs: 0 };
    }
    this.snapshotRunning = true;
    const t0 = performance.now();
    try {
      // Valid until the next snapshot: the snapshot chain runs them one at a time.
      const state = this.machine.serializeForSnapshot?.() ?? this.machine.serialize();
      const serializeMs = performance.now() - t0;
      const writing = writeSnapshot({
        dataDir: this.opts.dataDir,
        seq,
        time: this.lastTime,
        state,
        sync: this.sync,
        sliceMs: this.opts.snapshotSliceMs,
        beforeCommit: async () => {
          // Never let a snapshot get ahead of the durable journal.
          await this.durableThrough(seq);
          if (this.opts.fsync === 'interval') await this.requestSync();
        },
      });
      // The first blocking stretch: serialize() and writeSnapshot's synchronous start.
      const firstStretchMs = performance.now() - t0;
      const r = await writing;
      const ms = performance.now() - t0;
      const stallMs = Math.max(firstStretchMs, r.maxSliceMs);
      this.lastSnapshotSeq = seq;
      this.lastSnapshotFile = r.file;
      this.lastSnapshotAt = performance.now();
      Object.assign(this.st, { snapshots: this.st.snapshots + 1, lastSnapshotSeq: seq, lastSnapshotMs: ms, lastSnapshotStallMs: stallMs, lastSnapshotBytes: r.bytes });
      this.log.info({ seq, file: path.basename(r.file), bytes: r.bytes, ms: round(ms), stallMs: round(stallMs), serializeMs: round(serializeMs), jsonSyncMs: round(r.syncMs) }, 'snapshot written');
      try {
        await applyRetention(this.opts.dataDir, this.opts.retention, this.opts.keepSnapshots, this.sync, this.log);
      } catch (e) {
        this.log.error({ err: e }, 'retention failed (nothing lost; will retry after the next snapshot)');
      }
      return { seq, file: r.file, ms, stallMs, serializeMs, maxSliceMs: r.maxSliceMs };
    } catch (e) {
      this.st.snapshotFailures++;
      throw e;
    } finally {
      this.snapshotRunning = false;
    }
  }
}

/**
 * True if JSON.parse(JSON.stringify(o)) would be a deep copy equal to `o` in every observable
 * way: every own enumerable value is a string, a boolean, null or a finite number other than -0
 * (no undefined, nested object, NaN, Infinity, -0 or toJSON to be transformed), and `o` is a
 * plain object without symbol keys. `o` must be a fresh object nobody else holds.
 */
function isJsonExactFlat(o: object): boolean {
  if (Object.getPrototypeOf(o) !== Object.prototype || Object.getOwnPropertySymbols(o).length !== 0) return false;
  const r = o as Record<string, unknown>;
  for (const k in r) {
    const v = r[k];
    switch (typeof v) {
      case 'string':
      case 'boolean':
        break;
      case 'number':
        if (!Number.isFinite(v) || Object.is(v, -0)) return false;
        break;
      case 'object':
        if (v !== null) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
