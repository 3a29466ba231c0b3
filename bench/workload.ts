// The engine benchmark's workload: one seeded stream of neutral operations (limit, cancel,
// market) that every driver translates 1:1 into its own engine's API.
//
// Shape (issue "npm run bench:engine"): one market, `users` funded users, a stream from a seeded
// PRNG of 70 % limit orders of 1–10 lots within ±100 ticks of a fixed mid price (bids centred a
// little below the mid, asks a little above, so a share of them cross), 25 % cancels of a random
// live order and 5 % market orders of 1–10 lots.
//
// Prices: a limit's offset from the mid is ∓skewTicks (20 by default: bids below, asks above)
// plus a triangular spread over ±(100 − skewTicks), so every price lies within ±100 ticks. With
// skew 20 about 24 % of limit orders trade on entry and the book deepens steadily (about 0.09
// resting orders per operation: ~10,000 after the 100,000 warm-up, ~104,000 after 1,100,000 ops),
// since a fixed 25 % cancel rate cannot keep up with 70 % limits. Smaller skews give a thin
// stationary book instead (skew 12: ~31 % cross, a few hundred resting); nothing in between is
// stable, because cancels remove a fixed count per operation, not a share of the book.
//
// Market: XBT:USDT (base 63488, counter 65283, price scale 10000, tick 1 USDT = 10000 price
// units), one lot = 100 base units = 0.01 XBT, mid = 40,000 USDT. A 10-lot order at the mid is
// worth 4,000 USDT, so every quantity × price product stays far inside 2^53.
//
// Cancels carry only `pick`, a random 32-bit number; the driver cancels live order
// `pick % live.length` of its own live-order list (LiveOrders below). Every driver keeps that list
// in the same canonical way (makers that fill completely are removed in match order, then the
// taker is appended if any of it rests; a cancelled order is removed before the cancel is
// applied), so two engines with the same price-time matching pick the same orders; the running
// `cancelHash` of the picked ordinals proves it after a run.

import type {
  Command,
  CommandResult,
  EngineApi,
  EngineEvent,
  MarketConfig,
} from '../src/core/types.js';

// ---------------------------------------------------------------- PRNG

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), seeded through splitmix32. */
export class Sfc32 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = 1;
    for (let i = 0; i < 15; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform integer in [0, n), n ≤ 2^32. */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
}

// ---------------------------------------------------------------- the benchmark market

export const XBT = 63488;
export const USDT = 65283;

export interface WorkloadOptions {
  seed: number;
  /** Number of operations to generate (warm-up plus measured). */
  count: number;
  users: number;
  /** Mid price in ticks (40,000 ticks of 1 USDT = 40,000 USDT). */
  midTicks: number;
  /** Half-width of the price band in ticks around the mid. */
  bandTicks: number;
  /** Bids centred this many ticks below the mid, asks this many above. */
  skewTicks: number;
  maxLots: number;
  /** Shares of limit orders and cancels; the rest are market orders. */
  limitShare: number;
  cancelShare: number;
}

export const DEFAULT_WORKLOAD: Omit<WorkloadOptions, 'count'> = {
  seed: 20240601,
  users: 1000,
  midTicks: 40000,
  bandTicks: 100,
  skewTicks: 20,
  maxLots: 10,
  limitShare: 0.7,
  cancelShare: 0.25,
};

/** Base units per lot: 100 units = 0.01 XBT. */
export const LOT_UNITS = 100;

export const OP_LIMIT = 0;
export const OP_CANCEL = 1;
export const OP_MARKET = 2;
export const SIDE_BID = 0;
export const SIDE_ASK = 1;

/** Neutral form of one operation. `user` is an index 0..users-1, not an engine user id. */
export type WorkloadOp =
  | { kind: 'limit'; user: number; side: 'bid' | 'ask'; lots: number; priceTicks: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'market'; user: number; side: 'bid' | 'ask'; lots: number };

/** The stream stored column-wise (15 bytes per operation), so drivers read it cheaply. */
export interface Workload {
  readonly options: WorkloadOptions;
  readonly length: number;
  readonly kind: Uint8Array;
  readonly side: Uint8Array;
  readonly lots: Uint8Array;
  readonly user: Uint32Array;
  /** Absolute price in ticks for limits; 0 otherwise. */
  readonly priceTicks: Int32Array;
  /** Random 32-bit pick for cancels; 0 otherwise. */
  readonly pick: Uint32Array;
}

function drawOp(rng: Sfc32, o: Omit<WorkloadOptions, 'count'>, w: Workload, i: number): void {
  const r = rng.u32() / 4294967296;
  if (r < o.limitShare) {
    const side = rng.u32() & 1;
    const spread = o.bandTicks - o.skewTicks;
    // Triangular on [-spread, spread] (denser near the centre), centred skewTicks off the mid,
    // so every price stays within ±bandTicks.
    const tri = rng.int(spread + 1) + rng.int(spread + 1) - spread;
    const offset = side === SIDE_BID ? -o.skewTicks + tri : o.skewTicks - tri;
    w.kind[i] = OP_LIMIT;
    w.side[i] = side;
    w.user[i] = rng.int(o.users);
    w.lots[i] = 1 + rng.int(o.maxLots);
    w.priceTicks[i] = o.midTicks + offset;
  } else if (r < o.limitShare + o.cancelShare) {
    w.kind[i] = OP_CANCEL;
    w.pick[i] = rng.u32();
  } else {
    w.kind[i] = OP_MARKET;
    w.side[i] = rng.u32() & 1;
    w.user[i] = rng.int(o.users);
    w.lots[i] = 1 + rng.int(o.maxLots);
  }
}

/** Generates the whole stream; the same options always give the same operations. */
export function generateWorkload(options: Partial<WorkloadOptions> & { count: number }): Workload {
  const o: WorkloadOptions = { ...DEFAULT_WORKLOAD, ...options };
  if (o.skewTicks >= o.bandTicks) throw new RangeError('skewTicks must be below bandTicks');
  if (o.maxLots < 1 || o.maxLots > 255) throw new RangeError('maxLots must be 1..255');
  const n = o.count;
  const w: Workload = {
    options: o,
    length: n,
    kind: new Uint8Array(n),
    side: new Uint8Array(n),
    lots: new Uint8Array(n),
    user: new Uint32Array(n),
    priceTicks: new Int32Array(n),
    pick: new Uint32Array(n),
  };
  const rng = new Sfc32(o.seed);
  for (let i = 0; i < n; i++) drawOp(rng, o, w, i);
  return w;
}

/** Operation `i` in its neutral object form. */
export function opAt(w: Workload, i: number): WorkloadOp {
  const side = w.side[i] === SIDE_BID ? 'bid' : 'ask';
  switch (w.kind[i]) {
    case OP_LIMIT:
      return { kind: 'limit', user: w.user[i]!, side, lots: w.lots[i]!, priceTicks: w.priceTicks[i]! };
    case OP_CANCEL:
      return { kind: 'cancel', pick: w.pick[i]! };
    default:
      return { kind: 'market', user: w.user[i]!, side, lots: w.lots[i]! };
  }
}

/** Streams the same operations as generateWorkload without storing them. */
export function* workloadOps(options: Partial<WorkloadOptions> & { count: number }): Generator<WorkloadOp> {
  const o: WorkloadOptions = { ...DEFAULT_WORKLOAD, ...options };
  const one = generateWorkloadScratch();
  const rng = new Sfc32(o.seed);
  for (let i = 0; i < o.count; i++) {
    drawOp(rng, o, one, 0);
    yield opAt(one, 0);
  }
}

function generateWorkloadScratch(): Workload {
  return {
    options: { ...DEFAULT_WORKLOAD, count: 1 },
    length: 1,
    kind: new Uint8Array(1),
    side: new Uint8Array(1),
    lots: new Uint8Array(1),
    user: new Uint32Array(1),
    priceTicks: new Int32Array(1),
    pick: new Uint32Array(1),
  };
}

// ---------------------------------------------------------------- live orders

/**
 * The driver's list of live orders: a swap-remove array plus a key → position table, so adding
 * and removing are O(1) and `pick % length` chooses uniformly. Keys are small non-negative
 * integers (openfloor's order ids, the peer's ordinals), so the table is a growable Int32Array
 * rather than a Map: the driver's own cost stays small next to the engines'.
 */
export class LiveOrders {
  /** The engine's order key. */
  readonly keys: number[] = [];
  /** Workload ordinal (index of the limit operation that placed the order). */
  readonly ords: number[] = [];
  /** User index of the owner. */
  readonly users: number[] = [];
  /** Position + 1 by key; 0 = not live. */
  private pos = new Int32Array(1024);

  get length(): number {
    return this.keys.length;
  }

  add(key: number, ord: number, user: number): void {
    if (key >= this.pos.length) {
      const grown = new Int32Array(Math.max(key + 1, this.pos.length * 2));
      grown.set(this.pos);
      this.pos = grown;
    }
    this.keys.push(key);
    this.ords.push(ord);
    this.users.push(user);
    this.pos[key] = this.keys.length;
  }

  has(key: number): boolean {
    return key < this.pos.length && this.pos[key]! !== 0;
  }

  remove(key: number): boolean {
    if (key >= this.pos.length) return false;
    const p = this.pos[key]!;
    if (p === 0) return false;
    this.removeAt(p - 1);
    return true;
  }

  removeAt(i: number): void {
    const keys = this.keys;
    const last = keys.length - 1;
    this.pos[keys[i]!] = 0;
    if (i !== last) {
      const k = keys[last]!;
      keys[i] = k;
      this.ords[i] = this.ords[last]!;
      this.users[i] = this.users[last]!;
      this.pos[k] = i + 1;
    }
    keys.pop();
    this.ords.pop();
    this.users.pop();
  }

  /** Order-sensitive hash of the live ordinals: equal lists give equal hashes. */
  checksum(): number {
    let h = 0x811c9dc5;
    for (const o of this.ords) h = Math.imul(h ^ o, 0x01000193);
    return h >>> 0;
  }
}

/** Folds one cancelled ordinal (or -1 for "nothing live") into a running hash. */
export function foldCancel(h: number, ord: number): number {
  return Math.imul(h ^ (ord + 1), 0x01000193) >>> 0;
}

/** The common face of the engine drivers (openfloor here, the peer in peer.ts). */
export interface BenchDriver {
  readonly live: LiveOrders;
  readonly cancelHash: number;
  /** Applies operation `i` of the workload. */
  step(w: Workload, i: number): void;
  restingOrders(): number;
}

// ---------------------------------------------------------------- openfloor translation

/** OpenfloorDriver.step empties its event array once it holds this many events. */
export const OUT_BATCH = 1024;

/** Micro-timestamp of the first benchmark command (2024-01-01T00:00:00Z); one µs per command. */
export const BENCH_EPOCH_US = 1_704_067_200_000_000;

/** USDT and XBT given to each user before the run: enough that no order ever lacks funds. */
// 1,000 users' USDT stays below the engine's 2^53 total per asset; still ~25 times what 1,000 open bids can hold.
export const FUND_USDT = 100_000_000 * 10000; // 1e8 USDT
export const FUND_XBT = 1_000_000 * 10000; // 1e6 XBT

/** Picks XBT:USDT from the engine's markets, or fails loudly. */
export function benchMarket(engine: Pick<EngineApi, 'market'>): MarketConfig {
  const m = engine.market(XBT, USDT);
  if (m === undefined) throw new Error('the engine config has no XBT:USDT market');
  return m;
}

/** Deterministic stand-ins for a user's secp224k1 public key (57 bytes, 0x04 prefix) and cookie. */
export function fakeCredentials(index: number): { publicKey: string; cookie: string } {
  const rng = new Sfc32(0x5eed0000 + index);
  const key = Buffer.alloc(57);
  key[0] = 4;
  for (let i = 1; i < 57; i++) key[i] = rng.u32() & 0xff;
  const cookie = Buffer.alloc(15);
  for (let i = 0; i < 15; i++) cookie[i] = rng.u32() & 0xff;
  return { publicKey: key.toString('base64'), cookie: cookie.toString('base64') };
}

function ok(res: CommandResult, what: string): asserts res is Extract<CommandResult, { ok: true }> {
  if (!res.ok) throw new Error(`${what} failed: ${res.message}`);
}

/**
 * Turns workload operations into openfloor Commands and applies them, keeping the live-order
 * list from the engine's own events. `command()` + `observe()` are exposed separately so another
 * tool (bench/journal.ts) can produce the exact Command stream; `step()` does both.
 */
export class OpenfloorDriver<E extends EngineApi = EngineApi> implements BenchDriver {
  readonly live = new LiveOrders();
  readonly out: EngineEvent[] = [];
  /** Engine user ids by workload user index. */
  readonly userIds: number[] = [];
  cancelHash = 0;
  events = 0;
  trades = 0;
  /** Place orders the engine refused (none expected: users are funded far beyond need). */
  rejected = 0;
  /** Cancels the engine answered "not found" (only when nothing was live). */
  cancelMisses = 0;
  /** Limit orders that traded on entry. */
  crossed = 0;
  seq: number;
  private readonly base: number;
  private readonly counter: number;
  private readonly tick: number;
  /** Workload ordinal of the order the last cancel command() picked (-1: nothing was live). */
  cancelOrd = -1;
  /** Ordinal/user of the order the last command() placed or cancelled (-1: none). */
  private pendingOrd = -1;
  private pendingUser = -1;
  private pendingKind = OP_LIMIT;

  constructor(
    readonly engine: E,
    readonly market: MarketConfig = benchMarket(engine),
    firstSeq = engine.lastSeq + 1,
  ) {
    this.base = market.base;
    this.counter = market.counter;
    this.tick = market.tick;
    this.seq = firstSeq - 1;
  }

  private stamp(): { seq: number; time: number } {
    const seq = ++this.seq;
    return { seq, time: BENCH_EPOCH_US + seq };
  }

  /** The CreateUser and Deposit commands that set up `users` funded users. */
  setupCommands(users: number): Command[] {
    const cmds: Command[] = [];
    for (let u = 0; u < users; u++) {
      cmds.push({ type: 'CreateUser', ...this.stamp(), ...fakeCredentials(u) });
    }
    return cmds;
  }

  /** The Deposit commands that fund the given users with FUND_USDT and FUND_XBT each. */
  depositCommands(userIds: readonly number[]): Command[] {
    const cmds: Command[] = [];
    for (const userId of userIds) {
      cmds.push({ type: 'Deposit', ...this.stamp(), userId, asset: this.counter, amount: FUND_USDT });
      cmds.push({ type: 'Deposit', ...this.stamp(), userId, asset: this.base, amount: FUND_XBT });
    }
    return cmds;
  }

  /** Creates and funds `users` users (not timed); their ids land in `userIds`. */
  setup(users: number): void {
    const out = this.out;
    for (const cmd of this.setupCommands(users)) {
      out.length = 0;
      const res = this.engine.apply(cmd, out);
      ok(res, 'CreateUser');
      this.userIds.push((res as { userId: number }).userId);
    }
    for (const cmd of this.depositCommands(this.userIds)) {
      out.length = 0;
      ok(this.engine.apply(cmd, out), 'Deposit');
    }
    out.length = 0;
  }

  /** The Command for operation `i` (cancels resolve against the current live list). */
  command(w: Workload, i: number): Command {
    const seq = ++this.seq;
    const time = BENCH_EPOCH_US + seq;
    const kind = w.kind[i]!;
    this.pendingKind = kind;
    if (kind === OP_CANCEL) {
      const n = this.live.length;
      if (n === 0) {
        this.pendingOrd = -1;
        this.cancelOrd = -1;
        this.cancelHash = foldCancel(this.cancelHash, -1);
        // Nothing live: a cancel of an id that cannot exist (answers "not found").
        return { type: 'CancelOrder', seq, time, userId: this.userIds[0]!, id: 0 };
      }
      const k = w.pick[i]! % n;
      const id = this.live.keys[k]!;
      const user = this.live.users[k]!;
      this.cancelOrd = this.live.ords[k]!;
      this.cancelHash = foldCancel(this.cancelHash, this.cancelOrd);
      this.live.removeAt(k);
      this.pendingOrd = -1;
      return { type: 'CancelOrder', seq, time, userId: this.userIds[user]!, id };
    }
    const user = w.user[i]!;
    const userId = this.userIds[user]!;
    const quantity = w.lots[i]! * LOT_UNITS;
    if (kind === OP_LIMIT) {
      this.pendingOrd = i;
      this.pendingUser = user;
      return {
        type: 'PlaceOrder',
        seq,
        time,
        userId,
        sessionId: userId,
        base: this.base,
        counter: this.counter,
        // Signed quantity (native protocol): positive buys, negative sells.
        quantity: w.side[i] === SIDE_BID ? quantity : -quantity,
        price: w.priceTicks[i]! * this.tick,
      };
    }
    this.pendingOrd = -1;
    return {
      type: 'PlaceOrder',
      seq,
      time,
      userId,
      sessionId: userId,
      base: this.base,
      counter: this.counter,
      quantity: w.side[i] === SIDE_BID ? quantity : -quantity,
    };
  }

  /**
   * Updates the live list from the result and events of the command last built by command():
   * makers that closed are removed in event order, then the taker is appended if it rests.
   */
  observe(res: CommandResult, out: EngineEvent[], from = 0): void {
    const takerId = res.ok && this.pendingOrd >= 0 ? (res as { id?: number }).id : undefined;
    let takerClosed = false;
    let matched = 0;
    const n = out.length;
    this.events += n - from;
    for (let j = from; j < n; j++) {
      const ev = out[j]!;
      if (ev.type === 'OrderClosed') {
        if (ev.id === takerId) takerClosed = true;
        else this.live.remove(ev.id);
      } else if (ev.type === 'OrdersMatched') {
        matched++;
      }
    }
    this.trades += matched;
    if (matched > 0 && takerId !== undefined) this.crossed++;
    if (!res.ok) {
      if (this.pendingKind === OP_CANCEL) this.cancelMisses++;
      else this.rejected++;
    }
    if (takerId !== undefined && !takerClosed) this.live.add(takerId, this.pendingOrd, this.pendingUser);
  }

  /**
   * Applies operation i; its events are appended to `out` and read from there. `out` is emptied
   * only once it holds OUT_BATCH events or more (emptying it frees its backing store, which every
   * command would then allocate and grow again), so `out` keeps the last few commands' events.
   */
  step(w: Workload, i: number): Command {
    const out = this.out;
    if (out.length >= OUT_BATCH) out.length = 0;
    const from = out.length;
    const cmd = this.command(w, i);
    this.observe(this.engine.apply(cmd, out), out, from);
    return cmd;
  }

  restingOrders(): number {
    return this.live.length;
  }
}
