// The order book of one market: price-time priority, nothing else. It knows no users, balances
// or transport (Liquibook's split); the engine does matching and accounting around it.
//
// Orders are not objects: each live order is a row of numbers in one OrderPool, named by its
// handle (row index). With an object per order, every resting order was copied twice by the
// young-generation GC before it reached the old generation, and the pointers to it from the
// book, the id table and its owner were all write-barrier traffic; scavenges took ~15 % of the
// engine's time. Rows in a Float64Array are invisible to the GC, a snapshot reads them in one
// pass, and a handle is a small integer that arrays hold unboxed.

/** Offsets of an order's fields in its row. */
export const O_ID = 0;
export const O_USER = 1;
export const O_MARKET = 2;
/** FLAG_BID | FLAG_PERSIST | FLAG_RESTING. */
export const O_FLAGS = 3;
/** Unsigned quantity still to trade. */
export const O_REMAINING = 4;
export const O_PRICE = 5;
/** Micro-timestamp at which the order was opened. */
export const O_TIME = 6;
/** 0: no tonce (a tonce is never 0). */
export const O_TONCE = 7;
export const O_SESSION = 8;
/** Reserved funds held for this order: counter units for a bid, base units for an ask. */
export const O_RESERVED = 9;
/** Slot in its price level's queue (fast book only; -1: none). */
export const O_LEVEL_INDEX = 10;
/** Position in the owner's array of live orders (kept by the engine; -1: not live). */
export const O_USER_INDEX = 11;
/** Numbers per row. */
export const ORDER_ROW = 12;

export const FLAG_BID = 1;
/** Clear: cancelled when its session disconnects. */
export const FLAG_PERSIST = 2;
/** Set while the order rests in its market's book (kept by the engine, whatever the book). */
export const FLAG_RESTING = 4;

/** "No order" where a handle is expected. */
export const NO_ORDER = -1;

/**
 * Rows a new pool has. Small, so the first growth comes while the code is still cold: one that
 * first happens in optimised code (alloc() and the engine's order paths it is inlined into) has
 * no type feedback there and deoptimises them, and a cold replay waits for their recompilation.
 */
const MIN_CAPACITY = 64;

/**
 * Live orders as rows of one Float64Array (every field is a safe integer, so doubles hold them
 * exactly). A handle stays valid until release(); the engine releases a closed order's handle
 * only at the end of the command, so whatever ran in the same command can still read it.
 */
export class OrderPool {
  /** Row h is data[h * ORDER_ROW .. + ORDER_ROW]. Replaced when the pool grows: reread after alloc(). */
  data = new Float64Array(0);
  /** Free handles, a stack: the most recently freed row (warm in cache) is reused first. */
  private free = new Int32Array(0);
  private freeCount = 0;
  /** Handles below this have been handed out at least once. */
  private used = 0;
  /** Live handles. */
  size = 0;
  capacity = 0;

  constructor() {
    // The fields grow() replaces get their first size here, a second store after their
    // initialisers. V8 treats a field stored only once as constant and compiles that into every
    // function reading it: the pool's first growth then deoptimised them all at once (every
    // accessor, the book, the engine's order paths), and a cold replay ran slow code while
    // TurboFan compiled them again. (Initialised, not just declared: a field that starts out
    // undefined loses its type, and every read of it pays a map check.)
    this.data = new Float64Array(MIN_CAPACITY * ORDER_ROW);
    this.free = new Int32Array(MIN_CAPACITY);
    this.capacity = MIN_CAPACITY;
  }

  alloc(
    id: number,
    userId: number,
    marketIndex: number,
    isBid: boolean,
    remaining: number,
    price: number,
    time: number,
    tonce: number,
    persist: boolean,
    sessionId: number,
    reserved: number,
  ): number {
    let h: number;
    if (this.freeCount > 0) h = this.free[--this.freeCount]!;
    else {
      if (this.used === this.capacity) this.grow();
      h = this.used++;
    }
    this.size++;
    const d = this.data;
    const j = h * ORDER_ROW;
    d[j + O_ID] = id;
    d[j + O_USER] = userId;
    d[j + O_MARKET] = marketIndex;
    d[j + O_FLAGS] = (isBid ? FLAG_BID : 0) | (persist ? FLAG_PERSIST : 0);
    d[j + O_REMAINING] = remaining;
    d[j + O_PRICE] = price;
    d[j + O_TIME] = time;
    d[j + O_TONCE] = tonce;
    d[j + O_SESSION] = sessionId;
    d[j + O_RESERVED] = reserved;
    d[j + O_LEVEL_INDEX] = -1;
    d[j + O_USER_INDEX] = -1;
    return h;
  }

  release(h: number): void {
    this.free[this.freeCount++] = h;
    this.size--;
  }

  /** Makes room for n more orders at once (restore: one allocation instead of doubling). */
  reserve(n: number): void {
    const want = this.size + n;
    let cap = this.capacity;
    while (cap < want) cap *= 2;
    if (cap > this.capacity) this.grow(cap);
  }

  private grow(n = this.capacity * 2): void {
    const data = new Float64Array(n * ORDER_ROW);
    data.set(this.data);
    this.data = data;
    const free = new Int32Array(n);
    free.set(this.free.subarray(0, this.freeCount));
    this.free = free;
    this.capacity = n;
  }

  id(h: number): number {
    return this.data[h * ORDER_ROW + O_ID]!;
  }
  userId(h: number): number {
    return this.data[h * ORDER_ROW + O_USER]!;
  }
  marketIndex(h: number): number {
    return this.data[h * ORDER_ROW + O_MARKET]!;
  }
  isBid(h: number): boolean {
    return (this.data[h * ORDER_ROW + O_FLAGS]! & FLAG_BID) !== 0;
  }
  persist(h: number): boolean {
    return (this.data[h * ORDER_ROW + O_FLAGS]! & FLAG_PERSIST) !== 0;
  }
  resting(h: number): boolean {
    return (this.data[h * ORDER_ROW + O_FLAGS]! & FLAG_RESTING) !== 0;
  }
  setResting(h: number, resting: boolean): void {
    const j = h * ORDER_ROW + O_FLAGS;
    const f = this.data[j]!;
    this.data[j] = resting ? f | FLAG_RESTING : f & ~FLAG_RESTING;
  }
  remaining(h: number): number {
    return this.data[h * ORDER_ROW + O_REMAINING]!;
  }
  setRemaining(h: number, v: number): void {
    this.data[h * ORDER_ROW + O_REMAINING] = v;
  }
  price(h: number): number {
    return this.data[h * ORDER_ROW + O_PRICE]!;
  }
  setPrice(h: number, v: number): void {
    this.data[h * ORDER_ROW + O_PRICE] = v;
  }
  time(h: number): number {
    return this.data[h * ORDER_ROW + O_TIME]!;
  }
  /** The tonce, or null for none. */
  tonce(h: number): number | null {
    const t = this.data[h * ORDER_ROW + O_TONCE]!;
    return t === 0 ? null : t;
  }
  sessionId(h: number): number {
    return this.data[h * ORDER_ROW + O_SESSION]!;
  }
  reserved(h: number): number {
    return this.data[h * ORDER_ROW + O_RESERVED]!;
  }
  setReserved(h: number, v: number): void {
    this.data[h * ORDER_ROW + O_RESERVED] = v;
  }
  levelIndex(h: number): number {
    return this.data[h * ORDER_ROW + O_LEVEL_INDEX]!;
  }
  setLevelIndex(h: number, v: number): void {
    this.data[h * ORDER_ROW + O_LEVEL_INDEX] = v;
  }
  userIndex(h: number): number {
    return this.data[h * ORDER_ROW + O_USER_INDEX]!;
  }
  setUserIndex(h: number, v: number): void {
    this.data[h * ORDER_ROW + O_USER_INDEX] = v;
  }
}

/**
 * One price's FIFO queue as an array of handles with holes: orders[start] is the head, an order
 * that leaves mid-queue leaves NO_ORDER (its neighbours are not touched), and the array is
 * compacted once holes outnumber orders. Walking the queue reads one array of small integers.
 */
export class PriceLevel {
  readonly orders: number[] = [];
  /** First slot in use (orders[start] is the head while count > 0); slots before it are empty. */
  start = 0;
  /** Slots in use end here; orders[end ..] are empty (the array is never shortened). */
  end = 0;
  count = 0;
  quantity = 0;
  /** Fixed while the level is in a book; a level back from Side's spares gets its new price. */
  constructor(public price: number) {}

  get head(): number {
    return this.count === 0 ? NO_ORDER : this.orders[this.start]!;
  }

  push(pool: OrderPool, h: number): void {
    const i = this.end++;
    pool.setLevelIndex(h, i);
    if (i < this.orders.length) this.orders[i] = h;
    else this.orders.push(h);
    this.count++;
    this.quantity += pool.remaining(h);
  }

  /** Removes an order of this level; the caller drops the level when count reaches 0. */
  take(pool: OrderPool, h: number): void {
    const orders = this.orders;
    const i = pool.levelIndex(h);
    orders[i] = NO_ORDER;
    pool.setLevelIndex(h, -1);
    const live = --this.count;
    this.quantity -= pool.remaining(h);
    if (live === 0) {
      this.start = this.end = 0;
      return;
    }
    if (i === this.start) {
      let s = i + 1;
      while (orders[s] === NO_ORDER) s++;
      this.start = s;
    }
    let end = this.end;
    while (orders[end - 1] === NO_ORDER) end--;
    this.end = end;
    if (end - live > live + 8) {
      let w = 0;
      for (let r = this.start; r < end; r++) {
        const o = orders[r]!;
        if (o !== NO_ORDER) {
          orders[r] = NO_ORDER;
          orders[w] = o;
          pool.setLevelIndex(o, w++);
        }
      }
      this.start = 0;
      this.end = w;
    }
  }
}

/** What the engine needs from a book. FastBook serves; NaiveBook (tests) is the oracle. */
export interface Book {
  readonly size: number;
  /** Appends the order at the back of its price level. */
  insert(h: number): void;
  remove(h: number): void;
  /** Lowers a resting order's quantity in place, keeping its queue position. */
  reduce(h: number, by: number): void;
  /** The first order in priority on the bid / ask side, or NO_ORDER. */
  best(isBid: boolean): number;
  bestPrice(isBid: boolean): number | null;
  /** Calls fn for each order of a side in priority order until it returns false. fn must not change the book. */
  forEach(isBid: boolean, fn: (h: number) => boolean | void): void;
  /** Aggregated [price, quantity] levels from the best outwards. */
  depth(isBid: boolean, maxLevels: number): [number, number][];
}

/**
 * Sorted array of price levels per side, best level last (pop/push at the end is O(1) for the
 * busy top of book), a price→level map for O(1) lookup, and a FIFO array per level. An order
 * finds its level through the map (a few hundred levels stay in cache) rather than through a
 * per-order pointer, which would be one more scattered memory access per cancel.
 */
/**
 * Emptied price levels a side keeps (left in its map, and as spares for new prices), and the
 * largest queue array such a level may keep.
 */
const SPARE_LEVELS = 256;
const SPARE_LEVEL_MAX_SLOTS = 64;

class Side {
  /** Worst to best: ascending prices for bids, descending for asks. */
  readonly levels: PriceLevel[] = [];
  readonly byPrice = new Map<number, PriceLevel>();
  /**
   * Emptied levels kept for reuse: near the touch, levels empty and refill all the time, and a
   * new level is two allocations (the level and its queue array) that the young GC then sweeps.
   */
  private readonly spare: PriceLevel[] = [];
  /**
   * Emptied levels left in byPrice (count 0, out of `levels`): near the touch a price empties
   * and refills all the time, and re-attaching its level saves a map insert and delete (with
   * the rehashing their churn causes), ~2 % of the engine's instructions. At most SPARE_LEVELS;
   * past that they are purged from the map into `spare`.
   */
  private detached = 0;
  constructor(
    private readonly isBid: boolean,
    private readonly pool: OrderPool,
  ) {}

  /** Index at which a level of this price belongs (first level ranked better or equal). */
  private search(price: number): number {
    const levels = this.levels;
    let lo = 0;
    let hi = levels.length;
    if (this.isBid) {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (levels[mid]!.price < price) lo = mid + 1;
        else hi = mid;
      }
    } else {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (levels[mid]!.price > price) lo = mid + 1;
        else hi = mid;
      }
    }
    return lo;
  }

  insert(h: number): void {
    const price = this.pool.price(h);
    let level = this.byPrice.get(price);
    if (level === undefined) {
      const reused = this.spare.pop();
      if (reused === undefined) level = new PriceLevel(price);
      else {
        level = reused;
        level.price = price;
      }
      this.byPrice.set(price, level);
      this.attach(level);
    } else if (level.count === 0) {
      this.detached--;
      this.attach(level);
    }
    level.push(this.pool, h);
  }

  /** Puts an empty level into `levels` at its rank. */
  private attach(level: PriceLevel): void {
    const price = level.price;
    const levels = this.levels;
    const last = levels.length === 0 ? null : levels[levels.length - 1]!;
    if (last === null || (this.isBid ? price > last.price : price < last.price)) levels.push(level);
    else levels.splice(this.search(price), 0, level);
  }

  /**
   * The level an order of this side rests in. Trades reduce and remove orders of the best level,
   * so that one is checked before the map (a hash lookup per trade saved: 0.4 % fewer engine
   * instructions in callgrind).
   */
  levelOf(h: number): PriceLevel {
    const price = this.pool.price(h);
    const best = this.best();
    return best !== null && best.price === price ? best : this.byPrice.get(price)!;
  }

  remove(h: number): void {
    const pool = this.pool;
    const level = this.levelOf(h);
    level.take(pool, h);
    if (level.count === 0) {
      const levels = this.levels;
      if (levels[levels.length - 1] === level) levels.pop();
      else levels.splice(this.search(level.price), 1);
      // Only levels whose queue array stayed small are kept: one must not pin a once-deep queue.
      if (level.orders.length > SPARE_LEVEL_MAX_SLOTS) this.byPrice.delete(level.price);
      else if (++this.detached > SPARE_LEVELS) this.purgeDetached();
    }
  }

  /** Drops the emptied levels from the map, keeping some as spares. */
  private purgeDetached(): void {
    for (const [price, level] of this.byPrice) {
      if (level.count !== 0) continue;
      this.byPrice.delete(price);
      if (this.spare.length < SPARE_LEVELS) this.spare.push(level);
    }
    this.detached = 0;
  }

  best(): PriceLevel | null {
    const levels = this.levels;
    return levels.length === 0 ? null : levels[levels.length - 1]!;
  }
}

export class FastBook implements Book {
  private readonly bids: Side;
  private readonly asks: Side;
  size = 0;

  constructor(private readonly pool: OrderPool) {
    this.bids = new Side(true, pool);
    this.asks = new Side(false, pool);
  }

  insert(h: number): void {
    (this.pool.isBid(h) ? this.bids : this.asks).insert(h);
    this.size++;
  }

  remove(h: number): void {
    (this.pool.isBid(h) ? this.bids : this.asks).remove(h);
    this.size--;
  }

  reduce(h: number, by: number): void {
    const pool = this.pool;
    pool.setRemaining(h, pool.remaining(h) - by);
    (pool.isBid(h) ? this.bids : this.asks).levelOf(h).quantity -= by;
  }

  best(isBid: boolean): number {
    const level = (isBid ? this.bids : this.asks).best();
    return level === null ? NO_ORDER : level.head;
  }

  bestPrice(isBid: boolean): number | null {
    const level = (isBid ? this.bids : this.asks).best();
    return level === null ? null : level.price;
  }

  forEach(isBid: boolean, fn: (h: number) => boolean | void): void {
    const levels = (isBid ? this.bids : this.asks).levels;
    for (let i = levels.length - 1; i >= 0; i--) {
      const level = levels[i]!;
      const orders = level.orders;
      for (let k = level.start; k < level.end; k++) {
        const h = orders[k]!;
        if (h !== NO_ORDER && fn(h) === false) return;
      }
    }
  }

  /** A side's levels, worst to best (read-only: for walking a large book without callbacks). */
  levels(isBid: boolean): readonly PriceLevel[] {
    return (isBid ? this.bids : this.asks).levels;
  }

  depth(isBid: boolean, maxLevels: number): [number, number][] {
    const levels = (isBid ? this.bids : this.asks).levels;
    const out: [number, number][] = [];
    for (let i = levels.length - 1; i >= 0 && out.length < maxLevels; i--) out.push([levels[i]!.price, levels[i]!.quantity]);
    return out;
  }
}
