// The order book of one market: price-time priority, nothing else. It knows no users, balances
// or transport (Liquibook's split); the engine does matching and accounting around it.

/** A live limit order. Mutable on purpose: the engine updates it in place on the hot path. */
export class Order {
  /** The level the order rests in and its slot in the level's queue (fast book only). */
  level: PriceLevel | null = null;
  levelIndex = -1;
  /** True while the order rests in its market's book (kept by the engine, whatever the book). */
  resting = false;
  /** Position in the owner's array of live orders (kept by the engine; -1: not live). */
  userIndex = -1;

  constructor(
    public readonly id: number,
    public readonly userId: number,
    public readonly marketIndex: number,
    public readonly isBid: boolean,
    /** Unsigned quantity still to trade. */
    public remaining: number,
    public price: number,
    /** Micro-timestamp at which the order was opened (kept as timeHi / timeLo). */
    time: number,
    public readonly tonce: number | null,
    /** false: cancelled when its session disconnects. */
    public readonly persist: boolean,
    public readonly sessionId: number,
    /** Reserved funds held for this order: counter units for a bid, base units for an ask. */
    public reserved: number,
  ) {
    const hi = Math.floor(time / TIME_SPLIT);
    this.timeHi = hi;
    this.timeLo = time - hi * TIME_SPLIT;
  }

  /**
   * The open time in two small integers: a micro-timestamp is past the small-integer range, and
   * V8 would keep it in a separate heap box per order (16 more bytes, and one more pointer to
   * follow whenever the time is read). Both parts are exact for any safe integer.
   */
  private readonly timeHi: number;
  private readonly timeLo: number;

  /** Micro-timestamp at which the order was opened. */
  get time(): number {
    return this.timeHi * TIME_SPLIT + this.timeLo;
  }
}

/** 2^30: timeLo stays a small integer. */
const TIME_SPLIT = 1073741824;

/**
 * One price's FIFO queue as an array of orders with holes: orders[start] is the head, an order
 * that leaves mid-queue leaves a null (its neighbours are not touched: a linked list cost two
 * cache misses per cancel), and the array is compacted once holes outnumber orders. Walking the
 * queue reads one array, so the loads of successive orders overlap.
 */
export class PriceLevel {
  readonly orders: (Order | null)[] = [];
  /** First slot in use (orders[start] is the head while count > 0); slots before it are null. */
  start = 0;
  /** Slots in use end here; orders[end ..] are null (the array is never shortened). */
  end = 0;
  count = 0;
  quantity = 0;
  constructor(public readonly price: number) {}

  get head(): Order | null {
    return this.count === 0 ? null : this.orders[this.start]!;
  }

  push(order: Order): void {
    const i = this.end++;
    order.levelIndex = i;
    if (i < this.orders.length) this.orders[i] = order;
    else this.orders.push(order);
    this.count++;
    this.quantity += order.remaining;
  }

  /** Removes an order of this level; the caller drops the level when count reaches 0. */
  take(order: Order): void {
    const orders = this.orders;
    const i = order.levelIndex;
    orders[i] = null;
    order.levelIndex = -1;
    const live = --this.count;
    this.quantity -= order.remaining;
    if (live === 0) {
      this.start = this.end = 0;
      return;
    }
    if (i === this.start) {
      let s = i + 1;
      while (orders[s] === null) s++;
      this.start = s;
    }
    let end = this.end;
    while (orders[end - 1] === null) end--;
    this.end = end;
    if (end - live > live + 8) {
      let w = 0;
      for (let r = this.start; r < end; r++) {
        const o = orders[r]!;
        if (o !== null) {
          orders[r] = null;
          orders[w] = o;
          o.levelIndex = w++;
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
  insert(order: Order): void;
  remove(order: Order): void;
  /** Lowers a resting order's quantity in place, keeping its queue position. */
  reduce(order: Order, by: number): void;
  /** The first order in priority on the bid / ask side, or null. */
  best(isBid: boolean): Order | null;
  bestPrice(isBid: boolean): number | null;
  /** Calls fn for each order of a side in priority order until it returns false. */
  forEach(isBid: boolean, fn: (order: Order) => boolean | void): void;
  /** Aggregated [price, quantity] levels from the best outwards. */
  depth(isBid: boolean, maxLevels: number): [number, number][];
}

/**
 * Sorted array of price levels per side, best level last (pop/push at the end is O(1) for the
 * busy top of book), a price→level map for O(1) lookup, and a doubly linked FIFO per level.
 */
class Side {
  /** Worst to best: ascending prices for bids, descending for asks. */
  readonly levels: PriceLevel[] = [];
  readonly byPrice = new Map<number, PriceLevel>();
  constructor(private readonly isBid: boolean) {}

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

  insert(order: Order): void {
    let level = this.byPrice.get(order.price);
    if (level === undefined) {
      level = new PriceLevel(order.price);
      this.byPrice.set(order.price, level);
      const levels = this.levels;
      const last = levels.length === 0 ? null : levels[levels.length - 1]!;
      if (last === null || (this.isBid ? order.price > last.price : order.price < last.price)) levels.push(level);
      else levels.splice(this.search(order.price), 0, level);
    }
    order.level = level;
    level.push(order);
  }

  remove(order: Order): void {
    const level = order.level!;
    order.level = null;
    level.take(order);
    if (level.count === 0) {
      this.byPrice.delete(level.price);
      const levels = this.levels;
      if (levels[levels.length - 1] === level) levels.pop();
      else levels.splice(this.search(level.price), 1);
    }
  }

  best(): PriceLevel | null {
    const levels = this.levels;
    return levels.length === 0 ? null : levels[levels.length - 1]!;
  }
}

export class FastBook implements Book {
  private readonly bids = new Side(true);
  private readonly asks = new Side(false);
  size = 0;

  insert(order: Order): void {
    (order.isBid ? this.bids : this.asks).insert(order);
    this.size++;
  }

  remove(order: Order): void {
    (order.isBid ? this.bids : this.asks).remove(order);
    this.size--;
  }

  reduce(order: Order, by: number): void {
    order.remaining -= by;
    order.level!.quantity -= by;
  }

  best(isBid: boolean): Order | null {
    const level = (isBid ? this.bids : this.asks).best();
    return level === null ? null : level.head;
  }

  bestPrice(isBid: boolean): number | null {
    const level = (isBid ? this.bids : this.asks).best();
    return level === null ? null : level.price;
  }

  forEach(isBid: boolean, fn: (order: Order) => boolean | void): void {
    const levels = (isBid ? this.bids : this.asks).levels;
    for (let i = levels.length - 1; i >= 0; i--) {
      const level = levels[i]!;
      const orders = level.orders;
      // fn must not change the book.
      for (let k = level.start; k < level.end; k++) {
        const o = orders[k]!;
        if (o !== null && fn(o) === false) return;
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
