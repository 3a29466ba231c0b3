// Reading and appending journal segments (format in format.ts).
import { fdatasync, promises as fsp, writeSync } from 'node:fs';
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

/**
 * Walks a segment held in memory. `allowTornTail` is true only for the newest segment: there a
 * damaged final record (short header, short payload, bad CRC of a record that ends exactly at the
 * end of the file, or a zero-filled remainder) is what a crash in the middle of an append leaves,
 * and it is reported as `torn` instead of thrown - but only if no valid record follows it
 * anywhere (a corrupted length field must not pass for a torn write and swallow good records).
 * Any other damage throws CorruptionError.
 */
export function scanSegment(buf: Buffer, rel: string, allowTornTail: boolean, expectFirstSeq?: number, visit?: RecordVisitor): SegmentScan {
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
  const firstSeq = h.firstSeq;
  const version = h.version;
  if (expectFirstSeq !== undefined && firstSeq !== expectFirstSeq) {
    throw new CorruptionError(rel, 16, `header says the first seq is ${firstSeq}, the file name says ${expectFirstSeq}`);
  }
  let count = 0;
  let o = SEGMENT_HEADER_BYTES;
  const len = buf.length;
  while (o < len) {
    let damage: string | undefined;
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
        if (crc32c(buf, 0, start, end) !== buf.readUInt32LE(o + 4)) {
          damage = `record CRC mismatch (seq ${firstSeq + count})`;
          tornCandidate = end === len;
        } else {
          if (visit) visit(firstSeq + count, buf, start, end, o);
          count++;
          o = end;
          continue;
        }
      }
    }
    if (tornCandidate && allowTornTail) {
      let p = o + 1;
      while (p < len && !validRecordAt(buf, p)) p++;
      if (p >= len) {
        return { firstSeq, version, count, validEnd: o, torn: { offset: o, bytes: len - o, reason: damage, wholeFile: false } };
      }
      damage += `; a valid record follows at byte offset ${p}, so this is not a torn tail`;
    }
    throw new CorruptionError(rel, o, damage);
  }
  return { firstSeq, version, count, validEnd: o };
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

  close(): Promise<void> {
    return this.fh.close();
  }
}
