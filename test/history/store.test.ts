// The history store and its live writer, with hand-made applied commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { History, HistoryStore, MICROS_PER_DAY, TxKind, openHistory, historyFor } from '../../src/history/index.js';
import type { Applied, AppliedListener, ServerContext } from '../../src/server/context.js';
import type { EngineEvent, OrdersMatched } from '../../src/core/types.js';

const B = 63488;
const C = 65283;
const T = 1_700_000_000_000_000;

function match(time: number, o: Partial<OrdersMatched> = {}): OrdersMatched {
  return {
    type: 'OrdersMatched',
    bid: 2,
    ask: 1,
    bidUserId: 20,
    askUserId: 10,
    bidTonce: null,
    askTonce: null,
    base: B,
    counter: C,
    quantity: 100,
    takerSide: 'bid',
    price: 40_000_000,
    total: 400_000,
    bidRem: 0,
    askRem: 50,
    time,
    bidBaseFee: 0,
    bidCounterFee: 400,
    askBaseFee: 0,
    askCounterFee: 0,
    ...o,
  };
}

function applied(seq: number, time: number, events: EngineEvent[], command: Applied['command'] = { type: 'Tick' }): Applied {
  return { seq, time, command, result: { ok: true }, events };
}

test('trades are stored per side with signed amounts and queried by time range', () => {
  const s = new HistoryStore(':memory:');
  s.write([
    applied(1, T, [], { type: 'Deposit', userId: 10, asset: B, amount: 1000 }),
    applied(2, T + 10, [match(T + 10)]),
    applied(3, T + 20, [match(T + 20, { quantity: 50, total: 200_000, bid: null, bidRem: null })]),
    applied(4, T + 30, [], { type: 'Withdraw', userId: 10, asset: C, amount: 5, address: 'x' }),
  ]);
  assert.equal(s.lastSeq, 4);
  const seller = s.userTrades(10, { sort: 'asc', limit: 10 });
  assert.deepEqual(
    seller.map((t) => [t.time, t.quantity, t.total, t.counterFee, t.orderId]),
    [
      [T + 10, -100, -400_000, 0, 1],
      [T + 20, -50, -200_000, 0, 1],
    ],
  );
  const buyer = s.userTrades(20, { sort: 'desc', limit: 10 });
  assert.deepEqual(
    buyer.map((t) => [t.time, t.quantity, t.total, t.counterFee, t.orderId]),
    [
      [T + 20, 50, 200_000, 400, null],
      [T + 10, 100, 400_000, 400, 2],
    ],
  );
  assert.equal(buyer[0]!.tid, seller[1]!.tid, 'both sides share the public trade id');
  // since / until are strict.
  assert.deepEqual(s.userTrades(10, { since: T + 10, sort: 'asc', limit: 10 }).map((t) => t.time), [T + 20]);
  assert.deepEqual(s.userTrades(10, { until: T + 20, sort: 'asc', limit: 10 }).map((t) => t.time), [T + 10]);
  assert.deepEqual(s.userTrades(10, { sort: 'desc', limit: 1 }).map((t) => t.time), [T + 20]);
  assert.equal(s.userTradeAt(10, T + 20)!.quantity, -50);
  assert.equal(s.userTradeAt(10, T + 21), undefined);
  assert.equal(s.userTrades(99, { sort: 'asc', limit: 10 }).length, 0);

  // Transactions of the market: trades plus transfers of either asset, newest first.
  const tx = s.userTransactions(10, B, C, { offset: 0, limit: 10, sort: 'desc' });
  assert.deepEqual(
    tx.map((t) => [t.kind, t.quantity]),
    [
      [TxKind.WITHDRAWAL, -5],
      [TxKind.TRADE, -50],
      [TxKind.TRADE, -100],
      [TxKind.DEPOSIT, 1000],
    ],
  );
  assert.deepEqual(s.userTransactions(10, B, C, { offset: 1, limit: 2, sort: 'asc' }).map((t) => t.kind), [TxKind.TRADE, TxKind.TRADE]);
  assert.equal(s.userTransactions(10, B, 1, { offset: 0, limit: 10, sort: 'asc' }).length, 1, 'other market: only the XBT deposit');

  const market = s.marketTrades(B, C, T + 10, 10);
  assert.deepEqual(market.map((t) => [t.time, t.quantity, t.takerSide]), [[T + 20, 50, 'bid']]);
  s.close();
});

test('writes at or below lastSeq are skipped; reset empties the store', () => {
  const s = new HistoryStore(':memory:');
  s.write([applied(5, T, [match(T)])]);
  s.write([applied(4, T, [match(T)]), applied(5, T, [match(T)]), applied(6, T + 1, [match(T + 1)])]);
  assert.equal(s.lastSeq, 6);
  assert.equal(s.userTrades(10, { sort: 'asc', limit: 10 }).length, 2);
  s.reset();
  assert.equal(s.lastSeq, 0);
  assert.equal(s.userTrades(10, { sort: 'asc', limit: 10 }).length, 0);
  s.close();
});

test('closed orders and start-of-day balances', () => {
  const s = new HistoryStore(':memory:');
  const day = 19_000;
  const t0 = day * MICROS_PER_DAY;
  s.write([
    applied(1, t0 - 5, [{ type: 'BalanceChanged', userId: 1, asset: B, available: 10, reserved: 0 }]),
    applied(2, t0 - 1, [{ type: 'BalanceChanged', userId: 1, asset: B, available: 20, reserved: 5 }]),
    applied(3, t0 + 1, [
      { type: 'BalanceChanged', userId: 1, asset: B, available: 99, reserved: 0 },
      { type: 'BalanceChanged', userId: 1, asset: C, available: 7, reserved: 0 },
      {
        type: 'OrderClosed',
        userId: 1,
        id: 9,
        tonce: 3,
        base: B,
        counter: C,
        quantity: -5,
        price: 100,
        time: t0 - 10,
        timeClosed: t0 + 1,
        reason: 'cancelled',
      },
    ]),
  ]);
  assert.deepEqual(s.balancesAtStartOfDay(1, day), [{ asset: B, available: 20, reserved: 5 }]);
  assert.deepEqual(
    s.balancesAtStartOfDay(1, day + 1).sort((a, b) => a.asset - b.asset),
    [
      { asset: B, available: 99, reserved: 0 },
      { asset: C, available: 7, reserved: 0 },
    ],
  );
  assert.deepEqual(s.balancesAtStartOfDay(1, day - 1), []);
  const closed = s.closedOrders(1, { sort: 'desc', limit: 10 });
  assert.deepEqual(closed, [
    { id: 9, userId: 1, tonce: 3, base: B, counter: C, quantity: -5, price: 100, time: t0 - 10, timeClosed: t0 + 1, reason: 'cancelled' },
  ]);
  s.close();
});

/** A stand-in context: only what openHistory touches (lastSeq, onApplied, log). */
function fakeCtx(lastSeq: number): { ctx: ServerContext; publish: (a: Applied) => void } {
  const listeners = new Set<AppliedListener>();
  const ctx = {
    engine: { lastSeq } as unknown as ServerContext['engine'],
    log: pino({ level: 'silent' }),
    onApplied(l: AppliedListener) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  } as unknown as ServerContext;
  return { ctx, publish: (a) => listeners.forEach((l) => l(a)) };
}

test('openHistory: catch-up from a replay, live feed batched, duplicates dropped, reopen resumes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfloor-history-'));
  try {
    const journal = [1, 2, 3, 4].map((seq) => applied(seq, T + seq, [match(T + seq)]));
    const { ctx, publish } = fakeCtx(3);
    let from = -1;
    const h = await openHistory(dir, ctx, {
      replay: (after) => {
        from = after;
        return journal.slice(after, 3);
      },
    });
    assert.equal(from, 0);
    assert.equal(historyFor(ctx), h);
    assert.equal(h.lastSeq, 3);
    publish(journal[2]!); // overlap with the replay: skipped
    publish(journal[3]!);
    assert.equal(h.pending, 2);
    // Written by the live writer within its flush interval (no timed assertion: just wait).
    while (h.pending > 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(h.lastSeq, 4);
    assert.equal(h.store.userTrades(10, { sort: 'asc', limit: 100 }).length, 4);
    h.close();
    assert.equal(historyFor(ctx), undefined);

    // Reopen behind the engine: only the missing tail is replayed.
    const second = fakeCtx(6);
    const more = [5, 6].map((seq) => applied(seq, T + seq, [match(T + seq)]));
    const h2 = await openHistory(dir, second.ctx, {
      replay: (after) => {
        from = after;
        return more.filter((a) => a.seq > after);
      },
    });
    assert.equal(from, 4);
    assert.equal(h2.lastSeq, 6);
    assert.equal(h2.store.userTrades(10, { sort: 'asc', limit: 100 }).length, 6);
    h2.close();

    // A store ahead of the engine belongs to another journal: discarded and rebuilt.
    const third = fakeCtx(2);
    const h3 = await openHistory(dir, third.ctx, { replay: (after) => journal.filter((a) => a.seq > after && a.seq <= 2) });
    assert.equal(h3.lastSeq, 2);
    assert.equal(h3.store.userTrades(10, { sort: 'asc', limit: 100 }).length, 2);
    h3.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('History.flush writes synchronously for readers; close flushes and detaches', () => {
  const store = new HistoryStore(':memory:');
  const h = new History(store, { log: pino({ level: 'silent' }) }, 2);
  void h.catchUp(0, undefined);
  for (let seq = 1; seq <= 5; seq++) h.enqueue(applied(seq, T + seq, [match(T + seq)]));
  h.flush();
  assert.equal(store.lastSeq, 5);
  h.enqueue(applied(6, T + 6, [match(T + 6)]));
  h.close();
  h.enqueue(applied(7, T + 7, [match(T + 7)])); // ignored after close
});

test('a failed write keeps the queue and retries; nothing is lost', { timeout: 30_000 }, async () => {
  class Flaky extends HistoryStore {
    failures = 2;
    override write(applieds: readonly Applied[]): void {
      if (this.failures > 0) {
        this.failures--;
        throw new Error('disk full');
      }
      super.write(applieds);
    }
  }
  const store = new Flaky(':memory:');
  const h = new History(store, { log: pino({ level: 'silent' }) });
  await h.catchUp(0, undefined);
  h.enqueue(applied(1, T + 1, [match(T + 1)]));
  h.enqueue(applied(2, T + 2, [match(T + 2)]));
  while (h.pending > 0) await new Promise((r) => setTimeout(r, 20));
  assert.equal(store.failures, 0);
  assert.equal(store.lastSeq, 2);
  assert.equal(store.userTrades(10, { sort: 'asc', limit: 10 }).length, 2);
  h.close();
});

test('writer thread: readers see every published command after flushForRead, same rows as in-process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfloor-history-writer-'));
  try {
    const day = 19_500;
    const t0 = day * MICROS_PER_DAY;
    const feed: Applied[] = [];
    let seq = 0;
    const push = (time: number, events: EngineEvent[], command: Applied['command'] = { type: 'Tick' }) => feed.push(applied(++seq, time, events, command));
    push(t0 - 3, [{ type: 'BalanceChanged', userId: 10, asset: B, available: 1000, reserved: 0 }], { type: 'Deposit', userId: 10, asset: B, amount: 1000 });
    push(t0 - 2, [{ type: 'BalanceChanged', userId: 10, asset: B, available: 900, reserved: 0 }], { type: 'Withdraw', userId: 10, asset: B, amount: 100, address: 'x' });
    for (let i = 0; i < 300; i++) {
      const time = t0 + i;
      push(time, [
        match(time, i % 3 === 0 ? { bid: null, bidRem: null } : { quantity: 100 + i }),
        { type: 'BalanceChanged', userId: 20, asset: C, available: 10_000 - i, reserved: i },
        { type: 'OrderClosed', userId: 20, id: 1000 + i, tonce: i % 2 === 0 ? null : i, base: B, counter: C, quantity: 0, price: 5, time: time - 1, timeClosed: time, reason: i % 2 === 0 ? 'filled' : 'disconnected' },
      ]);
    }
    const { ctx, publish } = fakeCtx(0);
    const h = await openHistory(dir, ctx);
    for (const a of feed) publish(a);
    h.flushForRead(); // no waiting beyond this: the writer thread has committed everything
    assert.equal(h.pending, 0);
    assert.equal(h.lastSeq, seq);

    const ref = new HistoryStore(':memory:');
    ref.write(feed);
    const all = { sort: 'asc' as const, limit: 10_000 };
    for (const user of [10, 20]) {
      assert.deepEqual(h.store.userTrades(user, all), ref.userTrades(user, all));
      assert.deepEqual(h.store.closedOrders(user, all), ref.closedOrders(user, all));
      assert.deepEqual(h.store.userTransactions(user, B, C, { offset: 0, limit: 10_000, sort: 'asc' }), ref.userTransactions(user, B, C, { offset: 0, limit: 10_000, sort: 'asc' }));
      assert.deepEqual(h.store.balancesAtStartOfDay(user, day + 1), ref.balancesAtStartOfDay(user, day + 1));
    }
    assert.equal(h.store.userTrades(20, all).length, 300);
    assert.equal(h.store.userTrades(20, all).filter((t) => t.orderId === null).length, 100);
    assert.deepEqual(h.store.balancesAtStartOfDay(20, day + 1), [{ asset: C, available: 10_000 - 299, reserved: 299 }]);
    ref.close();
    h.close();

    // Reopened: the store resumes at the last written command.
    const again = fakeCtx(seq);
    const h2 = await openHistory(dir, again.ctx, { replay: () => [] });
    assert.equal(h2.lastSeq, seq);
    h2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writer thread lost: what it had not committed is written in-process, and writing goes on there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfloor-history-lost-'));
  try {
    const feed = Array.from({ length: 200 }, (_, i) => applied(i + 1, T + i, [match(T + i)]));
    const { ctx, publish } = fakeCtx(0);
    const h = await openHistory(dir, ctx);
    const internals = h as unknown as { writer?: { terminate(): Promise<number> }; post(): void };
    for (const a of feed.slice(0, 60)) publish(a);
    internals.post(); // a batch in flight to the thread
    for (const a of feed.slice(60, 100)) publish(a); // and rows not posted yet
    await internals.writer!.terminate();
    while (internals.writer !== undefined) await new Promise((r) => setTimeout(r, 5));
    for (const a of feed.slice(100)) publish(a);
    h.flushForRead();
    assert.equal(h.pending, 0);
    assert.equal(h.lastSeq, 200);
    const trades = h.store.userTrades(10, { sort: 'asc', limit: 1000 });
    assert.deepEqual(
      trades.map((t) => t.time),
      feed.map((a) => a.time),
    );
    h.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
