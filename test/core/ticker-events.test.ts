// Tickers (only changed fields, 24 h window expired by Tick, vwap), the event ordering
// guarantees of IMPL-GUIDE.md, book queries, and serialise/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/core/engine.js';
import type { EngineEvent } from '../../src/core/types.js';
import type { OrderPool } from '../../src/core/book.js';
import { NaiveBook } from './naive-book.js';
import { DAY, Harness, HOUR, MINUTE, ofType, ok, testConfig, types, USDC, USDT, XBT } from './helpers.js';

function tickers(events: EngineEvent[]) {
  return ofType(events, 'TickerChanged').map(({ type: _t, base: _b, counter: _c, time: _time, ...rest }) => rest);
}

test('TickerChanged carries only the fields that changed', () => {
  const h = Harness.of();
  const a = h.user({ [XBT]: 1_000, [USDT]: 100_000_000 });
  const b = h.user({ [XBT]: 1_000, [USDT]: 100_000_000 });
  assert.deepEqual(h.engine.ticker(XBT, USDT), { base: XBT, counter: USDT, last: null, bid: null, ask: null, low: null, high: null, volume: 0, vwap: null, time: 0 });
  assert.deepEqual(tickers(h.place(a, { quantity: 10, price: 1_000_000 }).events), [{ bid: 1_000_000 }]);
  assert.deepEqual(tickers(h.place(a, { quantity: 10, price: 900_000 }).events), []);
  assert.deepEqual(tickers(h.place(a, { quantity: -10, price: 1_200_000 }).events), [{ ask: 1_200_000 }]);
  assert.deepEqual(tickers(h.place(b, { quantity: -4, price: 1_000_000 }).events), [{ last: 1_000_000, low: 1_000_000, high: 1_000_000, volume: 4 }]);
  assert.deepEqual(tickers(h.place(b, { quantity: -6 }).events), [{ bid: 900_000, volume: 10 }]);
  assert.deepEqual(tickers(h.place(b, { quantity: 3 }).events), [{ last: 1_200_000, high: 1_200_000, volume: 13 }]);
  assert.deepEqual(tickers(h.place(b, { quantity: -10 }).events), [{ last: 900_000, low: 900_000, bid: null, volume: 23 }]);
  const t = h.engine.ticker(XBT, USDT)!;
  assert.deepEqual(
    { ...t, vwap: undefined },
    { base: XBT, counter: USDT, last: 900_000, bid: null, ask: 1_200_000, low: 900_000, high: 1_200_000, volume: 23, vwap: undefined, time: h.time },
  );
  // vwap = (10 * 100 + 3 * 120 + 10 * 90) / 23 units of 0.0001 USDT per 0.0001 XBT -> price scale.
  assert.equal(t.vwap, Math.round(((1_000 + 360 + 900) * 10_000) / 23));
  // Nothing changes: no TickerChanged, not even on Tick.
  assert.deepEqual(tickers(h.run({ type: 'Tick' }).events), []);
});

test('the 24 h window expires on Tick: low, high and volume go, last stays', () => {
  const h = Harness.of();
  const a = h.user({ [XBT]: 1_000, [USDT]: 100_000_000 });
  h.time = T(0);
  h.limit(a, -100, 1_000_000);
  h.place(a, { quantity: 10 }); // at minute 0
  h.time = T(10 * MINUTE);
  h.limit(a, -100, 800_000);
  h.place(a, { quantity: 5 }); // at minute 10, price 80
  assert.deepEqual(pick(h.engine.ticker(XBT, USDT)!), { last: 800_000, low: 800_000, high: 1_000_000, volume: 15 });
  // One minute before the first trade turns 24 h old: nothing expires.
  h.time = T(DAY - MINUTE);
  assert.deepEqual(tickers(h.run({ type: 'Tick' }, 0).events), []);
  // At 24 h the first trade leaves the window.
  h.time = T(DAY);
  assert.deepEqual(tickers(h.run({ type: 'Tick' }, 0).events), [{ high: 800_000, volume: 5 }]);
  h.time = T(DAY + 10 * MINUTE);
  assert.deepEqual(tickers(h.run({ type: 'Tick' }, 0).events), [{ low: null, high: null, volume: 0 }]);
  const t = h.engine.ticker(XBT, USDT)!;
  assert.deepEqual([t.last, t.low, t.high, t.volume, t.vwap], [800_000, null, null, 0, null]);
  // Other markets saw no change and report nothing.
  assert.ok(h.allEvents.filter((e) => e.type === 'TickerChanged').every((e) => e.base === XBT));
});

const T = (offset: number): number => Date.UTC(2026, 0, 2) * 1000 + offset;
function pick(t: { last: number | null; low: number | null; high: number | null; volume: number }) {
  return { last: t.last, low: t.low, high: t.high, volume: t.volume };
}

test('the window also expires lazily when the next trade comes after a long pause', () => {
  const h = Harness.of();
  const a = h.user({ [XBT]: 1_000, [USDT]: 100_000_000 });
  h.limit(a, -100, 1_000_000);
  h.place(a, { quantity: 10 });
  h.time += 2 * DAY;
  // The next command that touches the market reports the expiry, then the new trade.
  assert.deepEqual(tickers(h.place(a, { quantity: -100, price: 1_100_000 }).events), [{ low: null, high: null, volume: 0 }]);
  const s = h.place(a, { quantity: 1 });
  assert.deepEqual(tickers(s.events), [{ low: 1_000_000, high: 1_000_000, volume: 1 }]);
  assert.deepEqual(pick(h.engine.ticker(XBT, USDT)!), { last: 1_000_000, low: 1_000_000, high: 1_000_000, volume: 1 });
});

test('IMPL-GUIDE ordering: reservation BalanceChanged, then OrdersMatched, OrderClosed, BalanceChanged, OrderOpened', () => {
  const h = Harness.of();
  const s = h.user({ [XBT]: 1_000 });
  const b = h.user({ [USDT]: 100_000_000 });
  const ask = h.limit(s, -10, 1_000_000);
  const step = h.place(b, { quantity: 15, price: 1_000_000 });
  const bid = (ok(step.result) as { id: number }).id;
  assert.deepEqual(
    step.events.map((e) => {
      switch (e.type) {
        case 'BalanceChanged':
          return `BalanceChanged ${e.userId === b ? 'buyer' : 'seller'} ${e.asset === XBT ? 'XBT' : 'USDT'} ${e.available}/${e.reserved}`;
        case 'OrdersMatched':
          return `OrdersMatched ${e.bid}/${e.ask}`;
        case 'OrderClosed':
        case 'OrderOpened':
          return `${e.type} ${e.id}`;
        default:
          return e.type;
      }
    }),
    [
      'BalanceChanged buyer USDT 99998500/1500',
      `OrdersMatched ${bid}/${ask}`,
      `OrderClosed ${ask}`,
      'BalanceChanged buyer XBT 10/0',
      'BalanceChanged buyer USDT 99998500/500',
      'BalanceChanged seller XBT 990/0',
      'BalanceChanged seller USDT 1000/0',
      `OrderOpened ${bid}`,
      'TickerChanged',
      'TradeVolumeChanged',
      'TradeVolumeChanged',
      'TradeVolumeChanged',
      'TradeVolumeChanged',
    ],
  );
  // A taker bid that fills completely closes (releasing its price improvement) before the balances.
  ok(h.place(s, { quantity: -5, price: 900_000 }).result); // fills the rest of the bid at 1_000_000
  h.limit(s, -5, 900_000);
  const step2 = h.place(b, { quantity: 5, price: 1_000_000 });
  assert.deepEqual(types(step2.events).slice(0, 4), ['BalanceChanged', 'OrdersMatched', 'OrderClosed', 'OrderClosed']);
  assert.ok(types(step2.events).slice(4, 8).every((t) => t === 'BalanceChanged'));
  assert.ok(!types(step2.events).includes('OrderOpened'));
  assert.deepEqual(h.balance(b, USDT), { asset: USDT, available: 100_000_000 - 1_000 - 500 - 450, reserved: 0 });
});

test('book queries: bookOrders in priority order with per-side limits, aggregated depth', () => {
  const h = Harness.of();
  const a = h.user({ [XBT]: 1_000, [USDT]: 100_000_000 });
  const b1 = h.limit(a, 1, 100);
  const b2 = h.limit(a, 2, 300);
  const b3 = h.limit(a, 3, 300);
  const a1 = h.limit(a, -4, 500);
  const a2 = h.limit(a, -5, 400);
  assert.deepEqual(
    h.engine.bookOrders(XBT, USDT, 10)!.map((o) => [o.id, o.quantity, o.price]),
    [
      [b2, 2, 300],
      [b3, 3, 300],
      [b1, 1, 100],
      [a2, -5, 400],
      [a1, -4, 500],
    ],
  );
  assert.deepEqual(
    h.engine.bookOrders(XBT, USDT, 1)!.map((o) => o.id),
    [b2, a2],
  );
  assert.deepEqual(h.engine.depth(XBT, USDT, 10), {
    bids: [
      [300, 5],
      [100, 1],
    ],
    asks: [
      [400, 5],
      [500, 4],
    ],
  });
  assert.deepEqual(h.engine.depth(XBT, USDT, 1), { bids: [[300, 5]], asks: [[400, 5]] });
  assert.equal(h.engine.bookOrders(USDT, XBT, 1), undefined);
  assert.equal(h.engine.depth(USDT, XBT, 1), undefined);
  assert.equal(h.engine.ticker(USDT, XBT), undefined);
  assert.deepEqual(
    h.engine.openOrders(a).map((o) => o.id),
    [b1, b2, b3, a1, a2],
  );
  const { time: _time, ...rec } = h.engine.openOrder(a, b3)!;
  assert.deepEqual(rec, { id: b3, tonce: null, base: XBT, counter: USDT, quantity: 3, price: 300 });
  assert.equal(h.engine.openOrder(a, 999), undefined);
});

/** A scenario touching most state: trades with fees, tonces, sessions, volumes, tickers, keys. */
function scenario(h: Harness, from: number, to: number): EngineEvent[] {
  const out: EngineEvent[] = [];
  const steps: (() => void)[] = [];
  const add = (f: () => { events: EngineEvent[] }) => steps.push(() => out.push(...f().events));
  add(() => h.run({ type: 'CreateUser', publicKey: 'p1', cookie: 'c1' }));
  add(() => h.run({ type: 'CreateUser', publicKey: 'p2', cookie: 'c2' }));
  add(() => h.run({ type: 'Deposit', userId: 1, asset: XBT, amount: 100_000 }));
  add(() => h.run({ type: 'Deposit', userId: 2, asset: USDT, amount: 100_000_000 }));
  add(() => h.run({ type: 'Deposit', userId: 2, asset: USDC, amount: 100_000 }));
  add(() => h.run({ type: 'AddWithdrawalAddress', userId: 1, asset: XBT, address: 'a' }));
  add(() => h.run({ type: 'CreateApiKey', userId: 1, accessId: 'k', secretKey: '0123456789abcdef', permissions: ['read'] }));
  add(() => h.place(1, { quantity: -5_000, price: 1_234_567, tonce: 1 }));
  add(() => h.place(1, { quantity: -5_000, price: 1_234_999, persist: false, sessionId: 9 }));
  add(() => h.place(2, { quantity: 777, price: 1_300_000, tonce: 5 }));
  add(() => h.place(2, { quantity: 3_333 }));
  add(() => h.place(2, { base: USDC, counter: USDT, quantity: -3_333, price: 10_010 }));
  add(() => h.run({ type: 'Withdraw', userId: 1, asset: XBT, amount: 11, address: 'a' }));
  add(() => h.place(2, { quantity: 100, price: 1_000_000, tonce: 6 }));
  add(() => h.run({ type: 'ModifyOrder', userId: 2, tonce: 6, quantityDelta: 50, price: 1_100_000 }));
  add(() => h.run({ type: 'Tick' }, 3 * HOUR));
  add(() => h.place(1, { quantity: -120 }));
  add(() => h.run({ type: 'Disconnect', sessionId: 9 }));
  add(() => h.place(2, { total: 50_000 }, 25 * HOUR));
  add(() => h.place(1, { quantity: -1_000, price: 1_250_000 }));
  add(() => h.run({ type: 'Tick' }, 31 * DAY));
  add(() => h.run({ type: 'CancelAllOrders', userId: 1 }));
  for (let i = from; i < Math.min(to, steps.length); i++) steps[i]!();
  return out;
}

test('serialize → restore → continue gives the same events and state hash as the uninterrupted run', () => {
  const cfg = testConfig({ fees: [{ minVolume: 0, makerPpm: 1_111, takerPpm: 2_222 }, { minVolume: 100_000, makerPpm: 500, takerPpm: 1_500 }] });
  const full = new Harness(new Engine(cfg));
  const expected = scenario(full, 0, 100);
  // The scenario really exercises trades, fees, closures of every kind and the ticker.
  const matched = ofType(expected, 'OrdersMatched');
  assert.ok(matched.length >= 4 && matched.every((m) => m.bidCounterFee + m.askCounterFee > 0), String(matched.length));
  assert.deepEqual([...new Set(ofType(expected, 'OrderClosed').map((c) => c.reason))].sort(), ['cancelled', 'disconnected', 'filled']);
  for (const cut of [0, 3, 9, 12, 16, 19, 21, 100]) {
    const first = new Harness(new Engine(cfg));
    const before = scenario(first, 0, cut);
    const snapshot = JSON.parse(JSON.stringify(first.engine.serialize())) as unknown;
    for (const factory of [undefined, (pool: OrderPool) => new NaiveBook(pool)]) {
      const resumed = new Harness(Engine.restore(snapshot, factory));
      resumed.seq = first.seq;
      resumed.time = first.time;
      assert.equal(resumed.engine.stateHash(), first.engine.stateHash(), `hash after restore at ${cut}`);
      assert.equal(resumed.engine.lastSeq, first.engine.lastSeq);
      const after = scenario(resumed, cut, 100);
      assert.deepEqual([...before, ...after], expected, `events after restore at ${cut}`);
      assert.equal(resumed.engine.stateHash(), full.engine.stateHash(), `final hash after restore at ${cut}`);
      assert.deepEqual(resumed.engine.tickers(), full.engine.tickers());
      for (const u of [1, 2]) {
        assert.deepEqual(resumed.engine.openOrders(u), full.engine.openOrders(u));
        assert.deepEqual(resumed.engine.positions(u), full.engine.positions(u));
        assert.deepEqual(resumed.engine.withdrawalAddresses(u), full.engine.withdrawalAddresses(u));
        assert.deepEqual(resumed.engine.apiKeys(u), full.engine.apiKeys(u));
        assert.equal(resumed.engine.tradeVolume(u, USDT), full.engine.tradeVolume(u, USDT));
      }
    }
  }
  // Replaying the command log into a fresh engine rebuilds the same state.
  const replay = new Engine(cfg);
  const events: EngineEvent[] = [];
  for (const c of full.log) replay.apply(c, events);
  assert.deepEqual(events, expected);
  assert.equal(replay.stateHash(), full.engine.stateHash());
  assert.throws(() => Engine.restore({ format: 2 }));
});
