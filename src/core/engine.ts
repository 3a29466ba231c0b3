// The trade engine: a pure, deterministic state machine. apply(command) mutates the state and
// appends events; no I/O, no clock, no Math.random — time and sequence come in the command and
// stochastic rounding draws from a PRNG that is part of the state, so replay is exact.
import { createHash } from 'node:crypto';
import { gcd, isSafeNonNegative, MAX_SAFE, mulDivCeil, mulDivFloor, mulDivRem } from './arith.js';
import { FastBook, NO_ORDER, O_FLAGS, O_ID, O_PRICE, O_REMAINING, O_RESERVED, O_SESSION, O_TIME, O_TONCE, O_USER, ORDER_ROW, OrderPool, FLAG_BID, FLAG_PERSIST, type Book } from './book.js';
import { OrderTable } from './order-table.js';
// For its side effect: the hot events' hidden classes, made before the first event (see there).
import './event-shapes.js';
import { Prng } from './prng.js';
import {
  ErrorCode,
  ErrorMessage,
  type AddAsset,
  type AddMarket,
  type AddWithdrawalAddress,
  type ApiKeyView,
  type AssetConfig,
  type BalanceView,
  type BookOrderView,
  type CancelOrder,
  type Command,
  type CommandResult,
  type CreateApiKey,
  type CreateUser,
  type Depth,
  type EngineApi,
  type EngineConfig,
  type EngineEvent,
  type EstimateOk,
  type Failure,
  type MarketConfig,
  type ModifyOrder,
  type OrderClosed,
  type OrderRecord,
  type PlaceOrder,
  type PositionView,
  type Result,
  type Ticker,
  type TickerChanged,
  type TickerFields,
  type UserView,
  type Withdraw,
} from './types.js';
import { A_AVAILABLE, A_POSITION, A_RESERVED, A_THROUGH, A_WINDOW, ACCT, Accounts, NO_POSITION, NO_WINDOW } from './ledger.js';
import { dayOf, MINUTE_US, minuteOf, TradeWindow, VolumeStore, type TradeWindowState } from './window.js';

const PPM = 1_000_000;
/** Numbers of snapshot buffer kept beyond 4x the need before it is given back (1 MiB). */
const SCRATCH_SLACK = 131_072;
/** The (never written) event array of applyQuiet(). */
const QUIET_OUT: EngineEvent[] = Object.freeze([]) as unknown as EngineEvent[];
/** What the hot commands return inside applyQuiet(), which reports success only: no result object to build. */
const QUIET_OK: CommandResult = Object.freeze({ ok: true });
const MARKET_CLOSED = 'The market is not open for trading.';

export type BookFactory = (pool: OrderPool) => Book;

/**
 * The TickerChanged for a market whose ticker moved from `was`: a field that did not change is
 * absent (not undefined), present ones keep the order last, bid, ask, low, high, volume.
 */
function tickerChanged(
  m: MarketState,
  time: number,
  was: TickerFields,
  last: number | null,
  bid: number | null,
  ask: number | null,
  low: number | null,
  high: number | null,
  volume: number,
): TickerChanged {
  const event: TickerChanged = { type: 'TickerChanged', base: m.config.base, counter: m.config.counter, time };
  if (last !== was.last) event.last = last;
  if (bid !== was.bid) event.bid = bid;
  if (ask !== was.ask) event.ask = ask;
  if (low !== was.low) event.low = low;
  if (high !== was.high) event.high = high;
  if (volume !== was.volume) event.volume = volume;
  return event;
}

function fail(code: Exclude<ErrorCode, 0>, message: string): Failure {
  return { ok: false, code, message };
}

class AssetState {
  /**
   * Every user's available plus reserved balance in this asset, summed: what the exchange holds
   * for its users. Deposit keeps it at most 2^53 - 1, so every balance and every sum of balances
   * the engine forms stays an exact integer (a per-user limit alone would not: trades move funds
   * between users). Trades move funds without changing it, except the fees they take; derived from
   * the balances, so a restore recomputes it rather than reading it.
   */
  held = 0;

  constructor(
    public readonly config: AssetConfig,
    /** Dense index into per-user balance arrays. */
    public readonly index: number,
  ) {}
}

class MarketState {
  /** Counter units of a trade = quantity * price * mul / div (scales reduced by their gcd). */
  readonly mul: number;
  readonly div: number;
  readonly window = new TradeWindow();
  last: number | null = null;
  /** Ticker as last reported in a TickerChanged, to report only what changed. */
  reported: TickerFields = { last: null, bid: null, ask: null, low: null, high: null, volume: 0 };
  tickerTime = 0;
  dirty = false;
  /**
   * config.fees as numbers in typed arrays: feeRate() runs twice per trade, and reading tier
   * objects (and their boxed minVolume doubles) through config cost ~270 instructions a call.
   */
  readonly feeMinVolume: Float64Array;
  readonly feeMakerPpm: Float64Array;
  readonly feeTakerPpm: Float64Array;

  constructor(
    public readonly config: MarketConfig,
    public readonly index: number,
    public readonly base: AssetState,
    public readonly counter: AssetState,
    public readonly book: Book,
  ) {
    const num = counter.config.scale;
    const den = base.config.scale * config.priceScale;
    const g = gcd(num, den);
    this.mul = num / g;
    this.div = den / g;
    this.feeMinVolume = Float64Array.from(config.fees, (t) => t.minVolume);
    this.feeMakerPpm = Float64Array.from(config.fees, (t) => t.makerPpm);
    this.feeTakerPpm = Float64Array.from(config.fees, (t) => t.takerPpm);
  }
}

class User {
  /** The user's block in the engine's Accounts (balances, positions, volume windows). */
  slot = -1;
  /**
   * Handles of live orders in id order, with holes (NO_ORDER) where orders closed: an order is
   * appended when placed (ids only grow) and its slot (O_USER_INDEX) cleared when it closes, and
   * the array is compacted once holes outnumber live orders. Closing an order touches this array
   * only, not its neighbours. Lookup by id goes through the engine's OrderTable.
   */
  readonly orders: number[] = [];
  /** Slots in use: orders[orderEnd ..] are empty (the array is never shortened, to keep its store). */
  orderEnd = 0;
  orderCount = 0;
  /** Handles of live orders by tonce. */
  readonly tonces = new Map<number, number>();
  /** Highest tonce accepted since the last CancelAllOrders ('increasing' rule). */
  lastTonce = 0;
  /** `${asset}:${address}` */
  readonly addresses = new Set<string>();

  constructor(
    public readonly id: number,
    public readonly publicKey: string,
    public readonly cookie: string,
  ) {}

  /** Appends an order with a higher id than any of the user's live orders. */
  linkOrder(pool: OrderPool, h: number): void {
    const i = this.orderEnd++;
    pool.setUserIndex(h, i);
    if (i < this.orders.length) this.orders[i] = h;
    else this.orders.push(h);
    this.orderCount++;
  }

  unlinkOrder(pool: OrderPool, h: number): void {
    const orders = this.orders;
    orders[pool.userIndex(h)] = NO_ORDER;
    pool.setUserIndex(h, -1);
    const live = --this.orderCount;
    let n = this.orderEnd;
    while (n > 0 && orders[n - 1] === NO_ORDER) n--;
    if (n - live > live + 8) {
      let w = 0;
      for (let r = 0; r < n; r++) {
        const x = orders[r]!;
        if (x !== NO_ORDER) {
          if (w !== r) {
            orders[w] = x;
            orders[r] = NO_ORDER;
            pool.setUserIndex(x, w);
          }
          w++;
        }
      }
      n = w;
    }
    this.orderEnd = n;
  }

  /** Handles of live orders in id order (a copy: closing them does not disturb the iteration). */
  liveOrders(): number[] {
    const out: number[] = [];
    const orders = this.orders;
    for (let i = 0; i < this.orderEnd; i++) {
      const h = orders[i]!;
      if (h !== NO_ORDER) out.push(h);
    }
    return out;
  }
}

interface ApiKeyState {
  accessId: string;
  userId: number;
  secretKey: string;
  permissions: ('read' | 'trade')[];
  revoked: boolean;
}

/** Numbers per resting order in a format-2 snapshot (see OrderColumns). */
export const ORDER_STRIDE = 9;
/** Bits of an order's `flags` number in OrderColumns. */
export const ORDER_FLAG_BID = 1;
export const ORDER_FLAG_PERSIST = 2;

/**
 * Format 2: one market's resting orders as numeric columns with a fixed stride, filled in one
 * pass. Order k occupies data[k * ORDER_STRIDE ..] as
 *   [id, userId, flags, remaining, price, time, tonce, sessionId, reserved]
 * where flags = ORDER_FLAG_BID (1) if a bid | ORDER_FLAG_PERSIST (2) if persistent, and
 * tonce 0 means none (null): a tonce is never 0. Orders are in priority order, bids (best first)
 * then asks. Every value is a safe integer, so a Float64Array holds them exactly (never -0).
 * serialize() gives a Float64Array; restore() also takes a plain number array (the JSON text of
 * the snapshot renders the typed array as one) or an object with keys "0", "1", ... (what a bare
 * JSON.stringify makes of a typed array).
 */
export interface OrderColumns {
  count: number;
  stride: typeof ORDER_STRIDE;
  data: Float64Array | number[] | Record<string, number>;
}

/** Format 1's resting order: [id, userId, bid (1/0), remaining, price, time, tonce, persist, sessionId, reserved]. */
export type OrderTuple = [number, number, number, number, number, number, number | null, boolean, number, number];

interface MarketSnapshotBase {
  last: number | null;
  reported: TickerFields;
  tickerTime: number;
  window: TradeWindowState;
}

interface EngineSnapshotBase<F extends number, O> {
  format: F;
  config: { tonceRule: EngineConfig['tonceRule']; maxOpenOrders: number; seed: number };
  assets: AssetConfig[];
  markets: MarketConfig[];
  lastSeq: number;
  now: number;
  nextOrderId: number;
  nextUserId: number;
  prng: [number, number, number, number];
  users: {
    id: number;
    publicKey: string;
    cookie: string;
    available: number[];
    reserved: number[];
    lastTonce: number;
    volumes: [number, [number, number][]][];
    positions: [number, number, number][];
    addresses: string[];
  }[];
  apiKeys: ApiKeyState[];
  /** Per market: last price, ticker as reported, its time, the 24 h window, and resting orders in priority order (bids then asks). */
  marketStates: (MarketSnapshotBase & { orders: O })[];
}

/**
 * Serialised form of the engine (see serialize / restore). serialize() writes format 2 (resting
 * orders as OrderColumns with a Float64Array); restore() reads format 1 (one OrderTuple per
 * order, written by earlier versions) and format 2.
 */
export type EngineSnapshotV1 = EngineSnapshotBase<1, OrderTuple[]>;
export type EngineSnapshot = EngineSnapshotBase<2, OrderColumns>;
/** What serialize() returns: format 2 with the columns as a Float64Array. */
export type EngineSnapshotLive = EngineSnapshotBase<2, OrderColumns & { data: Float64Array }>;

export class Engine implements EngineApi {
  private readonly assetList: AssetState[] = [];
  private readonly assetByCode = new Map<number, AssetState>();
  private readonly marketList: MarketState[] = [];
  private readonly marketByPair = new Map<number, MarketState>();
  /** marketFor()'s last hit (NaN: none, as NaN equals nothing). */
  private lastBase = NaN;
  private lastCounter = NaN;
  private lastMarket: MarketState | undefined = undefined;
  /** Users in creation order (the order of users() and serialize()). */
  private readonly userMap = new Map<number, User>();
  /** The same users indexed by id, for the hot path: ids count up from 1, so this is dense. */
  private readonly userById: (User | undefined)[] = [];
  /** Every live order's row (OrderPool: no object per order). */
  private readonly pool = new OrderPool();
  /** serializeForSnapshot()'s buffer, kept warm between snapshots. */
  private snapshotScratch: Float64Array | null = null;
  /** Every user's balances and positions (User.slot), and their 30-day volume windows. */
  private readonly accounts = new Accounts();
  private readonly volumes = new VolumeStore();
  /** Every live order (resting, or a taker while it matches) by id. */
  private readonly ordersById = new OrderTable();
  /** Handles of resting non-persistent orders by session. */
  private readonly sessions = new Map<number, Set<number>>();
  /**
   * Orders closed by this command: their handles return to the pool when the command ends, so
   * the code that closed them can still read their rows (ids, final quantities) until then.
   */
  private readonly closed: number[] = [];
  private closedCount = 0;
  private readonly apiKeyMap = new Map<string, ApiKeyState>();
  private prng: Prng;
  private nextOrderId = 1;
  private nextUserId = 1;
  /**
   * Markets touched by this command, and (user, asset index) pairs whose trade volume changed,
   * in order of first change. Entries past the counts are stale; the arrays are reused rather
   * than truncated, which would free and regrow their backing stores every command.
   */
  private readonly dirtyMarkets: MarketState[] = [];
  private dirtyMarketCount = 0;
  /**
   * The (user, asset) volume windows as typed arrays (user id, window, asset index): a window id
   * comes out of the accounts' Float64Array, and a JS array of small integers converted and
   * checked each one going in (~80 instructions per window, four windows per trade).
   */
  private dirtyVolumeUserIds = new Float64Array(16);
  private dirtyVolumeWindows = new Float64Array(16);
  private dirtyVolumeAssets = new Int32Array(16);
  private dirtyVolumeCount = 0;
  private out: EngineEvent[] = [];
  /** False inside applyQuiet(): events are not built. */
  private emit = true;
  lastSeq = 0;
  /** The engine's clock: the latest command time (µs), never going back. */
  now = 0;
  /**
   * minuteOf(now) and dayOf(now), the windows' bucket clocks, and the first µs of the next
   * minute: recomputed when the clock crosses a minute (a day is whole minutes), not divided
   * out on each of a trade's dozen window calls.
   */
  private minute = 0;
  private day = 0;
  private nextMinuteUs = MINUTE_US;

  constructor(
    private readonly config: EngineConfig,
    private readonly bookFactory: BookFactory = (pool) => new FastBook(pool),
  ) {
    this.prng = new Prng(config.seed);
    // A second store with another value: V8 treats a field stored only once as a constant and
    // compiles that into the functions reading it. In a process that ran apply() before its first
    // applyQuiet() (bench:journal's warm replay, tests), that first `emit = false` then
    // deoptimised every engine function at once. (Same as OrderPool's growable fields.)
    this.emit = false;
    this.emit = true;
    for (const a of config.assets) {
      const r = this.addAsset(a);
      if (r !== null) throw new Error(`invalid asset ${JSON.stringify(a)}: ${r}`);
    }
    for (const m of config.markets) {
      const r = this.addMarket(m);
      if (r !== null) throw new Error(`invalid market ${m.base}:${m.counter}: ${r}`);
    }
  }

  // ------------------------------------------------------------------ apply

  /**
   * apply() without events or results: the same state change, no event objects built, and only
   * whether the command succeeded returned. For recovery, where only the state matters (a replay
   * spends about a fifth of its time building events nobody reads, and the hot commands' result
   * objects were most of what it still allocated). Live commands always go through apply().
   */
  applyQuiet(cmd: Command): boolean {
    this.emit = false;
    try {
      return this.apply(cmd, QUIET_OUT).ok;
    } finally {
      this.emit = true;
    }
  }

  apply(cmd: Command, out: EngineEvent[]): CommandResult {
    this.out = out;
    let result: CommandResult;
    // The command's seq and time are read per type (stamp, first thing in placeOrder and
    // cancelOrder, in each case for the rest), not once before the switch: a property load site
    // sees every shape of object that passes it, and one site for commands of every type went
    // megamorphic (V8's generic lookup, 4 % of the engine's instructions in callgrind); the
    // hot handlers' own sites see a few shapes each.
    switch (cmd.type) {
      case 'PlaceOrder':
        result = this.placeOrder(cmd);
        break;
      case 'CancelOrder':
        result = this.cancelOrder(cmd);
        break;
      case 'ModifyOrder':
        this.stamp(cmd.seq, cmd.time);
        result = this.modifyOrder(cmd);
        break;
      case 'CancelAllOrders':
        this.stamp(cmd.seq, cmd.time);
        result = this.cancelAllOrders(cmd.userId);
        break;
      case 'Disconnect':
        this.stamp(cmd.seq, cmd.time);
        result = this.closeSession(cmd.sessionId);
        break;
      case 'ServerStarted':
        this.stamp(cmd.seq, cmd.time);
        result = this.closeAllSessions();
        break;
      case 'Tick':
        this.stamp(cmd.seq, cmd.time);
        result = this.tick();
        break;
      case 'CreateUser':
        this.stamp(cmd.seq, cmd.time);
        result = this.createUser(cmd);
        break;
      case 'Deposit':
        this.stamp(cmd.seq, cmd.time);
        result = this.deposit(cmd.userId, cmd.asset, cmd.amount);
        break;
      case 'Withdraw':
        this.stamp(cmd.seq, cmd.time);
        result = this.withdraw(cmd);
        break;
      case 'AddWithdrawalAddress':
        this.stamp(cmd.seq, cmd.time);
        result = this.addWithdrawalAddress(cmd);
        break;
      case 'AddAsset':
        this.stamp(cmd.seq, cmd.time);
        result = this.addAssetCommand(cmd);
        break;
      case 'AddMarket':
        this.stamp(cmd.seq, cmd.time);
        result = this.addMarketCommand(cmd);
        break;
      case 'CreateApiKey':
        this.stamp(cmd.seq, cmd.time);
        result = this.createApiKey(cmd);
        break;
      case 'RevokeApiKey': {
        this.stamp(cmd.seq, cmd.time);
        const key = this.apiKeyMap.get(cmd.accessId);
        if (key === undefined || key.revoked) result = fail(ErrorCode.NOT_FOUND, 'There is no such API key.');
        else {
          key.revoked = true;
          result = { ok: true };
        }
        break;
      }
      default: {
        const unknown = cmd as { seq: number; time: number };
        this.stamp(unknown.seq, unknown.time);
        result = fail(ErrorCode.INVALID, 'Unknown command.');
      }
    }
    this.flushTickers();
    this.flushVolumes();
    if (this.closedCount > 0) this.releaseClosed();
    return result;
  }

  /**
   * Appends an event. An indexed store, not out.push(e): TurboFan left the push of the larger
   * events (OrderOpened, OrdersMatched, OrderClosed) as a call to the Array.prototype.push
   * builtin, 3.5 % of the engine's instructions (callgrind), where the store is inlined.
   */
  private emitEvent(e: EngineEvent): void {
    const out = this.out;
    out[out.length] = e;
  }

  /** The command's seq and time become the engine's (time never goes back). */
  private stamp(seq: number, time: number): void {
    this.lastSeq = seq;
    if (time > this.now) {
      this.now = time;
      if (time >= this.nextMinuteUs) this.setClock(time);
    }
  }

  private setClock(time: number): void {
    this.now = time;
    this.minute = minuteOf(time);
    this.day = dayOf(time);
    this.nextMinuteUs = (this.minute + 1) * MINUTE_US;
  }

  private releaseClosed(): void {
    const closed = this.closed;
    for (let i = 0; i < this.closedCount; i++) this.pool.release(closed[i]!);
    this.closedCount = 0;
  }

  // ------------------------------------------------------------------ orders

  private placeOrder(c: PlaceOrder): CommandResult {
    this.stamp(c.seq, c.time);
    const m = this.marketFor(c.base, c.counter);
    if (m === undefined) return fail(ErrorCode.NOT_FOUND, ErrorMessage.INVALID_PAIR);
    if (!this.isTrading(m)) return fail(ErrorCode.INVALID, MARKET_CLOSED);
    const u = this.userOf(c.userId);
    if (u === undefined) return fail(ErrorCode.NOT_FOUND, ErrorMessage.NO_SUCH_USER);
    const tonce = c.tonce ?? null;
    if (tonce === 0) return fail(ErrorCode.INVALID, ErrorMessage.TONCE_ZERO);
    const hasQ = c.quantity !== undefined;
    const hasP = c.price !== undefined;
    const hasT = c.total !== undefined;
    if (hasP) {
      if (!hasQ) return fail(ErrorCode.INVALID, 'You must specify quantity with price.');
      if (hasT) return fail(ErrorCode.INVALID, 'You must not specify total with price.');
      if (c.price === 0) return fail(ErrorCode.INVALID, ErrorMessage.PRICE_ZERO);
      if (c.quantity === 0) return fail(ErrorCode.INVALID, ErrorMessage.QUANTITY_ZERO);
    } else {
      if (!hasQ && !hasT) return fail(ErrorCode.INVALID, ErrorMessage.QUANTITY_OR_TOTAL);
      if (hasQ && hasT) return fail(ErrorCode.INVALID, 'You must not specify both quantity and total.');
      if (hasQ && c.quantity === 0) return fail(ErrorCode.INVALID, ErrorMessage.QUANTITY_ZERO);
      if (hasT && c.total === 0) return fail(ErrorCode.INVALID, ErrorMessage.TOTAL_ZERO);
    }
    const amount = hasT ? c.total! : c.quantity!;
    if (!Number.isSafeInteger(amount)) return fail(ErrorCode.INVALID, 'Quantity and total must be safe integers.');
    if (hasP && (!Number.isSafeInteger(c.price) || c.price! < 0)) return fail(ErrorCode.INVALID, 'Price must be a positive integer.');
    if (tonce !== null) {
      if (!Number.isSafeInteger(tonce)) return fail(ErrorCode.INVALID, 'Tonce must be a safe integer.');
      if (this.config.tonceRule === 'unique' ? u.tonces.has(tonce) : tonce <= u.lastTonce) {
        return fail(ErrorCode.TONCE_SEQUENCE, ErrorMessage.TONCE_SEQUENCE);
      }
    }
    if (!hasP) return this.marketOrder(m, u, tonce, hasT, amount);
    return this.limitOrder(c, m, u, tonce);
  }

  private limitOrder(c: PlaceOrder, m: MarketState, u: User, tonce: number | null): CommandResult {
    const isBid = c.quantity! > 0;
    const quantity = Math.abs(c.quantity!);
    const price = this.roundToTick(m, c.price!, isBid);
    if (price === 0) return fail(ErrorCode.INVALID, ErrorMessage.PRICE_ZERO);
    // The trade total at the order's price must be representable, on either side.
    const cost = mulDivCeil(quantity * m.mul, price, m.div);
    if (cost > MAX_SAFE || quantity * m.mul > MAX_SAFE) return fail(ErrorCode.INVALID, ErrorMessage.TOTAL_OVERFLOW);
    if (u.orderCount >= this.config.maxOpenOrders) return fail(ErrorCode.TOO_MANY_ORDERS, ErrorMessage.TOO_MANY_ORDERS);
    if (c.postOnly === true && this.crosses(m, isBid, price)) return fail(ErrorCode.POST_ONLY, ErrorMessage.POST_ONLY);
    const asset = isBid ? m.counter : m.base;
    // The reservation: counter units at the order's price for a bid, base units for an ask.
    const need = isBid ? cost : quantity;
    const A = this.accounts.data;
    const j = this.at(u, asset.index);
    if (A[j + A_AVAILABLE]! < need) return fail(ErrorCode.INSUFFICIENT_FUNDS, ErrorMessage.INSUFFICIENT_FUNDS);

    const persist = c.persist === undefined ? true : c.persist;
    const id = this.nextOrderId++;
    const pool = this.pool;
    const order = pool.alloc(id, u.id, m.index, isBid, quantity, price, this.now, tonce ?? 0, persist !== false, c.sessionId, need);
    A[j + A_AVAILABLE]! -= need;
    A[j + A_RESERVED]! += need;
    this.balanceChangedAt(u, asset, j);
    if (tonce !== null) {
      u.tonces.set(tonce, order);
      if (tonce > u.lastTonce) u.lastTonce = tonce;
    }
    u.linkOrder(pool, order);
    this.ordersById.add(order, id);
    this.matchLimit(m, order, u);
    if (pool.remaining(order) > 0) {
      if (persist === 'fill_or_kill') this.closeOrder(m, order, 'killed', false);
      else this.rest(m, order);
    }
    this.touch(m);
    return this.emit ? { ok: true, id, time: this.now } : QUIET_OK;
  }

  /** Puts an order that survived matching on the book. */
  private rest(m: MarketState, order: number): void {
    const pool = this.pool;
    m.book.insert(order);
    pool.setResting(order, true);
    if (!pool.persist(order)) {
      const sessionId = pool.sessionId(order);
      let set = this.sessions.get(sessionId);
      if (set === undefined) this.sessions.set(sessionId, (set = new Set()));
      set.add(order);
    }
    const remaining = pool.remaining(order);
    if (this.emit) this.emitEvent({
      type: 'OrderOpened',
      userId: pool.userId(order),
      id: pool.id(order),
      tonce: pool.tonce(order),
      base: m.config.base,
      counter: m.config.counter,
      quantity: pool.isBid(order) ? remaining : -remaining,
      price: pool.price(order),
      time: pool.time(order),
    });
  }

  /** Matches a limit order (new or modified) against the opposite side while it crosses. */
  private matchLimit(m: MarketState, taker: number, u: User): void {
    const book = m.book;
    const pool = this.pool;
    const isBid = pool.isBid(taker);
    const limit = pool.price(taker);
    for (let left = pool.remaining(taker); left > 0; left = pool.remaining(taker)) {
      const maker = book.best(!isBid);
      if (maker === NO_ORDER) break;
      const price = pool.price(maker);
      if (isBid ? price > limit : price < limit) break;
      const makerLeft = pool.remaining(maker);
      const q = left < makerLeft ? left : makerLeft;
      const makerUser = this.userOf(pool.userId(maker))!;
      if (isBid) this.trade(m, taker, u, maker, makerUser, q, price, true);
      else this.trade(m, maker, makerUser, taker, u, q, price, false);
    }
  }

  private marketOrder(m: MarketState, u: User, tonce: number | null, byTotal: boolean, amount: number): CommandResult {
    const isBid = amount > 0;
    let left = Math.abs(amount);
    if (tonce !== null && tonce > u.lastTonce) u.lastTonce = tonce;
    const book = m.book;
    const base = m.base.index;
    const counter = m.counter.index;
    // The balance at the start caps the order: a self-trade hands the proceeds straight back,
    // and spending them again would let one command loop over its own resting orders.
    const A = this.accounts.data;
    const counterAvailable = this.at(u, counter) + A_AVAILABLE;
    let funds = isBid ? A[counterAvailable]! : A[this.at(u, base) + A_AVAILABLE]!;
    const pool = this.pool;
    while (left > 0) {
      const maker = book.best(!isBid);
      if (maker === NO_ORDER) break;
      const price = pool.price(maker);
      const makerUser = this.userOf(pool.userId(maker))!;
      let q = pool.remaining(maker);
      if (byTotal) q = Math.min(q, mulDivFloor(left, m.div, price * m.mul));
      else q = Math.min(q, left);
      if (isBid) {
        if (q > 0) {
          const rate = makerUser === u ? 0 : this.feeRate(this.at(u, m.counter.index), m, true);
          if (!this.canPay(m, funds, q, price, rate)) q = Math.min(q, this.affordable(m, funds, price, rate));
        }
      } else {
        q = Math.min(q, funds);
      }
      if (q <= 0) break;
      const availableBefore = A[counterAvailable]!;
      const total = isBid
        ? this.trade(m, NO_ORDER, u, maker, makerUser, q, price, true, tonce)
        : this.trade(m, maker, makerUser, NO_ORDER, u, q, price, false, tonce);
      if (!isBid) funds -= q;
      else funds -= makerUser === u ? total : availableBefore - A[counterAvailable]!;
      left -= byTotal ? total : q;
    }
    this.touch(m);
    return this.emit ? { ok: true, remaining: Math.max(left, 0) } : QUIET_OK;
  }

  /**
   * Whether q at `price` fits in `funds` with its worst-case total and worst-case fee; then
   * affordable() >= q, so min(q, affordable()) is q and the search (BigInt when funds * PPM
   * passes 2^53) can be skipped. Proof: the total T = ceil(q * price * mul / div) satisfies
   * T + ceil(T * rate) <= funds, so affordable()'s t (the largest such total) is >= T, and
   * q <= floor(t * div / (price * mul)). Only taken when every product below is exact.
   */
  private canPay(m: MarketState, funds: number, q: number, price: number, ratePpm: number): boolean {
    const qm = q * m.mul;
    if (qm > MAX_SAFE || price * m.mul > MAX_SAFE) return false;
    const total = mulDivCeil(qm, price, m.div);
    if (total > MAX_SAFE) return false;
    // A sum past 2^53 rounds to more than any safe `funds`, so the comparison stays exact.
    return total + mulDivCeil(total, ratePpm, PPM) <= funds;
  }

  /** Largest quantity whose worst-case total plus worst-case fee fits in `funds` at `price`. */
  private affordable(m: MarketState, funds: number, price: number, ratePpm: number): number {
    // Largest total t with t + ceil(t * rate) <= funds; the floor below overshoots by at most one.
    let t = funds;
    if (ratePpm > 0) {
      t = mulDivFloor(funds, PPM, PPM + ratePpm);
      while (t > 0 && t + mulDivCeil(t, ratePpm, PPM) > funds) t--;
    }
    // ceil(q * price * mul / div) <= t  <=>  q <= floor(t * div / (price * mul)).
    return mulDivFloor(t, m.div, price * m.mul);
  }

  /**
   * One trade of q at price between a bid and an ask; either order is NO_ORDER for a market
   * order (its user pays or receives from the available balance). Emits OrdersMatched, closures,
   * and balance changes in the order IMPL-GUIDE.md guarantees. Returns the trade total.
   */
  private trade(
    m: MarketState,
    bid: number,
    bidUser: User,
    ask: number,
    askUser: User,
    q: number,
    price: number,
    bidIsTaker: boolean,
    marketTonce: number | null = null,
  ): number {
    const base = m.base.index;
    const counter = m.counter.index;
    const pool = this.pool;
    const total = this.stochastic(q * m.mul, price, m.div);
    const self = bidUser === askUser;
    const A = this.accounts.data;
    // Each party's account entries in base and counter, computed once: the ledger, fee, volume,
    // position and balance-event helpers below all take them (14 offsets per trade otherwise).
    const bidBaseJ = this.at(bidUser, base);
    const bidCounterJ = this.at(bidUser, counter);
    const askBaseJ = this.at(askUser, base);
    const askCounterJ = this.at(askUser, counter);
    let bidFee = self ? 0 : this.fee(total, this.feeRate(bidCounterJ, m, bidIsTaker));
    const askFee = self ? 0 : this.fee(total, this.feeRate(askCounterJ, m, !bidIsTaker));

    // Seller: base leaves the reservation (limit) or the available balance (market).
    let askRem: number | null = null;
    if (ask !== NO_ORDER) {
      pool.setReserved(ask, pool.reserved(ask) - q);
      A[askBaseJ + A_RESERVED]! -= q;
      if (pool.resting(ask)) m.book.reduce(ask, q);
      else pool.setRemaining(ask, pool.remaining(ask) - q);
      askRem = pool.remaining(ask);
    } else {
      A[askBaseJ + A_AVAILABLE]! -= q;
    }
    A[askCounterJ + A_AVAILABLE]! += total - askFee;

    // Buyer: base arrives; the total comes out of the reservation (limit) or available (market).
    A[bidBaseJ + A_AVAILABLE]! += q;
    let bidExhausted = false;
    let bidRem: number | null = null;
    if (bid !== NO_ORDER) {
      let reserved = pool.reserved(bid) - total;
      A[bidCounterJ + A_RESERVED]! -= total;
      // CoinFLEX: the fee comes from the available balance when it can pay it, else from the
      // reservation (IMPL-GUIDE.md "How Fees Affect Trade Quantities").
      if (A[bidCounterJ + A_AVAILABLE]! >= bidFee) {
        A[bidCounterJ + A_AVAILABLE]! -= bidFee;
      } else {
        const fromReserve = Math.min(bidFee, reserved);
        reserved -= fromReserve;
        A[bidCounterJ + A_RESERVED]! -= fromReserve;
        const rest = Math.min(bidFee - fromReserve, A[bidCounterJ + A_AVAILABLE]!);
        A[bidCounterJ + A_AVAILABLE]! -= rest;
        bidFee = fromReserve + rest;
      }
      const bidPrice = pool.price(bid);
      const remaining = pool.remaining(bid);
      let rem = remaining - q;
      let need = mulDivCeil(rem * m.mul, bidPrice, m.div);
      if (need > reserved) {
        rem = mulDivFloor(reserved, m.div, bidPrice * m.mul);
        need = mulDivCeil(rem * m.mul, bidPrice, m.div);
      }
      bidExhausted = rem === 0 && remaining > q;
      const bidExcess = reserved - need;
      if (bidExcess > 0) {
        reserved = need;
        A[bidCounterJ + A_RESERVED]! -= bidExcess;
        A[bidCounterJ + A_AVAILABLE]! += bidExcess;
      }
      pool.setReserved(bid, reserved);
      if (pool.resting(bid)) m.book.reduce(bid, remaining - rem);
      else pool.setRemaining(bid, rem);
      bidRem = rem;
    } else {
      A[bidCounterJ + A_AVAILABLE]! -= total + bidFee;
    }

    // Ledger side effects: the fees leave the users' funds; market statistics, volumes, positions.
    m.counter.held -= bidFee + askFee;
    m.last = price;
    m.window.add(this.minute, price, q, total);
    if (!self) {
      this.addVolume(bidUser, base, bidBaseJ, q);
      this.addVolume(bidUser, counter, bidCounterJ, total);
      this.addVolume(askUser, base, askBaseJ, q);
      this.addVolume(askUser, counter, askCounterJ, total);
    }
    this.addPosition(bidBaseJ, q);
    this.addPosition(bidCounterJ, 0 - (total + bidFee)); // never -0
    this.addPosition(askBaseJ, -q);
    this.addPosition(askCounterJ, total - askFee);

    if (this.emit) this.emitEvent({
      type: 'OrdersMatched',
      bid: bid === NO_ORDER ? null : pool.id(bid),
      ask: ask === NO_ORDER ? null : pool.id(ask),
      bidUserId: bidUser.id,
      askUserId: askUser.id,
      bidTonce: bid === NO_ORDER ? marketTonce : pool.tonce(bid),
      askTonce: ask === NO_ORDER ? marketTonce : pool.tonce(ask),
      base: m.config.base,
      counter: m.config.counter,
      quantity: q,
      takerSide: bidIsTaker ? 'bid' : 'ask',
      price,
      total,
      bidRem,
      askRem,
      time: this.now,
      bidBaseFee: 0,
      bidCounterFee: bidFee,
      askBaseFee: 0,
      askCounterFee: askFee,
    });
    // Closures precede the balance changes they cause.
    if (bidRem === 0) this.closeOrder(m, bid, bidExhausted ? 'exhausted' : 'filled', true);
    if (askRem === 0) this.closeOrder(m, ask, 'filled', true);
    this.balanceChangedAt(bidUser, m.base, bidBaseJ);
    this.balanceChangedAt(bidUser, m.counter, bidCounterJ);
    if (askUser !== bidUser) this.balanceChangedAt(askUser, m.base, askBaseJ);
    if (askUser !== bidUser) this.balanceChangedAt(askUser, m.counter, askCounterJ);
    return total;
  }

  /**
   * Removes an order from the book and the indexes, returns its reservation and emits
   * OrderClosed, then (unless the caller reports balances itself) the BalanceChanged. The
   * handle returns to the pool at the end of the command.
   */
  private closeOrder(m: MarketState, order: number, reason: OrderClosed['reason'], callerReportsBalance: boolean): void {
    const pool = this.pool;
    if (pool.resting(order)) {
      m.book.remove(order);
      pool.setResting(order, false);
    }
    const u = this.userOf(pool.userId(order))!;
    const id = pool.id(order);
    const tonce = pool.tonce(order);
    const isBid = pool.isBid(order);
    u.unlinkOrder(pool, order);
    this.ordersById.delete(id);
    if (tonce !== null && u.tonces.get(tonce) === order) u.tonces.delete(tonce);
    if (!pool.persist(order)) {
      const sessionId = pool.sessionId(order);
      const set = this.sessions.get(sessionId);
      if (set !== undefined) {
        set.delete(order);
        if (set.size === 0) this.sessions.delete(sessionId);
      }
    }
    const asset = isBid ? m.counter : m.base;
    const released = pool.reserved(order);
    let j = 0; // the owner's account entry in the asset, where a reservation is returned
    if (released > 0) {
      const A = this.accounts.data;
      j = this.at(u, asset.index);
      A[j + A_RESERVED]! -= released;
      A[j + A_AVAILABLE]! += released;
      pool.setReserved(order, 0);
    }
    const remaining = reason === 'filled' || reason === 'exhausted' ? 0 : pool.remaining(order);
    if (this.emit) this.emitEvent({
      type: 'OrderClosed',
      userId: u.id,
      id,
      tonce,
      base: m.config.base,
      counter: m.config.counter,
      // 0 - x, not -x: a filled ask reports 0, never -0.
      quantity: isBid ? remaining : 0 - remaining,
      price: pool.price(order),
      time: pool.time(order),
      timeClosed: this.now,
      reason,
    });
    if (released > 0 && !callerReportsBalance) this.balanceChangedAt(u, asset, j);
    this.closed[this.closedCount++] = order;
    this.touch(m);
  }

  /** The user's live order with this id (ids are unique across users), or NO_ORDER. */
  private ownOrder(u: User, id: number): number {
    const h = this.ordersById.get(id);
    return h !== NO_ORDER && this.pool.userId(h) === u.id ? h : NO_ORDER;
  }

  private findOrder(u: User, id: number | undefined, tonce: number | undefined): number {
    if (id !== undefined) return this.ownOrder(u, id);
    return u.tonces.get(tonce!) ?? NO_ORDER;
  }

  private modifyOrder(c: ModifyOrder): CommandResult {
    const u = this.userOf(c.userId);
    if (u === undefined) return fail(ErrorCode.NOT_FOUND, ErrorMessage.NO_SUCH_USER);
    if (c.id === undefined && c.tonce === undefined) return fail(ErrorCode.INVALID, ErrorMessage.ID_OR_TONCE);
    if (c.id === undefined && c.tonce === 0) return fail(ErrorCode.INVALID, ErrorMessage.TONCE_ZERO);
    if (c.quantityDelta === undefined && c.price === undefined) return fail(ErrorCode.INVALID, ErrorMessage.DELTA_OR_PRICE);
    if (c.quantityDelta === 0) return fail(ErrorCode.INVALID, ErrorMessage.DELTA_ZERO);
    if (c.price === 0) return fail(ErrorCode.INVALID, ErrorMessage.PRICE_ZERO);
    if (c.price !== undefined && (!Number.isSafeInteger(c.price) || c.price < 0)) return fail(ErrorCode.INVALID, 'Price must be a positive integer.');
    if (c.quantityDelta !== undefined && !Number.isSafeInteger(c.quantityDelta)) return fail(ErrorCode.INVALID, 'Quantity delta must be a safe integer.');
    const order = this.findOrder(u, c.id, c.tonce);
    if (order === NO_ORDER) return fail(ErrorCode.NOT_FOUND, ErrorMessage.ORDER_NOT_FOUND);
    const pool = this.pool;
    const m = this.marketList[pool.marketIndex(order)]!;
    const isBid = pool.isBid(order);
    const was = pool.remaining(order);
    const wasPrice = pool.price(order);
    const signed = (isBid ? was : -was) + (c.quantityDelta ?? 0);
    if (isBid ? signed <= 0 : signed >= 0) {
      // Reaching or crossing zero cancels the order.
      const record = this.record(order, m);
      this.closeOrder(m, order, 'cancelled', false);
      return { ok: true, order: { ...record, quantity: 0, time: this.now } };
    }
    // Cancelling (above) is always allowed; changing an order is trading, like placing one.
    if (!this.isTrading(m)) return fail(ErrorCode.INVALID, MARKET_CLOSED);
    const quantity = Math.abs(signed);
    const price = c.price === undefined ? wasPrice : this.roundToTick(m, c.price, isBid);
    if (price === 0) return fail(ErrorCode.INVALID, ErrorMessage.PRICE_ZERO);
    const cost = mulDivCeil(quantity * m.mul, price, m.div);
    if (cost > MAX_SAFE || quantity * m.mul > MAX_SAFE) return fail(ErrorCode.INVALID, ErrorMessage.TOTAL_OVERFLOW);
    const crossing = price !== wasPrice && this.crosses(m, isBid, price);
    if (c.postOnly === true && crossing) return fail(ErrorCode.POST_ONLY, ErrorMessage.POST_ONLY);
    const asset = isBid ? m.counter : m.base;
    // The reservation: counter units at the order's price for a bid, base units for an ask.
    const need = isBid ? cost : quantity;
    const diff = need - pool.reserved(order);
    const A = this.accounts.data;
    const j = this.at(u, asset.index);
    if (diff > A[j + A_AVAILABLE]!) return fail(ErrorCode.INSUFFICIENT_FUNDS, ErrorMessage.INSUFFICIENT_FUNDS);

    // The reservation moves at once; a larger one is reported before the order changes (as for
    // OrderOpened), a smaller one after (as for OrderClosed).
    A[j + A_AVAILABLE]! -= diff;
    A[j + A_RESERVED]! += diff;
    if (diff > 0) this.balanceChanged(u, asset);
    const toBack = quantity > was || price !== wasPrice;
    if (toBack || crossing) {
      m.book.remove(order);
      pool.setResting(order, false);
      pool.setRemaining(order, quantity);
      pool.setPrice(order, price);
      pool.setReserved(order, need);
    } else {
      m.book.reduce(order, was - quantity);
      pool.setReserved(order, need);
    }
    if (crossing) this.matchLimit(m, order, u);
    // An order that filled completely while crossing was closed by the trade that filled it.
    const remaining = pool.remaining(order);
    if (remaining > 0) {
      if (toBack || crossing) {
        m.book.insert(order);
        pool.setResting(order, true);
      }
      if (this.emit) this.emitEvent({
        type: 'OrderModified',
        userId: u.id,
        id: pool.id(order),
        tonce: pool.tonce(order),
        base: m.config.base,
        counter: m.config.counter,
        quantity: isBid ? remaining : -remaining,
        price: pool.price(order),
        time: this.now,
      });
    }
    if (diff < 0) this.balanceChanged(u, asset);
    this.touch(m);
    return { ok: true, order: { ...this.record(order, m), time: this.now } };
  }

  private cancelOrder(c: CancelOrder): CommandResult {
    this.stamp(c.seq, c.time);
    const u = this.userOf(c.userId);
    if (u === undefined) return fail(ErrorCode.NOT_FOUND, ErrorMessage.NO_SUCH_USER);
    if (c.id === undefined && c.tonce === undefined) return fail(ErrorCode.INVALID, ErrorMessage.ID_OR_TONCE);
    if (c.id === undefined && c.tonce === 0) return fail(ErrorCode.INVALID, ErrorMessage.TONCE_ZERO);
    const order = this.findOrder(u, c.id, c.tonce);
    if (order === NO_ORDER) return fail(ErrorCode.NOT_FOUND, ErrorMessage.ORDER_NOT_FOUND);
    const m = this.marketList[this.pool.marketIndex(order)]!;
    if (!this.emit) {
      this.closeOrder(m, order, 'cancelled', false);
      return QUIET_OK;
    }
    const record = this.record(order, m);
    this.closeOrder(m, order, 'cancelled', false);
    return { ok: true, order: record };
  }

  private cancelAllOrders(userId: number): CommandResult {
    const u = this.userMap.get(userId);
    if (u === undefined) return fail(ErrorCode.NOT_FOUND, ErrorMessage.NO_SUCH_USER);
    const orders: OrderRecord[] = [];
    for (const order of u.liveOrders()) {
      const m = this.marketList[this.pool.marketIndex(order)]!;
      orders.push(this.record(order, m));
      this.closeOrder(m, order, 'cancelled', false);
    }
    u.lastTonce = 0;
    return { ok: true, orders };
  }

  private closeSession(sessionId: number): CommandResult {
    const set = this.sessions.get(sessionId);
    if (set !== undefined) {
      const pool = this.pool;
      for (const order of [...set].sort((a, b) => pool.id(a) - pool.id(b))) this.closeOrder(this.marketList[pool.marketIndex(order)]!, order, 'disconnected', false);
    }
    return { ok: true };
  }

  private closeAllSessions(): CommandResult {
    for (const id of [...this.sessions.keys()].sort((a, b) => a - b)) this.closeSession(id);
    return { ok: true };
  }

  private tick(): CommandResult {
    for (const m of this.marketList) this.touch(m);
    return { ok: true };
  }

  // ------------------------------------------------------------------ accounts and admin

  private createUser(c: CreateUser): CommandResult {
    if (typeof c.publicKey !== 'string' || c.publicKey.length === 0) return fail(ErrorCode.INVALID, 'A public key is required.');
    if (typeof c.cookie !== 'string' || c.cookie.length === 0) return fail(ErrorCode.INVALID, 'A cookie is required.');
    const u = new User(this.nextUserId++, c.publicKey, c.cookie);
    this.addUser(u);
    if (this.emit) this.emitEvent({ type: 'UserCreated', userId: u.id });
    return { ok: true, userId: u.id };
  }

  private deposit(userId: number, code: number, amount: number): CommandResult {
    const u = this.userMap.get(userId);
    if (u === undefined) return fail(ErrorCode.NOT_FOUND, ErrorMessage.NO_SUCH_USER);
    const asset = this.assetByCode.get(code);
    if (asset === undefined) return fail(ErrorCode.NOT_FOUND, 'There is no such asset.');
    if (!isSafeNonNegative(amount) || amount === 0) return fail(ErrorCode.INVALID, 'Amount must be a positive integer.');
    if (asset.held + amount > MAX_SAFE) return fail(ErrorCode.INVALID, 'Balance would overflow.');
    this.accounts.data[this.at(u, asset.index) + A_AVAILABLE]! += amount;
    asset.held += amount;
    this.balanceChanged(u, asset);
    return { ok: true };
  }

  private withdraw(c: Withdraw): CommandResult {
    const u = this.userMap.get(c.userId);
    if (u === undefined) return fail(ErrorCode.NOT_FOUND, ErrorMessage.NO_SUCH_USER);
    const asset = this.assetByCode.get(c.asset);
    if (asset === undefined) return fail(ErrorCode.NOT_FOUND, 'There is no such asset.');
    if (!isSafeNonNegative(c.amount) || c.amount === 0) return fail(ErrorCode.INVALID, 'Amount must be a positive integer.');
    if (!u.addresses.has(`${c.asset}:${c.address}`)) return fail(ErrorCode.INVALID, 'The withdrawal address is not registered for this user and asset.');
    const A = this.accounts.data;
    const j = this.at(u, asset.index);
    if (A[j + A_AVAILABLE]! < c.amount) return fail(ErrorCode.INSUFFICIENT_FUNDS, ErrorMessage.INSUFFICIENT_FUNDS);
    A[j + A_AVAILABLE]! -= c.amount;
    asset.held -= c.amount;
    this.balanceChanged(u, asset);
    return { ok: true };
  }

  private addWithdrawalAddress(c: AddWithdrawalAddress): CommandResult {
    const u = this.userMap.get(c.userId);
    if (u === undefined) return fail(ErrorCode.NOT_FOUND, ErrorMessage.NO_SUCH_USER);
    if (!this.assetByCode.has(c.asset)) return fail(ErrorCode.NOT_FOUND, 'There is no such asset.');
    if (typeof c.address !== 'string' || c.address.length === 0 || c.address.length > 256) return fail(ErrorCode.INVALID, 'The address must be 1 to 256 characters.');
    u.addresses.add(`${c.asset}:${c.address}`);
    return { ok: true };
  }

  private addAssetCommand(c: AddAsset): CommandResult {
    const r = this.addAsset(c.asset);
    if (r !== null) return fail(ErrorCode.INVALID, r);
    if (this.emit) this.emitEvent({ type: 'AssetAdded', asset: c.asset.code });
    return { ok: true };
  }

  private addMarketCommand(c: AddMarket): CommandResult {
    const r = this.addMarket(c.market);
    if (r !== null) return fail(ErrorCode.INVALID, r);
    if (this.emit) this.emitEvent({ type: 'MarketAdded', base: c.market.base, counter: c.market.counter });
    return { ok: true };
  }

  private createApiKey(c: CreateApiKey): CommandResult {
    if (!this.userMap.has(c.userId)) return fail(ErrorCode.NOT_FOUND, ErrorMessage.NO_SUCH_USER);
    if (typeof c.accessId !== 'string' || c.accessId.length === 0 || this.apiKeyMap.has(c.accessId)) return fail(ErrorCode.INVALID, 'The access id is empty or already in use.');
    if (typeof c.secretKey !== 'string' || c.secretKey.length < 16) return fail(ErrorCode.INVALID, 'The secret key must be at least 16 characters.');
    const permissions = [...new Set(c.permissions)].filter((p) => p === 'read' || p === 'trade');
    this.apiKeyMap.set(c.accessId, { accessId: c.accessId, userId: c.userId, secretKey: c.secretKey, permissions, revoked: false });
    return { ok: true };
  }

  /** Returns an error message, or null when the asset was added. */
  private addAsset(a: AssetConfig): string | null {
    if (!Number.isSafeInteger(a.code) || a.code <= 0 || a.code > 0xffff) return 'Asset code must be an integer from 1 to 65535.';
    if (this.assetByCode.has(a.code)) return `Asset ${a.code} already exists.`;
    if (typeof a.name !== 'string' || !/^[A-Za-z0-9]{1,16}$/.test(a.name)) return 'Asset name must be 1 to 16 letters or digits.';
    if (this.assetList.some((x) => x.config.name === a.name)) return `Asset name ${a.name} already exists.`;
    if (!Number.isSafeInteger(a.scale) || a.scale <= 0) return 'Asset scale must be a positive integer.';
    const state = new AssetState({ code: a.code, name: a.name, scale: a.scale }, this.assetList.length);
    this.assetList.push(state);
    this.assetByCode.set(a.code, state);
    this.accounts.setAssets(this.assetList.length);
    return null;
  }

  private addMarket(c: MarketConfig): string | null {
    const base = this.assetByCode.get(c.base);
    const counter = this.assetByCode.get(c.counter);
    if (base === undefined || counter === undefined || base === counter) return 'Base and counter must be two existing assets.';
    if (this.marketByPair.has(c.base * 65536 + c.counter)) return `Market ${base.config.name}:${counter.config.name} already exists.`;
    if (!Number.isSafeInteger(c.priceScale) || c.priceScale <= 0) return 'Price scale must be a positive integer.';
    if (!Number.isSafeInteger(c.tick) || c.tick <= 0) return 'Tick must be a positive integer.';
    if (c.kind !== 'spot' && c.kind !== 'futures') return "Kind must be 'spot' or 'futures'.";
    if ((c.start !== undefined && !Number.isSafeInteger(c.start)) || (c.expires !== undefined && !Number.isSafeInteger(c.expires))) {
      return 'Start and expiry must be integer epoch milliseconds.';
    }
    if (c.start !== undefined && c.expires !== undefined && c.start >= c.expires) return 'A market must start before it expires.';
    if (!Array.isArray(c.fees) || c.fees.length === 0) return 'A fee schedule with at least one tier is required.';
    for (let i = 0; i < c.fees.length; i++) {
      const t = c.fees[i]!;
      if (!isSafeNonNegative(t.minVolume) || !isSafeNonNegative(t.makerPpm) || !isSafeNonNegative(t.takerPpm) || t.makerPpm > PPM || t.takerPpm > PPM) {
        return `Fee tier ${i} must have non-negative integer minVolume, makerPpm and takerPpm (at most 1000000).`;
      }
      if (i > 0 && t.minVolume <= c.fees[i - 1]!.minVolume) return 'Fee tiers must be sorted by strictly increasing minVolume.';
    }
    const config: MarketConfig = { ...c, fees: c.fees.map((t) => ({ ...t })) };
    const state = new MarketState(config, this.marketList.length, base, counter, this.bookFactory(this.pool));
    this.marketList.push(state);
    this.marketByPair.set(c.base * 65536 + c.counter, state);
    return null;
  }

  // ------------------------------------------------------------------ helpers

  private addUser(u: User): void {
    u.slot = this.accounts.addUser();
    this.userMap.set(u.id, u);
    // Ids come from nextUserId; a restored snapshot could hold anything, which only the Map keeps.
    if (Number.isSafeInteger(u.id) && u.id > 0 && u.id <= 0x7fffffff) this.userById[u.id] = u;
  }

  /** Offset of a user's account in an asset (by index) in this.accounts.data. */
  private at(u: User, assetIndex: number): number {
    return u.slot * this.accounts.stride + assetIndex * ACCT;
  }

  /** userMap.get(id) without hashing for the ids userById holds. */
  private userOf(id: number): User | undefined {
    const u = this.userById[id];
    return u !== undefined && u.id === id ? u : this.userMap.get(id);
  }

  private marketFor(base: number, counter: number): MarketState | undefined {
    // Consecutive commands mostly name the same market; a market found once stays (markets are
    // never removed or replaced), so remembering the last hit saves hashing a non-Smi key.
    if (base === this.lastBase && counter === this.lastCounter) return this.lastMarket;
    // Codes are 16-bit; anything else must not alias onto a real pair through the packed key.
    if (!(Number.isInteger(base) && Number.isInteger(counter) && base > 0 && base <= 0xffff && counter > 0 && counter <= 0xffff)) return undefined;
    const m = this.marketByPair.get(base * 65536 + counter);
    if (m !== undefined) {
      this.lastBase = base;
      this.lastCounter = counter;
      this.lastMarket = m;
    }
    return m;
  }

  private isTrading(m: MarketState): boolean {
    const c = m.config;
    if (c.kind !== 'futures') return true;
    const nowMs = this.now / 1000;
    return (c.start === undefined || nowMs >= c.start) && (c.expires === undefined || nowMs < c.expires);
  }

  /** Bids round down and asks round up to the tick (SCALE.md). */
  private roundToTick(m: MarketState, price: number, isBid: boolean): number {
    const tick = m.config.tick;
    const r = price % tick;
    if (r === 0) return price;
    return isBid ? price - r : price - r + tick;
  }

  private crosses(m: MarketState, isBid: boolean, price: number): boolean {
    const best = m.book.bestPrice(!isBid);
    return best !== null && (isBid ? best <= price : best >= price);
  }

  /** Stochastic rounding of a * b / c: rounds up with probability equal to the fractional part. */
  private stochastic(a: number, b: number, c: number): number {
    const qr = mulDivRem(a, b, c);
    const q = qr.q;
    const r = qr.r;
    if (r === 0) return q;
    return this.prng.below(c) < r ? q + 1 : q;
  }

  private fee(total: number, ratePpm: number): number {
    if (ratePpm === 0 || total === 0) return 0;
    return this.stochastic(total, ratePpm, PPM);
  }

  /**
   * Fee rate from the tier of a user's 30-day volume in the market's counter asset; `j` is the
   * user's account entry in that asset (at()).
   */
  private feeRate(j: number, m: MarketState, taker: boolean): number {
    const minVolume = m.feeMinVolume;
    let tier = minVolume.length - 1;
    if (tier > 0) {
      const w = this.accounts.data[j + A_WINDOW]!;
      const volume = w === NO_WINDOW ? 0 : this.volumes.sum(w, this.day);
      while (tier > 0 && volume < minVolume[tier]!) tier--;
    }
    return taker ? m.feeTakerPpm[tier]! : m.feeMakerPpm[tier]!;
  }

  /** Adds a trade's amount to the user's 30-day volume in an asset (`j`: the user's account entry in it). */
  private addVolume(u: User, assetIndex: number, j: number, amount: number): void {
    const A = this.accounts.data;
    let w = A[j + A_WINDOW]!;
    if (w === NO_WINDOW) A[j + A_WINDOW] = w = this.volumes.create();
    const volumes = this.volumes;
    volumes.add(w, this.day, amount);
    // One TradeVolumeChanged per window and command, in the order of first change. None in
    // applyQuiet(): the flush would only refresh the sum's memo, a cache outside the state.
    if (this.emit && volumes.pending[w] === 0) {
      volumes.pending[w] = 1;
      const i = this.dirtyVolumeCount++;
      if (i === this.dirtyVolumeWindows.length) this.growDirtyVolumes();
      this.dirtyVolumeUserIds[i] = u.id;
      this.dirtyVolumeWindows[i] = w;
      this.dirtyVolumeAssets[i] = assetIndex;
    }
  }

  /** Doubles the dirty volume lists (a command whose trades touch more windows than ever before). */
  private growDirtyVolumes(): void {
    const n = this.dirtyVolumeWindows.length;
    const ids = new Float64Array(2 * n);
    const windows = new Float64Array(2 * n);
    const assets = new Int32Array(2 * n);
    ids.set(this.dirtyVolumeUserIds);
    windows.set(this.dirtyVolumeWindows);
    assets.set(this.dirtyVolumeAssets);
    this.dirtyVolumeUserIds = ids;
    this.dirtyVolumeWindows = windows;
    this.dirtyVolumeAssets = assets;
  }

  /** Moves a user's net traded position in an asset (`j`: the user's account entry in it). */
  private addPosition(j: number, delta: number): void {
    const A = this.accounts.data;
    if (A[j + A_THROUGH] === NO_POSITION) A[j + A_POSITION] = delta;
    else A[j + A_POSITION]! += delta;
    A[j + A_THROUGH] = this.now;
  }

  private balanceChanged(u: User, asset: AssetState): void {
    if (this.emit) this.balanceChangedAt(u, asset, this.at(u, asset.index));
  }

  /** balanceChanged() where the caller has the user's account entry in the asset (`j`). */
  private balanceChangedAt(u: User, asset: AssetState, j: number): void {
    if (!this.emit) return;
    const A = this.accounts.data;
    this.emitEvent({ type: 'BalanceChanged', userId: u.id, asset: asset.config.code, available: A[j + A_AVAILABLE]!, reserved: A[j + A_RESERVED]! });
  }

  private touch(m: MarketState): void {
    if (!m.dirty) {
      m.dirty = true;
      this.dirtyMarkets[this.dirtyMarketCount++] = m;
    }
  }

  /** Emits one TickerChanged per touched market whose ticker changed; `m.reported` is updated in place. */
  private flushTickers(): void {
    const dirty = this.dirtyMarkets;
    const n = this.dirtyMarketCount;
    if (n === 0) return;
    this.dirtyMarketCount = 0;
    for (let i = 0; i < n; i++) {
      const m = dirty[i]!;
      m.dirty = false;
      const w = m.window;
      w.advance(this.minute);
      const last = m.last;
      const bid = m.book.bestPrice(true);
      const ask = m.book.bestPrice(false);
      const low = w.lowest;
      const high = w.highest;
      const volume = w.volume;
      const was = m.reported;
      if (last === was.last && bid === was.bid && ask === was.ask && low === was.low && high === was.high && volume === was.volume) continue;
      if (this.emit) this.emitEvent(tickerChanged(m, this.now, was, last, bid, ask, low, high, volume));
      was.last = last;
      was.bid = bid;
      was.ask = ask;
      was.low = low;
      was.high = high;
      was.volume = volume;
      m.tickerTime = this.now;
    }
  }

  private flushVolumes(): void {
    const n = this.dirtyVolumeCount;
    if (n === 0) return;
    this.dirtyVolumeCount = 0;
    const userIds = this.dirtyVolumeUserIds;
    const assets = this.dirtyVolumeAssets;
    const windows = this.dirtyVolumeWindows;
    const volumes = this.volumes;
    for (let i = 0; i < n; i++) {
      const w = windows[i]!;
      volumes.pending[w] = 0;
      // Only apply() queues windows (addVolume), so this runs with events on.
      const volume = volumes.sum(w, this.day);
      this.emitEvent({ type: 'TradeVolumeChanged', userId: userIds[i]!, asset: this.assetList[assets[i]!]!.config.code, volume });
    }
  }

  private record(order: number, m: MarketState): OrderRecord {
    const pool = this.pool;
    const remaining = pool.remaining(order);
    return {
      id: pool.id(order),
      tonce: pool.tonce(order),
      base: m.config.base,
      counter: m.config.counter,
      quantity: pool.isBid(order) ? remaining : -remaining,
      price: pool.price(order),
      time: pool.time(order),
    };
  }

  // ------------------------------------------------------------------ queries

  assets(): AssetConfig[] {
    return this.assetList.map((a) => ({ ...a.config }));
  }

  asset(code: number): AssetConfig | undefined {
    const a = this.assetByCode.get(code);
    return a === undefined ? undefined : { ...a.config };
  }

  assetByName(name: string): AssetConfig | undefined {
    const a = this.assetList.find((x) => x.config.name === name);
    return a === undefined ? undefined : { ...a.config };
  }

  markets(): MarketConfig[] {
    return this.marketList.map((m) => structuredClone(m.config));
  }

  market(base: number, counter: number): MarketConfig | undefined {
    const m = this.marketFor(base, counter);
    return m === undefined ? undefined : structuredClone(m.config);
  }

  estimateMarketOrder(base: number, counter: number, quantity: number | undefined, total: number | undefined): Result<EstimateOk> {
    const m = this.marketFor(base, counter);
    if (m === undefined) return fail(ErrorCode.NOT_FOUND, ErrorMessage.INVALID_PAIR);
    if (quantity === undefined && total === undefined) return fail(ErrorCode.INVALID, ErrorMessage.QUANTITY_OR_TOTAL);
    if (quantity !== undefined && total !== undefined) return fail(ErrorCode.INVALID, 'You must not specify both quantity and total.');
    if (quantity === 0) return fail(ErrorCode.INVALID, ErrorMessage.QUANTITY_ZERO);
    if (total === 0) return fail(ErrorCode.INVALID, ErrorMessage.TOTAL_ZERO);
    const amount = (quantity ?? total)!;
    if (!Number.isSafeInteger(amount)) return fail(ErrorCode.INVALID, 'Quantity and total must be safe integers.');
    const isBid = amount > 0;
    let left = Math.abs(amount);
    let sumQ = 0;
    let sumT = 0;
    // Without fees and without drawing from the PRNG: totals use round-half-up of the exact value.
    const pool = this.pool;
    m.book.forEach(!isBid, (o) => {
      const price = pool.price(o);
      let q = pool.remaining(o);
      if (total !== undefined) q = Math.min(q, mulDivFloor(left, m.div, price * m.mul));
      else q = Math.min(q, left);
      if (q <= 0) return false;
      const qr = mulDivRem(q * m.mul, price, m.div);
      const t = qr.q + (qr.r * 2 >= m.div ? 1 : 0);
      sumQ += q;
      sumT += t;
      left -= total !== undefined ? t : q;
      return left > 0;
    });
    return { ok: true, quantity: sumQ, total: sumT };
  }

  /** Every user's available plus reserved balance in the asset, summed (undefined: no such asset). */
  heldTotal(code: number): number | undefined {
    return this.assetByCode.get(code)?.held;
  }

  balances(userId: number): BalanceView[] {
    const u = this.userMap.get(userId);
    if (u === undefined) return [];
    const A = this.accounts.data;
    return this.assetList.map((a) => ({ asset: a.config.code, available: A[this.at(u, a.index) + A_AVAILABLE]!, reserved: A[this.at(u, a.index) + A_RESERVED]! }));
  }

  openOrders(userId: number): OrderRecord[] {
    const u = this.userMap.get(userId);
    if (u === undefined) return [];
    return u.liveOrders().map((o) => this.record(o, this.marketList[this.pool.marketIndex(o)]!));
  }

  openOrder(userId: number, id: number): OrderRecord | undefined {
    const u = this.userMap.get(userId);
    const o = u === undefined ? NO_ORDER : this.ownOrder(u, id);
    return o === NO_ORDER ? undefined : this.record(o, this.marketList[this.pool.marketIndex(o)]!);
  }

  bookOrders(base: number, counter: number, maxPerSide: number): BookOrderView[] | undefined {
    const m = this.marketFor(base, counter);
    if (m === undefined) return undefined;
    const out: BookOrderView[] = [];
    for (const isBid of [true, false]) {
      let n = 0;
      const pool = this.pool;
      m.book.forEach(isBid, (o) => {
        const remaining = pool.remaining(o);
        out.push({ id: pool.id(o), quantity: isBid ? remaining : -remaining, price: pool.price(o), time: pool.time(o) });
        return ++n < maxPerSide;
      });
    }
    return out;
  }

  depth(base: number, counter: number, maxLevels: number): Depth | undefined {
    const m = this.marketFor(base, counter);
    if (m === undefined) return undefined;
    return { bids: m.book.depth(true, maxLevels), asks: m.book.depth(false, maxLevels) };
  }

  ticker(base: number, counter: number): Ticker | undefined {
    const m = this.marketFor(base, counter);
    return m === undefined ? undefined : this.tickerOf(m);
  }

  tickers(): Ticker[] {
    return this.marketList.map((m) => this.tickerOf(m));
  }

  private tickerOf(m: MarketState): Ticker {
    // Advancing to the engine's own time is idempotent for the logical state (serialize filters
    // by that time too), so a query may do it without breaking replay equality.
    const w = m.window;
    w.advance(this.minute);
    const vwap = w.volume > 0 ? Math.round((w.total * m.div) / (w.volume * m.mul)) : null;
    return {
      base: m.config.base,
      counter: m.config.counter,
      last: m.last,
      bid: m.book.bestPrice(true),
      ask: m.book.bestPrice(false),
      low: w.lowest,
      high: w.highest,
      volume: w.volume,
      vwap,
      time: m.tickerTime,
    };
  }

  tradeVolume(userId: number, asset: number): number {
    const u = this.userMap.get(userId);
    const a = this.assetByCode.get(asset);
    if (u === undefined || a === undefined) return 0;
    const w = this.accounts.data[this.at(u, a.index) + A_WINDOW]!;
    return w === NO_WINDOW ? 0 : this.volumes.sum(w, this.day);
  }

  positions(userId: number): PositionView[] {
    const u = this.userMap.get(userId);
    if (u === undefined) return [];
    const out: PositionView[] = [];
    for (const [index, position, through] of this.positionList(u)) out.push({ asset: this.assetList[index]!.config.code, position, through });
    return out;
  }

  user(userId: number): UserView | undefined {
    const u = this.userMap.get(userId);
    return u === undefined ? undefined : { id: u.id, publicKey: u.publicKey, cookie: u.cookie };
  }

  users(): UserView[] {
    return [...this.userMap.values()].map((u) => ({ id: u.id, publicKey: u.publicKey, cookie: u.cookie }));
  }

  apiKey(accessId: string): ApiKeyView | undefined {
    const k = this.apiKeyMap.get(accessId);
    return k === undefined ? undefined : { ...k, permissions: [...k.permissions] };
  }

  apiKeys(userId: number): ApiKeyView[] {
    return [...this.apiKeyMap.values()].filter((k) => k.userId === userId).map((k) => ({ ...k, permissions: [...k.permissions] }));
  }

  withdrawalAddresses(userId: number): { asset: number; address: string }[] {
    const u = this.userMap.get(userId);
    if (u === undefined) return [];
    return [...u.addresses].map((s) => {
      const i = s.indexOf(':');
      return { asset: Number(s.slice(0, i)), address: s.slice(i + 1) };
    });
  }

  /** Number of resting orders per market, for metrics. */
  restingOrders(): { base: number; counter: number; count: number }[] {
    return this.marketList.map((m) => ({ base: m.config.base, counter: m.config.counter, count: m.book.size }));
  }

  // ------------------------------------------------------------------ snapshots

  /** [asset index, position, through] for each asset the user traded, by asset index. */
  private positionList(u: User): [number, number, number][] {
    const out: [number, number, number][] = [];
    const A = this.accounts.data;
    for (let i = 0; i < this.assetList.length; i++) {
      const j = this.at(u, i);
      if (A[j + A_THROUGH] !== NO_POSITION) out.push([i, A[j + A_POSITION]!, A[j + A_THROUGH]!]);
    }
    return out;
  }

  /** [asset index, buckets] for each asset the user traded, by asset index. */
  private volumeList(u: User): [number, [number, number][]][] {
    const out: [number, [number, number][]][] = [];
    const A = this.accounts.data;
    for (let i = 0; i < this.assetList.length; i++) {
      const w = A[this.at(u, i) + A_WINDOW]!;
      if (w !== NO_WINDOW) out.push([i, this.volumes.serialize(w)]);
    }
    return out;
  }

  serialize(): EngineSnapshotLive {
    return this.serializeWith(null);
  }

  /**
   * serialize() for the journal's snapshots: the resting-order columns are views into a buffer
   * the engine keeps for the next call, so they are valid only until then (the sequencer takes
   * one snapshot at a time and drops the state once it is written). A fresh buffer of 72 MB (a
   * million resting orders) costs more in first-touch page faults than filling it: ~250 ms of
   * serialize() against ~40-55 ms into warm memory, and serialize() stalls matching.
   */
  serializeForSnapshot(): EngineSnapshotLive {
    const need = this.snapshotNeed();
    const held = this.snapshotScratch;
    // Headroom for a growing book; a book that shrank a lot gives the memory back.
    if (held === null || held.length < need || held.length > 4 * need + SCRATCH_SLACK) {
      this.snapshotScratch = new Float64Array(need + (need >> 3));
    }
    return this.serializeWith(this.snapshotScratch);
  }

  /** Numbers serializeForSnapshot() writes now: ORDER_STRIDE per resting order. */
  private snapshotNeed(): number {
    let need = 0;
    for (const m of this.marketList) need += m.book.size * ORDER_STRIDE;
    return need;
  }

  /**
   * Length of the buffer serializeForSnapshot() would like handed to it (room for the resting
   * orders and half as many again), or 0 while the one it holds fits. Allocating it is cheap; its
   * first-touch page faults are what stall: a caller can take those off the event loop and then
   * adoptSnapshotBuffer() it.
   */
  snapshotBufferWanted(): number {
    const need = this.snapshotNeed();
    const held = this.snapshotScratch;
    if (held !== null && held.length >= need) return 0;
    return need + (need >> 1);
  }

  /** Takes `buf` as serializeForSnapshot()'s buffer if it fits the resting orders now and the held one does not. */
  adoptSnapshotBuffer(buf: Float64Array): boolean {
    const need = this.snapshotNeed();
    const held = this.snapshotScratch;
    if (buf.length < need || (held !== null && held.length >= need)) return false;
    this.snapshotScratch = buf;
    return true;
  }

  private serializeWith(scratch: Float64Array | null): EngineSnapshotLive {
    let at = 0;
    const columns = (book: Book): OrderColumns & { data: Float64Array } => {
      const n = book.size * ORDER_STRIDE;
      const data = scratch === null ? new Float64Array(n) : scratch.subarray(at, at + n);
      at += n;
      return orderColumns(book, this.pool, data);
    };
    return {
      format: 2,
      config: { tonceRule: this.config.tonceRule, maxOpenOrders: this.config.maxOpenOrders, seed: this.config.seed },
      assets: this.assets(),
      markets: this.markets(),
      lastSeq: this.lastSeq,
      now: this.now,
      nextOrderId: this.nextOrderId,
      nextUserId: this.nextUserId,
      prng: this.prng.state(),
      users: [...this.userMap.values()].map((u) => ({
        id: u.id,
        publicKey: u.publicKey,
        cookie: u.cookie,
        available: this.assetList.map((a) => this.accounts.data[this.at(u, a.index) + A_AVAILABLE]!),
        reserved: this.assetList.map((a) => this.accounts.data[this.at(u, a.index) + A_RESERVED]!),
        lastTonce: u.lastTonce,
        volumes: this.volumeList(u),
        positions: this.positionList(u),
        addresses: [...u.addresses], // insertion order, so queries read the same after a restore
      })),
      apiKeys: [...this.apiKeyMap.values()].map((k) => ({ ...k, permissions: [...k.permissions] })),
      marketStates: this.marketList.map((m) => ({
        last: m.last,
        reported: { ...m.reported },
        tickerTime: m.tickerTime,
        window: m.window.serialize(this.now),
        orders: columns(m.book),
      })),
    };
  }

  static restore(snapshot: unknown, bookFactory?: BookFactory): Engine {
    const s = snapshot as EngineSnapshot | EngineSnapshotV1;
    if (s === null || typeof s !== 'object' || (s.format !== 1 && s.format !== 2)) throw new Error('unsupported engine snapshot format');
    const e = new Engine({ ...s.config, assets: s.assets, markets: s.markets }, bookFactory);
    e.lastSeq = s.lastSeq;
    e.setClock(s.now);
    e.nextOrderId = s.nextOrderId;
    e.nextUserId = s.nextUserId;
    e.prng = new Prng(s.prng);
    for (const su of s.users) {
      const u = new User(su.id, su.publicKey, su.cookie);
      e.addUser(u);
      const assets = e.assetList.length;
      const inRange = (i: number): boolean => Number.isSafeInteger(i) && i >= 0 && i < assets;
      if (su.available.length > assets || su.reserved.length > assets) throw new Error(`user ${su.id} has balances in more assets than the engine snapshot defines`);
      const A = e.accounts.data;
      su.available.forEach((v, i) => (A[e.at(u, i) + A_AVAILABLE] = v));
      su.reserved.forEach((v, i) => (A[e.at(u, i) + A_RESERVED] = v));
      u.lastTonce = su.lastTonce;
      for (const [i, buckets] of su.volumes) {
        if (!inRange(i)) throw new Error(`user ${su.id} has a trade volume in an asset the engine snapshot does not define`);
        A[e.at(u, i) + A_WINDOW] = e.volumes.restore(buckets);
      }
      for (const [i, p, t] of su.positions) {
        if (!inRange(i)) throw new Error(`user ${su.id} has a position in an asset the engine snapshot does not define`);
        A[e.at(u, i) + A_POSITION] = p;
        A[e.at(u, i) + A_THROUGH] = t;
      }
      for (const a of su.addresses) u.addresses.add(a);
    }
    const A = e.accounts.data;
    for (const a of e.assetList) {
      let held = 0;
      for (const u of e.userMap.values()) held += A[e.at(u, a.index) + A_AVAILABLE]! + A[e.at(u, a.index) + A_RESERVED]!;
      a.held = held;
    }
    for (const k of s.apiKeys) e.apiKeyMap.set(k.accessId, { ...k, permissions: [...k.permissions] });
    const pool = e.pool;
    const byUser: number[] = [];
    const restOne = (m: MarketState, id: number, userId: number, isBid: boolean, remaining: number, price: number, time: number, tonce: number | null, persist: boolean, sessionId: number, reserved: number): void => {
      const h = pool.alloc(id, userId, m.index, isBid, remaining, price, time, tonce ?? 0, persist, sessionId, reserved);
      m.book.insert(h);
      pool.setResting(h, true);
      byUser.push(h);
      if (!persist) {
        let set = e.sessions.get(sessionId);
        if (set === undefined) e.sessions.set(sessionId, (set = new Set()));
        set.add(h);
      }
    };
    let total = 0;
    for (const ms of s.marketStates) {
      const n = s.format === 1 ? (ms.orders as OrderTuple[]).length : (ms.orders as OrderColumns | null)?.count;
      if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) total += n;
    }
    pool.reserve(total);
    e.ordersById.reserve(total);
    s.marketStates.forEach((ms, index) => {
      const m = e.marketList[index]!;
      m.last = ms.last;
      m.reported = { ...ms.reported };
      m.tickerTime = ms.tickerTime;
      const w = TradeWindow.restore(ms.window, s.now);
      (m as { window: TradeWindow }).window = w;
      if (s.format === 1) {
        for (const [id, userId, bid, remaining, price, time, tonce, persist, sessionId, reserved] of (ms.orders as OrderTuple[])) {
          restOne(m, id, userId, bid === 1, remaining, price, time, tonce, persist, sessionId, reserved);
        }
        return;
      }
      const cols = ms.orders as OrderColumns;
      if (cols === null || typeof cols !== 'object' || cols.stride !== ORDER_STRIDE || !Number.isSafeInteger(cols.count) || cols.count < 0) {
        throw new Error('bad resting order columns in engine snapshot');
      }
      // A Float64Array, a number[] or an object with keys "0", "1", ...: all index the same way.
      const d = cols.data as ArrayLike<number>;
      const len = (d as { length?: unknown }).length;
      if (typeof len === 'number' && len < cols.count * ORDER_STRIDE) throw new Error('resting order columns shorter than their count');
      for (let k = 0, j = 0; k < cols.count; k++, j += ORDER_STRIDE) {
        const flags = d[j + 2]!;
        const tonce = d[j + 6]!;
        restOne(m, d[j]!, d[j + 1]!, (flags & ORDER_FLAG_BID) !== 0, d[j + 3]!, d[j + 4]!, d[j + 5]!, tonce === 0 ? null : tonce, (flags & ORDER_FLAG_PERSIST) !== 0, d[j + 7]!, d[j + 8]!);
      }
    });
    // Each user's orders are linked in id order: sort the ids (a native numeric sort, not a
    // comparator call per comparison) and find each order through the id table.
    const ids = new Float64Array(byUser.length);
    for (let i = 0; i < byUser.length; i++) {
      const h = byUser[i]!;
      const id = pool.id(h);
      if (e.ordersById.get(id) !== NO_ORDER) throw new Error(`order id ${id} appears twice in the engine snapshot`);
      e.ordersById.add(h, id);
      ids[i] = id;
    }
    ids.sort();
    for (let i = 0; i < ids.length; i++) {
      const h = e.ordersById.get(ids[i]!);
      const u = e.userOf(pool.userId(h));
      if (u === undefined) throw new Error(`order ${ids[i]} in the engine snapshot belongs to no user`);
      u.linkOrder(pool, h);
      const tonce = pool.tonce(h);
      if (tonce !== null) u.tonces.set(tonce, h);
    }
    return e;
  }

  /**
   * SHA-256 over the whole state: the JSON text of serialize() with each market's order columns
   * reduced to their count and stride, followed by each market's columns as raw float64 bytes
   * (little-endian on every platform Node runs on). serialize() writes the same bytes for equal
   * states (it never writes -0), however the engine got there: live, or restored from format 1
   * or 2.
   */
  stateHash(): string {
    const s = this.serialize();
    const h = createHash('sha256');
    const columns: Float64Array[] = [];
    const head = {
      ...s,
      marketStates: s.marketStates.map((ms) => {
        columns.push(ms.orders.data);
        return { ...ms, orders: { count: ms.orders.count, stride: ms.orders.stride } };
      }),
    };
    h.update(JSON.stringify(head));
    for (const c of columns) h.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
    return h.digest('hex');
  }
}

/** Writes the format-2 row of pool order h at data[j]. */
function writeOrderRow(data: Float64Array, j: number, rows: Float64Array, h: number): void {
  const r = h * ORDER_ROW;
  // `+ 0` turns a -0 into 0, so the bytes (stateHash) match a JSON round trip.
  data[j] = rows[r + O_ID]! + 0;
  data[j + 1] = rows[r + O_USER]! + 0;
  data[j + 2] = rows[r + O_FLAGS]! & (FLAG_BID | FLAG_PERSIST);
  data[j + 3] = rows[r + O_REMAINING]! + 0;
  data[j + 4] = rows[r + O_PRICE]! + 0;
  data[j + 5] = rows[r + O_TIME]! + 0;
  data[j + 6] = rows[r + O_TONCE]! + 0;
  data[j + 7] = rows[r + O_SESSION]! + 0;
  data[j + 8] = rows[r + O_RESERVED]! + 0;
}

/**
 * A book's resting orders as format-2 columns in `data` (book.size * ORDER_STRIDE numbers), in
 * priority order (bids then asks), one pass. The fast book's level arrays are walked directly
 * (no callback per order). (Numbering the orders first and then copying the pool front to back,
 * so the reads stream, measured no faster: the cost of a fresh `data` is dominated by its first
 * writes, hence serializeForSnapshot's warm buffer.)
 */
function orderColumns(book: Book, orderPool: OrderPool, data: Float64Array): OrderColumns & { data: Float64Array } {
  const count = book.size;
  const rows = orderPool.data;
  let j = 0;
  if (book instanceof FastBook) {
    for (const isBid of [true, false]) {
      const levels = book.levels(isBid);
      for (let i = levels.length - 1; i >= 0; i--) {
        const level = levels[i]!;
        const orders = level.orders;
        for (let k = level.start, end = level.end; k < end; k++) {
          const h = orders[k]!;
          if (h === NO_ORDER) continue;
          if (j >= data.length) throw new Error('book size does not match its orders');
          writeOrderRow(data, j, rows, h);
          j += ORDER_STRIDE;
        }
      }
    }
  } else {
    const put = (h: number): void => {
      if (j >= data.length) throw new Error('book size does not match its orders');
      writeOrderRow(data, j, rows, h);
      j += ORDER_STRIDE;
    };
    book.forEach(true, put);
    book.forEach(false, put);
  }
  if (j !== data.length) throw new Error('book size does not match its orders');
  return { count, stride: ORDER_STRIDE, data };
}
