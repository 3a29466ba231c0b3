// Reading and appending journal segments (format in format.ts).
import { closeSync, fdatasync, fdatasyncSync, fstatSync, openSync, promises as fsp, readSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { crc32c } from './crc32c.js';
import {
  ARCHIVE_DIR,
  JOURNAL_DIR,
  MAX_RECORD_BYTES,
  RECORD_HEADER_BYTES,
  SEGMENT_EXT,
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  decodeSegmentHeader,
  encodeSegmentHeader,
  parseSeqName,
  seqName,
} from './format.js';
import { CorruptionError } from './errors.js';
import { fsyncDir, listDir, writeAll } from './fsutil.js';
import { plausiblePayload } from './record.js';

export interface SegmentInfo {
  /** Seq of the first record, from the file name. */
  firstSeq: number;
  file: string;
  /** Path relative to the data directory, for messages. */
  rel: string;
  archived: boolean;
}

/** Segments in journal/archive/ and journal/, ordered by first seq. */
export async function listSegments(dataDir: string): Promise<SegmentInfo[]> {
  const out: SegmentInfo[] = [];
  const seen = new Map<number, string>();
  for (const archived of [true, false]) {
    const relDir = archived ? path.join(JOURNAL_DIR, ARCHIVE_DIR) : JOURNAL_DIR;
    for (const name of await listDir(path.join(dataDir, relDir))) {
      const firstSeq = parseSeqName(name, SEGMENT_EXT);
      if (firstSeq === undefined) continue;
      const rel = path.join(relDir, name);
      const dup = seen.get(firstSeq);
      if (dup !== undefined) throw new Error(`journal segment for seq ${firstSeq} exists twice: ${dup} and ${rel}`);
      seen.set(firstSeq, rel);
      out.push({ firstSeq, file: path.join(dataDir, rel), rel, archived });
    }
  }
  out.sort((a, b) => a.firstSeq - b.firstSeq);
  return out;
}

export interface TornTail {
  /** Byte offset where the damaged tail begins (the file is cut here). */
  offset: number;
  /** Bytes from offset to the end of the file. */
  bytes: number;
  reason: string;
  /** The segment header itself is incomplete: the whole file is the torn part. */
  wholeFile: boolean;
}

export interface SegmentScan {
  firstSeq: number;
  /** Format version from the segment header (0 for a torn, header-less file). */
  version: number;
  /** Number of valid records. */
  count: number;
  /** End of the last valid record. */
  validEnd: number;
  torn?: TornTail;
}

/**
 * Called for every valid record: its seq (firstSeq + index), the payload as [start, end) of the
 * buffer, and the record's byte offset. The payload is binary or JSON (format version 2, see
 * record.ts): read it with decodeCommand(buf, start, end), never JSON.parse.
 */
export type RecordVisitor = (seq: number, buf: Buffer, start: number, end: number, offset: number) => void;

/** Is there a record at `p` whose length, shape and CRC check out? */
function validRecordAt(buf: Buffer, p: number): boolean {
  if (p + RECORD_HEADER_BYTES > buf.length) return false;
  const n = buf.readUInt32LE(p);
  if (n < 2 || n > MAX_RECORD_BYTES) return false;
  const start = p + RECORD_HEADER_BYTES;
  const end = start + n;
  if (end > buf.length || !plausiblePayload(buf, start, end)) return false;
  return crc32c(buf, 0, start, end) === buf.readUInt32LE(p + 4);
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Records validated per step of scanSegment before their visits (keeps the CRC tables and the bytes in cache). */
export const SCAN_CHUNK_RECORDS = 2048;

/**
 * Validates the records of a segment buffer from byte offset `o` on: at most `max` of them,
 * stopping at the end of `len` bytes or at the first record whose length, bounds or CRC is off.
 * Writes each valid record's payload bounds to starts[i], ends[i] and returns how many it found;
 * the walk stopped at ends[n - 1] (or `o` if n = 0). What is wrong at the stopping point (if it
 * is not `len`) is for the caller to diagnose (diagnoseAt).
 */
export function scanRecords(buf: Uint8Array, o: number, len: number, max: number, starts: Uint32Array, ends: Uint32Array): number {
  let n = 0;
  while (n < max && len - o >= RECORD_HEADER_BYTES) {
    const size = (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0;
    if (size === 0 || size > MAX_RECORD_BYTES || size > len - o - RECORD_HEADER_BYTES) break;
    const start = o + RECORD_HEADER_BYTES;
    const end = start + size;
    const crc = (buf[o + 4]! | (buf[o + 5]! << 8) | (buf[o + 6]! << 16) | (buf[o + 7]! << 24)) >>> 0;
    if (crc32c(buf, 0, start, end) !== crc) break;
    starts[n] = start;
    ends[n] = end;
    n++;
    o = end;
  }
  return n;
}

/**
 * The verdict on the record at byte offset `o` of a segment, where scanRecords stopped before
 * the end: a torn tail (returned, only if `allowTornTail`) or a CorruptionError (thrown).
 * `seq` is the seq the record would have.
 */
export function diagnoseAt(buf: Buffer, rel: string, o: number, seq: number, allowTornTail: boolean): TornTail {
  const len = buf.length;
  let damage: string;
  let tornCandidate = false;
  const remaining = len - o;
  if (remaining < RECORD_HEADER_BYTES) {
    damage = `short record header (${remaining} of ${RECORD_HEADER_BYTES} bytes)`;
    tornCandidate = true;
  } else {
    const n = buf.readUInt32LE(o);
    if (n === 0 || n > MAX_RECORD_BYTES) {
      if (allZero(buf, o)) {
        damage = `zero-filled tail (${remaining} bytes)`;
        tornCandidate = true;
      } else {
        damage = `bad record length ${n}`;
      }
    } else if (n > remaining - RECORD_HEADER_BYTES) {
      damage = `short record payload (${remaining - RECORD_HEADER_BYTES} of ${n} bytes)`;
      tornCandidate = true;
    } else {
      const start = o + RECORD_HEADER_BYTES;
      const end = start + n;
      if (crc32c(buf, 0, start, end) === buf.readUInt32LE(o + 4)) throw new Error(`${rel}: internal error: the record at byte offset ${o} is valid`);
      damage = `record CRC mismatch (seq ${seq})`;
      tornCandidate = end === len;
    }
  }
  if (tornCandidate && allowTornTail) {
    let p = o + 1;
    while (p < len && !validRecordAt(buf, p)) p++;
    if (p >= len) return { offset: o, bytes: len - o, reason: damage, wholeFile: false };
    damage += `; a valid record follows at byte offset ${p}, so this is not a torn tail`;
  }
  throw new CorruptionError(rel, o, damage);
}

/**
 * Checks a segment's header (and that its first seq is `expectFirstSeq`, if given). Returns the
 * header, or - for a newest segment (`allowTornTail`) whose header a crash left incomplete - the
 * torn scan result. Throws CorruptionError otherwise.
 */
export function checkSegmentHeader(buf: Buffer, rel: string, allowTornTail: boolean, expectFirstSeq?: number): { firstSeq: number; version: number } | SegmentScan {
  if (buf.length < SEGMENT_HEADER_BYTES && allowTornTail) {
    // A crash while the segment was being created (its header is written before any record):
    // what exists must be a prefix of a header (or zeros).
    const m = Math.min(SEGMENT_MAGIC.length, buf.length);
    if (buf.toString('latin1', 0, m) === SEGMENT_MAGIC.slice(0, m) || allZero(buf, 0)) {
      return { firstSeq: 0, version: 0, count: 0, validEnd: 0, torn: { offset: 0, bytes: buf.length, reason: 'incomplete segment header', wholeFile: true } };
    }
  }
  const h = decodeSegmentHeader(buf);
  if ('error' in h) throw new CorruptionError(rel, h.offset, h.error);
  if (expectFirstSeq !== undefined && h.firstSeq !== expectFirstSeq) {
    throw new CorruptionError(rel, 16, `header says the first seq is ${h.firstSeq}, the file name says ${expectFirstSeq}`);
  }
  return h;
}

/**
 * Walks a segment held in memory. `allowTornTail` is true only for the newest segment: there a
 * damaged final record (short header, short payload, bad CRC of a record that ends exactly at the
 * end of the file, or a zero-filled remainder) is what a crash in the middle of an append leaves,
 * and it is reported as `torn` instead of thrown - but only if no valid record follows it
 * anywhere (a corrupted length field must not pass for a torn write and swallow good records).
 * Any other damage throws CorruptionError.
 *
 * Records are CRC-checked in steps of SCAN_CHUNK_RECORDS and then visited in order; damage is
 * reported (thrown or returned) only after every valid record before it has been visited, so a
 * visitor sees exactly what a record-by-record walk would show it, and an error the visitor
 * throws for an earlier record comes first.
 */
export function scanSegment(buf: Buffer, rel: string, allowTornTail: boolean, expectFirstSeq?: number, visit?: RecordVisitor): SegmentScan {
  const h = checkSegmentHeader(buf, rel, allowTornTail, expectFirstSeq);
  if ('count' in h) return h;
  const firstSeq = h.firstSeq;
  const version = h.version;
  let count = 0;
  let o = SEGMENT_HEADER_BYTES;
  const len = buf.length;
  const starts = new Uint32Array(SCAN_CHUNK_RECORDS);
  const ends = new Uint32Array(SCAN_CHUNK_RECORDS);
  while (o < len) {
    const n = scanRecords(buf, o, len, SCAN_CHUNK_RECORDS, starts, ends);
    if (visit) {
      for (let i = 0; i < n; i++) {
        const s = starts[i]!;
        visit(firstSeq + count, buf, s, ends[i]!, s - RECORD_HEADER_BYTES);
        count++;
      }
    } else count += n;
    if (n > 0) o = ends[n - 1]!;
    if (n < SCAN_CHUNK_RECORDS && o < len) {
      const torn = diagnoseAt(buf, rel, o, firstSeq + count, allowTornTail);
      return { firstSeq, version, count, validEnd: o, torn };
    }
  }
  return { firstSeq, version, count, validEnd: o };
}

/**
 * A reusable read buffer for readSegment: segments are read through it piecewise instead of
 * into one freshly allocated buffer per file (touching tens of MiB of new memory costs more
 * than reading them), and it stays warm from one segment to the next.
 */
export class SegmentReadBuffer {
  buf: Buffer;
  readonly starts = new Uint32Array(SCAN_CHUNK_RECORDS);
  readonly ends = new Uint32Array(SCAN_CHUNK_RECORDS);
  constructor(readonly pieceBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafeSlow(2 * pieceBytes);
  }
  /** Makes room for `bytes` bytes, keeping the first `keep`. */
  ensure(bytes: number, keep: number): void {
    if (bytes <= this.buf.length) return;
    const b = Buffer.allocUnsafeSlow(Math.max(bytes, 2 * this.buf.length));
    this.buf.copy(b, 0, 0, keep);
    this.buf = b;
  }
}

function readFully(fd: number, buf: Buffer, at: number, bytes: number, pos: number): number {
  let got = 0;
  while (got < bytes) {
    const r = readSync(fd, buf, at + got, bytes - got, pos + got);
    if (r === 0) break;
    got += r;
  }
  return got;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * scanSegment for a segment file, read piecewise through `rb` (same checks, same visits, same
 * result and errors). The visitor's `buf` is only valid during the call: the bytes are
 * overwritten by the next piece. `offset` is the record's byte offset in the file.
 * Damage is diagnosed on the whole file (read again, the rare path), exactly as scanSegment does.
 * The event loop gets a turn before every further piece (a server answers /healthz during its
 * recovery, and a verify run from the admin API does not stall it for a whole segment).
 */
export async function readSegment(file: string, rel: string, allowTornTail: boolean, expectFirstSeq: number | undefined, visit: RecordVisitor | undefined, rb: SegmentReadBuffer): Promise<SegmentScan> {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const piece = rb.pieceBytes;
    let buf = rb.buf;
    const { starts, ends } = rb;
    let filled = readFully(fd, buf, 0, Math.min(size, buf.length), 0);
    if (filled < Math.min(size, SEGMENT_HEADER_BYTES)) throw new Error(`${rel}: file shrank while being read`);
    const h = checkSegmentHeader(filled < SEGMENT_HEADER_BYTES ? buf.subarray(0, filled) : buf, rel, allowTornTail, expectFirstSeq);
    if ('count' in h) return h;
    const { firstSeq, version } = h;
    let bufStart = 0; // file offset of buf[0]
    let o = SEGMENT_HEADER_BYTES;
    let count = 0;
    const damaged = (at: number): SegmentScan => {
      // The rare path: judge the damage on the whole file, as scanSegment does.
      const whole = bufStart === 0 && filled === size ? buf.subarray(0, size) : readWhole(fd, size);
      const torn = diagnoseAt(whole, rel, at, firstSeq + count, allowTornTail);
      return { firstSeq, version, count, validEnd: at, torn };
    };
    for (;;) {
      const n = scanRecords(buf, o, filled, SCAN_CHUNK_RECORDS, starts, ends);
      if (visit) {
        for (let i = 0; i < n; i++) {
          const st = starts[i]!;
          visit(firstSeq + count, buf, st, ends[i]!, bufStart + st - RECORD_HEADER_BYTES);
          count++;
        }
      } else count += n;
      if (n > 0) o = ends[n - 1]!;
      if (n === SCAN_CHUNK_RECORDS) continue;
      if (bufStart + filled >= size) {
        if (o === filled) return { firstSeq, version, count, validEnd: bufStart + o };
        return damaged(bufStart + o);
      }
      // Stopped before the end of what is buffered: a record cut by the end of the piece (read
      // on), or damage.
      const avail = filled - o;
      let need = RECORD_HEADER_BYTES;
      if (avail >= RECORD_HEADER_BYTES) {
        const len = (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0;
        if (len === 0 || len > MAX_RECORD_BYTES || RECORD_HEADER_BYTES + len <= avail) return damaged(bufStart + o);
        need = RECORD_HEADER_BYTES + len;
      }
      await yieldToEventLoop();
      // Keep the partial record, move it to the front and read the next piece behind it.
      buf.copy(buf, 0, o, filled);
      bufStart += o;
      filled = avail;
      o = 0;
      rb.ensure(Math.max(need, avail) + piece, avail);
      buf = rb.buf;
      const want = Math.min(buf.length - filled, size - bufStart - filled);
      const got = readFully(fd, buf, filled, want, bufStart + filled);
      if (got !== want) throw new Error(`${rel}: file shrank while being read`);
      filled += got;
    }
  } finally {
    closeSync(fd);
  }
}

function readWhole(fd: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  if (readFully(fd, b, 0, size, 0) !== size) throw new Error('file shrank while being read');
  return b;
}

/** The append side of the newest segment. */
export class SegmentWriter {
  private constructor(
    private readonly fh: fsp.FileHandle,
    readonly firstSeq: number,
    readonly file: string,
    public size: number,
  ) {}

  /** Creates a new segment file with its header; durable (file + directory) if `sync`. */
  static async create(journalDir: string, firstSeq: number, sync: boolean): Promise<SegmentWriter> {
    const file = path.join(journalDir, seqName(firstSeq, SEGMENT_EXT));
    const fh = await fsp.open(file, 'wx');
    try {
      const header = encodeSegmentHeader(firstSeq);
      await writeAll(fh, header);
      if (sync) {
        await fh.datasync();
        await fsyncDir(journalDir);
      }
      return new SegmentWriter(fh, firstSeq, file, header.length);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  }

  /** Opens an existing, already validated segment for appending at `size`. */
  static async openAppend(file: string, firstSeq: number, size: number): Promise<SegmentWriter> {
    const fh = await fsp.open(file, 'a');
    const st = await fh.stat();
    if (st.size !== size) {
      await fh.close();
      throw new Error(`${file}: size ${st.size} differs from the validated ${size}`);
    }
    return new SegmentWriter(fh, firstSeq, file, size);
  }

  async append(buf: Uint8Array): Promise<void> {
    await writeAll(this.fh, buf);
    this.size += buf.length;
  }

  /**
   * Appends on the calling thread. Copying a batch into the page cache takes microseconds, less
   * than a thread-pool round trip; durability comes from the asynchronous datasync() after it.
   */
  appendSync(buf: Uint8Array): void {
    const fd = this.fh.fd;
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    this.size += buf.length;
  }

  /** fdatasync through the callback API: one thread-pool round trip, without FileHandle's promise layers. */
  datasync(): Promise<void> {
    return new Promise((resolve, reject) => fdatasync(this.fh.fd, (e) => (e ? reject(e) : resolve())));
  }

  /** fdatasync on the calling thread (see the sequencer's LOOP_SYNC_BELOW for when). */
  datasyncSync(): void {
    fdatasyncSync(this.fh.fd);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
