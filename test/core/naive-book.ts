// The reference order book: the obviously correct oracle the fast book is checked against
// (exchange-core's "naive" book idea). One plain array per side, every query a linear scan,
// priority by (price, insertion rank). Slow on purpose; nothing clever to get wrong.
import type { Book, Order } from '../../src/core/book.js';

export class NaiveBook implements Book {
  private readonly bids: Order[] = [];
  private readonly asks: Order[] = [];
  /** Insertion rank of each order in the book (kept here, so Order carries nothing for the oracle). */
  private readonly ranks = new Map<Order, number>();
  private nextRank = 1;

  get size(): number {
    return this.bids.length + this.asks.length;
  }

  /** Does a rank before b? Better price first, then earlier insertion. */
  private before(a: Order, b: Order): boolean {
    if (a.price !== b.price) return a.isBid ? a.price > b.price : a.price < b.price;
    return this.ranks.get(a)! < this.ranks.get(b)!;
  }

  private side(isBid: boolean): Order[] {
    return isBid ? this.bids : this.asks;
  }

  insert(order: Order): void {
    const side = this.side(order.isBid);
    if (side.includes(order)) throw new Error(`order ${order.id} is already in the book`);
    this.ranks.set(order, this.nextRank++);
    side.push(order);
  }

  remove(order: Order): void {
    const side = this.side(order.isBid);
    const i = side.indexOf(order);
    if (i < 0) throw new Error(`order ${order.id} is not in the book`);
    side.splice(i, 1);
    this.ranks.delete(order);
  }

  reduce(order: Order, by: number): void {
    if (!this.side(order.isBid).includes(order)) throw new Error(`order ${order.id} is not in the book`);
    if (by < 0 || by > order.remaining) throw new Error(`cannot reduce order ${order.id} by ${by}`);
    order.remaining -= by;
  }

  /** The side in priority order (a fresh sorted copy). */
  private sorted(isBid: boolean): Order[] {
    return [...this.side(isBid)].sort((a, b) => (this.before(a, b) ? -1 : this.before(b, a) ? 1 : 0));
  }

  best(isBid: boolean): Order | null {
    let best: Order | null = null;
    for (const o of this.side(isBid)) if (best === null || this.before(o, best)) best = o;
    return best;
  }

  bestPrice(isBid: boolean): number | null {
    const b = this.best(isBid);
    return b === null ? null : b.price;
  }

  forEach(isBid: boolean, fn: (order: Order) => boolean | void): void {
    for (const o of this.sorted(isBid)) if (fn(o) === false) return;
  }

  depth(isBid: boolean, maxLevels: number): [number, number][] {
    const out: [number, number][] = [];
    for (const o of this.sorted(isBid)) {
      const last = out[out.length - 1];
      if (last !== undefined && last[0] === o.price) last[1] += o.remaining;
      else if (out.length < maxLevels) out.push([o.price, o.remaining]);
      else break;
    }
    return out;
  }
}
