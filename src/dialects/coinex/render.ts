// CoinEx v2 JSON shapes, from engine and read-model data. Field names and forms follow what
// ccxt 4.5.84 parses (js/src/coinex.js parse*, js/src/pro/coinex.js handle*/parseWs*) and the
// guide's futures ticker example; every amount and price is an exact decimal string.
import type { BalanceView, EngineApi } from '../../core/types.js';
import { formatScaled, parseScaled } from './decimal.js';
import type { Catalog, CxAsset, CxMarket } from './names.js';
import type { Candle, DealRec, OrderRec, ReadModel, UserDealRec } from './readmodel.js';
import { depthChecksum } from './wire.js';

export const PPM_DECIMALS = 6;

export function amountStr(m: CxMarket, v: number): string {
  return formatScaled(v, m.base.decimals);
}
export function priceStr(m: CxMarket, v: number | null): string {
  return v === null ? '0' : formatScaled(v, m.priceDecimals);
}
export function valueStr(m: CxMarket, v: number): string {
  return formatScaled(v, m.counter.decimals);
}
function rate(ppm: number): string {
  return formatScaled(ppm, PPM_DECIMALS);
}

// ---------------------------------------------------------------- markets

/** Fee rates (ppm) of a user in a market: the tier of their 30-day volume in the counter asset. */
export function feeRates(engine: EngineApi, m: CxMarket, userId: number | undefined): { maker: number; taker: number } {
  const tiers = m.config.fees;
  let tier = tiers[0]!;
  if (userId !== undefined && tiers.length > 1) {
    const volume = engine.tradeVolume(userId, m.config.counter);
    for (let i = tiers.length - 1; i > 0; i--) {
      if (volume >= tiers[i]!.minVolume) {
        tier = tiers[i]!;
        break;
      }
    }
  }
  return { maker: tier.makerPpm, taker: tier.takerPpm };
}

/** Whether a market takes orders now (futures have a first trading day and an expiry). */
export function isTrading(engine: EngineApi, m: CxMarket): boolean {
  const c = m.config;
  if (c.kind !== 'futures') return true;
  const nowMs = engine.now / 1000;
  return (c.start === undefined || nowMs >= c.start) && (c.expires === undefined || nowMs < c.expires);
}

export function spotMarket(engine: EngineApi, m: CxMarket): Record<string, unknown> {
  const f = feeRates(engine, m, undefined);
  return {
    market: m.name,
    taker_fee_rate: rate(f.taker),
    maker_fee_rate: rate(f.maker),
    min_amount: amountStr(m, 1),
    base_ccy: m.base.ccy,
    quote_ccy: m.counter.ccy,
    base_ccy_precision: m.base.decimals,
    quote_ccy_precision: m.tickDecimals,
    is_amm_available: false,
    is_margin_available: false,
    is_pre_trading_available: false,
    is_api_trading_available: true,
  };
}

export function futuresMarket(engine: EngineApi, m: CxMarket, openInterest: number): Record<string, unknown> {
  const f = feeRates(engine, m, undefined);
  return {
    market: m.name,
    contract_type: 'linear',
    taker_fee_rate: rate(f.taker),
    maker_fee_rate: rate(f.maker),
    min_amount: amountStr(m, 1),
    base_ccy: m.base.ccy,
    quote_ccy: m.counter.ccy,
    base_ccy_precision: m.base.decimals,
    quote_ccy_precision: m.tickDecimals,
    leverage: ['1'],
    open_interest_volume: amountStr(m, openInterest),
    is_market_available: isTrading(engine, m),
    is_copy_trading_available: false,
  };
}

/** Open interest of a futures market: the sum of all long positions in its base asset. */
export function openInterest(engine: EngineApi, m: CxMarket): number {
  let sum = 0;
  for (const u of engine.users()) {
    for (const p of engine.positions(u.id)) if (p.asset === m.config.base && p.position > 0) sum += p.position;
  }
  return sum;
}

// ---------------------------------------------------------------- tickers

export function ticker(engine: EngineApi, rm: ReadModel, catalog: Catalog, m: CxMarket, oi?: number): Record<string, unknown> {
  const t = engine.ticker(m.config.base, m.config.counter);
  const day = rm.day(m.config.base, m.config.counter, engine.now);
  const last = t?.last ?? null;
  const open = day.open ?? last;
  const out: Record<string, unknown> = {
    market: m.name,
    last: priceStr(m, last),
    open: priceStr(m, open),
    close: priceStr(m, last),
    high: priceStr(m, t?.high ?? last),
    low: priceStr(m, t?.low ?? last),
    volume: amountStr(m, t?.volume ?? 0),
    value: valueStr(m, day.value),
    volume_sell: amountStr(m, day.sell),
    volume_buy: amountStr(m, day.buy),
  };
  if (m.kind === 'futures') {
    // Index: the underlying spot market's last price (the futures' own last without one).
    // Mark: the futures' last trade price, or the index before the first trade.
    const u = catalog.underlying(m);
    const ut = u === undefined ? undefined : engine.ticker(u.config.base, u.config.counter);
    const index = ut?.last ?? last;
    const mark = last ?? index;
    // Both are rendered at the futures market's price scale when it can hold them exactly.
    out.index_price = u === undefined || index === null ? priceStr(m, index) : rescalePrice(u, m, index);
    out.mark_price = priceStr(m, mark);
    out.open_interest_volume = amountStr(m, oi ?? openInterest(engine, m));
  }
  out.period = 86400;
  return out;
}

function rescalePrice(from: CxMarket, to: CxMarket, v: number): string {
  const s = formatScaled(v, from.priceDecimals);
  try {
    return formatScaled(parseScaled(s, to.priceDecimals, 'price'), to.priceDecimals);
  } catch {
    return s;
  }
}

// ---------------------------------------------------------------- depth

export type Level = [string, string];

export interface DepthView {
  bids: Level[];
  asks: Level[];
}

/**
 * The top `limit` levels per side; with a merge interval (price units, 0 = none) bids are
 * grouped down and asks up to multiples of it, as CoinEx's `interval` does.
 */
export function depthLevels(engine: EngineApi, m: CxMarket, limit: number, interval: number): DepthView {
  const fmt = (l: [number, number][]): Level[] => l.map(([p, q]) => [priceStr(m, p), amountStr(m, q)]);
  if (interval <= 1) {
    const d = engine.depth(m.config.base, m.config.counter, limit) ?? { bids: [], asks: [] };
    return { bids: fmt(d.bids), asks: fmt(d.asks) };
  }
  /** Groups levels; `complete` once a level of group limit+1 was seen or the side ended. */
  const merge = (levels: [number, number][], up: boolean, fetched: number): { out: [number, number][]; complete: boolean } => {
    const out: [number, number][] = [];
    for (const [p, q] of levels) {
      const r = p % interval;
      const g = r === 0 ? p : up ? p - r + interval : p - r;
      const last = out[out.length - 1];
      if (last !== undefined && last[0] === g) last[1] += q;
      else {
        if (out.length === limit) return { out, complete: true };
        out.push([g, q]);
      }
    }
    return { out, complete: levels.length < fetched };
  };
  for (let want = limit * 4; ; want *= 4) {
    const d = engine.depth(m.config.base, m.config.counter, want) ?? { bids: [], asks: [] };
    const bids = merge(d.bids, false, want);
    const asks = merge(d.asks, true, want);
    if ((bids.complete && asks.complete) || want >= 4_000_000) return { bids: fmt(bids.out), asks: fmt(asks.out) };
  }
}

export function depthBody(m: CxMarket, view: DepthView, isFull: boolean, last: string, updatedAt: number, full: DepthView = view): Record<string, unknown> {
  return {
    market: m.name,
    is_full: isFull,
    depth: {
      asks: view.asks,
      bids: view.bids,
      last,
      updated_at: updatedAt,
      checksum: depthChecksum(full.bids, full.asks),
    },
  };
}

// ---------------------------------------------------------------- deals and klines

export function deal(m: CxMarket, d: DealRec): Record<string, unknown> {
  return { deal_id: d.id, created_at: d.time, side: d.takerSide, price: priceStr(m, d.price), amount: amountStr(m, d.amount) };
}

export function userDeal(m: CxMarket, d: UserDealRec, catalog: Catalog): Record<string, unknown> {
  const feeAsset = catalog.asset(d.feeAsset);
  return {
    deal_id: d.id,
    created_at: d.time,
    market: m.name,
    side: d.side,
    order_id: d.orderId,
    margin_market: '',
    price: priceStr(m, d.price),
    amount: amountStr(m, d.amount),
    value: valueStr(m, d.value),
    role: d.role,
    fee: feeAsset === undefined ? String(d.fee) : formatScaled(d.fee, feeAsset.decimals),
    fee_ccy: feeAsset?.ccy ?? String(d.feeAsset),
  };
}

/**
 * One candle. ccxt reads the base volume from `value` and the quote volume from `volume`
 * (js/src/coinex.js parseOHLCV, from CoinEx's live kline responses), so that is what they hold.
 */
export function kline(m: CxMarket, c: Candle): Record<string, unknown> {
  return {
    market: m.name,
    created_at: c.start,
    open: priceStr(m, c.open),
    close: priceStr(m, c.close),
    high: priceStr(m, c.high),
    low: priceStr(m, c.low),
    volume: valueStr(m, c.value),
    value: amountStr(m, c.volume),
  };
}

// ---------------------------------------------------------------- orders

/** Spot order, as place/modify/cancel/status/pending/finished answer and order.update pushes it. */
export function order(engine: EngineApi, m: CxMarket, r: OrderRec, ws = false): Record<string, unknown> {
  const f = feeRates(engine, m, r.userId);
  // A market buy spends quote: its amount and unfilled amount are in the quote currency.
  const quoteAmount = r.type === 'market' && r.side === 'buy';
  const amt = (v: number): string => (quoteAmount ? valueStr(m, v) : amountStr(m, v));
  const out: Record<string, unknown> = {
    order_id: r.id,
    market: m.name,
    market_type: 'SPOT',
    side: r.side,
    type: r.type,
    ccy: quoteAmount ? m.counter.ccy : m.base.ccy,
    amount: amt(r.amount),
    price: r.type === 'market' ? '0' : priceStr(m, r.price),
    client_id: r.clientId,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    base_fee: amountStr(m, r.baseFee),
    quote_fee: valueStr(m, r.quoteFee),
    discount_fee: '0',
    maker_fee_rate: rate(f.maker),
    taker_fee_rate: rate(f.taker),
    filled_amount: amountStr(m, r.filledAmount),
    filled_value: valueStr(m, r.filledValue),
    unfilled_amount: amt(r.unfilled),
    last_fill_amount: amountStr(m, r.lastFillAmount),
    last_fill_price: priceStr(m, r.lastFillPrice),
    status: r.status,
  };
  if (ws) {
    // ccxt's WebSocket parser tells spot from futures by the presence of margin_market, and
    // takes the status from the push's event (put / update / modify / finish), which a status
    // field in the order would override.
    out.margin_market = '';
    delete out.status;
  }
  return out;
}

// ---------------------------------------------------------------- balances

export function spotBalance(a: CxAsset, b: BalanceView): Record<string, unknown> {
  return { ccy: a.ccy, available: formatScaled(b.available, a.decimals), frozen: formatScaled(b.reserved, a.decimals) };
}

export function futuresBalance(a: CxAsset, b: BalanceView): Record<string, unknown> {
  const available = formatScaled(b.available, a.decimals);
  return {
    ccy: a.ccy,
    available,
    frozen: formatScaled(b.reserved, a.decimals),
    margin: '0',
    transferrable: available,
    unrealized_pnl: '0',
  };
}
