// Server-to-client WebSocket text frames (RFC 6455 §5.2), built once and written as they are.
// A server frame is never masked and this endpoint negotiates no extension, so the bytes of a
// frame are the same for every recipient: a public notice is framed once per event and the very
// same Buffer goes to every watcher's socket.

/** One complete unmasked text frame (FIN set) carrying `text`. */
export function textFrame(text: string): Buffer {
  const len = Buffer.byteLength(text, 'utf8');
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const buf = Buffer.allocUnsafe(head + len);
  buf[0] = 0x81;
  if (head === 2) {
    buf[1] = len;
  } else if (head === 4) {
    buf[1] = 126;
    buf.writeUInt16BE(len, 2);
  } else {
    buf[1] = 127;
    buf.writeBigUInt64BE(BigInt(len), 2);
  }
  buf.write(text, head, 'utf8');
  return buf;
}

/** The payload of a frame built by textFrame. */
export function framePayload(frame: Buffer): Buffer {
  const l = frame[1]! & 0x7f;
  return frame.subarray(l < 126 ? 2 : l === 126 ? 4 : 10);
}

/** Bytes of the frame header for a payload of `len` bytes. */
function headerBytes(len: number): number {
  return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

function writeHeader(buf: Buffer, at: number, len: number): number {
  buf[at] = 0x81;
  if (len < 126) {
    buf[at + 1] = len;
    return at + 2;
  }
  if (len < 65536) {
    buf[at + 1] = 126;
    buf.writeUInt16BE(len, at + 2);
    return at + 4;
  }
  buf[at + 1] = 127;
  buf.writeBigUInt64BE(BigInt(len), at + 2);
  return at + 10;
}

/**
 * Several frames as one Buffer, in order: texts are framed here (textFrame), Buffers are
 * complete frames already (a shared public notice). One allocation for the whole write.
 */
export function concatFrames(items: readonly (Buffer | string)[]): Buffer {
  const n = items.length;
  const lens = new Array<number>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const f = items[i]!;
    if (typeof f === 'string') {
      const len = Buffer.byteLength(f, 'utf8');
      lens[i] = len;
      total += headerBytes(len) + len;
    } else {
      total += f.length;
    }
  }
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const f = items[i]!;
    if (typeof f === 'string') {
      const len = lens[i]!;
      at = writeHeader(buf, at, len);
      at += buf.write(f, at, len, 'utf8');
    } else {
      at += f.copy(buf, at);
    }
  }
  return buf;
}

/** Any character outside 7-bit ASCII (whose UTF-8 encoding is not the character's own byte). */
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Several texts as the bytes of their frames, one character per byte (write it with the 'latin1'
 * encoding): the same bytes concatFrames would produce, without allocating a Buffer - the socket
 * copies the string straight into its write. Undefined when a text is not pure ASCII (its UTF-8
 * bytes differ from its characters) or needs the 8-byte length form; the caller then frames
 * into a Buffer instead. check = false skips the ASCII test (a scan of every character): only
 * for texts that are ASCII by construction.
 */
export function asciiFrames(items: readonly string[], check = true): string | undefined {
  let out = '';
  for (let i = 0; i < items.length; i++) {
    const f = items[i]!;
    const len = f.length;
    if (len >= 65536 || (check && NON_ASCII.test(f))) return undefined;
    out += len < 126 ? String.fromCharCode(0x81, len) : String.fromCharCode(0x81, 126, len >>> 8, len & 0xff);
    out += f;
  }
  return out;
}
