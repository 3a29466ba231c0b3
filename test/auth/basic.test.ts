import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BasicVerifier,
  parseAuthQueryParam,
  parseBasicAuthorization,
  parseCredentials,
  type StoredUser,
} from '../../src/auth/basic.js';
import { derivePrivateKey, privateKeyToBase64, publicKeyFromPrivate } from '../../src/auth/secp224k1.js';

const COOKIE = 'HGREqcILTz8blHa/jsUTVTNBJlg='; // AUTH.md's example cookie: contains "/" and "="
const header = (userPass: string): string => 'Basic ' + Buffer.from(userPass, 'utf8').toString('base64');

// ------------------------------------------------------------------ parsing

test('parseBasicAuthorization: id/cookie:password, cookie may contain "/", password ":"', () => {
  assert.deepEqual(parseBasicAuthorization(header(`1/${COOKIE}:opensesame`)), { userId: 1, cookie: COOKIE, secret: 'opensesame' });
  assert.deepEqual(parseBasicAuthorization(header(`42/${COOKIE}:a:b/c`)), { userId: 42, cookie: COOKIE, secret: 'a:b/c' });
  assert.deepEqual(parseBasicAuthorization(header(`7/${COOKIE}:`)), { userId: 7, cookie: COOKIE, secret: '' });
  assert.deepEqual(parseBasicAuthorization(header(`7/${COOKIE}:pässwörd`)), { userId: 7, cookie: COOKIE, secret: 'pässwörd' });
  // Scheme is case-insensitive; padding may be omitted; surrounding spaces tolerated.
  const token = Buffer.from(`3/${COOKIE}:pw`).toString('base64');
  assert.equal(parseBasicAuthorization('bAsIc ' + token)?.userId, 3);
  assert.equal(parseBasicAuthorization('Basic   ' + token.replace(/=+$/, '') + ' ')?.secret, 'pw');
  assert.equal(parseBasicAuthorization(header(`${Number.MAX_SAFE_INTEGER}/${COOKIE}:x`))?.userId, Number.MAX_SAFE_INTEGER);
});

test('parseBasicAuthorization: malformed input gives undefined, never throws', () => {
  const bad: unknown[] = [
    undefined, null, 5, {}, ['Basic x'], '', 'Basic', 'Basic ', 'Bearer abc',
    'Basic !!!!', 'Basic abc=d', 'Basic a', 'Basic abcd=====', 'BasicYWJj',
    header(`1${COOKIE}:pw`), // no slash
    header(`1/${COOKIE}`), // no colon
    header(`/${COOKIE}:pw`), // empty id
    header(`1/:pw`), // empty cookie
    header(`x/${COOKIE}:pw`), header(`-1/${COOKIE}:pw`), header(`1.5/${COOKIE}:pw`), header(` 1/${COOKIE}:pw`),
    header(`99999999999999999/${COOKIE}:pw`), // above MAX_SAFE_INTEGER
    'Basic ' + Buffer.from([0x31, 0x2f, 0x61, 0x3a, 0xff, 0xfe]).toString('base64'), // not UTF-8
  ];
  for (const b of bad) assert.equal(parseBasicAuthorization(b), undefined, `parsed ${JSON.stringify(b)}`);
  fc.assert(fc.property(fc.string(), (s) => {
    parseBasicAuthorization(s);
    parseBasicAuthorization('Basic ' + s);
    parseAuthQueryParam(s);
  }), { numRuns: 300, seed: 7 });
});

test('parseCredentials: raw form; a space in the cookie is a "+" mangled by query decoding', () => {
  assert.deepEqual(parseCredentials(`1/${COOKIE}:pw`), { userId: 1, cookie: COOKIE, secret: 'pw' });
  assert.deepEqual(parseCredentials('1/ab cd:p w'), { userId: 1, cookie: 'ab+cd', secret: 'p w' });
  assert.equal(parseCredentials(undefined), undefined);
  assert.equal(parseCredentials('1/abc'), undefined);
});

test('parseAuthQueryParam: base64 Basic string (FUTURES.md), with or without "Basic ", or raw', () => {
  const userPass = `12/${COOKIE}:open sesame`;
  const b64 = Buffer.from(userPass).toString('base64');
  const expected = { userId: 12, cookie: COOKIE, secret: 'open sesame' };
  assert.deepEqual(parseAuthQueryParam(b64), expected);
  assert.deepEqual(parseAuthQueryParam('Basic ' + b64), expected);
  assert.deepEqual(parseAuthQueryParam(userPass), expected);
  // "+" in an unescaped query value arrives as a space.
  const withPlus = Buffer.from(`12/${COOKIE}:>>>?`).toString('base64');
  assert.ok(withPlus.includes('+') || withPlus.includes('/'));
  assert.deepEqual(parseAuthQueryParam(withPlus.replaceAll('+', ' ')), parseAuthQueryParam(withPlus));
  assert.equal(parseAuthQueryParam(''), undefined);
  assert.equal(parseAuthQueryParam('%%%'), undefined);
  assert.equal(parseAuthQueryParam(7), undefined);
});

// ------------------------------------------------------------------ BasicVerifier

function fixture(passphrase = 'opensesame') {
  const users = new Map<number, StoredUser>();
  const priv = derivePrivateKey(1, passphrase);
  users.set(1, { publicKey: publicKeyFromPrivate(priv), cookie: COOKIE });
  const lookup = (id: number): StoredUser | undefined => users.get(id);
  let now = 1_000_000;
  const clock = {
    get: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
  return { users, priv, lookup, clock };
}

test('BasicVerifier: passphrase or base64 private key; each failure has its reason', () => {
  const f = fixture();
  const v = new BasicVerifier({ now: f.clock.get });
  assert.equal(v.verify(1, COOKIE, 'opensesame', f.lookup), 'ok');
  assert.equal(v.verify(1, COOKIE, privateKeyToBase64(f.priv), f.lookup), 'ok');
  assert.equal(v.verify(2, COOKIE, 'opensesame', f.lookup), 'no_user');
  assert.equal(v.verify(-1, COOKIE, 'opensesame', f.lookup), 'no_user');
  assert.equal(v.verify(1.5, COOKIE, 'opensesame', f.lookup), 'no_user');
  assert.equal(v.verify(1, COOKIE.slice(1), 'opensesame', f.lookup), 'bad_cookie');
  assert.equal(v.verify(1, '', 'opensesame', f.lookup), 'bad_cookie');
  assert.equal(v.verify(1, COOKIE, 'OpenSesame', f.lookup), 'bad_secret');
  assert.equal(v.verify(1, COOKIE, '', f.lookup), 'bad_secret');
  assert.equal(v.verify(1, COOKIE, Buffer.alloc(28).toString('base64'), f.lookup), 'bad_secret'); // zero key
  assert.equal(v.verify(1, COOKIE, privateKeyToBase64(derivePrivateKey(2, 'opensesame')), f.lookup), 'bad_secret');
  // Only successes are cached.
  assert.equal(v.size, 2);
});

test('BasicVerifier: a passphrase that happens to be base64 of 28 bytes still works as a passphrase', () => {
  const pass = Buffer.alloc(28, 7).toString('base64');
  const f = fixture(pass);
  const v = new BasicVerifier({ now: f.clock.get });
  assert.equal(v.verify(1, COOKIE, pass, f.lookup), 'ok');
});

test('BasicVerifier: the cache serves repeats, but never a changed key or cookie, nor after expiry', () => {
  const f = fixture();
  const v = new BasicVerifier({ now: f.clock.get, ttlMs: 1000 });
  assert.equal(v.verify(1, COOKIE, 'opensesame', f.lookup), 'ok');
  assert.equal(v.has(1, COOKIE, 'opensesame'), true);
  assert.equal(v.verify(1, COOKIE, 'opensesame', f.lookup), 'ok');
  assert.equal(v.size, 1);

  // The user's key is replaced (new passphrase): the old password must stop working at once.
  const user = f.users.get(1);
  assert.ok(user);
  f.users.set(1, { ...user, publicKey: publicKeyFromPrivate(derivePrivateKey(1, 'new pass')) });
  assert.equal(v.verify(1, COOKIE, 'opensesame', f.lookup), 'bad_secret');
  assert.equal(v.size, 0);
  assert.equal(v.verify(1, COOKIE, 'new pass', f.lookup), 'ok');

  // The cookie is rotated: the old cookie is refused, even though it was cached.
  f.users.set(1, { ...f.users.get(1)!, cookie: 'bmV3Y29va2ll' });
  assert.equal(v.verify(1, COOKIE, 'new pass', f.lookup), 'bad_cookie');
  assert.equal(v.verify(1, 'bmV3Y29va2ll', 'new pass', f.lookup), 'ok');

  // The user disappears.
  f.users.delete(1);
  assert.equal(v.verify(1, 'bmV3Y29va2ll', 'new pass', f.lookup), 'no_user');
});

test('BasicVerifier: entries expire after ttlMs and are re-derived', () => {
  const f = fixture();
  const v = new BasicVerifier({ now: f.clock.get, ttlMs: 1000 });
  assert.equal(v.verify(1, COOKIE, 'opensesame', f.lookup), 'ok');
  f.clock.advance(999);
  assert.equal(v.verify(1, COOKIE, 'opensesame', f.lookup), 'ok'); // hit: does not extend lifetime
  assert.equal(v.has(1, COOKIE, 'opensesame'), true);
  f.clock.advance(1);
  assert.equal(v.has(1, COOKIE, 'opensesame'), false);
  // Expired: the stale entry is dropped and the check happens again (still ok, new entry).
  const user = f.users.get(1)!;
  f.users.set(1, { ...user, publicKey: publicKeyFromPrivate(derivePrivateKey(1, 'other')) });
  assert.equal(v.verify(1, COOKIE, 'opensesame', f.lookup), 'bad_secret');
  f.users.set(1, user);
  assert.equal(v.verify(1, COOKIE, 'opensesame', f.lookup), 'ok');
  assert.equal(v.size, 1);
});

test('BasicVerifier: bounded, least recently used evicted first', () => {
  const users = new Map<number, StoredUser>();
  for (let id = 1; id <= 4; id++) users.set(id, { publicKey: publicKeyFromPrivate(derivePrivateKey(id, `p${id}`)), cookie: `c${id}` });
  const v = new BasicVerifier({ maxEntries: 3, now: () => 0 });
  const lookup = (id: number): StoredUser | undefined => users.get(id);
  for (const id of [1, 2, 3]) assert.equal(v.verify(id, `c${id}`, `p${id}`, lookup), 'ok');
  assert.equal(v.verify(1, 'c1', 'p1', lookup), 'ok'); // touch 1: now 2 is the oldest
  assert.equal(v.verify(4, 'c4', 'p4', lookup), 'ok');
  assert.equal(v.size, 3);
  assert.equal(v.has(2, 'c2', 'p2'), false);
  for (const id of [1, 3, 4]) assert.equal(v.has(id, `c${id}`, `p${id}`), true);
  assert.equal(v.has(1, 'c1', 'wrong'), false);
  v.clear();
  assert.equal(v.size, 0);
});

test('BasicVerifier: (cookie, secret) pairs cannot run into each other in the cache key', () => {
  // Without the cookie's length in the HMAC input, ("a", "b") and ("ab", "") would share an entry.
  const users = new Map<number, StoredUser>([[1, { publicKey: publicKeyFromPrivate(derivePrivateKey(1, 'b')), cookie: 'a' }]]);
  const v = new BasicVerifier({ now: () => 0 });
  const lookup = (id: number): StoredUser | undefined => users.get(id);
  assert.equal(v.verify(1, 'a', 'b', lookup), 'ok');
  users.set(1, { publicKey: users.get(1)!.publicKey, cookie: 'ab' });
  assert.equal(v.verify(1, 'ab', '', lookup), 'bad_secret');
});
