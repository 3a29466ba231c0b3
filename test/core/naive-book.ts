// The reference order book: the obviously correct oracle the fast book is checked against
// (exchange-core's "naive" book idea). One plain array of handles per side, every query a
// linear scan, priority by (price, insertion rank). Slow on purpose; nothing clever to get wrong.
import { NO_ORDER, type Book, type OrderPool } from '../../src/core/book.js';

export class NaiveBook implements Book {
  private readonly bids: number[] = [];
  private readonly asks: number[] = [];
  /** Insertion rank of each order in the book (kept here, so the pool carries nothing for the oracle). */
  private readonly ranks = new Map<number, number>();
  private nextRank = 1;

  constructor(private readonly pool: OrderPool) {}

  get size(): number {
    return this.bids.length + this.asks.length;
  }

  /** Does a rank before b? Better price first, then earlier insertion. */
  private before(a: number, b: number): boolean {
    const pa = this.pool.price(a);
    const pb = this.pool.price(b);
    if (pa !== pb) return this.pool.isBid(a) ? pa > pb : pa < pb;
    return this.ranks.get(a)! < this.ranks.get(b)!;
  }

  private side(isBid: boolean): number[] {
    return isBid ? this.bids : this.asks;
  }

  insert(h: number): void {
    const side = this.side(this.pool.isBid(h));
    if (side.includes(h)) throw new Error(`order ${this.pool.id(h)} is already in the book`);
    this.ranks.set(h, this.nextRank++);
    side.push(h);
  }

  remove(h: number): void {
    const side = this.side(this.pool.isBid(h));
    const i = side.indexOf(h);
    if (i < 0) throw new Error(`order ${this.pool.id(h)} is not in the book`);
    side.splice(i, 1);
    this.ranks.delete(h);
  }

  reduce(h: number, by: number): void {
    if (!this.side(this.pool.isBid(h)).includes(h)) throw new Error(`order ${this.pool.id(h)} is not in the book`);
    if (by < 0 || by > this.pool.remaining(h)) throw new Error(`cannot reduce order ${this.pool.id(h)} by ${by}`);
    this.pool.setRemaining(h, this.pool.remaining(h) - by);
  }

  /** The side in priority order (a fresh sorted copy). */
  private sorted(isBid: boolean): number[] {
    return [...this.side(isBid)].sort((a, b) => (this.before(a, b) ? -1 : this.before(b, a) ? 1 : 0));
  }

  best(isBid: boolean): number {
    let best = NO_ORDER;
    for (const h of this.side(isBid)) if (best === NO_ORDER || this.before(h, best)) best = h;
    return best;
  }

  bestPrice(isBid: boolean): number | null {
    const b = this.best(isBid);
    return b === NO_ORDER ? null : this.pool.price(b);
  }

  forEach(isBid: boolean, fn: (h: number) => boolean | void): void {
    for (const h of this.sorted(isBid)) if (fn(h) === false) return;
  }

  depth(isBid: boolean, maxLevels: number): [number, number][] {
    const out: [number, number][] = [];
    for (const h of this.sorted(isBid)) {
      const price = this.pool.price(h);
      const remaining = this.pool.remaining(h);
      const last = out[out.length - 1];
      if (last !== undefined && last[0] === price) last[1] += remaining;
      else if (out.length < maxLevels) out.push([price, remaining]);
      else break;
    }
    return out;
  }
}
