// Trade history, written from the applied-command feed off the matching path (by default on a
// writer thread, worker.ts, see History), and the one registry through which dialects find it.
//
// Wiring (src/server/server.ts), after recovery and before accepting traffic:
//     const history = await openHistory(dataDir, ctx, { replay: journalReplay(dataDir, log) });
//   and on shutdown, once no more commands will be applied:
//     history.close();
// Dialects call historyFor(ctx).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Applied, ServerContext } from '../server/context.js';
import { HistoryStore, RowBuffer, WRITER_CLOSED as CLOSED, WRITER_SEQ as SEQ, rowsOf } from './store.js';

export { HistoryStore, TxKind, MICROS_PER_DAY } from './store.js';
export { journalReplay } from './replay.js';
export type { UserTrade, UserTransaction, MarketTrade, ClosedOrder, RangeQuery, BalanceSnapshot } from './store.js';

export const HISTORY_FILE = 'history.sqlite';

/**
 * Every applied command with seq > afterSeq, in sequence order, as the journal replays them
 * (command, result and events). It may stop at the journal's end; the live feed covers the rest.
 */
export type HistoryReplay = (afterSeq: number) => AsyncIterable<Applied> | Iterable<Applied>;

export interface HistoryOptions {
  /** Rebuild source used when the store is missing or behind the engine. */
  replay?: HistoryReplay;
  /** Most applied commands per write transaction. Default 5,000. */
  maxBatch?: number;
  /**
   * Write the live feed from a writer thread (worker.ts) instead of this thread. Default true;
   * the store is then opened twice (this thread's connection serves queries).
   */
  writerThread?: boolean;
  /**
   * How long the live feed is gathered before it is written in one transaction (ms). Default 100
   * with the writer thread (each post wakes it), 25 without: fewer, bigger transactions cost much
   * less per command than one per event-loop turn, and readers never wait for it (they flush
   * first). 0 writes at the end of each event-loop turn.
   */
  flushIntervalMs?: number;
}

/** How long a reader (or close) waits for the writer thread before going ahead (ms). */
const WRITER_WAIT_MS = 5000;

/**
 * The live history: applied commands are queued by the onApplied listener and written in one
 * SQLite transaction every flushIntervalMs (or at the end of the event-loop turn when it is 0),
 * never inside the sequencer's callback. Queries flush the queue first, so a reader always sees
 * every command applied before it asked.
 *
 * Two ways of writing. In-process (a History built on a HistoryStore, e.g. ":memory:" in tests):
 * the transaction runs on this thread. With a writer thread (openHistory's default for a file):
 * this thread only turns each applied command into flat rows (rowsOf) and posts them every
 * flushIntervalMs; the writer thread (worker.ts) owns the writing connection and publishes the
 * store's lastSeq through shared memory. `store` stays this thread's connection for queries (WAL:
 * it sees every committed write); flushForRead posts what is queued and waits (Atomics.wait)
 * until the writer has committed it, so readers still see every command applied before they asked.
 * If the writer thread dies, writing falls back to in-process.
 */
export class History {
  readonly store: HistoryStore;
  private queue: Applied[] = [];
  private scheduled = false;
  private catchingUp = true;
  private closed = false;
  private unsubscribe: () => void = () => {};
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  // Writer-thread mode.
  private writer: Worker | undefined;
  private shared: BigInt64Array | undefined;
  private rows = new RowBuffer();
  /** Batches posted (copies) and not yet known to be committed. */
  private posted: { lastSeq: number; count: number; rows: Float64Array }[] = [];
  private postedLastSeq = 0;
  /** The writer thread reported a failed write and has not caught up since: readers do not wait. */
  private writerFailing = false;

  constructor(
    store: HistoryStore,
    private readonly ctx: Pick<ServerContext, 'log'>,
    private readonly maxBatch = 5000,
    private readonly flushIntervalMs = 0,
  ) {
    this.store = store;
  }

  /** Sequence number of the last applied command written to the store. */
  get lastSeq(): number {
    return this.shared !== undefined ? Number(Atomics.load(this.shared, SEQ)) : this.store.lastSeq;
  }

  /** Number of applied commands waiting to be written. */
  get pending(): number {
    if (this.shared === undefined) return this.queue.length;
    this.forgetCommitted();
    let n = this.rows.commands;
    for (const b of this.posted) n += b.count;
    return n;
  }

  /** @internal Subscribes to the live feed (queued until catch-up finishes). */
  attach(ctx: Pick<ServerContext, 'onApplied'>): void {
    this.unsubscribe = ctx.onApplied((a) => this.enqueue(a));
  }

  enqueue(a: Applied): void {
    if (this.closed) return;
    if (this.writer !== undefined) {
      rowsOf(a, this.rows);
      if (this.rows.commands >= this.maxBatch) this.post();
    } else {
      this.queue.push(a);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.catchingUp || this.closed || this.retryTimer !== undefined) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      if (this.writer !== undefined) this.post();
      else this.tryFlush();
    };
    if (this.flushIntervalMs > 0) setTimeout(run, this.flushIntervalMs).unref();
    else setImmediate(run);
  }

  private tryFlush(): void {
    try {
      this.flush();
      this.failures = 0;
    } catch (err) {
      // Disk full, I/O error...: keep the queue and retry with backoff; the journal stays the
      // source of truth, and a restart rebuilds whatever did not make it.
      this.failures++;
      this.ctx.log.error({ err, pending: this.queue.length }, 'history write failed');
      const delay = Math.min(30_000, 100 * 2 ** Math.min(this.failures, 9));
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.tryFlush();
      }, delay);
      this.retryTimer.unref();
    }
  }

  /** Writes everything queued now (synchronously; with a writer thread, waits until it has). Throws if the store cannot be written. */
  flush(): void {
    if (this.catchingUp || this.closed) return;
    if (this.writer !== undefined) {
      this.post();
      this.waitForWriter();
      return;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
      this.store.write(batch);
      this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
    }
  }

  /**
   * Before a read: writes what is queued so the reader sees every command applied so far. If the
   * store cannot be written, the read goes ahead on what is there (the writer keeps retrying).
   */
  flushForRead(): void {
    if (this.writer !== undefined) {
      this.post();
      this.waitForWriter();
      return;
    }
    if (this.retryTimer !== undefined) return;
    this.tryFlush();
  }

  // ------------------------------------------------------------ writer thread

  /** @internal Moves the writing of the live feed to a writer thread on `file` (after catch-up). */
  async startWriter(file: string): Promise<void> {
    if (this.closed || this.writer !== undefined) return;
    const sab = new SharedArrayBuffer(16);
    const shared = new BigInt64Array(sab);
    let w: Worker;
    try {
      w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { file, shared: sab } });
      await new Promise<void>((resolve, reject) => {
        w.once('online', () => resolve());
        w.once('error', reject);
      });
    } catch (err) {
      this.ctx.log.error({ err }, 'history writer thread could not start; writing in-process');
      return;
    }
    w.unref(); // never what keeps the process alive
    if (this.closed) {
      void w.terminate();
      return;
    }
    // Whatever arrived meanwhile is written here first; from now on the writer thread writes.
    this.flush();
    Atomics.store(shared, SEQ, BigInt(this.store.lastSeq));
    this.postedLastSeq = this.store.lastSeq;
    this.shared = shared;
    this.writer = w;
    w.on('message', (m: { error?: string; pending?: number }) => {
      if (m.error === undefined) return;
      this.writerFailing = true;
      this.ctx.log.error({ err: m.error, pending: m.pending }, 'history write failed (writer thread; will retry)');
    });
    w.on('error', (err) => this.writerLost(w, err));
    w.on('exit', (code) => this.writerLost(w, new Error(`history writer thread exited with code ${code}`)));
  }

  /** Posts the queued rows to the writer thread. */
  private post(): void {
    const r = this.rows;
    if (this.writer === undefined || r.commands === 0) return;
    // Shared memory: nothing is copied, and the batch kept here is written in-process should the
    // writer thread die before committing it.
    const batch = { lastSeq: r.lastSeq, count: r.commands, rows: r.values() };
    this.rows = new RowBuffer(Math.max(1024, r.length));
    this.posted.push(batch);
    this.postedLastSeq = batch.lastSeq;
    this.writer.postMessage({ rows: batch.rows, lastSeq: batch.lastSeq });
  }

  private forgetCommitted(): void {
    const seq = Number(Atomics.load(this.shared!, SEQ));
    let i = 0;
    while (i < this.posted.length && this.posted[i]!.lastSeq <= seq) i++;
    if (i > 0) this.posted.splice(0, i);
  }

  /** Blocks until the writer thread has committed everything posted (at most WRITER_WAIT_MS). */
  private waitForWriter(): void {
    const shared = this.shared!;
    const target = BigInt(this.postedLastSeq);
    if (this.writerFailing) {
      // Like the in-process writer while it retries: the read goes ahead on what is there.
      if (Atomics.load(shared, SEQ) >= target) this.writerFailing = false;
      this.forgetCommitted();
      return;
    }
    const deadline = performance.now() + WRITER_WAIT_MS;
    for (;;) {
      const seq = Atomics.load(shared, SEQ);
      if (seq >= target) break;
      const left = deadline - performance.now();
      if (left <= 0) {
        this.ctx.log.warn({ historySeq: Number(seq), wanted: Number(target) }, 'history writer is behind; reading what is there');
        break;
      }
      Atomics.wait(shared, SEQ, seq, left);
    }
    this.forgetCommitted();
  }

  /** The writer thread died: write what it had not committed here, and keep writing here. */
  private writerLost(w: Worker, err: unknown): void {
    if (this.writer !== w || this.closed) return;
    this.ctx.log.error({ err }, 'history writer thread lost; writing in-process from now on');
    this.forgetCommitted();
    const r = this.rows;
    const batches = [...this.posted, { lastSeq: r.lastSeq, count: r.commands, rows: r.values() }];
    this.writer = undefined;
    this.shared = undefined;
    this.posted = [];
    this.rows = new RowBuffer();
    try {
      for (const b of batches) if (b.count > 0) this.store.writeRows(b.rows, b.lastSeq);
    } catch (e) {
      this.ctx.log.error({ err: e }, 'history write failed; the journal will rebuild the missing records at the next start');
    }
    this.store.refreshLastSeq();
  }

  /** @internal Replays the journal into the store, then starts writing the live feed. */
  async catchUp(targetSeq: number, replay: HistoryReplay | undefined): Promise<void> {
    if (this.store.lastSeq > targetSeq) {
      this.ctx.log.warn(
        { historySeq: this.store.lastSeq, engineSeq: targetSeq },
        'history store is ahead of the journal; discarding it and rebuilding',
      );
      this.store.reset();
    }
    if (this.store.lastSeq < targetSeq) {
      if (replay === undefined) {
        this.ctx.log.warn(
          { historySeq: this.store.lastSeq, engineSeq: targetSeq },
          'history store is behind the engine and no journal replay was given; records before the live feed are missing',
        );
      } else {
        const from = this.store.lastSeq;
        let batch: Applied[] = [];
        for await (const a of replay(from)) {
          if (this.closed) return;
          batch.push(a);
          if (batch.length >= this.maxBatch) {
            this.store.write(batch);
            batch = [];
            await new Promise<void>((resolve) => setImmediate(resolve)); // let the server breathe
          }
        }
        this.store.write(batch);
        this.ctx.log.info({ from, to: this.store.lastSeq }, 'history rebuilt from the journal');
      }
    }
    this.catchingUp = false;
    this.flush();
  }

  /** Flushes what is queued, stops listening and closes the database. */
  close(): void {
    if (this.closed) return;
    this.unsubscribe();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.catchingUp = false;
    try {
      this.flush();
    } catch (err) {
      this.ctx.log.error({ err }, 'history write failed at close; the journal will rebuild it');
    }
    this.closed = true;
    this.queue = [];
    const w = this.writer;
    if (w !== undefined) {
      // The writer closes its connection; wait (bounded) so the file is released when close returns.
      const shared = this.shared!;
      this.writer = undefined;
      w.postMessage({ close: true });
      const deadline = performance.now() + WRITER_WAIT_MS;
      while (Atomics.load(shared, CLOSED) === 0n) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        Atomics.wait(shared, CLOSED, 0n, left);
      }
      void w.terminate();
    }
    this.store.close();
    for (const [ctx, h] of registry) if (h === this) registry.delete(ctx);
  }
}

const registry = new Map<ServerContext, History>();

/**
 * Opens <dataDir>/history.sqlite, subscribes to ctx's applied feed, catches up from `replay` when
 * the store is missing or behind the engine, and registers the history for historyFor(ctx).
 */
export async function openHistory(dataDir: string, ctx: ServerContext, options: HistoryOptions = {}): Promise<History> {
  const existing = registry.get(ctx);
  if (existing !== undefined) return existing;
  mkdirSync(dataDir, { recursive: true });
  const store = new HistoryStore(join(dataDir, HISTORY_FILE));
  const writerThread = options.writerThread ?? true;
  const history = new History(store, ctx, options.maxBatch, options.flushIntervalMs ?? (writerThread ? 100 : 25));
  history.attach(ctx); // first, so nothing applied during the catch-up is lost
  registry.set(ctx, history);
  try {
    await history.catchUp(ctx.engine.lastSeq, options.replay);
    if (writerThread) await history.startWriter(join(dataDir, HISTORY_FILE));
  } catch (err) {
    history.close();
    throw err;
  }
  return history;
}

/** The history opened for this server, if any. */
export function historyFor(ctx: ServerContext): History | undefined {
  return registry.get(ctx);
}
