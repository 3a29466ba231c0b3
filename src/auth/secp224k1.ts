// Coinfloor/CoinFLEX WebSocket authentication (AUTH.md, IMPL-GUIDE.md "Authentication"):
// ECDSA over secp224k1 with SHA-224, private key = SHA-224(8-byte BE user id ‖ UTF-8 passphrase).
//
// All curve arithmetic is OpenSSL's (node:crypto). Written by hand, because node:crypto cannot:
//  - import a raw private scalar or raw public point as a KeyObject: JWK has no name for
//    secp224k1, so we wrap them in the fixed SEC1 / SubjectPublicKeyInfo DER templates below;
//  - give r and s as 28-byte strings: the DER ECDSA-Sig-Value is converted per IMPL-GUIDE.md
//    (its "ieee-p1363" form would use 29 bytes each, the byte length of n, not the wire's 28).
import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { decodeBase64Strict, encodeBase64 } from './base64.js';

export const CURVE = 'secp224k1';
/** Group order. It is 225 bits long, so every non-zero 224-bit value is already a valid scalar. */
export const N = 0x010000000000000000000000000001dce8d2ec6184caf0a971769fb1f7n;

export const PRIVATE_KEY_BYTES = 28;
/** Uncompressed point: 0x04 ‖ x (28 bytes) ‖ y (28 bytes). */
export const PUBLIC_KEY_BYTES = 57;
/** Wire length of each of r and s, and of the server and client nonces. */
export const SIGNATURE_PART_BYTES = 28;
export const NONCE_BYTES = 16;

// OID 1.3.132.0.32 (secp224k1) and 1.2.840.10045.2.1 (id-ecPublicKey), DER-encoded.
const OID_SECP224K1 = Buffer.from('06052b81040020', 'hex');
const OID_EC_PUBLIC_KEY = Buffer.from('06072a8648ce3d0201', 'hex');

/** A 28-byte signature pair, base64 as sent in the Authenticate command's `signature` field. */
export type Signature = [r: string, s: string];

function userIdBytes(userId: number): Buffer {
  if (!Number.isSafeInteger(userId) || userId < 0) throw new RangeError(`invalid user id: ${userId}`);
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(userId));
  return b;
}

/** SHA-224(8-byte BE user id ‖ UTF-8 passphrase). No reduction is needed: 0 < key < 2^224 < n. */
export function derivePrivateKey(userId: number, passphrase: string): Buffer {
  return createHash('sha224').update(userIdBytes(userId)).update(passphrase, 'utf8').digest();
}

/** The uncompressed 57-byte public point of a 28-byte private scalar. Throws if the scalar is 0 or not 28 bytes. */
export function publicKeyFromPrivate(priv: Buffer): Buffer {
  if (priv.length !== PRIVATE_KEY_BYTES) throw new RangeError('private key must be 28 bytes');
  // ECDH is the one node:crypto API that takes a raw scalar; it rejects 0 and values >= n.
  const ecdh = createECDH(CURVE);
  ecdh.setPrivateKey(priv);
  return ecdh.getPublicKey(null, 'uncompressed');
}

function privateKeyObject(priv: Buffer): KeyObject {
  const pub = publicKeyFromPrivate(priv);
  // SEC1 ECPrivateKey ::= SEQUENCE { version 1, OCTET STRING priv, [0] curve OID, [1] BIT STRING pub }
  const der = Buffer.concat([
    Buffer.from([0x30, 0x68, 0x02, 0x01, 0x01, 0x04, 0x1c]), priv,
    Buffer.from([0xa0, 0x07]), OID_SECP224K1,
    Buffer.from([0xa1, 0x3c, 0x03, 0x3a, 0x00]), pub,
  ]);
  return createPrivateKey({ key: der, format: 'der', type: 'sec1' });
}

/** Throws unless `pub` is a 57-byte uncompressed point on secp224k1 (OpenSSL checks the curve equation). */
function publicKeyObject(pub: Buffer): KeyObject {
  if (pub.length !== PUBLIC_KEY_BYTES || pub[0] !== 0x04) throw new RangeError('not an uncompressed secp224k1 point');
  // SubjectPublicKeyInfo ::= SEQUENCE { SEQUENCE { id-ecPublicKey, secp224k1 }, BIT STRING pub }
  const der = Buffer.concat([
    Buffer.from([0x30, 0x4e, 0x30, 0x10]), OID_EC_PUBLIC_KEY, OID_SECP224K1,
    Buffer.from([0x03, 0x3a, 0x00]), pub,
  ]);
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

export function isValidPublicKey(pub: Buffer): boolean {
  try {
    publicKeyObject(pub);
    return true;
  } catch {
    return false;
  }
}

export function publicKeyToBase64(pub: Buffer): string {
  return encodeBase64(pub);
}

/** Strict base64 of a valid on-curve uncompressed point, else undefined. */
export function publicKeyFromBase64(s: unknown): Buffer | undefined {
  const pub = decodeBase64Strict(s);
  return pub !== undefined && isValidPublicKey(pub) ? pub : undefined;
}

/** Public-key objects by their base64 text (the key itself, so an entry can never be stale). */
const keyObjects = new Map<string, KeyObject | null>();
const KEY_OBJECT_CACHE_MAX = 10_000;

/**
 * The KeyObject of a base64 public key (as stored for a user), or undefined if it is not strict
 * base64 of a valid on-curve uncompressed point. Cached per key: building the object (DER
 * wrapping, OpenSSL parsing and the on-curve check) costs more than the verification itself.
 * The cache holds up to 10,000 keys; when full, the oldest entry is dropped.
 */
export function publicKeyObjectFromBase64(s: string): KeyObject | undefined {
  const hit = keyObjects.get(s);
  if (hit !== undefined) return hit ?? undefined;
  let obj: KeyObject | null = null;
  const pub = decodeBase64Strict(s);
  if (pub !== undefined) {
    try {
      obj = publicKeyObject(pub);
    } catch {
      obj = null;
    }
  }
  if (keyObjects.size >= KEY_OBJECT_CACHE_MAX) keyObjects.delete(keyObjects.keys().next().value!);
  keyObjects.set(s, obj);
  return obj ?? undefined;
}

export function privateKeyToBase64(priv: Buffer): string {
  return encodeBase64(priv);
}

/** Strict base64 of a 28-byte non-zero scalar (the REST "password" alternative), else undefined. */
export function privateKeyFromBase64(s: unknown): Buffer | undefined {
  const priv = decodeBase64Strict(s);
  if (priv === undefined || priv.length !== PRIVATE_KEY_BYTES || priv.every((b) => b === 0)) return undefined;
  return priv;
}

/** The 40 signed bytes: user id (8, BE) ‖ server nonce (16) ‖ client nonce (16). */
export function challengeMessage(userId: number, serverNonce: Buffer, clientNonce: Buffer): Buffer {
  if (serverNonce.length !== NONCE_BYTES || clientNonce.length !== NONCE_BYTES) {
    throw new RangeError('nonces must be 16 bytes');
  }
  return Buffer.concat([userIdBytes(userId), serverNonce, clientNonce]);
}

/**
 * One DER INTEGER as the wire's 28 bytes (IMPL-GUIDE.md): shorter encodings are zero-extended on
 * the left; a 29-byte one loses its leading byte, which must be 0x00. Otherwise undefined: the
 * value is >= 2^224 (possible, as n > 2^224, with probability ~2^-111) and cannot be sent.
 */
function toWire(int: Buffer): Buffer | undefined {
  if (int.length <= SIGNATURE_PART_BYTES) {
    return Buffer.concat([Buffer.alloc(SIGNATURE_PART_BYTES - int.length), int]);
  }
  if (int.length === SIGNATURE_PART_BYTES + 1 && int[0] === 0) return int.subarray(1);
  return undefined;
}

/** Extracts r and s from a DER ECDSA-Sig-Value, step by step as IMPL-GUIDE.md describes. */
function splitDer(der: Buffer): [Buffer, Buffer] {
  // Short-form lengths only: the whole structure is at most 2 + 2·(2 + 29) = 64 bytes.
  if (der[0] !== 0x30 || der[1] !== der.length - 2 || der[2] !== 0x02) throw new Error('unexpected DER signature');
  const rEnd = 4 + der[3];
  if (!(der[3] > 0) || der[rEnd] !== 0x02 || !(der[rEnd + 1] > 0) || rEnd + 2 + der[rEnd + 1] !== der.length) {
    throw new Error('unexpected DER signature');
  }
  return [der.subarray(4, rEnd), der.subarray(rEnd + 2)];
}

/** Minimal DER INTEGER of a non-negative big-endian magnitude. */
function derInteger(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  let body = magnitude.subarray(i);
  if (body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}

/**
 * A DER ECDSA-Sig-Value as the wire's pair of 28-byte base64 strings (IMPL-GUIDE.md), or
 * undefined if r or s is >= 2^224 and so cannot be sent. Throws on malformed DER.
 */
export function derToSignature(der: Buffer): Signature | undefined {
  const [r, s] = splitDer(der);
  const rw = toWire(r);
  const sw = toWire(s);
  return rw === undefined || sw === undefined ? undefined : [encodeBase64(rw), encodeBase64(sw)];
}

/** The DER ECDSA-Sig-Value of two 28-byte big-endian values (minimal INTEGER encodings). */
export function signatureToDer(r: Buffer, s: Buffer): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** Signs the challenge; r and s come back as 28-byte base64 strings. Random k, so not reproducible. */
export function signChallenge(priv: Buffer, userId: number, serverNonce: Buffer, clientNonce: Buffer): Signature {
  const msg = challengeMessage(userId, serverNonce, clientNonce);
  const key = privateKeyObject(priv);
  // A fresh k gives a fresh (r, s); retrying covers the ~2^-111 chance that one is >= 2^224.
  for (let attempt = 0; attempt < 8; attempt++) {
    const sig = derToSignature(sign('sha224', msg, { key, dsaEncoding: 'der' }));
    if (sig !== undefined) return sig;
  }
  throw new Error('could not produce a 28-byte signature');
}

/**
 * True only for a valid signature by `publicKey` (the 57-byte point, or its KeyObject from
 * publicKeyObjectFromBase64) over the challenge. Never throws: bad base64, wrong lengths, r or s
 * of 0 or >= n, a non-array signature, a bad user id or an off-curve key all give false.
 */
export function verifyChallenge(
  publicKey: Buffer | KeyObject,
  userId: number,
  serverNonce: Buffer,
  clientNonce: Buffer,
  signature: unknown,
): boolean {
  try {
    if (!Array.isArray(signature) || signature.length !== 2) return false;
    const r = decodeBase64Strict(signature[0]);
    const s = decodeBase64Strict(signature[1]);
    if (r === undefined || s === undefined) return false;
    if (r.length !== SIGNATURE_PART_BYTES || s.length !== SIGNATURE_PART_BYTES) return false;
    for (const v of [r, s]) {
      const x = BigInt('0x' + v.toString('hex'));
      if (x === 0n || x >= N) return false;
    }
    const msg = challengeMessage(userId, serverNonce, clientNonce);
    const key = Buffer.isBuffer(publicKey) ? publicKeyObject(publicKey) : publicKey;
    return verify('sha224', msg, { key, dsaEncoding: 'der' }, signatureToDer(r, s));
  } catch {
    return false;
  }
}

/** A fresh login cookie: 20 random bytes, base64 (28 characters, like AUTH.md's example). */
export function newCookie(): string {
  return randomBytes(20).toString('base64');
}

/**
 * Constant-time string equality. Hashing first makes the comparison length-independent, so
 * neither the content nor the length of the stored cookie leaks through timing.
 */
export function cookiesEqual(a: unknown, b: unknown): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
