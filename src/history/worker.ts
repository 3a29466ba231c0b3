// The history writer thread: owns the SQLite connection that writes the live feed, so the
// matching thread only turns applied commands into flat rows (rowsOf) and posts them here.
//
// Protocol (see History in index.ts):
//   in:  { rows, lastSeq }   one batch of rows for commands up to lastSeq, in sequence order
//        { close: true }     write nothing more, close the database, then say so
//   out: shared[SEQ] = the store's lastSeq after every committed batch (Atomics.notify on it), so
//        the matching thread can wait synchronously for a reader; { written: lastSeq } messages;
//        { error } when a write failed (the batch is kept and retried with backoff);
//        shared[CLOSED] = 1 once the database is closed.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { HistoryStore, WRITER_CLOSED as CLOSED, WRITER_SEQ as SEQ } from './store.js';

interface Batch {
  rows: Float64Array;
  lastSeq: number;
}

export interface WriterData {
  file: string;
  shared: SharedArrayBuffer;
}

/**
 * Gives this thread the lowest CPU priority (nice 19): history is background work, and on a
 * machine with few cores its SQLite batches (every 100 ms) competed with the matching thread.
 * Linux only: setpriority() on a thread id renices that thread alone, and /proc/thread-self
 * names it (Node exposes no thread id). Elsewhere, or if refused, the thread keeps its priority.
 * bench/ws.ts at 10,000 commands/s: p99 8.4-11.2 ms against 9.5-12.2 ms without, in 3 pairs.
 */
function lowerPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // Not Linux, or not allowed: nothing to do.
  }
}

function run(): void {
  lowerPriority();
  const port = parentPort;
  if (port === null || !(workerData as Partial<WriterData> | null)?.shared) return;
  const { file, shared } = workerData as WriterData;
  const state = new BigInt64Array(shared);
  const store = new HistoryStore(file);
  Atomics.store(state, SEQ, BigInt(store.lastSeq));
  const queue: Batch[] = [];
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  let closing = false;

  const drain = (): void => {
    retry = undefined;
    try {
      while (queue.length > 0) {
        const b = queue[0]!;
        store.writeRows(b.rows, b.lastSeq);
        queue.shift();
        Atomics.store(state, SEQ, BigInt(store.lastSeq));
        Atomics.notify(state, SEQ);
      }
      failures = 0;
    } catch (err) {
      // Disk full, I/O error...: keep the batches and retry with backoff; the journal stays the
      // source of truth, and a restart rebuilds whatever did not make it.
      failures++;
      port.postMessage({ error: String((err as Error).stack ?? err), pending: queue.length });
      if (!closing) retry = setTimeout(drain, Math.min(30_000, 100 * 2 ** Math.min(failures, 9)));
    }
  };

  port.on('message', (m: Batch | { close: true }) => {
    if ('close' in m) {
      closing = true;
      if (retry !== undefined) clearTimeout(retry);
      drain();
      store.close();
      Atomics.store(state, CLOSED, 1n);
      Atomics.notify(state, CLOSED);
      port.close();
      return;
    }
    queue.push(m);
    if (retry === undefined) drain();
  });
}

run();
