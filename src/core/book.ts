// The order book of one market: price-time priority, nothing else. It knows no users, balances
// or transport (Liquibook's split); the engine does matching and accounting around it.

/** A live limit order. Mutable on purpose: the engine updates it in place on the hot path. */
export class Order {
  /** Intrusive queue links and the level the order rests in (fast book only). */
  prev: Order | null = null;
  next: Order | null = null;
  level: PriceLevel | null = null;
  /** True while the order rests in its market's book (kept by the engine, whatever the book). */
  resting = false;
  /** Links of the owner's list of live orders, in id order (kept by the engine). */
  userPrev: Order | null = null;
  userNext: Order | null = null;

  constructor(
    public readonly id: number,
    public readonly userId: number,
    public readonly marketIndex: number,
    public readonly isBid: boolean,
    /** Unsigned quantity still to trade. */
    public remaining: number,
    public price: number,
    /** Micro-timestamp at which the order was opened. */
    public readonly time: number,
    public readonly tonce: number | null,
    /** false: cancelled when its session disconnects. */
    public readonly persist: boolean,
    public readonly sessionId: number,
    /** Reserved funds held for this order: counter units for a bid, base units for an ask. */
    public reserved: number,
  ) {}
}

export class PriceLevel {
  head: Order | null = null;
  tail: Order | null = null;
  count = 0;
  quantity = 0;
  constructor(public readonly price: number) {}
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
    order.next = null;
    order.prev = level.tail;
    if (level.tail === null) level.head = order;
    else level.tail.next = order;
    level.tail = order;
    level.count++;
    level.quantity += order.remaining;
  }

  remove(order: Order): void {
    const level = order.level!;
    if (order.prev === null) level.head = order.next;
    else order.prev.next = order.next;
    if (order.next === null) level.tail = order.prev;
    else order.next.prev = order.prev;
    order.prev = order.next = null;
    order.level = null;
    level.count--;
    level.quantity -= order.remaining;
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
      for (let o = levels[i]!.head; o !== null; o = o.next) if (fn(o) === false) return;
    }
  }

  depth(isBid: boolean, maxLevels: number): [number, number][] {
    const levels = (isBid ? this.bids : this.asks).levels;
    const out: [number, number][] = [];
    for (let i = levels.length - 1; i >= 0 && out.length < maxLevels; i--) out.push([levels[i]!.price, levels[i]!.quantity]);
    return out;
  }
}
