// Strict base64 for credentials. Buffer.from(s, 'base64') silently skips invalid characters and
// accepts any padding, so two different strings could decode to the same key or signature;
// credentials must have exactly one spelling.

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes canonical, padded standard base64; anything else (or a non-string) gives undefined. */
export function decodeBase64Strict(s: unknown): Buffer | undefined {
  if (typeof s !== 'string' || !BASE64.test(s)) return undefined;
  const buf = Buffer.from(s, 'base64');
  // Rejects non-zero unused bits in the last character (e.g. "AB==" vs "AA=="): not canonical.
  return buf.toString('base64') === s ? buf : undefined;
}

export function encodeBase64(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('base64');
}
