// Memory whose pages are already mapped, for buffers whose first use must not stall the event
// loop. A fresh typed array is zero pages the kernel maps on first touch, and on the development
// VM each 4 KB page fault costs ~11 µs: first-touching 72 MB took ~200 ms, filling it again 3 ms.
//
// Written by hand because Node has no madvise/MAP_POPULATE. crypto.randomFill is the thread-pool
// call that writes into a caller's buffer without a file, so the faults are taken on a libuv
// thread. (fs.read from /dev/zero into the buffer left about half the pages to fault again on
// first touch; a worker thread would need a SharedArrayBuffer.) The contents are garbage: the
// caller overwrites them.
import { randomFill } from 'node:crypto';

/** Bytes per randomFill call: small enough that the pool's other work (fsyncs) is not queued long behind it. */
const CHUNK_BYTES = 8 << 20;

/** A Float64Array of `length` numbers (garbage) whose memory has been touched off the event loop. */
export async function prefaultedFloat64Array(length: number): Promise<Float64Array> {
  const buf = new Float64Array(length);
  const bytes = new Uint8Array(buf.buffer);
  for (let off = 0; off < bytes.length; off += CHUNK_BYTES) {
    const n = Math.min(CHUNK_BYTES, bytes.length - off);
    await new Promise<void>((resolve, reject) => randomFill(bytes, off, n, (err) => (err ? reject(err) : resolve())));
  }
  return buf;
}
