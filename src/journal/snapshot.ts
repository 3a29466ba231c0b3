// Snapshots: the whole engine state at one seq, so recovery replays only the journal tail.
//
// File snapshots/<seq:20>.snap (format version 2, integers little-endian):
//   header, 16 bytes: magic "OFLRSNAP", u32 format version (2), u32 flags (0)
//   records [u32 payload length, u32 CRC-32C of the payload, payload], payload = kind byte + data:
//     'M' meta   JSON {"format":"openfloor-snapshot","version":2,"seq":…,"time":…,"createdAt":…}
//     'B' body   a piece of the JSON text of engine.serialize() (≤ ~1 MiB each, in order), in
//                which the k-th Float64Array (in text order) is written {"$f64":k,"n":length}
//     'F' floats u32 k, u32 element count, then that many float64 (little-endian): the next
//                elements of Float64Array k (≤ 1 MiB each; arrays in order, each from its start)
//     'E' end    JSON {"seq":…,"bodyBytes":…,"chunks":…,"floatBytes":…,"floatChunks":…,
//                "sha256":"<hex of the body records' data, then the float records' data>"}
// Version 1 (still read) has no 'F' records: typed arrays are JSON arrays of their numbers, and
// the end record has no float fields. The engine's resting orders are one Float64Array per
// market: as text they took most of a snapshot's bytes and JSON.parse most of a restart; as
// floats they are copied. Per-record CRCs locate damage to a record (file + byte offset); the
// SHA-256 covers the data as a whole. A snapshot is written to a temp file, fsynced, renamed
// into place and the directory fsynced, so a visible .snap file is always complete.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { crc32c } from './crc32c.js';
import { CorruptionError } from './errors.js';
import { SNAPSHOT_DIR, SNAPSHOT_EXT, parseSeqName, seqName } from './format.js';
import { fsyncDir, listDir, writeAll } from './fsutil.js';
import { jsonPieces } from './json-stream.js';

export const SNAPSHOT_MAGIC = 'OFLRSNAP';
/** Written; version 1 is read too. */
export const SNAPSHOT_FORMAT_VERSION = 2;
const HEADER_BYTES = 16;
const MAX_SNAPSHOT_RECORD = 64 * 1024 * 1024;
const KIND_META = 0x4d; // 'M'
const KIND_BODY = 0x42; // 'B'
const KIND_END = 0x45; // 'E'
const KIND_FLOATS = 0x46; // 'F'
/** Float64 elements per 'F' record (1 MiB of data). */
const FLOATS_PER_RECORD = 131072;
/** The marker key of a Float64Array written as 'F' records. */
const F64_KEY = '$f64';
/** Largest Float64Array a marker may announce (8 GiB of numbers): a damaged length must not allocate without bound. */
const MAX_FLOATS = 2 ** 30;
// Float64Arrays are written and read in the platform's byte order, which the format fixes as
// little-endian (every platform Node runs on).
if (os.endianness() !== 'LE') throw new Error('openfloor snapshots need a little-endian platform');

export interface SnapshotMeta {
  format: 'openfloor-snapshot';
  version: number;
  seq: number;
  /** Micro-timestamp of the last command included. */
  time: number;
  createdAt: string;
}

export interface SnapshotFile {
  seq: number;
  file: string;
  /** Relative to the data directory. */
  rel: string;
}

/** Snapshots in snapshots/, ascending by seq, and leftover temp files of interrupted writes. */
export async function listSnapshots(dataDir: string): Promise<{ snapshots: SnapshotFile[]; temps: string[] }> {
  const dir = path.join(dataDir, SNAPSHOT_DIR);
  const snapshots: SnapshotFile[] = [];
  const temps: string[] = [];
  for (const name of await listDir(dir)) {
    const seq = parseSeqName(name, SNAPSHOT_EXT);
    if (seq !== undefined) snapshots.push({ seq, file: path.join(dir, name), rel: path.join(SNAPSHOT_DIR, name) });
    else if (name.includes(`${SNAPSHOT_EXT}.tmp`)) temps.push(path.join(dir, name));
  }
  snapshots.sort((a, b) => a.seq - b.seq);
  return { snapshots, temps };
}

function record(kind: number, data: string): Buffer {
  const n = Buffer.byteLength(data);
  const b = Buffer.allocUnsafe(9 + n);
  b[8] = kind;
  b.write(data, 9, 'utf8');
  b.writeUInt32LE(n + 1, 0);
  b.writeUInt32LE(crc32c(b, 0, 8, 9 + n), 4);
  return b;
}

/** An 'F' record: elements [from, from + count) of Float64Array k. */
function floatsRecord(k: number, a: Float64Array, from: number, count: number): Buffer {
  const n = 1 + 8 + count * 8;
  const b = Buffer.allocUnsafe(8 + n);
  b[8] = KIND_FLOATS;
  b.writeUInt32LE(k, 9);
  b.writeUInt32LE(count, 13);
  Buffer.from(a.buffer, a.byteOffset + from * 8, count * 8).copy(b, 17);
  b.writeUInt32LE(n, 0);
  b.writeUInt32LE(crc32c(b, 0, 8, 8 + n), 4);
  return b;
}

export interface WriteSnapshotOptions {
  dataDir: string;
  seq: number;
  time: number;
  /** The result of engine.serialize(), taken synchronously by the caller; must not change afterwards. */
  state: unknown;
  /** fsync file and directory (false only for fsync policy 'off'). */
  sync: boolean;
  /** Longest stretch of synchronous JSON work before yielding to the event loop (default 4 ms). */
  sliceMs?: number;
  /** Target size of one body record (default 1 MiB). */
  chunkBytes?: number;
  /** Awaited before the rename makes the snapshot visible (the sequencer waits for the journal to be durable up to seq). */
  beforeCommit?: () => Promise<void>;
}

export interface WriteSnapshotResult {
  file: string;
  bytes: number;
  /** Wall time from start to the directory fsync. */
  ms: number;
  /** Longest single stretch the event loop was blocked by this writer. */
  maxSliceMs: number;
  /** Total synchronous time spent by this writer (all slices). */
  syncMs: number;
}

/** Writes a snapshot durably: temp file, fsync, rename, directory fsync. */
export async function writeSnapshot(o: WriteSnapshotOptions): Promise<WriteSnapshotResult> {
  const t0 = performance.now();
  const dir = path.join(o.dataDir, SNAPSHOT_DIR);
  const finalFile = path.join(dir, seqName(o.seq, SNAPSHOT_EXT));
  const tmp = `${finalFile}.tmp-${process.pid}-${Math.floor(t0)}`;
  const sliceMs = o.sliceMs ?? 4;
  const chunkChars = o.chunkBytes ?? 1024 * 1024;
  const fh = await fsp.open(tmp, 'wx');
  let committed = false;
  let maxSliceMs = 0;
  let syncMs = 0;
  let bytes = 0;
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    header.write(SNAPSHOT_MAGIC, 0, 'latin1');
    header.writeUInt32LE(SNAPSHOT_FORMAT_VERSION, 8);
    const meta: SnapshotMeta = { format: 'openfloor-snapshot', version: SNAPSHOT_FORMAT_VERSION, seq: o.seq, time: o.time, createdAt: new Date().toISOString() };
    const first = Buffer.concat([header, record(KIND_META, JSON.stringify(meta))]);
    await writeAll(fh, first);
    bytes += first.length;

    const hash = createHash('sha256');
    let bodyBytes = 0;
    let chunks = 0;
    // Float64Arrays go to 'F' records after the body; the text holds a marker in their place.
    const floats: Float64Array[] = [];
    const gen = jsonPieces(o.state, (v) => {
      if (!(v instanceof Float64Array)) return undefined;
      floats.push(v);
      return `{"${F64_KEY}":${floats.length - 1},"n":${v.length}}`;
    });
    let parts: string[] = [];
    let partChars = 0;
    let checkedChars = 0;
    let sliceStart = performance.now();
    const endSlice = (): void => {
      const d = performance.now() - sliceStart;
      if (d > maxSliceMs) maxSliceMs = d;
      syncMs += d;
    };
    const emit = async (): Promise<void> => {
      const rec = record(KIND_BODY, parts.join(''));
      parts = [];
      partChars = 0;
      checkedChars = 0;
      hash.update(rec.subarray(9));
      bodyBytes += rec.length - 9;
      chunks++;
      endSlice();
      await writeAll(fh, rec);
      bytes += rec.length;
      sliceStart = performance.now();
    };
    let steps = 0;
    for (;;) {
      const r = gen.next();
      if (r.done) break;
      parts.push(r.value);
      partChars += r.value.length;
      if (partChars >= chunkChars) await emit();
      // The clock is read every 128 pieces, or sooner once big pieces (typed-array runs) have
      // added 64 Ki chars since the last look.
      else if ((++steps & 127) === 0 || partChars - checkedChars >= 65536) {
        checkedChars = partChars;
        if (performance.now() - sliceStart > sliceMs) {
          endSlice();
          await yieldToLoop();
          sliceStart = performance.now();
        }
      }
    }
    if (partChars > 0 || chunks === 0) await emit();
    else endSlice();
    let floatBytes = 0;
    let floatChunks = 0;
    for (let k = 0; k < floats.length; k++) {
      const a = floats[k]!;
      for (let from = 0; from < a.length; from += FLOATS_PER_RECORD) {
        sliceStart = performance.now();
        const rec = floatsRecord(k, a, from, Math.min(FLOATS_PER_RECORD, a.length - from));
        hash.update(rec.subarray(9));
        floatBytes += rec.length - 9;
        floatChunks++;
        endSlice();
        await writeAll(fh, rec);
        bytes += rec.length;
      }
    }
    const end = record(KIND_END, JSON.stringify({ seq: o.seq, bodyBytes, chunks, floatBytes, floatChunks, sha256: hash.digest('hex') }));
    await writeAll(fh, end);
    bytes += end.length;
    if (o.sync) await fh.sync();
    await fh.close();
    if (o.beforeCommit) await o.beforeCommit();
    await fsp.rename(tmp, finalFile);
    committed = true;
    if (o.sync) await fsyncDir(dir);
    return { file: finalFile, bytes, ms: performance.now() - t0, maxSliceMs, syncMs };
  } finally {
    if (!committed) {
      await fh.close().catch(() => undefined);
      await fsp.unlink(tmp).catch(() => undefined);
    }
  }
}

export interface LoadedSnapshot {
  meta: SnapshotMeta;
  /** The parsed engine state, for Engine.restore. */
  state: unknown;
  bytes: number;
  sha256: string;
}

/** Reads and checks a snapshot; any damage throws CorruptionError naming the file and offset. */
export async function readSnapshot(file: string, rel: string): Promise<LoadedSnapshot> {
  const buf = await fsp.readFile(file);
  const bad = (offset: number, reason: string): never => {
    throw new CorruptionError(rel, offset, reason);
  };
  if (buf.length < HEADER_BYTES) bad(0, `snapshot header is short (${buf.length} of ${HEADER_BYTES} bytes)`);
  if (buf.toString('latin1', 0, 8) !== SNAPSHOT_MAGIC) bad(0, 'bad snapshot magic');
  const version = buf.readUInt32LE(8);
  if (version !== 1 && version !== 2) bad(8, `unsupported snapshot format version ${version} (this build reads 1 and 2)`);
  if (buf.readUInt32LE(12) !== 0) bad(12, `unknown snapshot header flags ${buf.readUInt32LE(12)}`);
  let o = HEADER_BYTES;
  let meta: SnapshotMeta | undefined;
  const body: Buffer[] = [];
  const hash = createHash('sha256');
  let bodyBytes = 0;
  let endInfo: { seq: number; bodyBytes: number; chunks: number; floatBytes?: number; floatChunks?: number; sha256: string } | undefined;
  let endOffset = 0;
  /** 'F' records in file order: array k, element count, data, and the record's offset. */
  const floatRecords: { k: number; count: number; data: Buffer; offset: number }[] = [];
  let floatBytes = 0;
  while (o < buf.length) {
    if (endInfo) bad(o, 'data after the end record');
    if (buf.length - o < 9) bad(o, 'short record header');
    const n = buf.readUInt32LE(o);
    if (n < 1 || n > MAX_SNAPSHOT_RECORD) bad(o, `bad record length ${n}`);
    if (o + 8 + n > buf.length) bad(o, `short record payload (${buf.length - o - 8} of ${n} bytes)`);
    const start = o + 8;
    const end = start + n;
    if (crc32c(buf, 0, start, end) !== buf.readUInt32LE(o + 4)) bad(o, `record CRC mismatch (record covers bytes ${o}-${end - 1})`);
    const kind = buf[start];
    const data = buf.subarray(start + 1, end);
    const parseJson = (): unknown => {
      try {
        return JSON.parse(data.toString('utf8'));
      } catch (e) {
        return bad(o, `record is not valid JSON: ${(e as Error).message}`);
      }
    };
    if (meta === undefined) {
      if (kind !== KIND_META) bad(o, 'first record is not the meta record');
      const m = parseJson() as SnapshotMeta;
      if (m.format !== 'openfloor-snapshot' || !Number.isSafeInteger(m.seq) || m.seq < 0) bad(o, 'bad meta record');
      meta = m;
    } else if (kind === KIND_BODY) {
      if (floatRecords.length > 0) bad(o, 'body record after float records');
      body.push(data);
      hash.update(data);
      bodyBytes += data.length;
    } else if (kind === KIND_FLOATS && version >= 2) {
      if (data.length < 8) bad(o, 'short float record');
      const count = data.readUInt32LE(4);
      if (data.length !== 8 + count * 8) bad(o, `float record holds ${data.length - 8} bytes for ${count} numbers`);
      floatRecords.push({ k: data.readUInt32LE(0), count, data: data.subarray(8), offset: o });
      hash.update(data);
      floatBytes += data.length;
    } else if (kind === KIND_END) {
      endInfo = parseJson() as { seq: number; bodyBytes: number; chunks: number; sha256: string };
      endOffset = o;
    } else {
      bad(o, `unknown record kind ${kind}`);
    }
    o = end;
  }
  if (meta === undefined) return bad(o, 'no meta record');
  if (endInfo === undefined) return bad(o, 'missing end record (incomplete snapshot)');
  const digest = hash.digest('hex');
  if (endInfo.seq !== meta.seq) bad(endOffset, `end record seq ${endInfo.seq} differs from meta seq ${meta.seq}`);
  if (endInfo.chunks !== body.length || endInfo.bodyBytes !== bodyBytes) {
    bad(endOffset, `body has ${body.length} records / ${bodyBytes} bytes, end record says ${endInfo.chunks} / ${endInfo.bodyBytes}`);
  }
  if ((endInfo.floatChunks ?? 0) !== floatRecords.length || (endInfo.floatBytes ?? 0) !== floatBytes) {
    bad(endOffset, `${floatRecords.length} float records / ${floatBytes} bytes, end record says ${endInfo.floatChunks ?? 0} / ${endInfo.floatBytes ?? 0}`);
  }
  if (endInfo.sha256 !== digest) bad(endOffset, `body SHA-256 mismatch (${digest} != ${endInfo.sha256})`);
  let state: unknown;
  try {
    state = JSON.parse(Buffer.concat(body, bodyBytes).toString('utf8'));
  } catch (e) {
    bad(HEADER_BYTES, `body is not valid JSON: ${(e as Error).message}`);
  }
  if (version >= 2) state = withFloats(state, floatRecords, bad);
  return { meta, state, bytes: buf.length, sha256: digest };
}

/**
 * The parsed body with each {"$f64":k,"n":length} marker replaced by Float64Array k, filled
 * from the float records (which must hold exactly the arrays the markers name, in order).
 */
function withFloats(state: unknown, records: { k: number; count: number; data: Buffer; offset: number }[], bad: (offset: number, reason: string) => never): unknown {
  const arrays: Float64Array[] = [];
  const filled: number[] = [];
  const markerArray = (v: Record<string, unknown>): Float64Array | undefined => {
    const keys = Object.keys(v);
    if (keys.length !== 2 || keys[0] !== F64_KEY || keys[1] !== 'n') return undefined;
    const k = v[F64_KEY];
    const n = v['n'];
    if (k !== arrays.length || typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > MAX_FLOATS) bad(HEADER_BYTES, `bad float array marker ${JSON.stringify(v)}`);
    const a = new Float64Array(n as number);
    arrays.push(a);
    filled.push(0);
    return a;
  };
  const visit = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i] as unknown;
        if (x !== null && typeof x === 'object') v[i] = visit(x);
      }
      return v;
    }
    const obj = v as Record<string, unknown>;
    const a = markerArray(obj);
    if (a !== undefined) return a;
    for (const key of Object.keys(obj)) {
      const x = obj[key];
      if (x !== null && typeof x === 'object') obj[key] = visit(x);
    }
    return obj;
  };
  const out = visit(state);
  for (const r of records) {
    const a = arrays[r.k];
    if (a === undefined) bad(r.offset, `float record for array ${r.k}, which the body does not name`);
    const at = filled[r.k]!;
    if (r.k > 0 && filled[r.k - 1]! !== arrays[r.k - 1]!.length) bad(r.offset, `float array ${r.k - 1} ends before array ${r.k} starts`);
    if (at + r.count > a!.length) bad(r.offset, `float array ${r.k} gets more than its ${a!.length} numbers`);
    // Copied (not viewed) in place: the record's bytes need not be 8-byte aligned in the file buffer.
    r.data.copy(Buffer.from(a!.buffer, a!.byteOffset, a!.byteLength), at * 8);
    filled[r.k] = at + r.count;
  }
  arrays.forEach((a, k) => {
    if (filled[k] !== a.length) bad(HEADER_BYTES, `float array ${k} holds ${filled[k]} of its ${a.length} numbers`);
  });
  return out;
}
