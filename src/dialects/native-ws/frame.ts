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
