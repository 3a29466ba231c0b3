// End to end: LIMITS.md's rate limits (with a controllable clock and low configured limits), frame
// size, binary and malformed frames (error 8 and no state change, fuzzed over the wire), idle
// timeout and slow consumers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { ApiError } from '../../src/client/index.js';
import { parseMessage } from '../../src/dialects/native-ws/parse.js';
import { METHOD_NAMES } from '../../src/client/types.js';
import { RawConn, TICK, USDT, XBT, connect, fundedUser, login, startTestServer } from './helpers.js';

const P = 40_000 * TICK;
const isErr = (code: number, message: string) => (e: unknown) => e instanceof ApiError && e.code === code && e.message === message;

test('information requests: limited per session per 10 s (error 6)', { timeout: 60_000 }, async () => {
  let now = 1_000_000;
  const t = await startTestServer({ limits: { infoRequestsPer10s: 3 }, dialect: { clock: () => now } });
  try {
    const u = await fundedUser(t.ctx);
    const a = await login(t.url, u);
    const b = await login(t.url, u);
    await a.getBalances();
    await a.getOrders();
    await a.getTradeVolume(USDT);
    const tooFast = isErr(6, 'You are making information requests too rapidly.');
    await assert.rejects(a.getBalances(), tooFast);
    await assert.rejects(a.getOrders(), tooFast);
    await assert.rejects(a.getTradeVolume(USDT), tooFast);
    // Per session: another session of the same user is not affected.
    await b.getBalances();
    // Order placements and watches are not information requests.
    await a.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P });
    await a.watchTicker(XBT, USDT);
    // Two windows later the session may ask again.
    now += 20_000;
    await a.getBalances();
    await Promise.all([a.close(), b.close()]);
  } finally {
    await t.close();
  }
});

test('order placements, cancellations and estimates: limited per user per second (error 6)', { timeout: 60_000 }, async () => {
  let now = 5_000_000;
  const t = await startTestServer({ limits: { wsOrdersPerSecond: 5 }, dialect: { clock: () => now } });
  try {
    const u = await fundedUser(t.ctx);
    const v = await fundedUser(t.ctx);
    const a = await login(t.url, u);
    const a2 = await login(t.url, u);
    const b = await login(t.url, v);
    const { id } = await a.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P });
    await a.modifyOrder({ id: id!, price: P - TICK });
    await a.estimateMarketOrder({ base: XBT, counter: USDT, quantity: 1 });
    await a.cancelOrder({ id: id! });
    await a.cancelAllOrders();
    const tooFast = isErr(6, 'You are sending orders too rapidly.');
    const seqBefore = t.ctx.engine.lastSeq;
    await assert.rejects(a.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P }), tooFast);
    await assert.rejects(a.estimateMarketOrder({ base: XBT, counter: USDT, quantity: 1 }), tooFast);
    await assert.rejects(a.cancelAllOrders(), tooFast);
    // Per user: the user's other session shares the budget; another user does not.
    await assert.rejects(a2.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P }), tooFast);
    assert.equal(t.ctx.engine.lastSeq, seqBefore, 'refused commands change nothing');
    await b.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P });
    // Unauthenticated estimates are limited per session.
    const anon = await connect(t.url);
    for (let i = 0; i < 5; i++) await anon.estimateMarketOrder({ base: XBT, counter: USDT, quantity: 1 });
    await assert.rejects(anon.estimateMarketOrder({ base: XBT, counter: USDT, quantity: 1 }), tooFast);
    now += 2_000;
    await a.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P });
    await Promise.all([a.close(), a2.close(), b.close(), anon.close()]);
  } finally {
    await t.close();
  }
});

test('malformed frames: error 8 naming the problem, nothing changes, the connection stays usable', { timeout: 60_000 }, async () => {
  const t = await startTestServer({ dialect: { clock: () => 0 } });
  try {
    const u = await fundedUser(t.ctx);
    const c = await login(t.url, u); // keeps the user authenticated on another session
    const raw = await RawConn.open(t.url);
    await raw.welcome();
    const hash = t.ctx.engine.stateHash();
    const seq = t.ctx.engine.lastSeq;
    const cases: [string, RegExp][] = [
      ['not json', /Invalid JSON/],
      ['[1,2]', /must be a JSON object, got an array/],
      ['"PlaceOrder"', /must be a JSON object/],
      ['{"tag":1}', /Missing field 'method'/],
      ['{"tag":1,"method":"Explode"}', /Unknown method "Explode"/],
      ['{"tag":1,"method":"PlaceOrder","base":"XBT","counter":65283,"quantity":1}', /Field 'base' must be an integer, got string "XBT"/],
      ['{"tag":1,"method":"PlaceOrder","base":63488,"counter":65283,"quantity":1.25,"price":1}', /Field 'quantity' must be an integer/],
      ['{"tag":1,"method":"PlaceOrder","base":63488,"counter":65283,"quantity":12345678901234567890,"price":1}', /Field 'quantity' is out of range/],
      ['{"tag":1,"method":"PlaceOrder","base":63488,"counter":65283,"quantity":1,"price":1,"colour":"red"}', /Unexpected field 'colour'/],
      ['{"tag":1,"method":"GetBalances","all":true}', /Unexpected field 'all'/],
      ['{"tag":"x","method":"GetBalances"}', /Field 'tag' must be an integer/],
      ['{"tag":1,"method":"WatchOrders","base":63488,"counter":65283,"watch":1}', /Field 'watch' must be a boolean/],
    ];
    for (const [frame, re] of cases) {
      const r = await raw.request(frame);
      assert.equal(r.error_code, 8, frame);
      assert.match(String(r.error_msg), re, frame);
      if (frame.startsWith('{"tag":1,')) assert.equal(r.tag, 1, `tag echoed for ${frame}`);
    }
    // Binary frames are refused with a reply; the connection stays open.
    const from = raw.frames.length;
    raw.ws.send(Buffer.from('{"method":"GetOrders"}'), { binary: true });
    const b = await raw.nextWhere((m) => 'error_code' in m, from);
    assert.equal(b.error_code, 8);
    assert.match(String(b.error_msg), /Binary frames are not accepted/);
    assert.equal((await raw.call({ tag: 9, method: 'EstimateMarketOrder', base: XBT, counter: USDT, quantity: 1 })).error_code, 0);
    assert.equal(t.ctx.engine.lastSeq, seq);
    assert.equal(t.ctx.engine.stateHash(), hash);
    await Promise.all([c.close(), raw.close()]);
  } finally {
    await t.close();
  }
});

test('fuzz over the wire: rejected frames get one error 8 each and change nothing', { timeout: 60_000 }, async () => {
  const t = await startTestServer({ dialect: { clock: () => 0 } });
  try {
    await fundedUser(t.ctx);
    const raw = await RawConn.open(t.url);
    await raw.welcome();
    const seq = t.ctx.engine.lastSeq;
    const hash = t.ctx.engine.stateHash();
    const value = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string(), fc.jsonValue({ maxDepth: 2 }));
    const frame = fc.oneof(
      fc.string({ maxLength: 100 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record({ method: fc.oneof(fc.constantFrom(...METHOD_NAMES), fc.string()), extra: fc.dictionary(fc.string({ maxLength: 10 }), value, { maxKeys: 5 }) })
        .map(({ method, extra }) => JSON.stringify({ ...extra, method })),
    );
    const frames = fc.sample(frame, { numRuns: 600, seed: 42 }).filter((f) => !parseMessage(f).ok && Buffer.byteLength(f) < 60_000);
    assert.ok(frames.length > 400);
    const from = raw.frames.length;
    for (const f of frames) raw.send(f);
    // Barrier: one valid command after all of them.
    await raw.call({ tag: 424242, method: 'EstimateMarketOrder', base: XBT, counter: USDT, quantity: 1 });
    const replies = raw.frames.slice(from).map((f) => JSON.parse(f) as Record<string, unknown>);
    assert.equal(replies.length, frames.length + 1);
    assert.ok(replies.slice(0, -1).every((r) => r.error_code === 8 && typeof r.error_msg === 'string' && r.error_msg.length > 0));
    assert.equal(t.ctx.engine.lastSeq, seq);
    assert.equal(t.ctx.engine.stateHash(), hash);
    await raw.close();
  } finally {
    await t.close();
  }
});

test('frames over maxMessageBytes close with 1009; invalid UTF-8 with 1007; no state change', { timeout: 60_000 }, async () => {
  const t = await startTestServer({ limits: { maxMessageBytes: 1024 } });
  try {
    const seq = t.ctx.engine.lastSeq;
    const big = await RawConn.open(t.url);
    await big.welcome();
    big.send(JSON.stringify({ method: 'GetOrders', pad: 'x'.repeat(2000) }));
    assert.equal((await big.closed).code, 1009);
    // Exactly at the limit is fine (and gets its error 8 for the unknown field).
    const ok = await RawConn.open(t.url);
    await ok.welcome();
    const frame = JSON.stringify({ method: 'GetOrders', pad: '' });
    const exact = JSON.stringify({ method: 'GetOrders', pad: 'x'.repeat(1024 - frame.length) });
    assert.equal(Buffer.byteLength(exact), 1024);
    assert.equal((await ok.request(exact)).error_code, 8);
    await ok.close();
    const utf = await RawConn.open(t.url);
    await utf.welcome();
    utf.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    assert.equal((await utf.closed).code, 1007);
    assert.equal(t.ctx.engine.lastSeq, seq);
    assert.equal(t.dialect.stats().closedTooBig, 0, 'ws refused the frame before the dialect saw it');
  } finally {
    await t.close();
  }
});

test('idle connections are closed; Ping frames keep a connection alive', { timeout: 60_000 }, async () => {
  const t = await startTestServer({ limits: { wsIdleTimeoutMs: 800 } });
  try {
    const idle = await RawConn.open(t.url);
    await idle.welcome();
    const pinging = await RawConn.open(t.url);
    await pinging.welcome();
    let pongs = 0;
    pinging.ws.on('pong', () => pongs++);
    const timer = setInterval(() => pinging.ws.ping(), 40);
    const closed = await idle.closed;
    assert.equal(closed.code, 1001);
    assert.match(closed.reason, /Idle timeout/);
    // Keep pinging for well over the timeout, then check it is still open.
    while (pongs < 30) await new Promise((r) => setTimeout(r, 20));
    clearInterval(timer);
    assert.equal(pinging.ws.readyState, pinging.ws.OPEN);
    assert.equal(t.dialect.stats().closedIdle, 1);
    await pinging.close();
    // The SDK's keepalive does the same.
    const sdk = await connect(t.url, { pingIntervalMs: 60 });
    const start = t.dialect.stats().closedIdle;
    let sdkPongs = 0;
    sdk.ws.on('pong', () => sdkPongs++);
    while (sdkPongs < 20) await new Promise((r) => setTimeout(r, 20));
    assert.equal(sdk.ws.readyState, sdk.ws.OPEN);
    assert.equal(t.dialect.stats().closedIdle, start);
    await sdk.close();
  } finally {
    await t.close();
  }
});

test('a consumer that does not read is disconnected with 1008 once its buffer is too large', { timeout: 60_000 }, async () => {
  const t = await startTestServer({ limits: { maxBufferedBytes: 1 << 20, wsOrdersPerSecond: 1_000_000 } });
  try {
    // 1,000 bids and 1,000 asks make each WatchOrders snapshot about 100 kB.
    const bidder = await login(t.url, await fundedUser(t.ctx));
    const asker = await login(t.url, await fundedUser(t.ctx));
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) {
      ps.push(bidder.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P - i * TICK }));
      ps.push(asker.placeOrder({ base: XBT, counter: USDT, quantity: -1, price: P + (i + 1) * TICK }));
    }
    await Promise.all(ps);
    const slow = await RawConn.open(t.url);
    await slow.welcome();
    const socket = (slow.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    // Ask for snapshots again and again without reading any of them.
    let tag = 0;
    while (t.dialect.stats().closedSlowConsumer === 0) {
      for (let i = 0; i < 20; i++) {
        slow.send({ tag: ++tag, method: 'WatchOrders', base: XBT, counter: USDT, watch: true });
        slow.send({ tag: ++tag, method: 'WatchOrders', base: XBT, counter: USDT, watch: false });
      }
      await new Promise((r) => setTimeout(r, 20));
      assert.ok(tag < 20_000, 'the server never gave up on the slow consumer');
    }
    socket.resume();
    const closed = await slow.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /Slow consumer/);
    // Everyone else is unaffected.
    assert.equal((await bidder.getOrders()).length, 1000);
    await Promise.all([bidder.close(), asker.close()]);
  } finally {
    await t.close();
  }
});
