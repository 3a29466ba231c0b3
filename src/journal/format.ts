// On-disk format of the command journal (version 2; version-1 segments are still read). All
// integers little-endian.
//
// Data directory:
//   store.json                     genesis EngineConfig + boot counter (atomically rewritten)
//   journal/<firstSeq:20>.seg      segment files, named by the seq of their first record
//   journal/archive/<…>.seg        segments retired under retention 'archive'
//   snapshots/<seq:20>.snap        snapshots (see snapshot.ts)
//
// Segment file:
//   header, 32 bytes:
//     0  8  magic "OFLRJRNL"
//     8  4  format version (1)
//    12  4  flags (0)
//    16  8  seq of the first record (u64)
//    24  4  CRC-32C of bytes 0..24
//    28  4  reserved (0)
//   then records, back to back, seqs consecutive (record i has seq firstSeq + i):
//     0  4  payload length n (1 ≤ n ≤ MAX_RECORD_BYTES)
//     4  4  CRC-32C of the payload
//     8  n  payload: the stamped command, binary (first byte = layout kind 1…12) or UTF-8 JSON
//           ({"seq":…,"time":…,"type":…,…}; first byte '{'); see record.ts. Version 1 has
//           JSON payloads only; version 2 adds the binary layouts.

import { crc32c } from './crc32c.js';

export const SEGMENT_MAGIC = 'OFLRJRNL';
/** Version written to new segments. */
export const JOURNAL_FORMAT_VERSION = 2;
/** Oldest version this build reads (version 1: JSON payloads only). */
export const JOURNAL_MIN_FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 32;
export const RECORD_HEADER_BYTES = 8;
/** Upper bound of one record's payload; a command is a few hundred bytes. */
export const MAX_RECORD_BYTES = 4 * 1024 * 1024;

export const JOURNAL_DIR = 'journal';
export const ARCHIVE_DIR = 'archive';
export const SNAPSHOT_DIR = 'snapshots';
export const STORE_FILE = 'store.json';
export const SEGMENT_EXT = '.seg';
export const SNAPSHOT_EXT = '.snap';

const SEQ_DIGITS = 20;

export function seqName(seq: number, ext: string): string {
  return String(seq).padStart(SEQ_DIGITS, '0') + ext;
}

/** The seq a segment or snapshot file is named by, or undefined if the name is not one of ours. */
export function parseSeqName(name: string, ext: string): number | undefined {
  if (!name.endsWith(ext)) return undefined;
  const digits = name.slice(0, -ext.length);
  if (digits.length !== SEQ_DIGITS || !/^[0-9]+$/.test(digits)) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function encodeSegmentHeader(firstSeq: number, version = JOURNAL_FORMAT_VERSION): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  b.write(SEGMENT_MAGIC, 0, 'latin1');
  b.writeUInt32LE(version, 8);
  b.writeUInt32LE(0, 12);
  b.writeBigUInt64LE(BigInt(firstSeq), 16);
  b.writeUInt32LE(crc32c(b, 0, 0, 24), 24);
  return b;
}

/** Parses a segment header; returns an error text (without file name) if it is not valid. */
export function decodeSegmentHeader(b: Buffer): { firstSeq: number; version: number } | { error: string; offset: number } {
  if (b.length < SEGMENT_HEADER_BYTES) return { error: `segment header is short (${b.length} of ${SEGMENT_HEADER_BYTES} bytes)`, offset: 0 };
  if (b.toString('latin1', 0, 8) !== SEGMENT_MAGIC) return { error: 'bad segment magic', offset: 0 };
  const crc = b.readUInt32LE(24);
  if (crc32c(b, 0, 0, 24) !== crc) return { error: 'segment header (bytes 0-27) CRC mismatch', offset: 0 };
  const version = b.readUInt32LE(8);
  if (version < JOURNAL_MIN_FORMAT_VERSION || version > JOURNAL_FORMAT_VERSION) {
    return { error: `unsupported journal format version ${version} (this build reads ${JOURNAL_MIN_FORMAT_VERSION}-${JOURNAL_FORMAT_VERSION})`, offset: 8 };
  }
  const firstSeq = b.readBigUInt64LE(16);
  if (firstSeq > BigInt(Number.MAX_SAFE_INTEGER) || firstSeq < 1n) return { error: `bad first seq ${firstSeq}`, offset: 16 };
  return { firstSeq: Number(firstSeq), version };
}

/** Encodes one record (header + payload) for an already-serialised JSON payload. */
export function encodeRecord(json: string): Buffer {
  const n = Buffer.byteLength(json);
  const b = Buffer.allocUnsafe(RECORD_HEADER_BYTES + n);
  b.write(json, RECORD_HEADER_BYTES, 'utf8');
  b.writeUInt32LE(n, 0);
  b.writeUInt32LE(crc32c(b, 0, RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + n), 4);
  return b;
}
