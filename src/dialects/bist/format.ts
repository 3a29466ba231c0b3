// BIST (Bitstamp v1 emulation) records: decimal strings with the exact number of places of the
// asset's or market's scale, Bitstamp's field names built from the endpoint's asset names
// (coinfloor-api/BIST.md, BIST-Migration.md), datetimes as "YYYY-MM-DD HH:MM:SS" (UTC, whole
// seconds), integer `date` in transactions.
import type { BalanceView, OrderRecord, Ticker } from '../../core/types.js';
import type { MarketTrade, UserTransaction } from '../../history/index.js';
import { TxKind } from '../../history/index.js';
import { formatDecimal } from '../http-common.js';

/** Scales and field-name prefixes of one BIST endpoint (one market). */
export interface BistMarket {
  base: number;
  counter: number;
  /** Lower-case asset names as used in field names: "xbt", "gbp". */
  baseName: string;
  counterName: string;
  baseScale: number;
  counterScale: number;
  priceScale: number;
}

export function datetime(micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString().slice(0, 19).replace('T', ' ');
}

const dec = (v: number | null, scale: number): string | null => (v === null ? null : formatDecimal(v, scale));

/** GET ticker/: v1 with vwap, v2 without (BIST_v2.md lists no vwap). Missing values are null. */
export function renderTicker(m: BistMarket, t: Ticker, withVwap: boolean): Record<string, string | null> {
  const o: Record<string, string | null> = {
    last: dec(t.last, m.priceScale),
    high: dec(t.high, m.priceScale),
    low: dec(t.low, m.priceScale),
  };
  if (withVwap) o.vwap = dec(t.vwap, m.priceScale);
  o.volume = formatDecimal(t.volume, m.baseScale);
  o.bid = dec(t.bid, m.priceScale);
  o.ask = dec(t.ask, m.priceScale);
  return o;
}

export function renderBook(m: BistMarket, d: { bids: [number, number][]; asks: [number, number][] }): { bids: string[][]; asks: string[][] } {
  const side = (levels: [number, number][]) => levels.map(([p, q]) => [formatDecimal(p, m.priceScale), formatDecimal(q, m.baseScale)]);
  return { bids: side(d.bids), asks: side(d.asks) };
}

export function renderTransaction(m: BistMarket, t: MarketTrade): { date: number; tid: number; price: string; amount: string } {
  return {
    date: Math.floor(t.time / 1_000_000),
    tid: t.tid,
    price: formatDecimal(t.price, m.priceScale),
    amount: formatDecimal(t.quantity, m.baseScale),
  };
}

/** balance/: <asset>_balance (available + reserved), <asset>_reserved, <asset>_available; counter first, as Bitstamp (usd, btc). */
export function renderBalance(m: BistMarket, balances: BalanceView[]): Record<string, string> {
  const find = (asset: number) => balances.find((b) => b.asset === asset) ?? { asset, available: 0, reserved: 0 };
  const c = find(m.counter);
  const b = find(m.base);
  return {
    [`${m.counterName}_balance`]: formatDecimal(c.available + c.reserved, m.counterScale),
    [`${m.baseName}_balance`]: formatDecimal(b.available + b.reserved, m.baseScale),
    [`${m.counterName}_reserved`]: formatDecimal(c.reserved, m.counterScale),
    [`${m.baseName}_reserved`]: formatDecimal(b.reserved, m.baseScale),
    [`${m.counterName}_available`]: formatDecimal(c.available, m.counterScale),
    [`${m.baseName}_available`]: formatDecimal(b.available, m.baseScale),
  };
}

/**
 * user_transactions/ row. As Bitstamp: for a trade the base amount is positive when bought and
 * the counter amount negative when spent (and the reverse for a sale); `fee` is the counter fee.
 * Deposits (type 0) and withdrawals (type 1) carry the amount in their asset's field, zero
 * elsewhere, and no order_id.
 */
export function renderUserTransaction(m: BistMarket, t: UserTransaction): Record<string, unknown> {
  const priceKey = `${m.baseName}_${m.counterName}`;
  const o: Record<string, unknown> = { datetime: datetime(t.time), id: t.id, type: t.kind };
  if (t.kind === TxKind.TRADE) {
    o[m.counterName] = formatDecimal(-(t.total ?? 0), m.counterScale);
    o[m.baseName] = formatDecimal(t.quantity, m.baseScale);
    o[priceKey] = formatDecimal(t.price ?? 0, m.priceScale);
    o.fee = formatDecimal(t.counterFee ?? 0, m.counterScale);
    o.order_id = t.orderId;
  } else {
    o[m.counterName] = formatDecimal(t.base === m.counter ? t.quantity : 0, m.counterScale);
    o[m.baseName] = formatDecimal(t.base === m.base ? t.quantity : 0, m.baseScale);
    o[priceKey] = formatDecimal(0, m.priceScale);
    o.fee = formatDecimal(0, m.counterScale);
  }
  return o;
}

/** An order as open_orders/, buy/ and sell/ return it: type 0 buy, 1 sell; amount positive. */
export function renderOrder(m: BistMarket, o: Pick<OrderRecord, 'id' | 'quantity' | 'price' | 'time'>): Record<string, unknown> {
  return {
    id: o.id,
    datetime: datetime(o.time),
    type: o.quantity < 0 ? 1 : 0,
    price: formatDecimal(o.price, m.priceScale),
    amount: formatDecimal(Math.abs(o.quantity), m.baseScale),
  };
}
