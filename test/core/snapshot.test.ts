// Snapshots: format 2 (resting orders as numeric columns) round trips through JSON text, and
// format 1 (one tuple per order, written by earlier versions) still restores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, ORDER_STRIDE, type EngineSnapshotV1, type OrderTuple } from '../../src/core/engine.js';
import type { Command, CommandResult, EngineEvent, UnstampedCommand } from '../../src/core/types.js';
import { DAY, ETH, Harness, orderRows, snapshotJson, testConfig, USDC, USDT, XBT } from './helpers.js';

/** Users, resting orders on several markets (tonces, non-persistent, partly filled), trades with fees. */
function populated(): Harness {
  const h = Harness.of(testConfig({ fees: [{ minVolume: 0, makerPpm: 1_000, takerPpm: 2_000 }, { minVolume: 50_000, makerPpm: 500, takerPpm: 1_500 }] }));
  const a = h.user({ [XBT]: 1_000_000, [USDT]: 1_000_000_000, [USDC]: 1_000_000, [ETH]: 1_000_000 });
  const b = h.user({ [XBT]: 1_000_000, [USDT]: 1_000_000_000, [USDC]: 1_000_000 });
  const c = h.user({ [USDT]: 5_000_000 });
  h.limit(a, -30, 1_000_000, { tonce: 7 });
  h.limit(a, -20, 1_000_100, { persist: false, sessionId: 9 });
  h.limit(b, 25, 999_900, { tonce: 3 });
  h.limit(b, 10, 999_800, { persist: false, sessionId: 4 });
  h.limit(c, 3, 999_700);
  h.place(b, { quantity: 13, price: 1_000_000 }); // partly fills a's ask (fees, stochastic rounding)
  h.limit(a, -100, 10_020, { base: USDC, counter: USDT, tonce: 11 });
  h.limit(b, 100, 9_990, { base: USDC, counter: USDT });
  h.limit(a, -5, 2_000_000, { base: ETH, counter: USDT });
  h.run({ type: 'AddWithdrawalAddress', userId: a, asset: XBT, address: 'addr-1' });
  h.run({ type: 'CreateApiKey', userId: b, accessId: 'key-b', secretKey: 'secret-secret-secret', permissions: ['read', 'trade'] });
  h.run({ type: 'Tick' }, DAY);
  return h;
}

/** Further commands that touch the restored state: matches against resting orders, cancels by tonce, a disconnect. */
function further(h: Harness): UnstampedCommand[] {
  const [a, b, c] = [1, 2, 3];
  void h;
  return [
    { type: 'PlaceOrder', userId: c, sessionId: 1, base: XBT, counter: USDT, quantity: 40, price: 1_000_100 },
    { type: 'PlaceOrder', userId: a, sessionId: 1, base: XBT, counter: USDT, quantity: -30 },
    { type: 'CancelOrder', userId: b, tonce: 3 },
    { type: 'ModifyOrder', userId: a, tonce: 11, quantityDelta: -40, price: 10_000 },
    { type: 'Disconnect', sessionId: 4 },
    { type: 'Disconnect', sessionId: 9 },
    { type: 'PlaceOrder', userId: b, sessionId: 1, base: USDC, counter: USDT, quantity: 200, price: 10_100 },
    { type: 'CancelAllOrders', userId: a },
  ];
}

function runAll(engine: Engine, from: Harness, cmds: UnstampedCommand[]): { results: CommandResult[]; events: EngineEvent[][] } {
  let seq = from.seq;
  let time = from.time;
  const results: CommandResult[] = [];
  const events: EngineEvent[][] = [];
  for (const c of cmds) {
    const out: EngineEvent[] = [];
    results.push(engine.apply({ ...c, seq: ++seq, time: (time += 1_000) } as Command, out));
    events.push(out);
  }
  return { results, events };
}

/** Rewrites a format-2 snapshot into format 1, the shape earlier versions wrote. */
function toFormat1(s2: unknown): EngineSnapshotV1 {
  const s = JSON.parse(JSON.stringify(s2, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v))) as Record<string, unknown> & {
    marketStates: Record<string, unknown>[];
  };
  s.format = 1;
  s.marketStates = s.marketStates.map((ms) => ({
    ...ms,
    orders: orderRows(ms.orders as never).map(
      ([id, userId, flags, remaining, price, time, tonce, sessionId, reserved]): OrderTuple => [id!, userId!, flags! & 1, remaining!, price!, time!, tonce === 0 ? null : tonce!, (flags! & 2) !== 0, sessionId!, reserved!],
    ),
  }));
  return s as unknown as EngineSnapshotV1;
}

test('snapshot format 2: resting orders are Float64Array columns with a fixed stride', () => {
  const h = populated();
  const s = h.engine.serialize();
  assert.equal(s.format, 2);
  const ms = s.marketStates[0]!;
  assert.ok(ms.orders.data instanceof Float64Array);
  assert.equal(ms.orders.stride, ORDER_STRIDE);
  assert.equal(ms.orders.data.length, ms.orders.count * ORDER_STRIDE);
  // Priority order, bids then asks; flags 1 = bid, 2 = persistent; tonce 0 = none.
  const rows = orderRows(ms.orders);
  const views = h.engine.bookOrders(XBT, USDT, 100)!;
  assert.deepEqual(
    rows.map((r) => [r[0], (r[2]! & 1) === 1 ? r[3] : -r[3]!, r[4], r[5]]),
    views.map((v) => [v.id, v.quantity, v.price, v.time]),
  );
  const byId = new Map(rows.map((r) => [r[0], r]));
  assert.equal(byId.get(1)![6], 7); // a's ask, tonce 7, persistent
  assert.equal(byId.get(1)![2], 2);
  assert.equal(byId.get(2)![6], 0); // no tonce
  assert.equal(byId.get(2)![2], 0); // ask, not persistent
  assert.equal(byId.get(2)![7], 9); // its session
  assert.equal(byId.get(3)![2], 3); // persistent bid
});

test('serializeForSnapshot: the same state as serialize, its order columns in one buffer reused by the next call', () => {
  const h = populated();
  const first = h.engine.serializeForSnapshot();
  assert.deepEqual(first, h.engine.serialize());
  const buffer = first.marketStates.find((m) => m.orders.count > 0)!.orders.data.buffer;
  for (const m of first.marketStates) assert.equal(m.orders.data.buffer, buffer, 'every market in the one buffer');
  assert.equal(Engine.restore(first).stateHash(), h.engine.stateHash());
  // Other orders, as many: the next call reuses the buffer and is exact.
  h.limit(1, -7, 1_000_500);
  h.run({ type: 'CancelAllOrders', userId: 3 });
  const second = h.engine.serializeForSnapshot();
  assert.equal(second.marketStates.find((m) => m.orders.count > 0)!.orders.data.buffer, buffer, 'the buffer is reused');
  assert.deepEqual(second, h.engine.serialize());
  assert.equal(Engine.restore(second).stateHash(), h.engine.stateHash());
  // A book that outgrows the buffer gets a new, larger one.
  for (let i = 0; i < 50; i++) h.limit(2, 1, 900_000 - i * 100);
  const third = h.engine.serializeForSnapshot();
  assert.notEqual(third.marketStates.find((m) => m.orders.count > 0)!.orders.data.buffer, buffer);
  assert.deepEqual(third, h.engine.serialize());
});

test('snapshotBufferWanted / adoptSnapshotBuffer: a buffer handed over is used while it fits, garbage in it never shows', () => {
  const h = populated();
  const resting = h.engine.restingOrders().reduce((a, m) => a + m.count, 0);
  const need = resting * ORDER_STRIDE;
  assert.equal(h.engine.snapshotBufferWanted(), need + (need >> 1), 'nothing held: room for the book and half again');
  assert.equal(h.engine.adoptSnapshotBuffer(new Float64Array(need - 1)), false, 'too small for the book');
  const given = new Float64Array(need + 3).fill(Number.NaN); // pre-faulted memory holds garbage
  assert.equal(h.engine.adoptSnapshotBuffer(given), true);
  assert.equal(h.engine.snapshotBufferWanted(), 0, 'what it holds fits');
  assert.equal(h.engine.adoptSnapshotBuffer(new Float64Array(need * 2)), false, 'a fitting buffer is not replaced');
  const snap = h.engine.serializeForSnapshot();
  for (const m of snap.marketStates) assert.equal(m.orders.data.buffer, given.buffer, 'serialized into the given buffer');
  assert.deepEqual(snap, h.engine.serialize());
  assert.equal(Engine.restore(snap).stateHash(), h.engine.stateHash());
  // The book outgrows it: wanted again, sized from the new book.
  h.limit(2, 1, 900_000);
  assert.equal(h.engine.snapshotBufferWanted(), (need + ORDER_STRIDE) + ((need + ORDER_STRIDE) >> 1));
});

test('snapshot round trip: live → serialize → JSON text → parse → restore gives the same state and behaviour', () => {
  const h = populated();
  const live = h.engine.stateHash();
  const text = snapshotJson(h.engine);
  const parsed = JSON.parse(text) as unknown;
  assert.ok(Array.isArray((parsed as { marketStates: { orders: { data: unknown } }[] }).marketStates[0]!.orders.data));
  const fromText = Engine.restore(parsed);
  assert.equal(fromText.stateHash(), live);
  assert.deepEqual(fromText.serialize(), h.engine.serialize());
  assert.equal(snapshotJson(fromText), text);
  // Straight from the typed arrays, and from a bare JSON.stringify (typed arrays as {"0": ...}).
  const direct = Engine.restore(h.engine.serialize());
  assert.equal(direct.stateHash(), live);
  const bare = Engine.restore(JSON.parse(JSON.stringify(h.engine.serialize())));
  assert.equal(bare.stateHash(), live);
  // Every query reads the same.
  for (const e of [fromText, direct, bare]) {
    for (const u of [1, 2, 3]) {
      assert.deepEqual(e.openOrders(u), h.engine.openOrders(u));
      assert.deepEqual(e.balances(u), h.engine.balances(u));
      assert.deepEqual(e.positions(u), h.engine.positions(u));
      assert.equal(e.tradeVolume(u, USDT), h.engine.tradeVolume(u, USDT));
    }
    assert.deepEqual(e.tickers(), h.engine.tickers());
  }
  // Further commands give the same results, events and state.
  const cmds = further(h);
  const want = runAll(h.engine, h, cmds);
  assert.ok(want.events.flat().some((e) => e.type === 'OrdersMatched'));
  assert.ok(want.events.flat().some((e) => e.type === 'OrderClosed' && e.reason === 'disconnected'));
  for (const e of [fromText, direct, bare]) {
    const got = runAll(e, h, cmds);
    assert.deepEqual(got.results, want.results);
    assert.deepEqual(got.events, want.events);
    assert.equal(e.stateHash(), h.engine.stateHash());
  }
});

test('snapshot format 1 (tuples) still restores to the same state', () => {
  const h = populated();
  const live = h.engine.stateHash();
  const v1 = toFormat1(h.engine.serialize());
  assert.equal(v1.format, 1);
  assert.ok(Array.isArray(v1.marketStates[0]!.orders[0]));
  const e = Engine.restore(JSON.parse(JSON.stringify(v1)));
  assert.equal(e.stateHash(), live);
  assert.deepEqual(e.serialize(), h.engine.serialize());
  const cmds = further(h);
  const want = runAll(h.engine, h, cmds);
  const got = runAll(e, h, cmds);
  assert.deepEqual(got.results, want.results);
  assert.deepEqual(got.events, want.events);
  assert.equal(e.stateHash(), h.engine.stateHash());
});

test('snapshot: restore rejects unknown formats and malformed columns', () => {
  const h = populated();
  const s = JSON.parse(snapshotJson(h.engine)) as { format: number; marketStates: { orders: { count: number; stride: number; data: number[] } }[] };
  assert.throws(() => Engine.restore({ ...s, format: 3 }), /unsupported engine snapshot format/);
  const short = structuredClone(s);
  short.marketStates[0]!.orders.count += 1;
  assert.throws(() => Engine.restore(short), /shorter than their count/);
  const stride = structuredClone(s);
  stride.marketStates[0]!.orders.stride = 10;
  assert.throws(() => Engine.restore(stride), /bad resting order columns/);
});

test('stateHash covers the resting orders: a change in one order changes the hash', () => {
  const h = populated();
  const before = h.engine.stateHash();
  const s = JSON.parse(snapshotJson(h.engine)) as { marketStates: { orders: { data: number[] } }[] };
  s.marketStates[0]!.orders.data[3]! -= 1; // remaining of the first bid
  assert.notEqual(Engine.restore(s).stateHash(), before);
});
