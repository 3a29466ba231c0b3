// Rendering of native WebSocket replies and notices (WEBSOCKET-README.md), field for field in the
// spec's order. Pure functions from engine data to JSON text.
import type {
  BalanceChanged,
  BalanceView,
  BookOrderView,
  OrderClosed,
  OrderModified,
  OrderOpened,
  OrderRecord,
  OrdersMatched,
  Ticker,
  TickerChanged,
  TradeVolumeChanged,
} from '../../core/types.js';
import type {
  BalanceChangedNotice,
  OrderClosedNotice,
  OrderModifiedNotice,
  OrderOpenedNotice,
  OrdersMatchedNotice,
  TickerChangedNotice,
  TradeVolumeChangedNotice,
  WireBalance,
  WireBookOrder,
  WireOrder,
  WireTicker,
} from '../../client/types.js';

// ---------------------------------------------------------------- replies

/** `{"tag":…,"error_code":0,…fields}`; the tag is present iff non-zero. */
export function okReply(tag: number, fields?: object): string {
  const o: Record<string, unknown> = tag !== 0 ? { tag, error_code: 0 } : { error_code: 0 };
  if (fields) Object.assign(o, fields);
  return JSON.stringify(o);
}

export function errorReply(tag: number, code: number, message: string): string {
  return JSON.stringify(tag !== 0 ? { tag, error_code: code, error_msg: message } : { error_code: code, error_msg: message });
}

// The hot replies and notices below are written as template strings: the same bytes as
// JSON.stringify of the objects above (field order included; integers print the same, null as
// null), without building an object per message. Values that JSON would render differently from
// a template (undefined, which JSON omits; non-finite numbers, which JSON turns into null) cannot
// occur in engine output; `exact` guards the nullable ones anyway and falls back to JSON.

/** True when `${v}` is exactly JSON.stringify(v): a finite number or null. */
function exact(v: number | null | undefined): boolean {
  return v === null || (typeof v === 'number' && Number.isFinite(v));
}

/** `{"tag":…,"error_code":0` without the closing brace; the tag is present iff non-zero. */
function okHead(tag: number): string {
  return tag !== 0 ? `{"tag":${tag},"error_code":0` : '{"error_code":0';
}

/** The PlaceOrder reply: id and time (limit orders), remaining (market orders), as present. */
export function placeOrderReply(tag: number, r: { id?: number; time?: number; remaining?: number }): string {
  let out = okHead(tag);
  if (r.id !== undefined) out += `,"id":${r.id}`;
  if (r.time !== undefined) out += `,"time":${r.time}`;
  if (r.remaining !== undefined) out += `,"remaining":${r.remaining}`;
  return out + '}';
}

/** A reply carrying one order's fields (CancelOrder, ModifyOrder): okReply(tag, wireOrder(o)). */
export function orderReply(tag: number, o: OrderRecord): string {
  if (!exact(o.tonce)) return okReply(tag, wireOrder(o));
  return `${okHead(tag)},"id":${o.id},"tonce":${o.tonce},"base":${o.base},"counter":${o.counter},"quantity":${o.quantity},"price":${o.price},"time":${o.time}}`;
}

export function welcome(nonce: Buffer): string {
  return JSON.stringify({ notice: 'Welcome', nonce: nonce.toString('base64') });
}

export function wireOrder(o: OrderRecord): WireOrder {
  return { id: o.id, tonce: o.tonce, base: o.base, counter: o.counter, quantity: o.quantity, price: o.price, time: o.time };
}

export function wireBookOrder(o: BookOrderView): WireBookOrder {
  return { id: o.id, quantity: o.quantity, price: o.price, time: o.time };
}

export function wireBalance(b: BalanceView): WireBalance {
  return { asset: b.asset, balance: b.available, reserved_balance: b.reserved, total_balance: b.available + b.reserved };
}

export function wireTicker(t: Ticker): WireTicker {
  return { last: t.last, bid: t.bid, ask: t.ask, low: t.low, high: t.high, volume: t.volume };
}

// ---------------------------------------------------------------- notices

export function balanceChanged(e: BalanceChanged): string {
  return `{"notice":"BalanceChanged","asset":${e.asset},"balance":${e.available}}`;
}

/** BalanceChanged as the JSON of the notice object (the reference for the template above). */
export function balanceChangedJson(e: BalanceChanged): string {
  const n: BalanceChangedNotice = { notice: 'BalanceChanged', asset: e.asset, balance: e.available };
  return JSON.stringify(n);
}

export function tradeVolumeChanged(e: TradeVolumeChanged): string {
  const n: TradeVolumeChangedNotice = { notice: 'TradeVolumeChanged', asset: e.asset, volume: e.volume };
  return JSON.stringify(n);
}

/** OrderOpened / OrderModified; `tonce` only for the owner. */
export function orderOpenedOrModified(e: OrderOpened | OrderModified, owner: boolean): string {
  if (!exact(e.tonce)) return orderOpenedOrModifiedJson(e, owner);
  const tail = `"base":${e.base},"counter":${e.counter},"quantity":${e.quantity},"price":${e.price},"time":${e.time}}`;
  return owner ? `{"notice":"${e.type}","id":${e.id},"tonce":${e.tonce},${tail}` : `{"notice":"${e.type}","id":${e.id},${tail}`;
}

export function orderOpenedOrModifiedJson(e: OrderOpened | OrderModified, owner: boolean): string {
  const n: OrderOpenedNotice | OrderModifiedNotice = owner
    ? { notice: e.type, id: e.id, tonce: e.tonce, base: e.base, counter: e.counter, quantity: e.quantity, price: e.price, time: e.time }
    : { notice: e.type, id: e.id, base: e.base, counter: e.counter, quantity: e.quantity, price: e.price, time: e.time };
  return JSON.stringify(n);
}

export function orderClosed(e: OrderClosed, owner: boolean): string {
  if (!exact(e.tonce)) return orderClosedJson(e, owner);
  const tail = `"base":${e.base},"counter":${e.counter},"quantity":${e.quantity},"price":${e.price},"time_closed":${e.timeClosed}}`;
  return owner ? `{"notice":"OrderClosed","id":${e.id},"tonce":${e.tonce},${tail}` : `{"notice":"OrderClosed","id":${e.id},${tail}`;
}

export function orderClosedJson(e: OrderClosed, owner: boolean): string {
  const n: OrderClosedNotice = owner
    ? { notice: 'OrderClosed', id: e.id, tonce: e.tonce, base: e.base, counter: e.counter, quantity: e.quantity, price: e.price, time_closed: e.timeClosed }
    : { notice: 'OrderClosed', id: e.id, base: e.base, counter: e.counter, quantity: e.quantity, price: e.price, time_closed: e.timeClosed };
  return JSON.stringify(n);
}

/**
 * OrdersMatched as the buyer, the seller, both (a self-trade) or a book watcher (neither) sees it.
 * bid/bid_rem (ask/ask_rem) are omitted for a market-order side. `taker` tells a party whether its
 * own order was the taker; for a self-trade one of its orders always was, so it is true.
 */
export function ordersMatched(e: OrdersMatched, buyer: boolean, seller: boolean): string {
  const n: OrdersMatchedNotice = { notice: 'OrdersMatched' } as OrdersMatchedNotice;
  if (e.bid !== null) n.bid = e.bid;
  if (buyer) n.bid_tonce = e.bidTonce;
  if (e.ask !== null) n.ask = e.ask;
  if (seller) n.ask_tonce = e.askTonce;
  n.base = e.base;
  n.counter = e.counter;
  n.quantity = e.quantity;
  n.taker_side = e.takerSide;
  if (buyer || seller) n.taker = (buyer && e.takerSide === 'bid') || (seller && e.takerSide === 'ask');
  n.price = e.price;
  n.total = e.total;
  if (e.bidRem !== null) n.bid_rem = e.bidRem;
  if (e.askRem !== null) n.ask_rem = e.askRem;
  n.time = e.time;
  if (buyer) {
    n.bid_base_fee = e.bidBaseFee;
    n.bid_counter_fee = e.bidCounterFee;
  }
  if (seller) {
    n.ask_base_fee = e.askBaseFee;
    n.ask_counter_fee = e.askCounterFee;
  }
  return JSON.stringify(n);
}

/** TickerChanged with only the fields the event carries (those that changed). */
export function tickerChanged(e: TickerChanged): string {
  const n: TickerChangedNotice = { notice: 'TickerChanged', base: e.base, counter: e.counter };
  if (e.last !== undefined) n.last = e.last;
  if (e.bid !== undefined) n.bid = e.bid;
  if (e.ask !== undefined) n.ask = e.ask;
  if (e.low !== undefined) n.low = e.low;
  if (e.high !== undefined) n.high = e.high;
  if (e.volume !== undefined) n.volume = e.volume;
  return JSON.stringify(n);
}
