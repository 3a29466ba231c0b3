// End to end: every notice and the recipient rules of WEBSOCKET-README.md over real sockets.
//
// Several connections play the parts (seller, seller also watching, buyer, anonymous watcher,
// an unrelated authenticated watcher, a bystander). The test records the server's applied events
// through ctx.onApplied and derives, with its own small implementation of the spec's rules, what
// each connection must have received; the received frames must match exactly, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { derivePrivateKey, signChallenge } from '../../src/auth/secp224k1.js';
import type { EngineEvent } from '../../src/core/types.js';
import { ONE_XBT, RawConn, TICK, USDT, XBT, fundedUser, startTestServer, type TestUser } from './helpers.js';

const P = 40_000 * TICK;

async function rawLogin(url: string, u: TestUser): Promise<RawConn> {
  const c = await RawConn.open(url);
  const nonce = Buffer.from(String((await c.welcome()).nonce), 'base64');
  const clientNonce = Buffer.alloc(16, 3);
  const r = await c.call({
    tag: 1,
    method: 'Authenticate',
    user_id: u.userId,
    cookie: u.cookie,
    nonce: clientNonce.toString('base64'),
    signature: signChallenge(derivePrivateKey(u.userId, u.passphrase), u.userId, nonce, clientNonce),
  });
  assert.equal(r.error_code, 0);
  return c;
}

interface Role {
  userId: number | null;
  book: boolean;
  ticker: boolean;
}

/** The spec's recipient rules, written independently of the dialect's fan-out. */
function expected(events: EngineEvent[], r: Role): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const mine = (u: number) => r.userId === u;
  for (const e of events) {
    switch (e.type) {
      case 'BalanceChanged':
        if (mine(e.userId)) out.push({ notice: 'BalanceChanged', asset: e.asset, balance: e.available });
        break;
      case 'TradeVolumeChanged':
        if (mine(e.userId)) out.push({ notice: 'TradeVolumeChanged', asset: e.asset, volume: e.volume });
        break;
      case 'OrderOpened':
      case 'OrderModified':
      case 'OrderClosed': {
        if (!mine(e.userId) && !r.book) break;
        const n: Record<string, unknown> = { notice: e.type, id: e.id };
        if (mine(e.userId)) n.tonce = e.tonce;
        Object.assign(n, { base: e.base, counter: e.counter, quantity: e.quantity, price: e.price });
        if (e.type === 'OrderClosed') n.time_closed = e.timeClosed;
        else n.time = e.time;
        out.push(n);
        break;
      }
      case 'OrdersMatched': {
        const buyer = mine(e.bidUserId);
        const seller = mine(e.askUserId);
        if (!buyer && !seller && !r.book) break;
        const n: Record<string, unknown> = { notice: 'OrdersMatched' };
        if (e.bid !== null) n.bid = e.bid;
        if (buyer) n.bid_tonce = e.bidTonce;
        if (e.ask !== null) n.ask = e.ask;
        if (seller) n.ask_tonce = e.askTonce;
        Object.assign(n, { base: e.base, counter: e.counter, quantity: e.quantity, taker_side: e.takerSide });
        if (buyer || seller) n.taker = (buyer && e.takerSide === 'bid') || (seller && e.takerSide === 'ask');
        Object.assign(n, { price: e.price, total: e.total });
        if (e.bidRem !== null) n.bid_rem = e.bidRem;
        if (e.askRem !== null) n.ask_rem = e.askRem;
        n.time = e.time;
        if (buyer) Object.assign(n, { bid_base_fee: e.bidBaseFee, bid_counter_fee: e.bidCounterFee });
        if (seller) Object.assign(n, { ask_base_fee: e.askBaseFee, ask_counter_fee: e.askCounterFee });
        out.push(n);
        break;
      }
      case 'TickerChanged': {
        if (!r.ticker) break;
        const n: Record<string, unknown> = { notice: 'TickerChanged', base: e.base, counter: e.counter };
        for (const k of ['last', 'bid', 'ask', 'low', 'high', 'volume'] as const) if (e[k] !== undefined) n[k] = e[k];
        out.push(n);
        break;
      }
      default:
        break;
    }
  }
  return out;
}

function notices(c: RawConn, from: number): Record<string, unknown>[] {
  return c.frames
    .slice(from)
    .map((f) => JSON.parse(f) as Record<string, unknown>)
    .filter((m) => typeof m.notice === 'string');
}

test('every notice reaches exactly its recipients, in the right version and in engine order', { timeout: 60_000 }, async () => {
  const t = await startTestServer({ limits: { wsOrdersPerSecond: 100_000 } });
  try {
    const sellerU = await fundedUser(t.ctx);
    const buyerU = await fundedUser(t.ctx);
    const otherU = await fundedUser(t.ctx);
    const bystanderU = await fundedUser(t.ctx);

    const seller = await rawLogin(t.url, sellerU);
    const sellerWatching = await rawLogin(t.url, sellerU);
    const buyer = await rawLogin(t.url, buyerU);
    const other = await rawLogin(t.url, otherU);
    const bystander = await rawLogin(t.url, bystanderU);
    const anon = await RawConn.open(t.url);
    await anon.welcome();
    const tickerOnly = await RawConn.open(t.url);
    await tickerOnly.welcome();

    for (const c of [sellerWatching, anon, other]) {
      assert.equal((await c.call({ tag: 2, method: 'WatchOrders', base: XBT, counter: USDT, watch: true })).error_code, 0);
    }
    for (const c of [anon, tickerOnly]) {
      assert.equal((await c.call({ tag: 3, method: 'WatchTicker', base: XBT, counter: USDT, watch: true })).error_code, 0);
    }

    const conns: [RawConn, Role][] = [
      [seller, { userId: sellerU.userId, book: false, ticker: false }],
      [sellerWatching, { userId: sellerU.userId, book: true, ticker: false }],
      [buyer, { userId: buyerU.userId, book: false, ticker: false }],
      [other, { userId: otherU.userId, book: true, ticker: false }],
      [bystander, { userId: bystanderU.userId, book: false, ticker: false }],
      [anon, { userId: null, book: true, ticker: true }],
      [tickerOnly, { userId: null, book: false, ticker: true }],
    ];
    const starts = conns.map(([c]) => c.frames.length);
    const events: EngineEvent[] = [];
    const stop = t.ctx.onApplied((a) => events.push(...a.events));

    let tag = 100;
    const call = (c: RawConn, cmd: Record<string, unknown>) => c.call({ tag: ++tag, ...cmd });
    // 1. The seller opens two asks (one with a tonce).
    const ask1 = await call(seller, { method: 'PlaceOrder', tonce: 5, base: XBT, counter: USDT, quantity: -2 * ONE_XBT, price: P });
    const ask2 = await call(seller, { method: 'PlaceOrder', base: XBT, counter: USDT, quantity: -ONE_XBT, price: P + TICK });
    // 2. The buyer's limit bid takes part of ask1 (the buyer is the taker).
    await call(buyer, { method: 'PlaceOrder', tonce: 9, base: XBT, counter: USDT, quantity: ONE_XBT, price: P });
    // 3. The buyer's market order by total takes the rest of ask1 and some of ask2.
    await call(buyer, { method: 'PlaceOrder', tonce: 10, base: XBT, counter: USDT, total: P + P / 2 });
    // 4. The seller modifies ask2, then a resting bid by the buyer is hit by a market sell of the seller.
    await call(seller, { method: 'ModifyOrder', id: ask2.id, quantity_delta: 100, price: P + 2 * TICK });
    await call(buyer, { method: 'PlaceOrder', base: XBT, counter: USDT, quantity: ONE_XBT, price: P - TICK });
    await call(seller, { method: 'PlaceOrder', base: XBT, counter: USDT, quantity: -ONE_XBT / 2 });
    // 5. A self-trade by the seller, then cancellations.
    await call(seller, { method: 'PlaceOrder', tonce: 6, base: XBT, counter: USDT, quantity: 100, price: P + 2 * TICK });
    await call(seller, { method: 'CancelAllOrders' });
    await call(buyer, { method: 'CancelAllOrders' });
    // 6. Deposits (balance only).
    await t.ctx.submit({ type: 'Deposit', userId: otherU.userId, asset: USDT, amount: 1 });

    // Barrier: a reply sent after everything is durable and published, on every connection.
    for (const [c] of conns) await call(c, { method: 'EstimateMarketOrder', base: XBT, counter: USDT, quantity: 1 });
    stop();

    for (const [i, [c, role]] of conns.entries()) {
      // (Through JSON, as on the wire: the engine's -0 for a filled ask is 0 there.)
      const want = JSON.parse(JSON.stringify(expected(events, role))) as unknown;
      assert.deepEqual(notices(c, starts[i]!), want, `connection ${i} (${JSON.stringify(role)})`);
    }

    // Spot checks of the semantics on concrete values.
    const sn = notices(seller, starts[0]!);
    const opened = sn.find((n) => n.notice === 'OrderOpened' && n.id === ask1.id)!;
    assert.equal(opened.tonce, 5);
    assert.equal(opened.quantity, -2 * ONE_XBT);
    const bn = notices(buyer, starts[2]!);
    const firstFill = bn.find((n) => n.notice === 'OrdersMatched')!;
    assert.equal(firstFill.bid_tonce, 9);
    assert.equal(firstFill.taker, true);
    assert.equal(firstFill.ask, ask1.id);
    assert.ok(!('ask_tonce' in firstFill) && !('ask_counter_fee' in firstFill));
    const marketFill = bn.filter((n) => n.notice === 'OrdersMatched')[1]!;
    assert.ok(!('bid' in marketFill) && !('bid_rem' in marketFill), 'a market bid has no id and no remainder');
    assert.equal(marketFill.bid_tonce, 10);
    const sellerFill = sn.find((n) => n.notice === 'OrdersMatched')!;
    assert.equal(sellerFill.taker, false);
    assert.equal(sellerFill.ask_tonce, 5);
    const selfTrade = sn.filter((n) => n.notice === 'OrdersMatched' && 'bid_tonce' in n && 'ask_tonce' in n);
    assert.equal(selfTrade.length, 1);
    assert.equal(selfTrade[0]!.bid_counter_fee, 0);
    const an = notices(anon, starts[5]!);
    assert.ok(an.every((n) => !('tonce' in n) && !('bid_tonce' in n) && !('ask_tonce' in n) && !('taker' in n) && !('bid_counter_fee' in n)));
    assert.ok(an.some((n) => n.notice === 'OrderModified'));
    assert.ok(an.some((n) => n.notice === 'OrderClosed' && typeof n.time_closed === 'number'));
    assert.ok(an.some((n) => n.notice === 'TickerChanged' && 'last' in n && 'volume' in n));
    assert.ok(an.filter((n) => n.notice === 'TickerChanged').every((n) => Object.keys(n).length < 9), 'only changed ticker fields');
    assert.ok(notices(buyer, starts[2]!).some((n) => n.notice === 'TradeVolumeChanged'));
    assert.deepEqual(notices(bystander, starts[4]!), []);
    // The seller-and-watcher connection got each of its own order notices once.
    assert.equal(notices(sellerWatching, starts[1]!).filter((n) => n.notice === 'OrderOpened' && n.id === ask1.id).length, 1);
    assert.deepEqual(notices(other, starts[3]!).at(-1), { notice: 'BalanceChanged', asset: USDT, balance: notices(other, starts[3]!).at(-1)!.balance });

    for (const [c] of conns) await c.close();
  } finally {
    await t.close();
  }
});

test("a command's notices precede its reply on the issuing connection", { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const u = await fundedUser(t.ctx);
    const c = await rawLogin(t.url, u);
    const from = c.frames.length;
    const r = await c.call({ tag: 77, method: 'PlaceOrder', base: XBT, counter: USDT, quantity: 1, price: P });
    const frames = c.frames.slice(from).map((f) => JSON.parse(f) as Record<string, unknown>);
    const replyAt = frames.findIndex((m) => m.tag === 77);
    const openedAt = frames.findIndex((m) => m.notice === 'OrderOpened' && m.id === r.id);
    const balanceAt = frames.findIndex((m) => m.notice === 'BalanceChanged');
    assert.ok(openedAt >= 0 && openedAt < replyAt && balanceAt < replyAt);
    await c.close();
  } finally {
    await t.close();
  }
});

test('public frames are identical bytes for every watcher', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const u = await fundedUser(t.ctx);
    const watchers = await Promise.all(Array.from({ length: 5 }, () => RawConn.open(t.url)));
    for (const w of watchers) {
      await w.welcome();
      await w.call({ tag: 1, method: 'WatchOrders', base: XBT, counter: USDT, watch: true });
    }
    const starts = watchers.map((w) => w.frames.length);
    const c = await rawLogin(t.url, u);
    await c.call({ tag: 5, method: 'PlaceOrder', tonce: 1, base: XBT, counter: USDT, quantity: 1, price: P });
    for (const w of watchers) await w.call({ tag: 2, method: 'WatchTicker', base: XBT, counter: USDT, watch: true });
    const first = watchers[0]!.frames.slice(starts[0]!, starts[0]! + 1);
    assert.match(first[0]!, /^\{"notice":"OrderOpened","id":\d+,"base":63488,"counter":65283,"quantity":1,"price":400000000,"time":\d+\}$/);
    for (const [i, w] of watchers.entries()) assert.deepEqual(w.frames.slice(starts[i]!, starts[i]! + 1), first);
    await Promise.all([...watchers.map((w) => w.close()), c.close()]);
  } finally {
    await t.close();
  }
});
