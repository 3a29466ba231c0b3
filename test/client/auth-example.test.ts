// AUTH.md's worked example, with exactly its values, through the functions the client SDK and
// the native WebSocket dialect use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  challengeMessage,
  derivePrivateKey,
  publicKeyFromPrivate,
  signChallenge,
  verifyChallenge,
} from '../../src/auth/secp224k1.js';
import { AUTH_EXAMPLE } from './auth-example.js';

const E = AUTH_EXAMPLE;

test('AUTH.md example: nonces, message, private key and signature encodings', () => {
  const serverNonce = Buffer.from(E.serverNonceB64, 'base64');
  assert.equal(serverNonce.toString('hex'), E.serverNonceHex);
  const clientNonce = Buffer.from(E.clientNonceHex, 'hex');
  assert.equal(clientNonce.toString('base64'), E.clientNonceB64);
  assert.equal(
    challengeMessage(E.userId, serverNonce, clientNonce).toString('hex'),
    '0000000000000001' + E.serverNonceHex + E.clientNonceHex,
  );
  assert.equal(derivePrivateKey(E.userId, E.passphrase).toString('hex'), E.privateKeyHex);
  assert.equal(Buffer.from(E.rHex, 'hex').toString('base64'), E.signature[0]);
  assert.equal(Buffer.from(E.sHex, 'hex').toString('base64'), E.signature[1]);
});

test("AUTH.md example: the document's signature verifies; altered ones do not", () => {
  const pub = publicKeyFromPrivate(derivePrivateKey(E.userId, E.passphrase));
  const serverNonce = Buffer.from(E.serverNonceB64, 'base64');
  const clientNonce = Buffer.from(E.clientNonceB64, 'base64');
  assert.equal(verifyChallenge(pub, E.userId, serverNonce, clientNonce, E.signature), true);
  assert.equal(verifyChallenge(pub, 2, serverNonce, clientNonce, E.signature), false);
  assert.equal(verifyChallenge(pub, E.userId, clientNonce, serverNonce, E.signature), false);
  assert.equal(verifyChallenge(pub, E.userId, serverNonce, clientNonce, [E.signature[1], E.signature[0]]), false);
  const other = publicKeyFromPrivate(derivePrivateKey(E.userId, 'opensesamf'));
  assert.equal(verifyChallenge(other, E.userId, serverNonce, clientNonce, E.signature), false);
});

test('AUTH.md example: a fresh signature by the client SDK path verifies too', () => {
  const priv = derivePrivateKey(E.userId, E.passphrase);
  const serverNonce = Buffer.from(E.serverNonceB64, 'base64');
  const clientNonce = Buffer.from(E.clientNonceB64, 'base64');
  const sig = signChallenge(priv, E.userId, serverNonce, clientNonce);
  assert.equal(Buffer.from(sig[0], 'base64').length, 28);
  assert.equal(Buffer.from(sig[1], 'base64').length, 28);
  assert.equal(verifyChallenge(publicKeyFromPrivate(priv), E.userId, serverNonce, clientNonce, sig), true);
});
