// A local view of one order book, kept exactly by IMPL-GUIDE.md's rules ("Maintaining a Local
// View of an Order Book"):
//  - subscribe with WatchOrders; notices that arrive before the reply are buffered and applied to
//    the snapshot once it arrives;
//  - the snapshot lists bids with positive and asks with negative quantities;
//  - OrderOpened adds the order; OrderModified updates quantity and price; OrderClosed deletes the
//    order (ignored if unknown: it was beyond the snapshot's top 1000);
//  - OrdersMatched sets the remaining quantity of the `bid` order to `bid_rem` and of the `ask`
//    order to -`ask_rem` (each side ignored when absent or unknown).
// The content of the view (which orders, their quantities and prices) is exactly the server's.
// Queue position within a price level is modelled too, by WEBSOCKET-README.md's ModifyOrder rule
// (an order whose quantity grows or whose price changes goes to the back of its level; otherwise it
// keeps its place). It is exact for a watcher that has no notices of its own orders in flight when
// it subscribes: such notices may already be reflected in the snapshot, and re-applying them
// converges to the same content but can move an own order within its level.
import type { BookNotice, WireBookOrder } from './types.js';
import type { NativeClient } from './client.js';

export interface BookEntry {
  id: number;
  /** Signed: positive for a bid, negative for an ask. */
  quantity: number;
  price: number;
  /** Micro-timestamp at which the order was opened (as in a WatchOrders snapshot). */
  time: number;
}

interface Entry extends BookEntry {
  /** Queue priority within a price level: lower is earlier. */
  priority: number;
}

export class LocalBook {
  private readonly entries = new Map<number, Entry>();
  private nextPriority = 0;
  private detach: (() => void) | undefined;
  private client: NativeClient | undefined;

  constructor(
    readonly base: number,
    readonly counter: number,
  ) {}

  /**
   * Subscribes `client` to the book and returns the view once the snapshot (plus any early
   * notices) has been applied; from then on it follows every notice until unwatch().
   */
  static async watch(client: NativeClient, base: number, counter: number): Promise<LocalBook> {
    const book = new LocalBook(base, counter);
    const early: BookNotice[] = [];
    let ready = false;
    const onNotice = (n: BookNotice): void => {
      if (n.base !== base || n.counter !== counter) return;
      if (ready) book.apply(n);
      else early.push(n);
    };
    book.detach = client.onBookNotice(onNotice);
    book.client = client;
    try {
      const orders = await client.watchOrders(base, counter, true);
      book.loadSnapshot(orders ?? []);
      for (const n of early) book.apply(n);
      ready = true;
    } catch (err) {
      book.detach();
      book.detach = undefined;
      throw err;
    }
    return book;
  }

  /** Stops following notices and unsubscribes on the server. */
  async unwatch(): Promise<void> {
    if (!this.detach) return;
    this.detach();
    this.detach = undefined;
    await this.client?.watchOrders(this.base, this.counter, false);
  }

  // ------------------------------------------------------------ the state machine

  /** Replaces the view with a WatchOrders snapshot (which lists orders in priority order). */
  loadSnapshot(orders: readonly WireBookOrder[]): void {
    this.entries.clear();
    for (const o of orders) this.put(o.id, o.quantity, o.price, o.time);
  }

  /** Applies one notice by the IMPL-GUIDE rules. Notices of other books are ignored. */
  apply(n: BookNotice): void {
    if (n.base !== this.base || n.counter !== this.counter) return;
    switch (n.notice) {
      case 'OrderOpened': {
        // A known id can only be a notice the snapshot already reflects: keep its queue place.
        const e = this.entries.get(n.id);
        if (e === undefined) this.put(n.id, n.quantity, n.price, n.time);
        else Object.assign(e, { quantity: n.quantity, price: n.price, time: n.time });
        return;
      }
      case 'OrderModified': {
        const e = this.entries.get(n.id);
        if (e === undefined) {
          this.put(n.id, n.quantity, n.price, n.time);
          return;
        }
        const toBack = n.price !== e.price || Math.abs(n.quantity) > Math.abs(e.quantity);
        // `time` stays the opening time, as in a WatchOrders snapshot (n.time is the modification time).
        e.quantity = n.quantity;
        e.price = n.price;
        if (toBack) e.priority = this.nextPriority++;
        return;
      }
      case 'OrderClosed':
        this.entries.delete(n.id);
        return;
      case 'OrdersMatched': {
        if (n.bid !== undefined && n.bid_rem !== undefined) {
          const e = this.entries.get(n.bid);
          if (e !== undefined) e.quantity = n.bid_rem;
        }
        if (n.ask !== undefined && n.ask_rem !== undefined) {
          const e = this.entries.get(n.ask);
          if (e !== undefined) e.quantity = -n.ask_rem;
        }
        return;
      }
    }
  }

  private put(id: number, quantity: number, price: number, time: number): void {
    this.entries.set(id, { id, quantity, price, time, priority: this.nextPriority++ });
  }

  // ------------------------------------------------------------ queries

  get size(): number {
    return this.entries.size;
  }

  get(id: number): BookEntry | undefined {
    const e = this.entries.get(id);
    return e === undefined ? undefined : strip(e);
  }

  /** Bids, best first (highest price, then queue order). */
  bids(): BookEntry[] {
    return [...this.entries.values()]
      .filter((e) => e.quantity > 0)
      .sort((a, b) => b.price - a.price || a.priority - b.priority)
      .map(strip);
  }

  /** Asks, best first (lowest price, then queue order). */
  asks(): BookEntry[] {
    return [...this.entries.values()]
      .filter((e) => e.quantity < 0)
      .sort((a, b) => a.price - b.price || a.priority - b.priority)
      .map(strip);
  }

  /** Bids then asks, best first: the shape of a WatchOrders snapshot. Zero-quantity entries (filled, awaiting OrderClosed) are left out. */
  orders(): BookEntry[] {
    return [...this.bids(), ...this.asks()];
  }

  bestBid(): number | null {
    let best: number | null = null;
    for (const e of this.entries.values()) if (e.quantity > 0 && (best === null || e.price > best)) best = e.price;
    return best;
  }

  bestAsk(): number | null {
    let best: number | null = null;
    for (const e of this.entries.values()) if (e.quantity < 0 && (best === null || e.price < best)) best = e.price;
    return best;
  }

  /** Aggregated [price, quantity] levels per side, best first; quantities positive. */
  depth(maxLevels = Infinity): { bids: [number, number][]; asks: [number, number][] } {
    const agg = (list: BookEntry[]): [number, number][] => {
      const out: [number, number][] = [];
      for (const e of list) {
        const last = out[out.length - 1];
        if (last !== undefined && last[0] === e.price) last[1] += Math.abs(e.quantity);
        else if (out.length < maxLevels) out.push([e.price, Math.abs(e.quantity)]);
        else break;
      }
      return out;
    };
    return { bids: agg(this.bids()), asks: agg(this.asks()) };
  }
}

function strip(e: Entry): BookEntry {
  return { id: e.id, quantity: e.quantity, price: e.price, time: e.time };
}
