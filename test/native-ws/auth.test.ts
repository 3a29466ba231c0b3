// End to end: the Welcome notice, authentication (AUTH.md, with its worked example replayed over
// a real socket value for value) and every error row of Authenticate; commands that need
// authentication refuse with error 7.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { derivePrivateKey, publicKeyFromPrivate, signChallenge } from '../../src/auth/secp224k1.js';
import { AUTH_EXAMPLE as E } from '../client/auth-example.js';
import { ApiError } from '../../src/client/index.js';
import { RawConn, connect, createUser, startTestServer, XBT, USDT } from './helpers.js';

test('Welcome: exactly {notice, nonce}, 16 fresh random bytes per connection, on / and /v1', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const nonces = new Set<string>();
    for (const path of ['/', '/v1', '/', '/v1?x=1']) {
      const c = await RawConn.open(t.server.wsUrl + path);
      const w = await c.welcome();
      assert.deepEqual(Object.keys(w), ['notice', 'nonce']);
      assert.equal(w.notice, 'Welcome');
      assert.match(String(w.nonce), /^[A-Za-z0-9+/]{22}==$/);
      assert.equal(Buffer.from(String(w.nonce), 'base64').length, 16);
      nonces.add(String(w.nonce));
      assert.equal(c.frames[0], JSON.stringify(w), 'Welcome is the first frame');
      await c.close();
    }
    assert.equal(nonces.size, 4);
    // Other paths are not this dialect's.
    await assert.rejects(RawConn.open(t.server.wsUrl + '/v2'));
  } finally {
    await t.close();
  }
});

test("AUTH.md's worked example over the wire, value for value", { timeout: 60_000 }, async () => {
  const t = await startTestServer({ dialect: { nonce: () => Buffer.from(E.serverNonceHex, 'hex') } });
  try {
    // User 1 with the example's passphrase-derived key and cookie.
    const publicKey = publicKeyFromPrivate(derivePrivateKey(E.userId, E.passphrase)).toString('base64');
    const created = await t.ctx.submit({ type: 'CreateUser', publicKey, cookie: E.cookie });
    assert.deepEqual(created.result, { ok: true, userId: 1 });

    const c = await RawConn.open(t.url);
    const w = await c.welcome();
    assert.equal(c.frames[0], '{"notice":"Welcome","nonce":"azRzAi5rm1ry/l0drnz1vw=="}');
    assert.equal(w.nonce, E.serverNonceB64);
    const before = c.frames.length;
    c.send(
      JSON.stringify({
        method: 'Authenticate',
        user_id: 1,
        cookie: 'HGREqcILTz8blHa/jsUTVTNBJlg=',
        nonce: '8IyYyvH9gujOqYJdv/BP0A==',
        signature: ['P7d6nXtbKmggnnb2hyB4xXkTQNWYmFSto6tzXg==', 'NLhDQS8YqRDxin1M4dNZeGDmNFsiv3iUz2d4Cg=='],
      }),
    );
    await c.nextWhere((m) => 'error_code' in m, before);
    assert.equal(c.frames[before], '{"error_code":0}');
    // Authenticated now: a private command works.
    const r = await c.call({ tag: 1, method: 'GetOrders' });
    assert.deepEqual(r, { tag: 1, error_code: 0, orders: [] });
    await c.close();
  } finally {
    await t.close();
  }
});

test('Authenticate error rows: 1 no such user, 7 cookie, 7 signature, 8 malformed; tag echo', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const u = await createUser(t.ctx, 'correct horse');
    const c = await RawConn.open(t.url);
    const nonce = Buffer.from(String((await c.welcome()).nonce), 'base64');
    const clientNonce = Buffer.alloc(16, 7);
    const sig = signChallenge(derivePrivateKey(u.userId, 'correct horse'), u.userId, nonce, clientNonce);
    const auth = (fields: Record<string, unknown>) => ({
      method: 'Authenticate',
      user_id: u.userId,
      cookie: u.cookie,
      nonce: clientNonce.toString('base64'),
      signature: sig,
      ...fields,
    });

    assert.deepEqual(await c.call({ tag: 1, ...auth({ user_id: 999 }) }), { tag: 1, error_code: 1, error_msg: 'There is no such user.' });
    assert.deepEqual(await c.call({ tag: 2, ...auth({ cookie: 'AAAA' + u.cookie.slice(4) }) }), {
      tag: 2,
      error_code: 7,
      error_msg: 'You sent an incorrect login cookie.',
    });
    const wrong = signChallenge(derivePrivateKey(u.userId, 'wrong horse'), u.userId, nonce, clientNonce);
    assert.deepEqual(await c.call({ tag: 3, ...auth({ signature: wrong }) }), {
      tag: 3,
      error_code: 7,
      error_msg: 'You sent an incorrect signature. This probably means you used a wrong passphrase.',
    });
    // Signed for another client nonce, or with garbage: still a bad signature.
    assert.equal((await c.call({ tag: 4, ...auth({ nonce: Buffer.alloc(16, 8).toString('base64') }) })).error_code, 7);
    assert.equal((await c.call({ tag: 5, ...auth({ signature: ['x', 'y'] }) })).error_code, 7);
    const m = await c.call({ tag: 6, ...auth({ nonce: 'short' }) });
    assert.equal(m.error_code, 8);
    assert.match(String(m.error_msg), /nonce/);
    // Still not authenticated after the failures.
    assert.deepEqual(await c.call({ tag: 7, method: 'GetBalances' }), { tag: 7, error_code: 7, error_msg: 'You are not authenticated.' });
    // A zero tag is not echoed.
    const before = c.frames.length;
    c.send({ tag: 0, ...auth({ user_id: 999 }) });
    await c.nextWhere((x) => 'error_code' in x, before);
    assert.equal(c.frames[before], '{"error_code":1,"error_msg":"There is no such user."}');
    // Now the good one.
    assert.deepEqual(await c.call({ tag: 8, ...auth({}) }), { tag: 8, error_code: 0 });
    assert.equal((await c.call({ tag: 9, method: 'GetBalances' })).error_code, 0);
    await c.close();
  } finally {
    await t.close();
  }
});

test('error 6: authentication attempts per user are limited (attempts on other users are not)', { timeout: 60_000 }, async () => {
  const t = await startTestServer({ limits: { authAttemptsPerHour: 3 } });
  try {
    const u = await createUser(t.ctx, 'pw');
    const v = await createUser(t.ctx, 'pw2');
    const c = await connect(t.url);
    for (let i = 0; i < 3; i++) {
      await assert.rejects(c.authenticate({ ...u, passphrase: 'nope' }), (e: ApiError) => e.code === 7);
    }
    await assert.rejects(c.authenticate(u), (e: ApiError) => e.code === 6 && e.message === 'You are making authentication attempts too rapidly.');
    // Across connections too: the limit is per user.
    const c2 = await connect(t.url);
    await assert.rejects(c2.authenticate(u), (e: ApiError) => e.code === 6);
    await c2.authenticate(v);
    await c.close();
    await c2.close();
  } finally {
    await t.close();
  }
});

test('error 7 for every private command before authentication; public ones work', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const c = await RawConn.open(t.url);
    await c.welcome();
    const privateCommands: Record<string, unknown>[] = [
      { method: 'GetBalances' },
      { method: 'GetOrders' },
      { method: 'GetTradeVolume', asset: USDT },
      { method: 'PlaceOrder', base: XBT, counter: USDT, quantity: 1, price: 10000 },
      { method: 'ModifyOrder', id: 1, price: 10000 },
      { method: 'CancelOrder', id: 1 },
      { method: 'CancelAllOrders' },
    ];
    let tag = 100;
    for (const cmd of privateCommands) {
      assert.deepEqual(await c.call({ tag: ++tag, ...cmd }), { tag, error_code: 7, error_msg: 'You are not authenticated.' }, String(cmd.method));
    }
    assert.equal((await c.call({ tag: ++tag, method: 'WatchOrders', base: XBT, counter: USDT, watch: true })).error_code, 0);
    assert.equal((await c.call({ tag: ++tag, method: 'WatchTicker', base: XBT, counter: USDT, watch: true })).error_code, 0);
    assert.equal((await c.call({ tag: ++tag, method: 'EstimateMarketOrder', base: XBT, counter: USDT, quantity: 1 })).error_code, 0);
    await c.close();
  } finally {
    await t.close();
  }
});

test('re-authenticating as another user switches the session', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const a = await createUser(t.ctx, 'a');
    const b = await createUser(t.ctx, 'b');
    await t.ctx.submit({ type: 'Deposit', userId: b.userId, asset: USDT, amount: 5 });
    const c = await connect(t.url);
    await c.authenticate(a);
    assert.ok((await c.getBalances()).every((x) => x.balance === 0));
    await c.authenticate(b);
    assert.equal((await c.getBalances()).find((x) => x.asset === USDT)!.balance, 5);
    // Notices now go to b's session only.
    const got = c.next('BalanceChanged');
    await t.ctx.submit({ type: 'Deposit', userId: a.userId, asset: USDT, amount: 1 });
    await t.ctx.submit({ type: 'Deposit', userId: b.userId, asset: USDT, amount: 2 });
    assert.deepEqual(await got, { notice: 'BalanceChanged', asset: USDT, balance: 7 });
    await c.close();
  } finally {
    await t.close();
  }
});
