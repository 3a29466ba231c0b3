// Trade history, written from the applied-command feed off the matching path, and the one
// registry through which dialects find it.
//
// Wiring (src/server/server.ts), after recovery and before accepting traffic:
//     const history = await openHistory(dataDir, ctx, { replay: journalReplay(dataDir, log) });
//   and on shutdown, once no more commands will be applied:
//     history.close();
// Dialects call historyFor(ctx).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Applied, ServerContext } from '../server/context.js';
import { HistoryStore } from './store.js';

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
}

/**
 * The live history: applied commands are queued by the onApplied listener and written in one
 * SQLite transaction per event-loop turn (setImmediate), never inside the sequencer's callback.
 * Queries flush the queue first, so a reader always sees every command applied before it asked.
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

  constructor(
    store: HistoryStore,
    private readonly ctx: Pick<ServerContext, 'log'>,
    private readonly maxBatch = 5000,
  ) {
    this.store = store;
  }

  /** Sequence number of the last applied command written to the store. */
  get lastSeq(): number {
    return this.store.lastSeq;
  }

  /** Number of applied commands waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  /** @internal Subscribes to the live feed (queued until catch-up finishes). */
  attach(ctx: Pick<ServerContext, 'onApplied'>): void {
    this.unsubscribe = ctx.onApplied((a) => this.enqueue(a));
  }

  enqueue(a: Applied): void {
    if (this.closed) return;
    this.queue.push(a);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.catchingUp || this.closed || this.retryTimer !== undefined) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.tryFlush();
    });
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

  /** Writes everything queued now (synchronously). Throws if the store cannot be written. */
  flush(): void {
    if (this.catchingUp || this.closed) return;
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
    if (this.retryTimer !== undefined) return;
    this.tryFlush();
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
  const history = new History(store, ctx, options.maxBatch);
  history.attach(ctx); // first, so nothing applied during the catch-up is lost
  registry.set(ctx, history);
  try {
    await history.catchUp(ctx.engine.lastSeq, options.replay);
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
