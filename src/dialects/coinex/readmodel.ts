// What CoinEx clients expect that the engine does not keep: client order ids, the history of
// finished orders, fills per order, public and private deals, klines, and the 24 h open / value /
// taker-side volumes of a ticker. Built in memory from the applied-command feed
// (ServerContext.onApplied), in sequence order.
//
// Rebuilt at every server start (docs/coinex.md, "Read model"): the dialect's rebuild hook feeds
// every Applied the journal holds, from seq 1, through apply() - the same path as the live feed -
// so orders, deals and candles come back as they were; ids are derived from seqs and engine ids,
// so they come back the same. Where the journal no longer reaches back (retention 'delete'),
// the model starts at the oldest snapshot the journal covers; orders open before it are adopted
// when first met, with an empty client id and their remaining quantity as amount.
//
// Bounded: per user the most recent MAX_FINISHED_PER_USER finished orders and MAX_USER_DEALS
// deals, per market the most recent MAX_PUBLIC_DEALS deals and MAX_CANDLES candles per period.
//
// Client ids are journaled: the dialect sets PlaceOrder.clientOrderId (opaque to the engine) and
// the order is created with it from the Applied's command. The CoinEx type comes from the command
// too (price, persist, postOnly); 'fok', which the engine runs as fill_or_kill like 'ioc', is
// told apart by PlaceOrder.dialectOrderType, journaled with the command as well.
// Market orders have no engine id; their id is MARKET_ORDER_ID_BASE + the command's seq.
import type { Applied } from '../../server/context.js';
import type { EngineEvent, OrdersMatched } from '../../core/types.js';
import { pairKey } from './names.js';

export type OrderType = 'limit' | 'market' | 'maker_only' | 'ioc' | 'fok';
export type OrderStatus = 'open' | 'part_deal' | 'done' | 'cancel';
export type OrderEvent = 'put' | 'update' | 'modify' | 'finish';
export type Side = 'buy' | 'sell';

/** Ids of market orders (which the engine does not number): this base + the seq of their command. */
export const MARKET_ORDER_ID_BASE = 2 ** 52;
/** Deal ids: seq * DEAL_ID_FACTOR + index of the match within its command (replay gives the same ids). */
export const DEAL_ID_FACTOR = 100_000;

export const MAX_FINISHED_PER_USER = 5000;
export const MAX_USER_DEALS = 5000;
export const MAX_PUBLIC_DEALS = 1000;
export const MAX_CANDLES = 1000;

export interface OrderRec {
  id: number;
  userId: number;
  base: number;
  counter: number;
  side: Side;
  type: OrderType;
  clientId: string;
  /** Limit orders and market sells: base units. Market buys: counter units (CoinEx spends quote). */
  amount: number;
  /** Price units; 0 for market orders. */
  price: number;
  /** What is left of `amount`, in the same units. */
  unfilled: number;
  filledAmount: number;
  filledValue: number;
  baseFee: number;
  quoteFee: number;
  lastFillAmount: number;
  lastFillPrice: number;
  /** Milliseconds. */
  createdAt: number;
  updatedAt: number;
  status: OrderStatus;
  finished: boolean;
}

export interface DealRec {
  id: number;
  /** Milliseconds. */
  time: number;
  base: number;
  counter: number;
  takerSide: Side;
  price: number;
  amount: number;
  value: number;
}

export interface UserDealRec extends DealRec {
  userId: number;
  side: Side;
  orderId: number;
  role: 'taker' | 'maker';
  fee: number;
  /** Asset code the fee was paid in. */
  feeAsset: number;
}

export interface Candle {
  /** Bucket start, milliseconds. */
  start: number;
  open: number;
  close: number;
  high: number;
  low: number;
  /** Base units. */
  volume: number;
  /** Counter units. */
  value: number;
}

/** Kline periods CoinEx clients know (ccxt's timeframes), in seconds. */
export const PERIODS: Readonly<Record<string, number>> = {
  '1min': 60,
  '3min': 180,
  '5min': 300,
  '15min': 900,
  '30min': 1800,
  '1hour': 3600,
  '2hour': 7200,
  '4hour': 14400,
  '6hour': 21600,
  '12hour': 43200,
  '1day': 86400,
  '3day': 259200,
  '1week': 604800,
};

const WEEK_MS = 604_800_000;
/** Weeks start on Monday 00:00 UTC; 1970-01-05 was the first Monday after the epoch. */
const MONDAY_OFFSET_MS = 4 * 86_400_000;

export function candleStart(timeMs: number, periodSec: number): number {
  const p = periodSec * 1000;
  if (p === WEEK_MS) return Math.floor((timeMs - MONDAY_OFFSET_MS) / WEEK_MS) * WEEK_MS + MONDAY_OFFSET_MS;
  return Math.floor(timeMs / p) * p;
}

/** What one applied command changed, for the WebSocket fan-out. */
export interface Changes {
  seq: number;
  /** Order notices in order; `rec` is a copy taken when the notice was due. */
  orders: { event: OrderEvent; rec: OrderRec }[];
  userDeals: UserDealRec[];
  /** New public deals per market key, oldest first. */
  deals: Map<number, DealRec[]>;
  balances: { userId: number; asset: number; available: number; reserved: number; time: number }[];
  /** Markets whose book or ticker changed. */
  books: Set<number>;
  tickers: Set<number>;
  catalogChanged: boolean;
  revokedKeys: string[];
}

/** 24 h statistics the engine's ticker lacks, in the engine's own minute buckets (window.ts). */
class DayWindow {
  private readonly buckets: { minute: number; open: number; value: number; buy: number; sell: number }[] = [];
  value = 0;
  buy = 0;
  sell = 0;

  add(timeUs: number, price: number, amount: number, value: number, takerBuy: boolean): void {
    const minute = Math.floor(timeUs / 60_000_000);
    this.advance(timeUs);
    let b = this.buckets[this.buckets.length - 1];
    if (b === undefined || b.minute !== minute) {
      b = { minute, open: price, value: 0, buy: 0, sell: 0 };
      this.buckets.push(b);
    }
    b.value += value;
    this.value += value;
    if (takerBuy) {
      b.buy += amount;
      this.buy += amount;
    } else {
      b.sell += amount;
      this.sell += amount;
    }
  }

  /** Drops buckets outside the 1440 minutes ending at `timeUs` (the engine's rule). */
  advance(timeUs: number): void {
    const cutoff = Math.floor(timeUs / 60_000_000) - 1440;
    while (this.buckets.length > 0 && this.buckets[0]!.minute <= cutoff) {
      const b = this.buckets.shift()!;
      this.value -= b.value;
      this.buy -= b.buy;
      this.sell -= b.sell;
    }
  }

  open(): number | null {
    return this.buckets.length > 0 ? this.buckets[0]!.open : null;
  }
}

class MarketHistory {
  readonly deals: DealRec[] = [];
  readonly day = new DayWindow();
  readonly candles = new Map<number, Candle[]>();
  /** Milliseconds of the last change to the book. */
  bookUpdated = 0;

  addDeal(d: DealRec, timeUs: number): void {
    this.deals.push(d);
    if (this.deals.length > MAX_PUBLIC_DEALS) this.deals.splice(0, this.deals.length - MAX_PUBLIC_DEALS);
    this.day.add(timeUs, d.price, d.amount, d.value, d.takerSide === 'buy');
    for (const period of Object.values(PERIODS)) {
      let list = this.candles.get(period);
      if (list === undefined) this.candles.set(period, (list = []));
      const start = candleStart(d.time, period);
      let c = list[list.length - 1];
      if (c === undefined || c.start < start) {
        c = { start, open: d.price, close: d.price, high: d.price, low: d.price, volume: 0, value: 0 };
        list.push(c);
        if (list.length > MAX_CANDLES) list.splice(0, list.length - MAX_CANDLES);
      } else if (c.start > start) {
        continue; // engine time never goes back (commands are stamped by a monotonic clock)
      }
      c.close = d.price;
      if (d.price > c.high) c.high = d.price;
      if (d.price < c.low) c.low = d.price;
      c.volume += d.amount;
      c.value += d.value;
    }
  }
}

export class ReadModel {
  /** Every known order (open, and finished ones still within the per-user bound). */
  private readonly orders = new Map<number, OrderRec>();
  /** Finished orders per user, oldest first. */
  private readonly finished = new Map<number, OrderRec[]>();
  private readonly userDeals = new Map<number, UserDealRec[]>();
  private readonly markets = new Map<number, MarketHistory>();
  /** Seq of the last applied command processed. */
  lastSeq = 0;

  // ---------------------------------------------------------------- correlation

  /** Forgets everything (before a rebuild from the journal). */
  reset(): void {
    this.orders.clear();
    this.finished.clear();
    this.userDeals.clear();
    this.markets.clear();
    this.lastSeq = 0;
  }

  // ---------------------------------------------------------------- queries

  order(id: number): OrderRec | undefined {
    return this.orders.get(id);
  }

  /** Finished orders of a user, newest first. */
  finishedOrders(userId: number): OrderRec[] {
    return [...(this.finished.get(userId) ?? [])].reverse();
  }

  /** A user's deals, newest first. */
  dealsOfUser(userId: number): UserDealRec[] {
    return [...(this.userDeals.get(userId) ?? [])].reverse();
  }

  /** Public deals of a market, newest first. */
  publicDeals(base: number, counter: number): DealRec[] {
    return [...(this.markets.get(pairKey(base, counter))?.deals ?? [])].reverse();
  }

  /** Candles of a market and period (seconds), oldest first. */
  candles(base: number, counter: number, period: number): Candle[] {
    return this.markets.get(pairKey(base, counter))?.candles.get(period) ?? [];
  }

  /** 24 h open, counter value and taker buy / sell volumes, as of engine time `nowUs`. */
  day(base: number, counter: number, nowUs: number): { open: number | null; value: number; buy: number; sell: number } {
    const h = this.markets.get(pairKey(base, counter));
    if (h === undefined) return { open: null, value: 0, buy: 0, sell: 0 };
    h.day.advance(nowUs);
    return { open: h.day.open(), value: h.day.value, buy: h.day.buy, sell: h.day.sell };
  }

  /** Milliseconds of the last change to a market's book (0 if none seen). */
  bookUpdated(base: number, counter: number): number {
    return this.markets.get(pairKey(base, counter))?.bookUpdated ?? 0;
  }

  // ---------------------------------------------------------------- the feed

  /** Processes one applied command; returns what changed. */
  apply(a: Applied): Changes {
    const ch: Changes = {
      seq: a.seq,
      orders: [],
      userDeals: [],
      deals: new Map(),
      balances: [],
      books: new Set(),
      tickers: new Set(),
      catalogChanged: false,
      revokedKeys: [],
    };
    const cmd = a.command;
    const timeMs = Math.floor(a.time / 1000);
    /** The order this command is about (placed or modified): its fills are reported once, at the end. */
    let subject: OrderRec | undefined;
    let marketOrder: OrderRec | undefined;

    if (cmd.type === 'PlaceOrder') {
      if (a.result.ok) {
        const r = a.result as { id?: number; remaining?: number };
        const isMarket = cmd.price === undefined;
        const signed = (cmd.quantity ?? cmd.total ?? 0) as number;
        const side: Side = signed > 0 ? 'buy' : 'sell';
        const type: OrderType = isMarket
          ? 'market'
          : cmd.persist === 'fill_or_kill'
            ? cmd.dialectOrderType === 'fok'
              ? 'fok'
              : 'ioc'
            : cmd.postOnly === true
              ? 'maker_only'
              : 'limit';
        const amount = Math.abs(signed);
        subject = {
          id: isMarket ? MARKET_ORDER_ID_BASE + a.seq : r.id!,
          userId: cmd.userId,
          base: cmd.base,
          counter: cmd.counter,
          side,
          type,
          clientId: cmd.clientOrderId ?? '',
          amount,
          price: isMarket ? 0 : (cmd.price ?? 0),
          unfilled: amount,
          filledAmount: 0,
          filledValue: 0,
          baseFee: 0,
          quoteFee: 0,
          lastFillAmount: 0,
          lastFillPrice: 0,
          createdAt: timeMs,
          updatedAt: timeMs,
          status: 'open',
          finished: false,
        };
        this.orders.set(subject.id, subject);
        if (isMarket) marketOrder = subject;
      }
    } else if (cmd.type === 'ModifyOrder' && a.result.ok && cmd.id !== undefined) {
      subject = this.orders.get(cmd.id);
    } else if (cmd.type === 'RevokeApiKey' && a.result.ok) {
      ch.revokedKeys.push(cmd.accessId);
    }

    let matchIndex = 0;
    for (const ev of a.events) {
      this.event(ev, ch, a, subject, marketOrder, matchIndex);
      if (ev.type === 'OrdersMatched') matchIndex++;
    }

    if (subject !== undefined && cmd.type === 'PlaceOrder') {
      if (marketOrder !== undefined) {
        const r = a.result as { remaining?: number };
        marketOrder.unfilled = r.remaining ?? 0;
        // A market order ends with its command: done if it traded, cancelled if nothing did.
        this.finish(marketOrder, marketOrder.filledAmount > 0 ? 'done' : 'cancel', timeMs);
      }
      ch.orders.push({ event: 'put', rec: { ...subject } });
      if (subject.finished) ch.orders.push({ event: 'finish', rec: { ...subject } });
    } else if (subject !== undefined && cmd.type === 'ModifyOrder') {
      ch.orders.push({ event: subject.finished ? 'finish' : 'modify', rec: { ...subject } });
    }

    this.lastSeq = a.seq;
    return ch;
  }

  private event(ev: EngineEvent, ch: Changes, a: Applied, subject: OrderRec | undefined, marketOrder: OrderRec | undefined, index: number): void {
    switch (ev.type) {
      case 'OrderOpened': {
        const rec = this.orders.get(ev.id);
        if (rec !== undefined) {
          rec.unfilled = Math.abs(ev.quantity);
          rec.price = ev.price;
        }
        this.touchBook(ev.base, ev.counter, ev.time, ch);
        break;
      }
      case 'OrderModified': {
        const rec = this.orders.get(ev.id) ?? this.adoptFromEvent(ev.id, ev.userId, ev.base, ev.counter, ev.quantity, ev.price, ev.time);
        if (rec !== undefined) {
          rec.unfilled = Math.abs(ev.quantity);
          rec.amount = rec.filledAmount + rec.unfilled;
          rec.price = ev.price;
          rec.updatedAt = Math.floor(ev.time / 1000);
          if (rec !== subject) ch.orders.push({ event: 'modify', rec: { ...rec } });
        }
        this.touchBook(ev.base, ev.counter, ev.time, ch);
        break;
      }
      case 'OrderClosed': {
        const rec = this.orders.get(ev.id) ?? this.adoptFromEvent(ev.id, ev.userId, ev.base, ev.counter, ev.quantity, ev.price, ev.time);
        if (rec !== undefined) {
          rec.unfilled = Math.abs(ev.quantity);
          this.finish(rec, ev.reason === 'filled' || ev.reason === 'exhausted' ? 'done' : 'cancel', Math.floor(ev.timeClosed / 1000));
          if (rec !== subject) ch.orders.push({ event: 'finish', rec: { ...rec } });
        }
        this.touchBook(ev.base, ev.counter, ev.timeClosed, ch);
        break;
      }
      case 'OrdersMatched':
        this.matched(ev, ch, a, subject, marketOrder, index);
        this.touchBook(ev.base, ev.counter, ev.time, ch);
        break;
      case 'BalanceChanged':
        ch.balances.push({ userId: ev.userId, asset: ev.asset, available: ev.available, reserved: ev.reserved, time: Math.floor(a.time / 1000) });
        break;
      case 'TickerChanged':
        ch.tickers.add(pairKey(ev.base, ev.counter));
        break;
      case 'MarketAdded':
      case 'AssetAdded':
        ch.catalogChanged = true;
        break;
      default:
        break;
    }
  }

  private matched(ev: OrdersMatched, ch: Changes, a: Applied, subject: OrderRec | undefined, marketOrder: OrderRec | undefined, index: number): void {
    const timeMs = Math.floor(ev.time / 1000);
    const key = pairKey(ev.base, ev.counter);
    const takerSide: Side = ev.takerSide === 'bid' ? 'buy' : 'sell';
    const dealId = a.seq * DEAL_ID_FACTOR + index;
    const deal: DealRec = { id: dealId, time: timeMs, base: ev.base, counter: ev.counter, takerSide, price: ev.price, amount: ev.quantity, value: ev.total };
    let h = this.markets.get(key);
    if (h === undefined) this.markets.set(key, (h = new MarketHistory()));
    h.addDeal(deal, ev.time);
    let list = ch.deals.get(key);
    if (list === undefined) ch.deals.set(key, (list = []));
    list.push(deal);
    ch.tickers.add(key);

    for (const side of ['buy', 'sell'] as const) {
      const isBid = side === 'buy';
      const orderId = isBid ? ev.bid : ev.ask;
      const rem = isBid ? ev.bidRem : ev.askRem;
      const userId = isBid ? ev.bidUserId : ev.askUserId;
      const baseFee = isBid ? ev.bidBaseFee : ev.askBaseFee;
      const counterFee = isBid ? ev.bidCounterFee : ev.askCounterFee;
      const rec =
        orderId === null
          ? marketOrder?.userId === userId
            ? marketOrder
            : undefined
          : (this.orders.get(orderId) ??
            this.adoptFromEvent(orderId, userId, ev.base, ev.counter, (isBid ? 1 : -1) * ((rem ?? 0) + ev.quantity), ev.price, ev.time));
      if (rec !== undefined) {
        rec.filledAmount += ev.quantity;
        rec.filledValue += ev.total;
        rec.baseFee += baseFee;
        rec.quoteFee += counterFee;
        rec.lastFillAmount = ev.quantity;
        rec.lastFillPrice = ev.price;
        rec.updatedAt = timeMs;
        if (rem !== null) rec.unfilled = rem;
        if (!rec.finished) rec.status = 'part_deal';
        if (rec !== subject) ch.orders.push({ event: 'update', rec: { ...rec } });
      }
      const taker = (ev.takerSide === 'bid') === isBid;
      const ud: UserDealRec = {
        ...deal,
        userId,
        side,
        orderId: rec?.id ?? orderId ?? 0,
        role: taker ? 'taker' : 'maker',
        fee: baseFee !== 0 && counterFee === 0 ? baseFee : counterFee,
        feeAsset: baseFee !== 0 && counterFee === 0 ? ev.base : ev.counter,
      };
      let deals = this.userDeals.get(userId);
      if (deals === undefined) this.userDeals.set(userId, (deals = []));
      deals.push(ud);
      if (deals.length > MAX_USER_DEALS) deals.splice(0, deals.length - MAX_USER_DEALS);
      ch.userDeals.push(ud);
    }
  }

  /**
   * Adopts an order the read model has not seen placed (it was open before the oldest point the
   * journal replay reaches):
   * known from here on, with an empty client id and what is left of it as its amount. The HTTP
   * layer adopts such orders from engine.openOrder() the same way when it meets them first.
   */
  adopt(rec: OrderRec): OrderRec {
    const known = this.orders.get(rec.id);
    if (known !== undefined) return known;
    this.orders.set(rec.id, rec);
    return rec;
  }

  private adoptFromEvent(id: number, userId: number, base: number, counter: number, signedQuantity: number, price: number, timeUs: number): OrderRec {
    const amount = Math.abs(signedQuantity);
    const t = Math.floor(timeUs / 1000);
    return this.adopt(openOrderRec(id, userId, base, counter, signedQuantity >= 0 ? 'buy' : 'sell', amount, price, t));
  }

  private finish(rec: OrderRec, status: 'done' | 'cancel', timeMs: number): void {
    if (rec.finished) return;
    rec.finished = true;
    rec.status = status;
    rec.updatedAt = timeMs;
    let list = this.finished.get(rec.userId);
    if (list === undefined) this.finished.set(rec.userId, (list = []));
    list.push(rec);
    if (list.length > MAX_FINISHED_PER_USER) {
      for (const old of list.splice(0, list.length - MAX_FINISHED_PER_USER)) this.orders.delete(old.id);
    }
  }

  private touchBook(base: number, counter: number, timeUs: number, ch: Changes): void {
    const key = pairKey(base, counter);
    let h = this.markets.get(key);
    if (h === undefined) this.markets.set(key, (h = new MarketHistory()));
    h.bookUpdated = Math.floor(timeUs / 1000);
    ch.books.add(key);
  }
}

/** A record for an open limit order known only from the engine (placed before the journal's reach). */
export function openOrderRec(id: number, userId: number, base: number, counter: number, side: Side, remaining: number, price: number, createdAtMs: number): OrderRec {
  return {
    id,
    userId,
    base,
    counter,
    side,
    type: 'limit',
    clientId: '',
    amount: remaining,
    price,
    unfilled: remaining,
    filledAmount: 0,
    filledValue: 0,
    baseFee: 0,
    quoteFee: 0,
    lastFillAmount: 0,
    lastFillPrice: 0,
    createdAt: createdAtMs,
    updatedAt: createdAtMs,
    status: 'open',
    finished: false,
  };
}
