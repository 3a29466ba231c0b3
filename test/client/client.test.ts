// The client SDK against a real server: tags, promises, typed notices, errors, credentials,
// closing.
import { test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import assert from 'node:assert/strict';
import { derivePrivateKey } from '../../src/auth/secp224k1.js';
import { ApiError, ConnectionClosedError, NativeClient, type Notice } from '../../src/client/index.js';
import { TICK, USDT, XBT, connect, fundedUser, startTestServer } from '../native-ws/helpers.js';

const P = 40_000 * TICK;

test('SDK: authenticate by passphrase, by raw and by base64 private key; wrong ones reject with ApiError', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const u = await fundedUser(t.ctx);
    const priv = derivePrivateKey(u.userId, u.passphrase);
    for (const creds of [
      { userId: u.userId, cookie: u.cookie, passphrase: u.passphrase },
      { userId: u.userId, cookie: u.cookie, privateKey: priv },
      { userId: u.userId, cookie: u.cookie, privateKey: priv.toString('base64') },
    ]) {
      const c = await NativeClient.connect(t.url);
      assert.equal(c.serverNonce.length, 16);
      assert.equal(c.userId, null);
      await c.authenticate(creds);
      assert.equal(c.userId, u.userId);
      await c.close();
    }
    const c = await NativeClient.connect(t.url);
    await assert.rejects(
      c.authenticate({ ...u, passphrase: 'wrong' }),
      (e: unknown) => e instanceof ApiError && e.code === 7 && e.method === 'Authenticate' && e.tag > 0,
    );
    assert.equal(c.userId, null);
    await c.close();
  } finally {
    await t.close();
  }
});

test('SDK: unique automatic tags, one promise per command, typed notices in order', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const u = await fundedUser(t.ctx);
    const c = await connect(t.url);
    await c.authenticate(u);
    const sent: number[] = [];
    const orig = c.ws.send.bind(c.ws);
    c.ws.send = ((data: string) => {
      sent.push((JSON.parse(data) as { tag: number }).tag);
      orig(data);
    }) as typeof c.ws.send;
    const opened: number[] = [];
    const all: Notice[] = [];
    c.on('OrderOpened', (n) => opened.push(n.id));
    c.on('notice', (n) => all.push(n));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => c.placeOrder({ tonce: i + 1, base: XBT, counter: USDT, quantity: 1, price: P - i * TICK })));
    assert.equal(new Set(sent).size, 20);
    assert.ok(sent.every((x) => x > 0));
    assert.deepEqual(opened, results.map((r) => r.id));
    assert.ok(all.some((n) => n.notice === 'BalanceChanged'));
    assert.equal(c.pendingCount, 0);
    // once / off / next
    let onceCalls = 0;
    c.once('OrderClosed', () => onceCalls++);
    const next = c.next('OrderClosed', (n) => n.tonce === 3);
    await c.cancelOrder({ tonce: 1 });
    await c.cancelOrder({ tonce: 3 });
    assert.equal(onceCalls, 1);
    assert.equal((await next).tonce, 3);
    await c.close();
  } finally {
    await t.close();
  }
});

test('SDK: pending commands reject when the connection closes; later ones reject at once', { timeout: 60_000 }, async () => {
  const t = await startTestServer({ limits: { maxMessageBytes: 300 } });
  try {
    const c = await connect(t.url);
    const closed = c.closed;
    const pending = c.estimateMarketOrder({ base: XBT, counter: USDT, quantity: 1 });
    // A frame over the limit makes the server close the connection (1009).
    const big = c.request('PlaceOrder', { base: XBT, counter: USDT, quantity: 1, price: 1, tonce: 1, total: 1, ...{ x: 'y'.repeat(400) } } as never);
    await assert.rejects(big, (e: unknown) => e instanceof ConnectionClosedError && e.code === 1009);
    await pending.catch(() => undefined);
    assert.equal((await closed).code, 1009);
    await assert.rejects(c.getOrders(), ConnectionClosedError);
  } finally {
    await t.close();
  }
});

test('SDK: ticker watch returns the current values; TickerChanged carries changes', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const u = await fundedUser(t.ctx);
    const c = await connect(t.url);
    await c.authenticate(u);
    const w = await connect(t.url);
    assert.deepEqual(await w.watchTicker(XBT, USDT), { last: null, bid: null, ask: null, low: null, high: null, volume: 0 });
    const changed = w.next('TickerChanged');
    await c.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P });
    assert.deepEqual(await changed, { notice: 'TickerChanged', base: XBT, counter: USDT, bid: P });
    assert.equal(await w.watchTicker(XBT, USDT, false), undefined);
    await assert.rejects(w.watchTicker(XBT, USDT, false), (e: unknown) => e instanceof ApiError && e.code === 1);
    await Promise.all([c.close(), w.close()]);
  } finally {
    await t.close();
  }
});

/** A bare WebSocket peer (not openfloor) to exercise the SDK's own failure handling. */
async function withPeer(first: string | null, fn: (url: string) => Promise<void>): Promise<void> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    if (first !== null) ws.send(first);
  });
  try {
    await fn(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
  } finally {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
}

test('SDK: connect() requires a Welcome first; timeoutMs bounds a command without reply', { timeout: 60_000 }, async () => {
  await withPeer('{"hello":1}', async (url) => {
    await assert.rejects(NativeClient.connect(url), /expected a Welcome notice/);
  });
  await withPeer('{"notice":"Welcome","nonce":"azRzAi5rm1ry/l0drnz1vw=="}', async (url) => {
    const c = await NativeClient.connect(url, { timeoutMs: 50, pingIntervalMs: 0 });
    assert.equal(c.serverNonce.toString('hex'), '6b3473022e6b9b5af2fe5d1dae7cf5bf');
    await assert.rejects(c.getOrders(), /GetOrders: no reply within 50 ms/);
    assert.equal(c.pendingCount, 0);
    await c.close();
  });
  await assert.rejects(NativeClient.connect('ws://127.0.0.1:1/'));
});
