// The worker of read-ahead.ts: readSegment over each segment, its valid records copied into
// chunks that are transferred (not copied again) to the recovering thread.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { CorruptionError } from './errors.js';
import type { ChunkBuffers, ReadAheadMessage, ReadAheadWorkerData } from './read-ahead.js';
import { RECORD_HEADER_BYTES } from './format.js';
import { readSegment, SegmentReadBuffer } from './segment.js';

const { segments, chunkBytes, maxChunks, control, returns } = workerData as ReadAheadWorkerData;
const ctl = new Int32Array(control);
const port = parentPort!;

class Chunk {
  data: Uint8Array<ArrayBuffer>;
  starts: Uint32Array<ArrayBuffer>;
  ends: Uint32Array<ArrayBuffer>;
  offsets: Float64Array<ArrayBuffer>;
  count = 0;
  used = 0;
  firstSeq = 0;
  constructor(bytes: number, back?: ChunkBuffers) {
    // Room for records of 16 bytes on average (a journal's are 40 to 70); a chunk is sent when
    // either its bytes or its record slots run out.
    const most = Math.max(1, bytes >>> 4);
    this.data = back ? new Uint8Array(back.data) : new Uint8Array(bytes);
    this.starts = back ? new Uint32Array(back.starts) : new Uint32Array(most);
    this.ends = back ? new Uint32Array(back.ends) : new Uint32Array(most);
    this.offsets = back ? new Float64Array(back.offsets) : new Float64Array(most);
  }
}

/**
 * A chunk of chunkBytes: one the recovering thread has given back if there is one, else a new
 * one. Reusing them keeps the memory in flight fixed: fresh buffers for every megabyte read
 * counted as external memory on the recovering thread and brought on its full GCs.
 */
function chunk(bytes: number): Chunk {
  if (bytes === chunkBytes) {
    const back = receiveMessageOnPort(returns) as { message: ChunkBuffers } | undefined;
    if (back !== undefined) return new Chunk(bytes, back.message);
  }
  return new Chunk(bytes);
}

function stopped(): boolean {
  return Atomics.load(ctl, 1) !== 0;
}

/** Posts a chunk once fewer than maxChunks are waiting to be applied. */
function send(seg: number, c: Chunk): void {
  for (;;) {
    if (stopped()) return;
    const waiting = Atomics.load(ctl, 0);
    if (waiting < maxChunks) break;
    Atomics.wait(ctl, 0, waiting, 1000);
  }
  Atomics.add(ctl, 0, 1);
  const m: ReadAheadMessage = { t: 'chunk', seg, firstSeq: c.firstSeq, count: c.count, data: c.data.subarray(0, c.used), starts: c.starts, ends: c.ends, offsets: c.offsets };
  port.postMessage(m, [c.data.buffer, c.starts.buffer, c.ends.buffer, c.offsets.buffer]);
}

async function run(): Promise<void> {
  const rb = new SegmentReadBuffer();
  for (let i = 0; i < segments.length && !stopped(); i++) {
    const s = segments[i]!;
    port.postMessage({ t: 'start', seg: i } satisfies ReadAheadMessage);
    let c = chunk(chunkBytes);
    // Each step's records are copied a contiguous run at a time (headers included), as many as
    // fit in the chunk; a record larger than a chunk gets a chunk of its own size.
    const scan = await readSegment(s.file, s.rel, s.allowTornTail, s.firstSeq, undefined, rb, (firstSeq, buf, starts, ends, n, bufStart) => {
      let k = 0;
      while (k < n) {
        const from = starts[k]! - RECORD_HEADER_BYTES;
        let j = k;
        while (j < n && c.count + (j - k) < c.starts.length && c.used + (ends[j]! - from) <= c.data.length) j++;
        if (j === k) {
          if (c.count > 0) {
            send(i, c);
            c = chunk(chunkBytes);
          }
          const need = ends[k]! - from;
          if (need > c.data.length) c = chunk(need);
          continue;
        }
        if (c.count === 0) c.firstSeq = firstSeq + k;
        const shift = c.used - from;
        c.data.set(buf.subarray(from, ends[j - 1]!), c.used);
        for (let r = k; r < j; r++) {
          const q = c.count++;
          c.starts[q] = starts[r]! + shift;
          c.ends[q] = ends[r]! + shift;
          c.offsets[q] = bufStart + starts[r]! - RECORD_HEADER_BYTES;
        }
        c.used += ends[j - 1]! - from;
        k = j;
      }
    });
    if (c.count > 0) send(i, c);
    port.postMessage({ t: 'done', seg: i, scan } satisfies ReadAheadMessage);
  }
}

run().catch((e: unknown) => {
  const err = e instanceof Error ? e : new Error(String(e));
  const m: ReadAheadMessage = {
    t: 'error',
    name: err.name,
    message: err.message,
    ...(err instanceof CorruptionError ? { corruption: { file: err.file, offset: err.offset } } : {}),
    ...(typeof (err as NodeJS.ErrnoException).code === 'string' ? { code: (err as NodeJS.ErrnoException).code } : {}),
  };
  port.postMessage(m);
});
