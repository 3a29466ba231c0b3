// Snapshots: the whole engine state at one seq, so recovery replays only the journal tail.
//
// File snapshots/<seq:20>.snap (format version 1, integers little-endian):
//   header, 16 bytes: magic "OFLRSNAP", u32 format version (1), u32 flags (0)
//   records [u32 payload length, u32 CRC-32C of the payload, payload], payload = kind byte + data:
//     'M' meta   JSON {"format":"openfloor-snapshot","version":1,"seq":…,"time":…,"createdAt":…}
//     'B' body   a piece of the JSON text of engine.serialize() (≤ ~1 MiB each, in order)
//     'E' end    JSON {"seq":…,"bodyBytes":…,"chunks":…,"sha256":"<hex of the concatenated body>"}
// Per-record CRCs locate damage to a record (file + byte offset); the SHA-256 covers the body
// as a whole. A snapshot is written to a temp file, fsynced, renamed into place and the
// directory fsynced, so a visible .snap file is always complete.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { crc32c } from './crc32c.js';
import { CorruptionError } from './errors.js';
import { SNAPSHOT_DIR, SNAPSHOT_EXT, parseSeqName, seqName } from './format.js';
import { fsyncDir, listDir, writeAll } from './fsutil.js';
import { jsonPieces } from './json-stream.js';

export const SNAPSHOT_MAGIC = 'OFLRSNAP';
export const SNAPSHOT_FORMAT_VERSION = 1;
const HEADER_BYTES = 16;
const MAX_SNAPSHOT_RECORD = 64 * 1024 * 1024;
const KIND_META = 0x4d; // 'M'
const KIND_BODY = 0x42; // 'B'
const KIND_END = 0x45; // 'E'

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
    const gen = jsonPieces(o.state);
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
    const end = record(KIND_END, JSON.stringify({ seq: o.seq, bodyBytes, chunks, sha256: hash.digest('hex') }));
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
  if (version !== SNAPSHOT_FORMAT_VERSION) bad(8, `unsupported snapshot format version ${version} (this build reads ${SNAPSHOT_FORMAT_VERSION})`);
  let o = HEADER_BYTES;
  let meta: SnapshotMeta | undefined;
  const body: Buffer[] = [];
  const hash = createHash('sha256');
  let bodyBytes = 0;
  let endInfo: { seq: number; bodyBytes: number; chunks: number; sha256: string } | undefined;
  let endOffset = 0;
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
      body.push(data);
      hash.update(data);
      bodyBytes += data.length;
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
  if (endInfo.sha256 !== digest) bad(endOffset, `body SHA-256 mismatch (${digest} != ${endInfo.sha256})`);
  let state: unknown;
  try {
    state = JSON.parse(Buffer.concat(body, bodyBytes).toString('utf8'));
  } catch (e) {
    bad(HEADER_BYTES, `body is not valid JSON: ${(e as Error).message}`);
  }
  return { meta, state, bytes: buf.length, sha256: digest };
}
