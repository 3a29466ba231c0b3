import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  N,
  challengeMessage,
  cookiesEqual,
  derToSignature,
  derivePrivateKey,
  isValidPublicKey,
  newCookie,
  privateKeyFromBase64,
  privateKeyToBase64,
  publicKeyFromBase64,
  publicKeyFromPrivate,
  publicKeyToBase64,
  signChallenge,
  signatureToDer,
  verifyChallenge,
  type Signature,
} from '../../src/auth/secp224k1.js';
import { decodeBase64Strict } from '../../src/auth/base64.js';

// ------------------------------------------------------------------ AUTH.md worked example

const EX = {
  userId: 1,
  passphrase: 'opensesame',
  serverNonceB64: 'azRzAi5rm1ry/l0drnz1vw==',
  serverNonceHex: '6b3473022e6b9b5af2fe5d1dae7cf5bf',
  clientNonceHex: 'f08c98caf1fd82e8cea9825dbff04fd0',
  clientNonceB64: '8IyYyvH9gujOqYJdv/BP0A==',
  cookie: 'HGREqcILTz8blHa/jsUTVTNBJlg=',
  messageHex: '0000000000000001' + '6b3473022e6b9b5af2fe5d1dae7cf5bf' + 'f08c98caf1fd82e8cea9825dbff04fd0',
  seedHex: '0000000000000001' + '6f70656e736573616d65',
  privHex: 'b89ea7fcd22cc059c2673dc24ff40b978307464686560d0ad7561b83',
  rHex: '3fb77a9d7b5b2a68209e76f6872078c5791340d5989854ada3ab735e',
  sHex: '34b843412f18a910f18a7d4ce1d3597860e6345b22bf7894cf67780a',
  signature: ['P7d6nXtbKmggnnb2hyB4xXkTQNWYmFSto6tzXg==', 'NLhDQS8YqRDxin1M4dNZeGDmNFsiv3iUz2d4Cg=='] as Signature,
};
const serverNonce = Buffer.from(EX.serverNonceHex, 'hex');
const clientNonce = Buffer.from(EX.clientNonceHex, 'hex');

// ------------------------------------------------------------------ independent reference
// Textbook secp224k1 arithmetic in BigInt (SEC 2 v2 §2.3.1), to check OpenSSL-backed results
// against something that shares no code with them.
const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffeffffe56dn;
const G = {
  x: 0xa1455b334df099df30fc28a169a467e9e47075a90f7e650eb6b7a45cn,
  y: 0x7e089fed7fba344282cafbd6f7e319f7c0b0bd59e2ca4bdb556d61a5n,
};
type Pt = { x: bigint; y: bigint } | null;
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
function inv(a: bigint, m: bigint): bigint {
  let [r0, r1, t0, t1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return mod(t0, m);
}
function add(a: Pt, b: Pt): Pt {
  if (a === null) return b;
  if (b === null) return a;
  if (a.x === b.x && mod(a.y + b.y, P) === 0n) return null;
  const l = a.x === b.x ? mod(3n * a.x * a.x * inv(2n * a.y, P), P) : mod((b.y - a.y) * inv(b.x - a.x, P), P);
  const x = mod(l * l - a.x - b.x, P);
  return { x, y: mod(l * (a.x - x) - a.y, P) };
}
function mul(k: bigint, pt: Pt): Pt {
  let acc: Pt = null;
  for (let q = pt; k > 0n; k >>= 1n, q = add(q, q)) if (k & 1n) acc = add(acc, q);
  return acc;
}
const big = (b: Buffer): bigint => BigInt('0x' + b.toString('hex'));
const hex28 = (v: bigint): string => v.toString(16).padStart(56, '0');
function refPublicKey(priv: Buffer): string {
  const q = mul(big(priv), G);
  assert.ok(q !== null);
  return '04' + hex28(q.x) + hex28(q.y);
}
function refVerify(pubHex: string, msg: Buffer, r: bigint, s: bigint): boolean {
  const q = { x: BigInt('0x' + pubHex.slice(2, 58)), y: BigInt('0x' + pubHex.slice(58)) };
  const z = big(createHash('sha224').update(msg).digest()); // 224 bits < bitlen(n) = 225: no truncation
  const w = inv(s, N);
  const x = add(mul(mod(z * w, N), G), mul(mod(r * w, N), q));
  return x !== null && mod(x.x, N) === r;
}

test('AUTH.md example: encodings of nonces and signature agree with the printed hex', () => {
  assert.equal(Buffer.from(EX.serverNonceB64, 'base64').toString('hex'), EX.serverNonceHex);
  assert.equal(clientNonce.toString('base64'), EX.clientNonceB64);
  assert.equal(Buffer.from(EX.signature[0], 'base64').toString('hex'), EX.rHex);
  assert.equal(Buffer.from(EX.signature[1], 'base64').toString('hex'), EX.sHex);
  assert.equal(decodeBase64Strict(EX.cookie)?.length, 20);
  assert.equal(challengeMessage(EX.userId, serverNonce, clientNonce).toString('hex'), EX.messageHex);
  assert.equal(Buffer.concat([Buffer.from('0000000000000001', 'hex'), Buffer.from(EX.passphrase)]).toString('hex'), EX.seedHex);
});

test('AUTH.md example: private key derivation', () => {
  assert.equal(derivePrivateKey(EX.userId, EX.passphrase).toString('hex'), EX.privHex);
});

test('AUTH.md example: public key (not printed in the doc) matches the textbook computation', () => {
  const pub = publicKeyFromPrivate(Buffer.from(EX.privHex, 'hex'));
  assert.equal(pub.length, 57);
  assert.equal(pub.toString('hex'), refPublicKey(Buffer.from(EX.privHex, 'hex')));
  assert.equal(
    publicKeyToBase64(pub),
    'BF7SV4nozZf4A8grdSALNhVMnawyvfuHETp0mMEKtkAMvqUW+6t7duhj+0+v7zHrwcdawQxJ39kX',
  );
});

test('AUTH.md example: the printed signature verifies (with OpenSSL and with the reference)', () => {
  const pub = publicKeyFromPrivate(derivePrivateKey(EX.userId, EX.passphrase));
  assert.equal(verifyChallenge(pub, EX.userId, serverNonce, clientNonce, EX.signature), true);
  const msg = challengeMessage(EX.userId, serverNonce, clientNonce);
  assert.equal(refVerify(pub.toString('hex'), msg, BigInt('0x' + EX.rHex), BigInt('0x' + EX.sHex)), true);
});

test('AUTH.md example: a fresh signature verifies but differs (random k, as the doc notes)', () => {
  const priv = derivePrivateKey(EX.userId, EX.passphrase);
  const pub = publicKeyFromPrivate(priv);
  const a = signChallenge(priv, EX.userId, serverNonce, clientNonce);
  const b = signChallenge(priv, EX.userId, serverNonce, clientNonce);
  assert.notDeepEqual(a, b);
  for (const sig of [a, b]) {
    assert.equal(verifyChallenge(pub, EX.userId, serverNonce, clientNonce, sig), true);
    const msg = challengeMessage(EX.userId, serverNonce, clientNonce);
    assert.equal(refVerify(pub.toString('hex'), msg, big(Buffer.from(sig[0], 'base64')), big(Buffer.from(sig[1], 'base64'))), true);
  }
});

test('AUTH.md example: tampering with any input fails verification', () => {
  const pub = publicKeyFromPrivate(derivePrivateKey(EX.userId, EX.passphrase));
  const flip = (b: Buffer, i: number): Buffer => {
    const c = Buffer.from(b);
    c[i] ^= 1;
    return c;
  };
  const flipB64 = (s: string, i: number): string => flip(Buffer.from(s, 'base64'), i).toString('base64');
  assert.equal(verifyChallenge(pub, 2, serverNonce, clientNonce, EX.signature), false);
  assert.equal(verifyChallenge(pub, EX.userId, flip(serverNonce, 0), clientNonce, EX.signature), false);
  assert.equal(verifyChallenge(pub, EX.userId, serverNonce, flip(clientNonce, 15), EX.signature), false);
  assert.equal(verifyChallenge(pub, EX.userId, serverNonce, clientNonce, [flipB64(EX.signature[0], 27), EX.signature[1]]), false);
  assert.equal(verifyChallenge(pub, EX.userId, serverNonce, clientNonce, [EX.signature[0], flipB64(EX.signature[1], 0)]), false);
  assert.equal(verifyChallenge(pub, EX.userId, serverNonce, clientNonce, [EX.signature[1], EX.signature[0]]), false);
  const other = publicKeyFromPrivate(derivePrivateKey(EX.userId, 'opensesamE'));
  assert.equal(verifyChallenge(other, EX.userId, serverNonce, clientNonce, EX.signature), false);
});

test('the negated s (n - s) also verifies: ECDSA malleability, harmless for a one-time challenge', () => {
  const pub = publicKeyFromPrivate(derivePrivateKey(EX.userId, EX.passphrase));
  const negS = Buffer.from(hex28(N - BigInt('0x' + EX.sHex)), 'hex');
  assert.equal(negS.length, 28);
  assert.equal(verifyChallenge(pub, EX.userId, serverNonce, clientNonce, [EX.signature[0], negS.toString('base64')]), true);
});

// ------------------------------------------------------------------ garbage input

test('verifyChallenge returns false, never throws, on garbage', () => {
  const pub = publicKeyFromPrivate(derivePrivateKey(EX.userId, EX.passphrase));
  const zero28 = Buffer.alloc(28).toString('base64');
  const ff28 = Buffer.alloc(28, 0xff).toString('base64'); // < n, valid range but wrong
  const garbage: unknown[] = [
    undefined, null, 42, 'P7d6', {}, [], [EX.signature[0]], [...EX.signature, EX.signature[0]],
    [1, 2], [null, null], ['', ''],
    ['!!!!', EX.signature[1]], // bad base64
    [EX.signature[0].replace(/==$/, ''), EX.signature[1]], // missing padding
    [EX.signature[0] + '\n', EX.signature[1]], // trailing junk
    [' ' + EX.signature[0], EX.signature[1]],
    [Buffer.alloc(27, 1).toString('base64'), EX.signature[1]], // 27 bytes
    [Buffer.concat([Buffer.alloc(1), Buffer.from(EX.signature[0], 'base64')]).toString('base64'), EX.signature[1]], // 29 bytes
    [zero28, EX.signature[1]], [EX.signature[0], zero28], [ff28, ff28],
  ];
  for (const g of garbage) {
    assert.equal(verifyChallenge(pub, EX.userId, serverNonce, clientNonce, g), false, `accepted ${JSON.stringify(g)}`);
  }
  // Bad public keys, nonces and user ids.
  const offCurve = Buffer.from(pub);
  offCurve[56] ^= 1;
  const compressed = Buffer.concat([Buffer.from([0x02 | (pub[56] & 1)]), pub.subarray(1, 29)]);
  for (const key of [offCurve, compressed, Buffer.alloc(0), Buffer.alloc(57), pub.subarray(0, 56), Buffer.concat([pub, Buffer.alloc(1)])]) {
    assert.equal(verifyChallenge(key, EX.userId, serverNonce, clientNonce, EX.signature), false);
  }
  assert.equal(verifyChallenge(pub, EX.userId, serverNonce.subarray(0, 15), clientNonce, EX.signature), false);
  assert.equal(verifyChallenge(pub, EX.userId, serverNonce, Buffer.concat([clientNonce, Buffer.alloc(1)]), EX.signature), false);
  for (const id of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    assert.equal(verifyChallenge(pub, id, serverNonce, clientNonce, EX.signature), false);
  }
});

test('key helpers: validation of private and public keys', () => {
  assert.throws(() => publicKeyFromPrivate(Buffer.alloc(28)), /not valid/); // zero scalar
  assert.throws(() => publicKeyFromPrivate(Buffer.alloc(27, 1)), RangeError);
  // Every non-zero 28-byte value is below n (n > 2^224): the largest one is a valid key.
  assert.equal(publicKeyFromPrivate(Buffer.alloc(28, 0xff)).toString('hex'), refPublicKey(Buffer.alloc(28, 0xff)));
  assert.throws(() => derivePrivateKey(-1, 'x'), RangeError);
  assert.throws(() => derivePrivateKey(2 ** 53, 'x'), RangeError);
  // Big user ids are encoded as 8-byte big-endian.
  assert.equal(
    derivePrivateKey(2 ** 53 - 1, '').toString('hex'),
    createHash('sha224').update(Buffer.from('001fffffffffffff', 'hex')).digest('hex'),
  );
  // UTF-8 passphrases, no normalisation.
  assert.equal(
    derivePrivateKey(7, 'pässwörd').toString('hex'),
    createHash('sha224').update(Buffer.from('0000000000000007', 'hex')).update(Buffer.from('pässwörd', 'utf8')).digest('hex'),
  );

  const priv = derivePrivateKey(EX.userId, EX.passphrase);
  const pub = publicKeyFromPrivate(priv);
  assert.deepEqual(privateKeyFromBase64(privateKeyToBase64(priv)), priv);
  assert.equal(privateKeyFromBase64(Buffer.alloc(28).toString('base64')), undefined);
  assert.equal(privateKeyFromBase64(Buffer.alloc(29, 1).toString('base64')), undefined);
  assert.equal(privateKeyFromBase64('not base64!'), undefined);
  assert.equal(privateKeyFromBase64(12), undefined);
  assert.deepEqual(publicKeyFromBase64(publicKeyToBase64(pub)), pub);
  const off = Buffer.from(pub);
  off[30] ^= 0x40;
  assert.equal(isValidPublicKey(off), false);
  assert.equal(publicKeyFromBase64(off.toString('base64')), undefined);
  assert.equal(publicKeyFromBase64(undefined), undefined);
  assert.equal(isValidPublicKey(pub), true);
});

test('challengeMessage and signChallenge reject wrong nonce lengths', () => {
  const priv = derivePrivateKey(1, 'x');
  assert.throws(() => challengeMessage(1, Buffer.alloc(15), clientNonce), RangeError);
  assert.throws(() => signChallenge(priv, 1, serverNonce, Buffer.alloc(17)), RangeError);
});

// ------------------------------------------------------------------ DER conversion (IMPL-GUIDE.md)

test('derToSignature: zero-extends short integers, drops a 29th 0x00 byte, refuses >= 2^224', () => {
  const der = (...ints: string[]): Buffer => {
    const body = Buffer.concat(ints.map((h) => Buffer.concat([Buffer.from([0x02, h.length / 2]), Buffer.from(h, 'hex')])));
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  };
  const r29 = '00' + 'ff'.repeat(28);
  const s1 = '05';
  const sig = derToSignature(der(r29, s1));
  assert.ok(sig);
  assert.equal(Buffer.from(sig[0], 'base64').toString('hex'), 'ff'.repeat(28));
  assert.equal(Buffer.from(sig[1], 'base64').toString('hex'), '00'.repeat(27) + '05');
  // A 29-byte integer whose first byte is not 0x00 is >= 2^224: not representable.
  assert.equal(derToSignature(der('01' + '00'.repeat(28), s1)), undefined);
  assert.equal(derToSignature(der(s1, '00' + '00'.repeat(29))), undefined); // 30 bytes
  // Malformed DER throws (only ever fed OpenSSL's output).
  for (const bad of [Buffer.alloc(0), Buffer.from('3003020105', 'hex'), Buffer.from('310602010502010a', 'hex'), Buffer.from('30060201050201', 'hex'), Buffer.from('300402000200', 'hex')]) {
    assert.throws(() => derToSignature(bad));
  }
  // signatureToDer is the inverse for in-range values, with minimal encodings.
  assert.equal(signatureToDer(Buffer.alloc(28, 0xff), Buffer.from('00'.repeat(27) + '05', 'hex')).toString('hex'), der(r29, s1).toString('hex'));
});

test('signatures from OpenSSL of every shape convert and verify', () => {
  // About half of all r and s have their top bit set (29-byte DER), 1/256 are shorter than 28.
  const priv = derivePrivateKey(99, 'shape');
  const pub = publicKeyFromPrivate(priv);
  let long = 0;
  for (let i = 0; i < 64; i++) {
    const sn = Buffer.alloc(16, i);
    const sig = signChallenge(priv, 99, sn, clientNonce);
    for (const part of sig) {
      const b = decodeBase64Strict(part);
      assert.equal(b?.length, 28);
      if (b !== undefined && b[0] >= 0x80) long++;
    }
    assert.equal(verifyChallenge(pub, 99, sn, clientNonce, sig), true);
  }
  assert.ok(long > 0, 'some r or s had its top bit set');
});

test('property: sign/verify round trip; verification fails under another key or message', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.string({ unit: 'grapheme', maxLength: 24 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      (userId, passphrase, sn, cn) => {
        const priv = derivePrivateKey(userId, passphrase);
        const pub = publicKeyFromPrivate(priv);
        assert.equal(pub.toString('hex'), refPublicKey(priv));
        const s = Buffer.from(sn);
        const c = Buffer.from(cn);
        const sig = signChallenge(priv, userId, s, c);
        assert.equal(verifyChallenge(pub, userId, s, c, sig), true);
        const otherPub = publicKeyFromPrivate(derivePrivateKey(userId, passphrase + 'x'));
        assert.equal(verifyChallenge(otherPub, userId, s, c, sig), false);
        const c2 = Buffer.from(c);
        c2[0] ^= 0x80;
        assert.equal(verifyChallenge(pub, userId, s, c2, sig), false);
      },
    ),
    { numRuns: 40, seed: 224 },
  );
});

test('a textbook ECDSA signature (fixed k, BigInt reference) verifies', () => {
  const priv = derivePrivateKey(5, 'reference');
  const pub = publicKeyFromPrivate(priv);
  const msg = challengeMessage(5, serverNonce, clientNonce);
  const z = big(createHash('sha224').update(msg).digest());
  for (const k of [3n, 0x1234567890abcdefn, N - 2n]) {
    const kg = mul(k, G);
    assert.ok(kg !== null);
    const r = mod(kg.x, N);
    const s = mod(inv(k, N) * (z + r * big(priv)), N);
    if (r >= 2n ** 224n || s >= 2n ** 224n) continue; // not sendable (~2^-111)
    const sig: Signature = [Buffer.from(hex28(r), 'hex').toString('base64'), Buffer.from(hex28(s), 'hex').toString('base64')];
    assert.equal(verifyChallenge(pub, 5, serverNonce, clientNonce, sig), true);
    assert.equal(verifyChallenge(pub, 6, serverNonce, clientNonce, sig), false);
  }
});

// ------------------------------------------------------------------ cookies

test('newCookie: 20 random bytes as 28 base64 characters, distinct', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const c = newCookie();
    assert.equal(c.length, 28);
    assert.equal(decodeBase64Strict(c)?.length, 20);
    seen.add(c);
  }
  assert.equal(seen.size, 100);
});

test('cookiesEqual: exact match only, any length, non-strings false', () => {
  assert.equal(cookiesEqual(EX.cookie, EX.cookie), true);
  assert.equal(cookiesEqual(EX.cookie, EX.cookie.slice(0, -1)), false);
  assert.equal(cookiesEqual(EX.cookie, EX.cookie.toLowerCase()), false);
  assert.equal(cookiesEqual('', ''), true);
  assert.equal(cookiesEqual('', 'a'), false);
  assert.equal(cookiesEqual(undefined, EX.cookie), false);
  assert.equal(cookiesEqual(EX.cookie, null), false);
  assert.equal(cookiesEqual(1, 1), false);
});
