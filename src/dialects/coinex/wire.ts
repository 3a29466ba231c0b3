// Byte-level pieces of the CoinEx wire: the unified envelopes, gzip-compressed WebSocket frames
// and the depth checksum.
import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import type { CoinexError } from './errors.js';

// ---------------------------------------------------------------- HTTP envelopes

export interface Pagination {
  total?: number;
  has_next: boolean;
}

/** `{"code":0,"data":…,"message":"OK"}` (the guide's unified structure), optionally with pagination. */
export function okEnvelope(data: unknown, pagination?: Pagination): Record<string, unknown> {
  return pagination === undefined ? { code: 0, data, message: 'OK' } : { code: 0, data, pagination, message: 'OK' };
}

/** `{"code":…,"data":{},"message":…}` (docs.coinex.com error response format). */
export function errorEnvelope(err: CoinexError): Record<string, unknown> {
  return { code: err.code, data: {}, message: err.message };
}

// ---------------------------------------------------------------- WebSocket frames

/**
 * CoinEx compresses every server → client WebSocket message: a binary frame holding the gzip of
 * the JSON text (the guide: "compressed using zip and must be decompressed first"; ccxt's coinex
 * client sets `gunzip: true`).
 */
export function encodeFrame(message: unknown): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(message), 'utf8'), { level: zlibConstants.Z_BEST_SPEED });
}

/** Decodes a server frame (tests and tools). */
export function decodeFrame(frame: Buffer): unknown {
  return JSON.parse(gunzipSync(frame).toString('utf8'));
}

/**
 * Text of a client → server frame. Clients send plain JSON text; a binary frame is accepted too,
 * gzip-compressed (magic 1f 8b) or plain UTF-8. Returns undefined for a frame that cannot be read.
 */
export function clientFrameText(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean, maxBytes: number): string | undefined {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (!isBinary) return buf.toString('utf8');
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      return gunzipSync(buf, { maxOutputLength: maxBytes }).toString('utf8');
    } catch {
      return undefined;
    }
  }
  return buf.toString('utf8');
}

// ---------------------------------------------------------------- depth checksum

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zlib.crc32 and Python's zlib.crc32) of a UTF-8 string, unsigned. */
export function crc32(s: string): number {
  const buf = Buffer.from(s, 'utf8');
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * CoinEx depth checksum: CRC-32 of "bid1_price:bid1_amount:bid2_price:…:ask1_price:ask1_amount:…"
 * over the levels as sent (docs.coinex.com spot/market/http/list-market-depth). Reported unsigned,
 * as CoinEx's live responses show (e.g. 2956436260 in ccxt's captured examples).
 */
export function depthChecksum(bids: readonly (readonly [string, string])[], asks: readonly (readonly [string, string])[]): number {
  const parts: string[] = [];
  for (const [p, a] of bids) parts.push(p, a);
  for (const [p, a] of asks) parts.push(p, a);
  return crc32(parts.join(':'));
}
