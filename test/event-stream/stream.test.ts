// Event Stream against a real server: public and private events, authentication, resumption
// with Last-Event-ID while trading continues, the Reset event, heartbeats.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorMessage, type UnstampedCommand } from '../../src/core/types.js';
import { basic, createUser, http, startTestServer, USDT, XBT, TAKER_FEES, type TestServer, type TestUser } from '../rest/helpers.js';
import { json, SseClient, type SseEvent } from './sse-client.js';

let s: TestServer;
let alice: TestUser;
let bob: TestUser;
let session: number;
const open: SseClient[] = [];

before(async () => {
  s = await startTestServer({ fees: TAKER_FEES });
  alice = await createUser(s.ctx, 'alice', [
    [XBT, 10_000_000],
    [USDT, 100_000_000_000],
  ]);
  bob = await createUser(s.ctx, 'bob', [
    [XBT, 10_000_000],
    [USDT, 100_000_000_000],
  ]);
  session = s.ctx.newSessionId();
});

after(async () => {
  for (const c of open) c.close();
  await s.close();
});

async function connect(path: string, o: { auth?: string; lastEventId?: string } = {}, server = s): Promise<SseClient> {
  const c = await SseClient.connect(server.url + path, o);
  open.push(c);
  return c;
}

async function submit(cmd: UnstampedCommand, server = s) {
  const a = await server.ctx.submit(cmd);
  assert.ok(a.result.ok, `${cmd.type}: ${JSON.stringify(a.result)}`);
  return a;
}

function order(user: TestUser, quantity: number, price: number | undefined, tonce: number | null = null): UnstampedCommand {
  const cmd: UnstampedCommand = { type: 'PlaceOrder', userId: user.id, sessionId: session, tonce, base: XBT, counter: USDT, quantity, persist: true };
  if (price !== undefined) cmd.price = price;
  return cmd;
}

const ID = /^[0-9]+\.[0-9]+$/;

function idKey(id: string): [number, number] {
  const [a, b] = id.split('.');
  return [Number(a), Number(b)];
}

function assertIncreasing(events: SseEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    const [s0, i0] = idKey(events[i - 1]!.id!);
    const [s1, i1] = idKey(events[i]!.id!);
    assert.ok(s1 > s0 || (s1 === s0 && i1 > i0), `ids increase: ${events[i - 1]!.id} then ${events[i]!.id}`);
  }
}

test('public events for anonymous clients, private events and fields for the authenticated user', { timeout: 30_000 }, async () => {
  const anon = await connect('/event-stream');
  assert.equal(anon.status, 200);
  assert.match(String(anon.headers['content-type']), /^text\/event-stream/);
  assert.equal(anon.headers['cache-control'], 'no-cache, no-transform');
  const mine = await connect('/event-stream', { auth: alice.auth });
  const viaQuery = await connect(`/v2/event-stream?auth=${encodeURIComponent(Buffer.from(`${alice.id}/${alice.cookie}:${alice.passphrase}`).toString('base64'))}`);
  assert.equal(viaQuery.status, 200);

  const ask = await submit(order(alice, -5000, 40000000, 55));
  const askId = (ask.result as { id: number }).id;
  await submit(order(bob, 2000, undefined));
  await submit({ type: 'CancelOrder', userId: alice.id, id: askId });
  for (const c of [anon, mine, viaQuery]) await c.waitFor((e) => e.event === 'OrderClosed' && json(e).id === askId, 'OrderClosed');

  const byType = (c: SseClient, t: string) => c.events.filter((e) => e.event === t);
  // Anonymous: book and ticker only, no owner fields.
  assert.deepEqual(byType(anon, 'BalanceChanged'), []);
  assert.deepEqual(byType(anon, 'UserTradeVolumeChanged'), []);
  const anonOpened = json(byType(anon, 'OrderOpened').find((e) => json(e).id === askId)!);
  assert.deepEqual(Object.keys(anonOpened), ['base', 'counter', 'id', 'quantity', 'price', 'time']);
  assert.deepEqual({ ...anonOpened, time: 0 }, { base: XBT, counter: USDT, id: askId, quantity: -5000, price: 40000000, time: 0 });
  const anonMatch = json(byType(anon, 'OrdersMatched').at(-1)!);
  assert.deepEqual(Object.keys(anonMatch), ['base', 'counter', 'ask', 'quantity', 'price', 'total', 'ask_rem', 'time']);
  assert.deepEqual({ ...anonMatch, time: 0 }, {
    base: XBT,
    counter: USDT,
    ask: askId,
    quantity: 2000,
    price: 40000000,
    total: 8_000_000,
    ask_rem: 3000,
    time: 0,
  });
  const ticker = json(byType(anon, 'TickerChanged').at(-1)!);
  assert.deepEqual(Object.keys(ticker), ['base', 'counter', 'last', 'bid', 'ask', 'low', 'high', 'volume']);
  assert.deepEqual(ticker, { base: XBT, counter: USDT, last: 40000000, bid: null, ask: null, low: 40000000, high: 40000000, volume: 2000 });
  assert.deepEqual(json(byType(anon, 'OrderClosed').at(-1)!), { base: XBT, counter: USDT, id: askId, quantity: -3000, price: 40000000 });

  // Alice: balances (available/reserved), tonces, her own fees, trade volume.
  for (const c of [mine, viaQuery]) {
    const balances = byType(c, 'BalanceChanged').map(json);
    assert.ok(balances.length > 0);
    assert.deepEqual(Object.keys(balances[0]!), ['asset', 'available', 'reserved']);
    assert.deepEqual(balances.at(-1), { asset: XBT, ...pick(s.ctx.engine.balances(alice.id).find((b) => b.asset === XBT)!) });
    const opened = json(byType(c, 'OrderOpened').find((e) => json(e).id === askId)!);
    assert.equal(opened.tonce, 55);
    const m = json(byType(c, 'OrdersMatched').at(-1)!);
    assert.deepEqual(Object.keys(m), ['base', 'counter', 'ask', 'ask_tonce', 'quantity', 'price', 'total', 'ask_rem', 'time', 'ask_base_fee', 'ask_counter_fee']);
    assert.equal(m.ask_tonce, 55);
    assert.equal(m.ask_counter_fee, 0, 'maker');
    assert.deepEqual(json(byType(c, 'OrderClosed').at(-1)!), { base: XBT, counter: USDT, id: askId, tonce: 55, quantity: -3000, price: 40000000 });
    const vol = byType(c, 'UserTradeVolumeChanged').map(json);
    assert.ok(vol.length > 0);
    assert.deepEqual(Object.keys(vol[0]!), ['asset', 'volume']);
    assertIncreasing(c.events);
    for (const e of c.events) assert.match(e.id!, ID);
  }
  assertIncreasing(anon.events);
  // Bob, a stranger to Alice's order, but the taker: his fee shows only to him.
  for (const c of [anon, mine, viaQuery]) c.close();
});

function pick(b: { available: number; reserved: number }) {
  return { available: b.available, reserved: b.reserved };
}

test('the taker sees his bid fees; market side ids are omitted', { timeout: 30_000 }, async () => {
  const b = await connect('/event-stream', { auth: bob.auth });
  const ask = await submit(order(alice, -100, 40000000));
  const askId = (ask.result as { id: number }).id;
  await submit(order(bob, 100, undefined));
  const m = json(await b.waitFor((e) => e.event === 'OrdersMatched' && json(e).ask === askId));
  assert.deepEqual(m, {
    base: XBT,
    counter: USDT,
    bid_tonce: null,
    ask: askId,
    quantity: 100,
    price: 40000000,
    total: 400_000,
    ask_rem: 0,
    time: m.time,
    bid_base_fee: 0,
    bid_counter_fee: 400,
  });
  b.close();
});

test('bad credentials: 401 with WWW-Authenticate; no stream', { timeout: 30_000 }, async () => {
  const wrong = await connect('/event-stream', { auth: basic(`${alice.id}/${alice.cookie}:nope`) });
  assert.equal(wrong.status, 401);
  assert.match(String(wrong.headers['www-authenticate']), /^Basic /);
  assert.equal(wrong.body, ErrorMessage.BAD_SIGNATURE);
  const q = await connect('/event-stream?auth=%%%');
  assert.equal(q.status, 401);
  assert.match(q.body, /^Malformed auth parameter/);
  const cookie = await connect(`/event-stream?auth=${encodeURIComponent(`${alice.id}/wrongcookie:${alice.passphrase}`)}`);
  assert.equal(cookie.status, 401);
  assert.equal(cookie.body, ErrorMessage.BAD_COOKIE);
  const r = await http(s.url + '/event-stream', { method: 'POST' });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET, HEAD');
  // HEAD: the headers of the stream, and the response ends.
  const head = await http(s.url + '/event-stream', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.match(head.headers.get('content-type') ?? '', /^text\/event-stream/);
});

test('disconnect mid-stream and resume with Last-Event-ID while orders keep trading: nothing lost, nothing repeated', { timeout: 30_000 }, async () => {
  const reference = await connect('/event-stream', { auth: alice.auth });
  const first = await connect('/event-stream', { auth: alice.auth });
  // Trading pauses twice so each phase certainly overlaps it: rounds 10-29 run while the client
  // is away, rounds 30-79 after it came back.
  let away!: () => void;
  let back!: () => void;
  const awayGate = new Promise<void>((r) => (away = r));
  const backGate = new Promise<void>((r) => (back = r));
  const trading = (async () => {
    for (let i = 0; i < 80; i++) {
      if (i === 10) await awayGate;
      if (i === 30) await backGate;
      await submit(order(alice, -10, 40000000 + (i % 7) * 10000));
      await submit(order(bob, 10, undefined));
    }
  })();

  await first.waitForCount(25);
  first.close();
  away();
  const seen = [...first.events];
  const lastId = seen.at(-1)!.id!;
  await reference.waitFor((e) => e.id === lastId);
  const mark = reference.events.findIndex((e) => e.id === lastId);
  await reference.waitForCount(mark + 1 + 40);
  const resumed = await connect('/event-stream', { auth: alice.auth, lastEventId: lastId });
  back();
  await trading;
  const marker = await submit({ type: 'Deposit', userId: alice.id, asset: USDT, amount: 1 });
  const markerId = `${marker.seq}.0`;
  await reference.waitFor((e) => e.id === markerId);
  await resumed.waitFor((e) => e.id === markerId);

  const got = [...seen, ...resumed.events];
  const start = reference.events.findIndex((e) => e.id === seen[0]!.id);
  const end = reference.events.findIndex((e) => e.id === markerId);
  const want = reference.events.slice(start, end + 1);
  assert.equal(new Set(got.map((e) => e.id)).size, got.length, 'no event repeated');
  assert.deepEqual(
    got.map((e) => e.id),
    want.map((e) => e.id),
  );
  assert.deepEqual(got, want, 'same events, same data');
  assert.ok(resumed.events[0]!.event !== 'Reset');
  assert.ok(want.length > 25 + 40);
  reference.close();
  resumed.close();
});

test('a client asking for more than the ring holds gets a Reset event, then the live stream', { timeout: 30_000 }, async () => {
  const small = await startTestServer({ eventStream: { ringSize: 8, heartbeatMs: 20 } });
  try {
    const u = await createUser(small.ctx, 'u', [[XBT, 1_000_000]]);
    const watcher = await connect('/event-stream', {}, small);
    const sid = small.ctx.newSessionId();
    const place = () => submit({ type: 'PlaceOrder', userId: u.id, sessionId: sid, tonce: null, base: XBT, counter: USDT, quantity: -1, price: 40000000 }, small);
    const of = (a: { seq: number }) => (e: SseEvent) => e.id!.startsWith(`${a.seq}.`);
    await place();
    await watcher.waitForCount(1);
    const early = watcher.events[0]!.id!;
    let last = await place();
    for (let i = 0; i < 9; i++) last = await place();
    await watcher.waitFor(of(last));

    // Within the ring: plain resumption.
    const recent = watcher.events.at(-3)!.id!;
    const ok = await connect('/event-stream', { lastEventId: recent }, small);
    await ok.waitForCount(2);
    assert.deepEqual(ok.events, watcher.events.slice(-2));

    // Too old, garbage, from the future: Reset, then live events.
    for (const id of [early, 'garbage', '999999.0']) {
      const c = await connect('/event-stream', { lastEventId: id }, small);
      const reset = await c.waitFor(() => true);
      assert.equal(reset.event, 'Reset');
      assert.equal(reset.id, String(small.ctx.engine.lastSeq));
      const data = json(reset);
      assert.equal(typeof data.reason, 'string');
      assert.equal(data.last_event_id, id);
      const next = await place();
      const live = await c.waitFor(of(next));
      assert.equal(live.event, 'OrderOpened');
      assert.equal(c.events.length, 2, 'nothing between the reset and the live event');
      c.close();
    }
    // A bare seq (the Reset's id) resumes exactly after that command.
    const bare = String(small.ctx.engine.lastSeq);
    const c = await connect('/event-stream', { lastEventId: bare }, small);
    const next = await place();
    assert.ok(of(next)(await c.waitFor(() => true)));

    // Heartbeat comments keep the connection alive.
    await watcher.waitForComment((x) => x === 'heartbeat');
    for (const x of [watcher, ok, c]) x.close();
  } finally {
    await small.close();
  }
});

test('server shutdown ends open streams', { timeout: 30_000 }, async () => {
  const other = await startTestServer();
  const c = await connect('/event-stream', {}, other);
  await other.close();
  await new Promise<void>((resolve) => {
    const check = () => (c.ended ? resolve() : setTimeout(check, 5));
    check();
  });
  assert.ok(c.ended);
});

test('a client that stops reading is dropped, and on return resumes or gets a Reset, never a gap', { timeout: 60_000 }, async () => {
  const small = await startTestServer({ limits: { maxBufferedBytes: 64 * 1024 }, eventStream: { ringSize: 4000 } });
  try {
    const u = await createUser(small.ctx, 'u', [[XBT, 1_000_000_000]]);
    const sid = small.ctx.newSessionId();
    const watcher = await connect('/event-stream', { auth: u.auth }, small);
    const stalled = await connect('/event-stream', { auth: u.auth }, small);
    stalled.pause();
    assert.equal(small.stream.clientCount, 2);
    // Bursts of events (250 OrderClosed + BalanceChanged per CancelAllOrders) until the server gives
    // up on the stalled client once the socket buffers are full; bounded.
    for (let round = 0; round < 100 && small.stream.clientCount === 2; round++) {
      for (let i = 0; i < 250; i++) {
        await submit({ type: 'PlaceOrder', userId: u.id, sessionId: sid, tonce: null, base: XBT, counter: USDT, quantity: -1, price: 40000000 + i * 10000 }, small);
      }
      await submit({ type: 'CancelAllOrders', userId: u.id }, small);
    }
    assert.equal(small.stream.clientCount, 1, 'the stalled client was dropped');
    stalled.resume();
    await stalled.waitForEnd();
    const last = stalled.events.at(-1)!;
    const marker = await submit({ type: 'Deposit', userId: u.id, asset: USDT, amount: 1 }, small);
    await watcher.waitFor((e) => e.id === `${marker.seq}.0`);
    const resumed = await connect('/event-stream', { auth: u.auth, lastEventId: last.id! }, small);
    const next = await submit({ type: 'Deposit', userId: u.id, asset: USDT, amount: 1 }, small);
    await resumed.waitFor((e) => e.id === `${next.seq}.0`);
    if (resumed.events[0]!.event === 'Reset') {
      // Too far behind for the ring: told so, then live.
      assert.deepEqual(
        resumed.events.slice(1).map((e) => e.id),
        [`${next.seq}.0`],
      );
    } else {
      const from = watcher.events.findIndex((e) => e.id === last.id);
      assert.ok(from >= 0);
      await watcher.waitFor((e) => e.id === `${next.seq}.0`);
      assert.deepEqual(
        resumed.events.map((e) => e.id),
        watcher.events.slice(from + 1).map((e) => e.id),
      );
    }
    watcher.close();
    resumed.close();
  } finally {
    await small.close();
  }
});
