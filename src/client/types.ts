// Wire types of the native WebSocket protocol (coinflex-api/WEBSOCKET-README.md, the superset of
// coinfloor-api/WEBSOCKET-README.md). Every number is an integer with an implicit scale (SCALE.md).
// Field names are the wire's own (snake_case); the server's dialect renders exactly these shapes.

import type { OrderRecord } from '../core/types.js';

// ---------------------------------------------------------------- records inside replies

/** An order as GetOrders, ModifyOrder, CancelOrder and CancelAllOrders report it: the engine's own record. */
export type WireOrder = OrderRecord;

/** An order of a WatchOrders snapshot. */
export interface WireBookOrder {
  id: number;
  /** Positive for a bid, negative for an ask. */
  quantity: number;
  price: number;
  time: number;
}

export interface WireBalance {
  asset: number;
  /** Available balance. */
  balance: number;
  reserved_balance: number;
  total_balance: number;
}

export interface WireTicker {
  last: number | null;
  bid: number | null;
  ask: number | null;
  low: number | null;
  high: number | null;
  volume: number;
}

// ---------------------------------------------------------------- commands and replies

export type Persist = boolean | 'fill_or_kill';

/** Request fields (besides `tag` and `method`) and success-reply fields (besides `tag` and `error_code`) per method. */
export interface Methods {
  Authenticate: {
    request: { user_id: number; cookie: string; nonce: string; signature: [string, string] };
    reply: Record<string, never>;
  };
  GetBalances: { request: Record<string, never>; reply: { balances: WireBalance[] } };
  GetOrders: { request: Record<string, never>; reply: { orders: WireOrder[] } };
  EstimateMarketOrder: {
    request: { base: number; counter: number; quantity?: number; total?: number };
    reply: { quantity: number; total: number };
  };
  PlaceOrder: {
    request: {
      tonce?: number;
      base: number;
      counter: number;
      quantity?: number;
      price?: number;
      total?: number;
      persist?: Persist;
      post_only?: boolean;
    };
    /** id and time for a limit order; remaining for a market order. */
    reply: { id?: number; time?: number; remaining?: number };
  };
  ModifyOrder: {
    request: { id?: number; tonce?: number; quantity_delta?: number; price?: number; post_only?: boolean };
    reply: WireOrder;
  };
  CancelOrder: { request: { id?: number; tonce?: number }; reply: WireOrder };
  CancelAllOrders: { request: Record<string, never>; reply: { orders: WireOrder[] } };
  GetTradeVolume: { request: { asset: number }; reply: { volume: number } };
  WatchOrders: {
    request: { base: number; counter: number; watch: boolean };
    /** orders is present iff watch was true. */
    reply: { orders?: WireBookOrder[] };
  };
  WatchTicker: {
    request: { base: number; counter: number; watch: boolean };
    /** The ticker fields are present iff watch was true. */
    reply: Partial<WireTicker>;
  };
}

export type MethodName = keyof Methods;
export const METHOD_NAMES: readonly MethodName[] = [
  'Authenticate',
  'GetBalances',
  'GetOrders',
  'EstimateMarketOrder',
  'PlaceOrder',
  'ModifyOrder',
  'CancelOrder',
  'CancelAllOrders',
  'GetTradeVolume',
  'WatchOrders',
  'WatchTicker',
];

export type Request<M extends MethodName> = { tag?: number; method: M } & Methods[M]['request'];
export type OkReply<M extends MethodName> = { tag?: number; error_code: 0 } & Methods[M]['reply'];

export interface ErrorReply {
  tag?: number;
  error_code: number;
  error_msg: string;
}

// ---------------------------------------------------------------- notices

export interface WelcomeNotice {
  notice: 'Welcome';
  /** Base64 of the 16-byte server nonce. */
  nonce: string;
}

export interface BalanceChangedNotice {
  notice: 'BalanceChanged';
  asset: number;
  /** New available balance. */
  balance: number;
}

interface OrderFields {
  id: number;
  /** Present only when the recipient owns the order. */
  tonce?: number | null;
  base: number;
  counter: number;
  quantity: number;
  price: number;
}

export interface OrderOpenedNotice extends OrderFields {
  notice: 'OrderOpened';
  time: number;
}

export interface OrderModifiedNotice extends OrderFields {
  notice: 'OrderModified';
  /** Micro-timestamp of the modification. */
  time: number;
}

export interface OrderClosedNotice extends OrderFields {
  notice: 'OrderClosed';
  /** Zero when the order was completely filled. */
  quantity: number;
  time_closed: number;
}

export interface OrdersMatchedNotice {
  notice: 'OrdersMatched';
  /** Absent when the bid side was a market order. */
  bid?: number;
  /** Present only when the recipient is the buyer. */
  bid_tonce?: number | null;
  ask?: number;
  /** Present only when the recipient is the seller. */
  ask_tonce?: number | null;
  base: number;
  counter: number;
  quantity: number;
  taker_side: 'bid' | 'ask';
  /** Present only for a buyer or seller: whether the recipient's order was the taker. */
  taker?: boolean;
  price: number;
  total: number;
  bid_rem?: number;
  ask_rem?: number;
  time: number;
  bid_base_fee?: number;
  bid_counter_fee?: number;
  ask_base_fee?: number;
  ask_counter_fee?: number;
}

export interface TickerChangedNotice extends Partial<WireTicker> {
  notice: 'TickerChanged';
  base: number;
  counter: number;
}

export interface TradeVolumeChangedNotice {
  notice: 'TradeVolumeChanged';
  asset: number;
  volume: number;
}

export type Notice =
  | WelcomeNotice
  | BalanceChangedNotice
  | OrderOpenedNotice
  | OrderModifiedNotice
  | OrdersMatchedNotice
  | OrderClosedNotice
  | TickerChangedNotice
  | TradeVolumeChangedNotice;

export type NoticeName = Notice['notice'];
export type NoticeOf<N extends NoticeName> = Extract<Notice, { notice: N }>;

/** The book notices a LocalBook consumes. */
export type BookNotice = OrderOpenedNotice | OrderModifiedNotice | OrdersMatchedNotice | OrderClosedNotice;
