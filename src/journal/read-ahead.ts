// Recovery's journal reading on a worker thread. Replaying a journal is read + CRC check on one
// side and decode + apply on the other; the first part was a fifth of a replay's time on one
// thread (1M records, 67 MB: ~80 ms of ~1 s). Here a worker (read-ahead-worker.ts) reads and checks the segments
// with readSegment, exactly as the in-thread path does, and sends the valid records' bytes in
// chunks; this thread decodes and applies them meanwhile.
//
// The outcome is the in-thread path's: the same visits in the same order, then the same
// SegmentScan per segment, or the same error (a CorruptionError with its file and offset, or
// the plain Error) after every record before it has been visited. An error thrown by a visitor
// stops the worker.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { CorruptionError } from './errors.js';
import type { RecordVisitor, SegmentScan } from './segment.js';

export interface SegmentToRead {
  file: string;
  rel: string;
  allowTornTail: boolean;
  firstSeq: number;
}

export interface ReadAheadHandlers {
  /** Before segment i's records (throwing stops the read). */
  start(i: number): void;
  visit: RecordVisitor;
  /** After segment i's last record: what readSegment returned for it. */
  done(i: number, scan: SegmentScan): void;
}

/** Chunks the worker may have sent and this thread not yet applied (bounds the memory in flight). */
export const READ_AHEAD_MAX_CHUNKS = 8;
/** Record bytes per chunk. */
export const READ_AHEAD_CHUNK_BYTES = 1 << 20;

/** What the worker posts. */
export type ReadAheadMessage =
  | { t: 'start'; seg: number }
  | { t: 'chunk'; seg: number; firstSeq: number; count: number; data: Uint8Array; starts: Uint32Array; ends: Uint32Array; offsets: Float64Array }
  | { t: 'done'; seg: number; scan: SegmentScan }
  | { t: 'error'; corruption?: { file: string; offset: number }; name: string; message: string; code?: string };

export interface ReadAheadWorkerData {
  segments: SegmentToRead[];
  chunkBytes: number;
  maxChunks: number;
  /** Int32 [0]: chunks posted and not yet applied; [1]: 1 when the reader should stop. */
  control: SharedArrayBuffer;
  /** Where this thread gives applied chunks' buffers back for reuse. */
  returns: MessagePort;
}

/** A chunk's buffers, given back to the worker once its records are applied. */
export interface ChunkBuffers {
  data: ArrayBuffer;
  starts: ArrayBuffer;
  ends: ArrayBuffer;
  offsets: ArrayBuffer;
}

/** Reads `segments` in order on a worker thread and visits their records here, in order. */
export function readSegmentsAhead(segments: SegmentToRead[], h: ReadAheadHandlers): Promise<void> {
  if (segments.length === 0) return Promise.resolve();
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const { port1: giveBack, port2: returns } = new MessageChannel();
  const workerData: ReadAheadWorkerData = { segments, chunkBytes: READ_AHEAD_CHUNK_BYTES, maxChunks: READ_AHEAD_MAX_CHUNKS, control, returns };
  const worker = new Worker(new URL('./read-ahead-worker.js', import.meta.url), { workerData, transferList: [returns] });
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      Atomics.store(ctl, 1, 1);
      Atomics.notify(ctl, 0);
      // The worker has posted its last message (or must stop now): nothing of it is awaited.
      void worker.terminate();
      giveBack.close();
      if (err === null) resolve();
      else reject(err);
    };
    worker.on('message', (m: ReadAheadMessage) => {
      if (settled) return;
      try {
        switch (m.t) {
          case 'start':
            h.start(m.seg);
            break;
          case 'chunk': {
            const buf = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
            const { starts, ends, offsets } = m;
            for (let i = 0; i < m.count; i++) h.visit(m.firstSeq + i, buf, starts[i]!, ends[i]!, offsets[i]!);
            const back: ChunkBuffers = { data: m.data.buffer as ArrayBuffer, starts: starts.buffer as ArrayBuffer, ends: ends.buffer as ArrayBuffer, offsets: offsets.buffer as ArrayBuffer };
            giveBack.postMessage(back, [back.data, back.starts, back.ends, back.offsets]);
            Atomics.sub(ctl, 0, 1);
            Atomics.notify(ctl, 0);
            break;
          }
          case 'done':
            h.done(m.seg, m.scan);
            if (m.seg === segments.length - 1) finish(null);
            break;
          case 'error':
            finish(rebuildError(m));
            break;
        }
      } catch (e) {
        finish(e instanceof Error ? e : new Error(String(e)));
      }
    });
    worker.on('error', (e) => finish(e));
    worker.on('exit', (code) => finish(new Error(`the journal reader thread exited (code ${code}) before the end of the journal`)));
  });
}

/** The error the worker caught, as readSegment threw it. */
function rebuildError(m: Extract<ReadAheadMessage, { t: 'error' }>): Error {
  let e: Error;
  if (m.corruption !== undefined) {
    e = new CorruptionError(m.corruption.file, m.corruption.offset, '');
    e.message = m.message;
  } else {
    e = new Error(m.message);
    e.name = m.name;
  }
  if (m.code !== undefined) (e as NodeJS.ErrnoException).code = m.code;
  return e;
}
