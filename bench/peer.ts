// The peer of the engine benchmark: nodejs-order-book (npm, v10), driven with the same workload.
//
// API mapping (nodejs-order-book 10.x, dist/types/orderbook.d.ts):
//   limit  → ob.limit({ id: String(ordinal), side: 'buy' | 'sell', size: lots × 100, price: ticks × 10000 })
//            (GTC, no post-only, no account/STP: a plain price-time limit order)
//   market → ob.market({ side, size: lots × 100 })
//   cancel → ob.cancel(id) of live order `pick % live.length`
// Sizes and prices are the same integers openfloor receives, so both books hold identical numbers.
// The peer has no users, balances, fees, reservations or events: it is a bare order book, so
// openfloor does strictly more work per command. Its cost grows with the depth of a price level:
// removing an order from a level (cancel, or a maker filled completely) walks every order id of
// that level (OrderQueue.remove in dist/cjs/orderqueue.js), so its throughput falls as the book
// deepens.
//
// Live-order bookkeeping matches OpenfloorDriver: response.done lists every order that left the
// book completely, in match order (plus the taker itself when it filled completely); the taker
// rests when response.quantityLeft > 0.

import { createRequire } from 'node:module';
import { OrderBook, Side, type IProcessOrder, type LimitOrderOptions, type MarketOrderOptions } from 'nodejs-order-book';
import { foldCancel, LiveOrders, LOT_UNITS, OP_CANCEL, OP_LIMIT, SIDE_BID, type BenchDriver, type Workload } from './workload.js';

export const PEER_PACKAGE = 'nodejs-order-book';
export const PEER_VERSION: string = (createRequire(import.meta.url)(`${PEER_PACKAGE}/package.json`) as { version: string }).version;

/**
 * Operations [from, to) of a workload as the peer's calls, built before a timed run (as
 * bench/engine.ts builds openfloor's Commands): per op its kind and argument (the order id to
 * cancel, or the limit / market options).
 */
export interface PeerStream {
  readonly from: number;
  readonly kinds: Uint8Array;
  readonly args: (string | LimitOrderOptions | MarketOrderOptions)[];
}

export class PeerDriver implements BenchDriver {
  readonly book = new OrderBook();
  /** Keyed by ordinal; the peer's order id is String(ordinal). */
  readonly live = new LiveOrders();
  cancelHash = 0;
  trades = 0;
  rejected = 0;
  /** Limit orders that traded on entry. */
  crossed = 0;

  /** `tick` is the price units per tick (10000 for XBT:USDT) so prices equal openfloor's. */
  constructor(readonly tick: number) {}

  step(w: Workload, i: number): void {
    const kind = w.kind[i];
    if (kind === OP_CANCEL) {
      const n = this.live.length;
      if (n === 0) {
        this.cancelHash = foldCancel(this.cancelHash, -1);
        this.book.cancel('none');
        return;
      }
      const k = w.pick[i]! % n;
      const ord = this.live.ords[k]!;
      this.cancelHash = foldCancel(this.cancelHash, ord);
      this.live.removeAt(k);
      this.book.cancel(String(ord));
      return;
    }
    const side = w.side[i] === SIDE_BID ? Side.BUY : Side.SELL;
    const size = w.lots[i]! * LOT_UNITS;
    if (kind === OP_LIMIT) {
      const id = String(i);
      this.observe(this.book.limit({ id, side, size, price: w.priceTicks[i]! * this.tick }), id, i, w.user[i]!, size);
    } else {
      this.observe(this.book.market({ side, size }), null, i, 0, size);
    }
  }

  /** Live-order bookkeeping after a limit (id set) or market (id null) order. */
  private observe(res: IProcessOrder, id: string | null, ord: number, user: number, size: number): void {
    if (res.err !== null) {
      this.rejected++;
      return;
    }
    const done = res.done;
    for (let j = 0; j < done.length; j++) {
      const d = done[j]!.id;
      if (d !== id) {
        this.live.remove(Number(d));
        this.trades++;
      }
    }
    if (res.partial !== null && res.partial.id !== id) this.trades++;
    if (id !== null) {
      if (res.quantityLeft < size) this.crossed++;
      if (res.quantityLeft > 0) this.live.add(ord, ord, user);
    }
  }

  /**
   * step() with the book call alone timed by process.hrtime.bigint(); returns nanoseconds. The
   * translation and bookkeeping around it are the same code as step(), outside the timed region.
   */
  timedStep(w: Workload, i: number): number {
    const kind = w.kind[i];
    let t0: bigint;
    let t1: bigint;
    if (kind === OP_CANCEL) {
      const n = this.live.length;
      let id = 'none';
      if (n === 0) this.cancelHash = foldCancel(this.cancelHash, -1);
      else {
        const k = w.pick[i]! % n;
        const ord = this.live.ords[k]!;
        id = String(ord);
        this.cancelHash = foldCancel(this.cancelHash, ord);
        this.live.removeAt(k);
      }
      t0 = process.hrtime.bigint();
      this.book.cancel(id);
      t1 = process.hrtime.bigint();
      return Number(t1 - t0);
    }
    const side = w.side[i] === SIDE_BID ? Side.BUY : Side.SELL;
    const size = w.lots[i]! * LOT_UNITS;
    let res: IProcessOrder;
    let id: string | null = null;
    if (kind === OP_LIMIT) {
      id = String(i);
      const opts = { id, side, size, price: w.priceTicks[i]! * this.tick };
      t0 = process.hrtime.bigint();
      res = this.book.limit(opts);
      t1 = process.hrtime.bigint();
    } else {
      const opts = { side, size };
      t0 = process.hrtime.bigint();
      res = this.book.market(opts);
      t1 = process.hrtime.bigint();
    }
    this.observe(res, id, i, w.user[i]!, size);
    return Number(t1 - t0);
  }

  restingOrders(): number {
    return this.live.length;
  }

  /**
   * The peer's calls for ops [from, to): the same translation as step(), with each cancel's
   * target given as the workload ordinal openfloor's driver picked (cancelOrd[i], -1: none live),
   * so both engines run one stream.
   */
  static prebuild(w: Workload, from: number, to: number, tick: number, cancelOrd: Int32Array): PeerStream {
    const kinds = new Uint8Array(to - from);
    const args: PeerStream['args'] = [];
    for (let i = from; i < to; i++) {
      const kind = w.kind[i]!;
      kinds[i - from] = kind;
      if (kind === OP_CANCEL) {
        const ord = cancelOrd[i]!;
        args.push(ord < 0 ? 'none' : String(ord));
        continue;
      }
      const side = w.side[i] === SIDE_BID ? Side.BUY : Side.SELL;
      const size = w.lots[i]! * LOT_UNITS;
      args.push(kind === OP_LIMIT ? { id: String(i), side, size, price: w.priceTicks[i]! * tick } : { side, size });
    }
    return { from, kinds, args };
  }

  /**
   * Runs ops [from, to) of a prebuilt stream; counts trades and refusals from each response as
   * observe() does (the live-order list is not kept: the caller compares the books afterwards).
   */
  runPrebuilt(s: PeerStream, from: number, to: number): void {
    const book = this.book;
    const { kinds, args } = s;
    for (let i = from - s.from, end = to - s.from; i < end; i++) {
      const kind = kinds[i]!;
      if (kind === OP_CANCEL) {
        book.cancel(args[i] as string);
        continue;
      }
      let res: IProcessOrder;
      let id: string | null = null;
      if (kind === OP_LIMIT) {
        const opts = args[i] as LimitOrderOptions;
        id = opts.id;
        res = book.limit(opts);
      } else res = book.market(args[i] as MarketOrderOptions);
      if (res.err !== null) {
        this.rejected++;
        continue;
      }
      const done = res.done;
      for (let j = 0; j < done.length; j++) if (done[j]!.id !== id) this.trades++;
      if (res.partial !== null && res.partial.id !== id) this.trades++;
    }
  }

  /** Places one resting limit order without any bookkeeping (heap phase). */
  rest(id: number, bid: boolean, size: number, price: number): void {
    const res = this.book.limit({ id: String(id), side: bid ? Side.BUY : Side.SELL, size, price });
    if (res.err !== null) throw new Error(`peer rejected a resting order: ${res.err.message}`);
  }
}
