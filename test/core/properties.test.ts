// Property tests: random command sequences over two markets and five users, checking the
// ledger invariants after every command, the event stream against a client-side view built by
// IMPL-GUIDE.md's rules, the fast book against the naive book, replay, and snapshot/restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Engine } from '../../src/core/engine.js';
import type { Command, CommandResult, EngineConfig, EngineEvent, MarketConfig, PlaceOrderOk, UnstampedCommand } from '../../src/core/types.js';
import { NaiveBook } from './naive-book.js';
import { DAY, orderRows, snapshotJson, T0, USDC, USDT, XBT } from './helpers.js';

const USERS = 5;
const MAX_OPEN = 4;
const ASSETS = [XBT, USDC, USDT] as const;

function propertyConfig(tonceRule: EngineConfig['tonceRule'], seed: number): EngineConfig {
  const markets: MarketConfig[] = [
    {
      base: XBT,
      counter: USDT,
      priceScale: 10_000,
      tick: 1,
      kind: 'spot',
      fees: [
        { minVolume: 0, makerPpm: 1_000, takerPpm: 2_500 },
        { minVolume: 2_000_000, makerPpm: 0, takerPpm: 1_500 },
      ],
    },
    { base: USDC, counter: USDT, priceScale: 10_000, tick: 10, kind: 'spot', fees: [{ minVolume: 0, makerPpm: 300, takerPpm: 300 }] },
  ];
  return {
    tonceRule,
    maxOpenOrders: MAX_OPEN,
    seed,
    assets: [
      { code: XBT, name: 'XBT', scale: 10_000 },
      { code: USDC, name: 'USDC', scale: 10_000 },
      { code: USDT, name: 'USDT', scale: 10_000 },
    ],
    markets,
  };
}

/** Prices near each market's mid, off the tick and with fractional totals on purpose. */
function priceOf(market: number, offset: number): number {
  return market === 0 ? 1_000_000 + offset * 1_237 : 10_000 + offset * 13;
}

// ---------------------------------------------------------------- abstract operations

type Op =
  | { k: 'deposit'; u: number; a: number; amount: number }
  | { k: 'withdraw'; u: number; a: number; amount: number; registered: boolean }
  | { k: 'limit'; u: number; m: number; bid: boolean; q: number; p: number; persist: number; post: boolean; tonce: number | null; s: number }
  | { k: 'market'; u: number; m: number; bid: boolean; byTotal: boolean; amount: number; tonce: number | null }
  | { k: 'modify'; u: number; pick: number; delta: number | null; p: number | null; post: boolean; byTonce: boolean }
  | { k: 'cancel'; u: number; pick: number; byTonce: boolean }
  | { k: 'cancelAll'; u: number }
  | { k: 'disconnect'; u: number; s: number }
  | { k: 'tick'; dt: number }
  | { k: 'restart' };

const user = fc.integer({ min: 1, max: USERS });
const tonce = fc.option(fc.integer({ min: 1, max: 12 }), { freq: 2 });
const quantity = fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 5_000 }));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ k: fc.constant('deposit' as const), u: user, a: fc.integer({ min: 0, max: 2 }), amount: fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 3_000_000 })) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('withdraw' as const), u: user, a: fc.integer({ min: 0, max: 2 }), amount: fc.integer({ min: 1, max: 500_000 }), registered: fc.boolean() }) },
  {
    weight: 30,
    arbitrary: fc.record({
      k: fc.constant('limit' as const),
      u: user,
      m: fc.integer({ min: 0, max: 1 }),
      bid: fc.boolean(),
      q: quantity,
      p: fc.integer({ min: -5, max: 5 }),
      persist: fc.constantFrom(0, 0, 0, 1, 2),
      post: fc.constantFrom(false, false, false, false, true),
      tonce,
      s: fc.integer({ min: 0, max: 1 }),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('market' as const),
      u: user,
      m: fc.integer({ min: 0, max: 1 }),
      bid: fc.boolean(),
      byTotal: fc.boolean(),
      amount: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 500_000 })),
      tonce,
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      k: fc.constant('modify' as const),
      u: user,
      pick: fc.nat(),
      delta: fc.option(fc.integer({ min: -3_000, max: 3_000 })),
      p: fc.option(fc.integer({ min: -5, max: 5 })),
      post: fc.boolean(),
      byTonce: fc.boolean(),
    }),
  },
  { weight: 7, arbitrary: fc.record({ k: fc.constant('cancel' as const), u: user, pick: fc.nat(), byTonce: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cancelAll' as const), u: user }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('disconnect' as const), u: user, s: fc.integer({ min: 0, max: 1 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('tick' as const), dt: fc.oneof(fc.integer({ min: 1, max: 3 * DAY }), fc.integer({ min: 1, max: 20 * DAY })) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('restart' as const) }) },
);

type Unstamped = UnstampedCommand;

/** Turns an abstract operation into a command, picking existing orders from the engine's state. */
function concretize(op: Op, engine: Engine): { cmd: Unstamped; dt: number } {
  const markets = engine.markets();
  switch (op.k) {
    case 'deposit':
      return { cmd: { type: 'Deposit', userId: op.u, asset: ASSETS[op.a]!, amount: op.amount }, dt: 7 };
    case 'withdraw':
      return { cmd: { type: 'Withdraw', userId: op.u, asset: ASSETS[op.a]!, amount: op.amount, address: op.registered ? 'addr' : 'elsewhere' }, dt: 7 };
    case 'limit': {
      const m = markets[op.m]!;
      const persist = ([true, false, 'fill_or_kill'] as const)[op.persist]!;
      return {
        cmd: {
          type: 'PlaceOrder',
          userId: op.u,
          sessionId: op.u * 10 + op.s,
          base: m.base,
          counter: m.counter,
          quantity: op.bid ? op.q : -op.q,
          price: priceOf(op.m, op.p),
          persist,
          ...(op.post ? { postOnly: true } : {}),
          ...(op.tonce !== null ? { tonce: op.tonce } : {}),
        },
        dt: 3,
      };
    }
    case 'market': {
      const m = markets[op.m]!;
      const amount = op.bid ? op.amount : -op.amount;
      return {
        cmd: {
          type: 'PlaceOrder',
          userId: op.u,
          sessionId: op.u * 10,
          base: m.base,
          counter: m.counter,
          ...(op.byTotal ? { total: amount } : { quantity: amount }),
          ...(op.tonce !== null ? { tonce: op.tonce } : {}),
        },
        dt: 3,
      };
    }
    case 'modify': {
      const open = engine.openOrders(op.u);
      const o = open.length === 0 ? undefined : open[op.pick % open.length]!;
      const target = o === undefined ? { id: 999_999 } : op.byTonce && o.tonce !== null ? { tonce: o.tonce } : { id: o.id };
      const mIndex = o === undefined ? 0 : markets.findIndex((m) => m.base === o.base && m.counter === o.counter);
      return {
        cmd: {
          type: 'ModifyOrder',
          userId: op.u,
          ...target,
          ...(op.delta !== null ? { quantityDelta: op.delta } : {}),
          ...(op.p !== null ? { price: priceOf(mIndex, op.p) } : {}),
          ...(op.post ? { postOnly: true } : {}),
        },
        dt: 2,
      };
    }
    case 'cancel': {
      const open = engine.openOrders(op.u);
      const o = open.length === 0 ? undefined : open[op.pick % open.length]!;
      const target = o === undefined ? { id: 999_999 } : op.byTonce && o.tonce !== null ? { tonce: o.tonce } : { id: o.id };
      return { cmd: { type: 'CancelOrder', userId: op.u, ...target }, dt: 2 };
    }
    case 'cancelAll':
      return { cmd: { type: 'CancelAllOrders', userId: op.u }, dt: 2 };
    case 'disconnect':
      return { cmd: { type: 'Disconnect', sessionId: op.u * 10 + op.s }, dt: 2 };
    case 'tick':
      return { cmd: { type: 'Tick' }, dt: op.dt };
    case 'restart':
      return { cmd: { type: 'ServerStarted' }, dt: 1_000_000 };
  }
}

function setup(): { cmd: Unstamped; dt: number }[] {
  const out: { cmd: Unstamped; dt: number }[] = [];
  for (let u = 1; u <= USERS; u++) {
    out.push({ cmd: { type: 'CreateUser', publicKey: `pk${u}`, cookie: `ck${u}` }, dt: 1 });
    for (const asset of ASSETS) out.push({ cmd: { type: 'AddWithdrawalAddress', userId: u, asset, address: 'addr' }, dt: 1 });
  }
  // Users 1-3 start with funds, 4 with a little, 5 with nothing (deposits come later, at random).
  const funds: [number, number][] = [
    [XBT, 20_000],
    [USDC, 300_000],
    [USDT, 5_000_000],
  ];
  for (let u = 1; u <= 4; u++) {
    for (const [asset, amount] of funds) out.push({ cmd: { type: 'Deposit', userId: u, asset, amount: u === 4 ? Math.floor(amount / 1_000) : amount }, dt: 1 });
  }
  return out;
}

// ---------------------------------------------------------------- invariants

interface Ledger {
  /** Net deposits minus withdrawals per asset. */
  external: Map<number, number>;
  /** Fees collected per asset. */
  fees: Map<number, number>;
  /** Client-side book views per market, built from events only (IMPL-GUIDE rules). */
  views: Map<string, Map<number, { quantity: number; price: number }>>;
  closed: Set<number>;
  feeFromReservation: number;
}

function newLedger(): Ledger {
  return { external: new Map(), fees: new Map(), views: new Map(), closed: new Set(), feeFromReservation: 0 };
}

const add = (m: Map<number, number>, k: number, v: number) => m.set(k, (m.get(k) ?? 0) + v);


function balanceMap(engine: Engine): Map<string, { available: number; reserved: number }> {
  const out = new Map<string, { available: number; reserved: number }>();
  for (let u = 1; u <= USERS; u++) for (const b of engine.balances(u)) out.set(`${u}:${b.asset}`, { available: b.available, reserved: b.reserved });
  return out;
}

/** Everything that must hold after each command. */
function checkStep(engine: Engine, cmd: Command, result: CommandResult, events: EngineEvent[], before: Map<string, { available: number; reserved: number }>, ledger: Ledger): void {
  const ctx = (): string => `${JSON.stringify(cmd)} -> ${JSON.stringify(result)}`;
  if (!result.ok) assert.deepEqual(events, [], `a failed command emits nothing: ${ctx()}`);
  if (result.ok && cmd.type === 'Deposit') add(ledger.external, cmd.asset, cmd.amount);
  if (result.ok && cmd.type === 'Withdraw') add(ledger.external, cmd.asset, -cmd.amount);

  const markets = engine.markets();
  let marketTraded = 0;
  let marketTotal = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    switch (e.type) {
      case 'OrdersMatched': {
        add(ledger.fees, e.counter, e.bidCounterFee + e.askCounterFee);
        add(ledger.fees, e.base, e.bidBaseFee + e.askBaseFee);
        assert.ok(e.quantity > 0 && e.total >= 0 && e.bidCounterFee >= 0 && e.askCounterFee >= 0, ctx());
        assert.ok(e.bidCounterFee <= e.total && e.askCounterFee <= e.total, ctx());
        if (e.bidUserId === e.askUserId) assert.equal(e.bidCounterFee + e.askCounterFee, 0, 'self-trades pay no fee');
        assert.ok(e.bid === null || !ledger.closed.has(e.bid), `matched after close: ${ctx()}`);
        assert.ok(e.ask === null || !ledger.closed.has(e.ask), `matched after close: ${ctx()}`);
        assert.ok(!(e.bid === null && e.ask === null));
        // The balance changes this trade causes follow it: the buyer's base and the seller's counter.
        let j = i + 1;
        let buyerBase = false;
        let sellerCounter = false;
        for (; j < events.length && events[j]!.type !== 'OrdersMatched'; j++) {
          const b = events[j]!;
          if (b.type !== 'BalanceChanged') continue;
          if (b.userId === e.bidUserId && b.asset === e.base) buyerBase = true;
          if (b.userId === e.askUserId && b.asset === e.counter) sellerCounter = true;
        }
        assert.ok(buyerBase && sellerCounter, `BalanceChanged after OrdersMatched: ${ctx()}`);
        if (cmd.type === 'PlaceOrder' && cmd.price === undefined) {
          marketTraded += e.quantity;
          marketTotal += e.total;
          assert.equal(cmd.quantity !== undefined ? (cmd.quantity > 0 ? e.bid : e.ask) : cmd.total! > 0 ? e.bid : e.ask, null);
        }
        const view = ledger.views.get(`${e.base}:${e.counter}`);
        if (view !== undefined) {
          if (e.bid !== null && view.has(e.bid)) {
            // A resting bid whose remainder shrank by more than the trade: its fee used reservation.
            if (view.get(e.bid)!.quantity - e.quantity > e.bidRem!) ledger.feeFromReservation++;
            view.get(e.bid)!.quantity = e.bidRem!;
          }
          if (e.ask !== null && view.has(e.ask)) view.get(e.ask)!.quantity = -e.askRem!;
        }
        break;
      }
      case 'OrderOpened': {
        assert.ok(!ledger.closed.has(e.id));
        const key = `${e.base}:${e.counter}`;
        if (!ledger.views.has(key)) ledger.views.set(key, new Map());
        assert.ok(!ledger.views.get(key)!.has(e.id), 'opened twice');
        ledger.views.get(key)!.set(e.id, { quantity: e.quantity, price: e.price });
        // It follows the BalanceChanged that took out its reservation.
        const asset = e.quantity > 0 ? e.counter : e.base;
        assert.ok(
          events.slice(0, i).some((b) => b.type === 'BalanceChanged' && b.userId === e.userId && b.asset === asset),
          `OrderOpened before its reservation: ${ctx()}`,
        );
        break;
      }
      case 'OrderModified': {
        const view = ledger.views.get(`${e.base}:${e.counter}`);
        assert.ok(view !== undefined && view.has(e.id), `modified an order the view does not have: ${ctx()}`);
        view.set(e.id, { quantity: e.quantity, price: e.price });
        break;
      }
      case 'OrderClosed': {
        assert.ok(!ledger.closed.has(e.id), `closed twice: ${ctx()}`);
        ledger.closed.add(e.id);
        ledger.views.get(`${e.base}:${e.counter}`)?.delete(e.id);
        if (e.reason === 'cancelled' || e.reason === 'disconnected' || e.reason === 'killed') {
          // Its reservation comes back right after it.
          const next = events[i + 1];
          const asset = e.quantity > 0 ? e.counter : e.base;
          assert.ok(next?.type === 'BalanceChanged' && next.userId === e.userId && next.asset === asset, `BalanceChanged after OrderClosed: ${ctx()}`);
        } else {
          assert.equal(e.quantity, 0);
        }
        break;
      }
      default:
        break;
    }
  }

  // Market orders report what did not trade.
  if (result.ok && cmd.type === 'PlaceOrder') {
    const r = result as PlaceOrderOk;
    if (cmd.price === undefined) {
      const asked = Math.abs(cmd.quantity ?? cmd.total!);
      assert.equal(r.remaining, asked - (cmd.quantity !== undefined ? marketTraded : marketTotal), ctx());
    } else {
      assert.equal(typeof r.id, 'number');
      const open = engine.openOrder(cmd.userId, r.id!);
      if (cmd.persist === 'fill_or_kill') assert.equal(open, undefined, 'fill_or_kill never rests');
      if (cmd.postOnly === true) assert.equal(events.filter((e) => e.type === 'OrdersMatched').length, 0, 'post-only never takes');
    }
  }

  // Every balance change is reported, and the last report is the balance.
  const after = balanceMap(engine);
  const reported = new Map<string, { available: number; reserved: number }>();
  for (const e of events) if (e.type === 'BalanceChanged') reported.set(`${e.userId}:${e.asset}`, { available: e.available, reserved: e.reserved });
  for (const [key, b] of after) {
    assert.ok(b.available >= 0 && b.reserved >= 0, `negative balance ${key}: ${ctx()}`);
    const was = before.get(key) ?? { available: 0, reserved: 0 };
    if (was.available !== b.available || was.reserved !== b.reserved) assert.ok(reported.has(key), `unreported change of ${key}: ${ctx()}`);
    if (reported.has(key)) assert.deepEqual(reported.get(key), b, `BalanceChanged of ${key} is not the final balance: ${ctx()}`);
  }

  // Conservation per asset: balances + fees = deposits - withdrawals.
  for (const asset of ASSETS) {
    let sum = 0;
    for (let u = 1; u <= USERS; u++) {
      const b = after.get(`${u}:${asset}`);
      if (b !== undefined) sum += b.available + b.reserved;
    }
    assert.equal(sum + (ledger.fees.get(asset) ?? 0), ledger.external.get(asset) ?? 0, `conservation of ${asset}: ${ctx()}`);
    assert.equal(engine.heldTotal(asset), sum, `the engine's running total of ${asset} is the sum of the balances: ${ctx()}`);
  }

  // Reservations: per user and asset the sum of the open orders' holds; bids hold enough.
  const snap = engine.serialize();
  const held = new Map<string, number>();
  snap.marketStates.forEach((ms, mi) => {
    const m = markets[mi]!;
    for (const [, userId, flags, remaining, price, , , , reserved] of orderRows(ms.orders)) {
      const bid = flags & 1;
      const asset = bid === 1 ? m.counter : m.base;
      held.set(`${userId}:${asset}`, (held.get(`${userId}:${asset}`) ?? 0) + reserved);
      assert.ok(remaining > 0);
      if (bid === 1) {
        const need = Number((BigInt(remaining) * BigInt(price) + 9_999n) / 10_000n);
        // At least what the rest needs; exactly that, in fact, as IMPL-GUIDE's client-side
        // balance tracking computes it ("the amount of the reservation that it had been requiring").
        assert.ok(reserved >= need, `bid reservation ${reserved} < ${need}`);
        assert.equal(reserved, need, `bid reservation ${reserved} holds more than ${need}`);
      } else assert.equal(reserved, remaining);
    }
  });
  for (const [key, b] of after) assert.equal(b.reserved, held.get(key) ?? 0, `reserved ${key}: ${ctx()}`);

  // The book never crosses, and the event-built views equal the books.
  for (const m of markets) {
    const t = engine.ticker(m.base, m.counter)!;
    if (t.bid !== null && t.ask !== null) assert.ok(t.bid < t.ask, `crossed book: ${ctx()}`);
    const book = engine.bookOrders(m.base, m.counter, 1e9)!;
    const view = ledger.views.get(`${m.base}:${m.counter}`) ?? new Map();
    assert.deepEqual(
      new Map(book.map((o) => [o.id, { quantity: o.quantity, price: o.price }])),
      view,
      `event-built view differs from the book: ${ctx()}`,
    );
  }
  for (let u = 1; u <= USERS; u++) assert.ok(engine.openOrders(u).length <= MAX_OPEN);
}

// ---------------------------------------------------------------- the property

interface Run {
  commands: Command[];
  results: CommandResult[];
  events: EngineEvent[][];
  snapshot: unknown;
  hash: string;
  feeFromReservation: number;
}

function primaryRun(config: EngineConfig, ops: Op[], cut: number): Run {
  const engine = new Engine(config);
  const ledger = newLedger();
  const commands: Command[] = [];
  const results: CommandResult[] = [];
  const events: EngineEvent[][] = [];
  let snapshot: unknown = null;
  let seq = 0;
  let time = T0;
  const plan = setup();
  const total = plan.length + ops.length;
  for (let i = 0; i < total; i++) {
    if (i === cut % (total + 1)) snapshot = JSON.parse(snapshotJson(engine));
    const { cmd, dt } = i < plan.length ? plan[i]! : concretize(ops[i - plan.length]!, engine);
    time += dt;
    const stamped = { ...cmd, seq: ++seq, time } as Command;
    const before = balanceMap(engine);
    const out: EngineEvent[] = [];
    const result = engine.apply(stamped, out);
    checkStep(engine, stamped, result, out, before, ledger);
    commands.push(stamped);
    results.push(result);
    events.push(out);
  }
  if (snapshot === null) snapshot = JSON.parse(snapshotJson(engine));
  return { commands, results, events, snapshot, hash: engine.stateHash(), feeFromReservation: ledger.feeFromReservation };
}

function replay(engine: Engine, run: Run, from: number, label: string): void {
  for (let i = from; i < run.commands.length; i++) {
    const out: EngineEvent[] = [];
    const result = engine.apply(run.commands[i]!, out);
    assert.deepEqual(result, run.results[i], `${label}: result of command ${i} ${JSON.stringify(run.commands[i])}`);
    assert.deepEqual(out, run.events[i], `${label}: events of command ${i} ${JSON.stringify(run.commands[i])}`);
  }
  assert.equal(engine.stateHash(), run.hash, `${label}: final state`);
}

/** applyQuiet() (recovery: no events) for commands [0, to), then apply() with its events checked. */
function replayQuietThenLoud(engine: Engine, run: Run, to: number, label: string): void {
  for (let i = 0; i < to; i++) {
    const ok = engine.applyQuiet(run.commands[i]!);
    assert.equal(ok, run.results[i]!.ok, `${label}: success of command ${i} ${JSON.stringify(run.commands[i])}`);
  }
  replay(engine, run, to, label);
}

test('random command sequences keep every invariant; naive book, replay and restore agree', () => {
  let trades = 0;
  let feesFromReservation = 0;
  const closeReasons = new Set<string>();
  const errorCodes = new Set<number>();
  const outcomes = new Map<string, number>();
  fc.assert(
    fc.property(
      fc.constantFrom<EngineConfig['tonceRule']>('unique', 'increasing'),
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.array(opArb, { minLength: 1, maxLength: 300, size: 'max' }),
      fc.nat(),
      (tonceRule, seed, ops, cut) => {
        const config = propertyConfig(tonceRule, seed);
        const run = primaryRun(config, ops, cut);
        // The naive book drives an identical engine.
        replay(new Engine(config, (pool) => new NaiveBook(pool)), run, 0, 'naive book');
        // Replay of the same commands into a fresh engine.
        replay(new Engine(config), run, 0, 'replay');
        // Restore from a snapshot taken mid-run, then continue.
        const restoredAt = cut % (run.commands.length + 1);
        replay(Engine.restore(run.snapshot), run, Math.min(restoredAt, run.commands.length), `restore at ${restoredAt}`);
        // A recovery's quiet replay up to the same point, then live commands: the events that
        // follow (ticker and volume deltas included) are the ones a full replay gives.
        replayQuietThenLoud(new Engine(config), run, Math.min(restoredAt, run.commands.length), `quiet replay to ${restoredAt}`);
        for (const evs of run.events)
          for (const e of evs) {
            if (e.type === 'OrdersMatched') trades++;
            if (e.type === 'OrderClosed') closeReasons.add(e.reason);
          }
        run.results.forEach((r, i) => {
          const t = run.commands[i]!.type;
          const k = `${t}:${r.ok ? 'ok' : r.code}`;
          outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
          if (!r.ok) errorCodes.add(r.code);
        });
        feesFromReservation += run.feeFromReservation;
      },
    ),
    { numRuns: 200, seed: 20260101, includeErrorInReport: true },
  );
  // The generator reaches the interesting paths.
  if (process.env.CORE_STATS) console.log({ trades, feesFromReservation, closeReasons, errorCodes, outcomes });
  assert.ok(trades > 1_000, `trades: ${trades}`);
  for (const reason of ['cancelled', 'disconnected', 'filled', 'killed']) assert.ok(closeReasons.has(reason), reason); // 'exhausted': fees-rounding.test.ts
  for (const code of [1, 3, 4, 5, 8, 9]) assert.ok(errorCodes.has(code), `error ${code} reached: ${[...errorCodes].join(',')}`);
  assert.ok(feesFromReservation > 0, 'some buyer fees came from the reservation');
});
