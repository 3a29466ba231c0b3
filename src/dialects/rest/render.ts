// REST.md record types, field for field and in the document's order.
import type { AssetConfig, BalanceView, MarketConfig, OrderRecord, PositionView, Ticker } from '../../core/types.js';
import type { UserTrade } from '../../history/index.js';

export interface RestOrder {
  id: number;
  base: number;
  counter: number;
  quantity: number;
  price: number;
  time: number;
}

export function renderOrder(o: Pick<OrderRecord, 'id' | 'base' | 'counter' | 'quantity' | 'price' | 'time'>): RestOrder {
  return { id: o.id, base: o.base, counter: o.counter, quantity: o.quantity, price: o.price, time: o.time };
}

export function renderBalance(b: BalanceView): { id: number; available: number; reserved: number } {
  return { id: b.asset, available: b.available, reserved: b.reserved };
}

export function renderTicker(t: Ticker, name: string, spotName: string): Record<string, unknown> {
  return {
    base: t.base,
    counter: t.counter,
    name,
    spot_name: spotName,
    last: t.last,
    bid: t.bid,
    ask: t.ask,
    low: t.low,
    high: t.high,
    volume: t.volume,
    time: t.time,
  };
}

/** `spot_id` and `spot_name` only for futures assets, as the document says. */
export function renderAsset(a: AssetConfig, spot: AssetConfig | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = { id: a.code };
  if (spot !== undefined) {
    o.spot_id = spot.code;
    o.spot_name = spot.name;
  }
  o.name = a.name;
  o.scale = a.scale;
  return o;
}

/** `start`, `expires` and `tenor` only for futures markets. */
export function renderMarket(m: MarketConfig, name: string, spotName: string): Record<string, unknown> {
  const o: Record<string, unknown> = { base: m.base, counter: m.counter, name, spot_name: spotName };
  if (m.start !== undefined) o.start = m.start;
  if (m.expires !== undefined) o.expires = m.expires;
  if (m.tenor !== undefined) o.tenor = m.tenor;
  o.tick = m.tick;
  return o;
}

/** A user's trade: quantity and total are negative for a sale, positive for a purchase. */
export function renderTrade(t: UserTrade): Record<string, unknown> {
  return {
    time: t.time,
    base: t.base,
    counter: t.counter,
    quantity: t.quantity,
    price: t.price,
    total: t.total,
    base_fee: t.baseFee,
    counter_fee: t.counterFee,
    order_id: t.orderId,
  };
}

export function renderPosition(p: PositionView): { asset: number; position: number; through: number } {
  return { asset: p.asset, position: p.position, through: p.through };
}

export interface AccountValue {
  asset: number;
  spot_value: number;
  change_in_spot_value: number;
  futures_value: number;
  change_in_futures_value: number;
  total_value: number;
  change_in_total_value: number;
}

/**
 * Futures asset → its spot asset. A futures market names its underlying spot market
 * ("XBT:USDT"); its base asset stands for the spot base and its counter for the spot counter.
 */
export function futuresToSpot(assets: AssetConfig[], markets: MarketConfig[]): Map<number, AssetConfig> {
  const byName = new Map(assets.map((a) => [a.name, a]));
  const out = new Map<number, AssetConfig>();
  for (const m of markets) {
    if (m.kind !== 'futures' || m.spotName === undefined) continue;
    const [b, c] = m.spotName.split(':');
    const sb = b === undefined ? undefined : byName.get(b);
    const sc = c === undefined ? undefined : byName.get(c);
    if (sb !== undefined && sb.code !== m.base) out.set(m.base, sb);
    if (sc !== undefined && sc.code !== m.counter) out.set(m.counter, sc);
  }
  return out;
}

/**
 * GET /account_value/: per spot asset, the spot balance (available + reserved), the balances of
 * futures assets on it, their sum, and each one's change since 00:00 UTC (`startOfDay`: the
 * balances as they stood then; an asset absent there counts as zero).
 */
export function accountValues(
  now: BalanceView[],
  startOfDay: BalanceView[],
  spotOf: Map<number, AssetConfig>,
): AccountValue[] {
  const rows = new Map<number, { spot: number; futures: number; spot0: number; futures0: number }>();
  const add = (b: BalanceView, current: boolean) => {
    const spot = spotOf.get(b.asset);
    const key = spot?.code ?? b.asset;
    let r = rows.get(key);
    if (r === undefined) {
      r = { spot: 0, futures: 0, spot0: 0, futures0: 0 };
      rows.set(key, r);
    }
    const v = b.available + b.reserved;
    if (spot === undefined) {
      if (current) r.spot += v;
      else r.spot0 += v;
    } else if (current) r.futures += v;
    else r.futures0 += v;
  };
  for (const b of now) add(b, true);
  for (const b of startOfDay) add(b, false);
  return [...rows.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([asset, r]) => ({
      asset,
      spot_value: r.spot,
      change_in_spot_value: r.spot - r.spot0,
      futures_value: r.futures,
      change_in_futures_value: r.futures - r.futures0,
      total_value: r.spot + r.futures,
      change_in_total_value: r.spot + r.futures - (r.spot0 + r.futures0),
    }));
}
