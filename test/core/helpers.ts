// Shared fixtures for the core tests: a small engine configuration and a harness that stamps
// commands (seq, time) the way the sequencer does and hands back each command's own events.
import assert from 'node:assert/strict';
import { Engine, ORDER_STRIDE, type BookFactory, type OrderColumns } from '../../src/core/engine.js';
import type {
  BalanceView,
  CommandResult,
  EngineConfig,
  EngineEvent,
  FeeTier,
  Failure,
  MarketConfig,
  UnstampedCommand,
  Command,
} from '../../src/core/types.js';

export const XBT = 0xf800;
export const ETH = 0xf820;
export const USDC = 0xff02;
export const USDT = 0xff03;
export const EUR = 0xfa00;

/** 2026-01-01T00:00:00Z in microseconds. */
export const T0 = Date.UTC(2026, 0, 1) * 1000;
export const SECOND = 1_000_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const NO_FEES: FeeTier[] = [{ minVolume: 0, makerPpm: 0, takerPpm: 0 }];

export interface TestConfigOptions {
  /** Fee schedule of XBT:USDT (default: none). */
  fees?: FeeTier[];
  /** Fee schedule of USDC:USDT (default: none). */
  usdcFees?: FeeTier[];
  tonceRule?: EngineConfig['tonceRule'];
  maxOpenOrders?: number;
  seed?: number;
  extraMarkets?: MarketConfig[];
}

/**
 * Four assets at scale 10^4 (EUR 10^2) and three markets, every one with priceScale 10^4 except
 * XBT:EUR (10^2), so a bid reserves ceil(quantity * price / 10000) counter units everywhere:
 * - XBT:USDT tick 1 (any price on the tick), fees as given;
 * - USDC:USDT tick 10 (SCALE.md's 0.001);
 * - ETH:USDT tick 1000 (0.1).
 */
export function testConfig(o: TestConfigOptions = {}): EngineConfig {
  return {
    tonceRule: o.tonceRule ?? 'unique',
    maxOpenOrders: o.maxOpenOrders ?? 1000,
    seed: o.seed ?? 12345,
    assets: [
      { code: XBT, name: 'XBT', scale: 10_000 },
      { code: ETH, name: 'ETH', scale: 10_000 },
      { code: USDC, name: 'USDC', scale: 10_000 },
      { code: USDT, name: 'USDT', scale: 10_000 },
      { code: EUR, name: 'EUR', scale: 100 },
    ],
    markets: [
      { base: XBT, counter: USDT, priceScale: 10_000, tick: 1, kind: 'spot', spotName: 'XBT:USDT', fees: o.fees ?? NO_FEES },
      { base: USDC, counter: USDT, priceScale: 10_000, tick: 10, kind: 'spot', spotName: 'USDC:USDT', fees: o.usdcFees ?? NO_FEES },
      { base: ETH, counter: USDT, priceScale: 10_000, tick: 1000, kind: 'spot', spotName: 'ETH:USDT', fees: NO_FEES },
      { base: XBT, counter: EUR, priceScale: 100, tick: 1, kind: 'spot', spotName: 'XBT:EUR', fees: NO_FEES },
      ...(o.extraMarkets ?? []),
    ],
  };
}

export interface Step {
  result: CommandResult;
  events: EngineEvent[];
}

/** Drives an engine like the sequencer: seq + 1 and time + dt per command. */
export class Harness {
  seq = 0;
  time = T0;
  readonly log: Command[] = [];
  readonly allEvents: EngineEvent[] = [];

  constructor(
    public engine: Engine,
    /** Default session of orders placed through `place`. */
    public session = 1,
  ) {}

  static of(config: EngineConfig = testConfig(), bookFactory?: BookFactory): Harness {
    return new Harness(new Engine(config, bookFactory));
  }

  run(cmd: UnstampedCommand, dt = 1): Step {
    this.time += dt;
    const stamped = { ...cmd, seq: ++this.seq, time: this.time } as Command;
    this.log.push(stamped);
    const events: EngineEvent[] = [];
    const result = this.engine.apply(stamped, events);
    this.allEvents.push(...events);
    return { result, events };
  }

  /** Creates a user and deposits the given amounts; returns the user id. */
  user(deposits: Record<number, number> = {}): number {
    const r = this.run({ type: 'CreateUser', publicKey: `pk${this.seq}`, cookie: `ck${this.seq}` });
    assert.ok(r.result.ok);
    const userId = (r.result as { userId: number }).userId;
    for (const [asset, amount] of Object.entries(deposits)) this.deposit(userId, Number(asset), amount);
    return userId;
  }

  deposit(userId: number, asset: number, amount: number): Step {
    const s = this.run({ type: 'Deposit', userId, asset, amount });
    assert.ok(s.result.ok, JSON.stringify(s.result));
    return s;
  }

  /** Places an order on base:counter (XBT:USDT by default). */
  place(userId: number, fields: { quantity?: number; price?: number; total?: number; tonce?: number | null; persist?: boolean | 'fill_or_kill'; postOnly?: boolean; base?: number; counter?: number; sessionId?: number }, dt = 1): Step {
    const { base = XBT, counter = USDT, sessionId = this.session, ...rest } = fields;
    return this.run({ type: 'PlaceOrder', userId, sessionId, base, counter, ...rest }, dt);
  }

  /** Places a limit order that must succeed; returns its id. */
  limit(userId: number, quantity: number, price: number, extra: Parameters<Harness['place']>[1] = {}): number {
    const s = this.place(userId, { quantity, price, ...extra });
    assert.ok(s.result.ok, JSON.stringify(s.result));
    return (s.result as { id: number }).id;
  }

  balance(userId: number, asset: number): BalanceView {
    const b = this.engine.balances(userId).find((x) => x.asset === asset);
    assert.ok(b, `no balance of ${asset}`);
    return b;
  }
}

export function ok<T extends CommandResult>(r: T): Exclude<T, Failure> {
  assert.equal(r.ok, true, `expected success, got ${JSON.stringify(r)}`);
  return r as Exclude<T, Failure>;
}

export function failure(r: CommandResult, code: number, message?: string): void {
  assert.equal(r.ok, false, `expected failure ${code}, got ${JSON.stringify(r)}`);
  const f = r as Failure;
  assert.equal(f.code, code, f.message);
  if (message !== undefined) assert.equal(f.message, message);
}

export function ofType<K extends EngineEvent['type']>(events: EngineEvent[], type: K): Extract<EngineEvent, { type: K }>[] {
  return events.filter((e) => e.type === type) as Extract<EngineEvent, { type: K }>[];
}

export function types(events: EngineEvent[]): string[] {
  return events.map((e) => e.type);
}

/** The engine's serialised state without its clock (lastSeq, now), to compare across commands. */
export function stateOf(engine: Engine): unknown {
  const s = engine.serialize() as unknown as Record<string, unknown>;
  return { ...s, lastSeq: undefined, now: undefined };
}

/**
 * The snapshot's JSON text as the journal writes it: typed arrays (the resting-order columns)
 * rendered as JSON arrays of their numbers.
 */
export function snapshotJson(engine: Engine): string {
  return JSON.stringify(engine.serialize(), (_key, value: unknown) => (ArrayBuffer.isView(value) ? Array.from(value as Float64Array) : value));
}

/** A market's resting orders from a format-2 snapshot, one row of ORDER_STRIDE numbers each. */
export function orderRows(cols: OrderColumns): number[][] {
  const d = cols.data as ArrayLike<number>;
  const rows: number[][] = [];
  for (let k = 0; k < cols.count; k++) rows.push(Array.from({ length: ORDER_STRIDE }, (_, f) => d[k * ORDER_STRIDE + f]!));
  return rows;
}
