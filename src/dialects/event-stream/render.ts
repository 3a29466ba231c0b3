// Engine events in the Event Stream's words (EventStream.md, Version 2 field names), per viewer:
// public fields for everyone, tonces and fees for the owners, balances and trade volumes only to
// their user. Field order follows the document.
import type { EngineEvent, TickerFields } from '../../core/types.js';
import { asciiJson } from '../http-common.js';

export interface Rendered {
  event: string;
  data: string;
}

/** Full ticker of a market, kept by merging TickerChanged deltas (the stream sends every field). */
export type TickerState = TickerFields;

export const EMPTY_TICKER: TickerState = { last: null, bid: null, ask: null, low: null, high: null, volume: 0 };

/** Merges a partial TickerChanged into `prev` and returns the new full state. */
export function mergeTicker(prev: TickerState, ev: Partial<TickerFields>): TickerState {
  return {
    last: ev.last !== undefined ? ev.last : prev.last,
    bid: ev.bid !== undefined ? ev.bid : prev.bid,
    ask: ev.ask !== undefined ? ev.ask : prev.ask,
    low: ev.low !== undefined ? ev.low : prev.low,
    high: ev.high !== undefined ? ev.high : prev.high,
    volume: ev.volume !== undefined ? ev.volume : prev.volume,
  };
}

export function renderTicker(base: number, counter: number, t: TickerState): Rendered {
  return {
    event: 'TickerChanged',
    data: asciiJson({ base, counter, last: t.last, bid: t.bid, ask: t.ask, low: t.low, high: t.high, volume: t.volume }),
  };
}

/**
 * The event as `viewer` (a user id, or undefined for an anonymous stream) sees it, or undefined
 * when it is not for them. TickerChanged is rendered by the caller from its merged state.
 * OrderModified is not in EventStream.md; it is sent (with OrderOpened's fields, `time` being the
 * modification time) because without it the stream could not keep a consistent book.
 */
export function renderFor(ev: EngineEvent, viewer: number | undefined): Rendered | undefined {
  switch (ev.type) {
    case 'BalanceChanged':
      if (viewer !== ev.userId) return undefined;
      return { event: 'BalanceChanged', data: asciiJson({ asset: ev.asset, available: ev.available, reserved: ev.reserved }) };
    case 'TradeVolumeChanged':
      if (viewer !== ev.userId) return undefined;
      return { event: 'UserTradeVolumeChanged', data: asciiJson({ asset: ev.asset, volume: ev.volume }) };
    case 'OrderOpened':
    case 'OrderModified': {
      const o: Record<string, unknown> = { base: ev.base, counter: ev.counter, id: ev.id };
      if (viewer === ev.userId) o.tonce = ev.tonce;
      o.quantity = ev.quantity;
      o.price = ev.price;
      o.time = ev.time;
      return { event: ev.type, data: asciiJson(o) };
    }
    case 'OrderClosed': {
      const o: Record<string, unknown> = { base: ev.base, counter: ev.counter, id: ev.id };
      if (viewer === ev.userId) o.tonce = ev.tonce;
      o.quantity = ev.quantity;
      o.price = ev.price;
      return { event: 'OrderClosed', data: asciiJson(o) };
    }
    case 'OrdersMatched': {
      const isBid = viewer !== undefined && viewer === ev.bidUserId;
      const isAsk = viewer !== undefined && viewer === ev.askUserId;
      const o: Record<string, unknown> = { base: ev.base, counter: ev.counter };
      if (ev.bid !== null) o.bid = ev.bid;
      if (isBid) o.bid_tonce = ev.bidTonce;
      if (ev.ask !== null) o.ask = ev.ask;
      if (isAsk) o.ask_tonce = ev.askTonce;
      o.quantity = ev.quantity;
      o.price = ev.price;
      o.total = ev.total;
      if (ev.bidRem !== null) o.bid_rem = ev.bidRem;
      if (ev.askRem !== null) o.ask_rem = ev.askRem;
      o.time = ev.time;
      if (isBid) {
        o.bid_base_fee = ev.bidBaseFee;
        o.bid_counter_fee = ev.bidCounterFee;
      }
      if (isAsk) {
        o.ask_base_fee = ev.askBaseFee;
        o.ask_counter_fee = ev.askCounterFee;
      }
      return { event: 'OrdersMatched', data: asciiJson(o) };
    }
    default:
      return undefined; // UserCreated, MarketAdded, AssetAdded, TickerChanged (rendered from state)
  }
}

/** Whether the event looks different to its owner(s) than to everyone else. */
export function ownersOf(ev: EngineEvent): number[] {
  switch (ev.type) {
    case 'BalanceChanged':
    case 'TradeVolumeChanged':
    case 'OrderOpened':
    case 'OrderModified':
    case 'OrderClosed':
      return [ev.userId];
    case 'OrdersMatched':
      return ev.bidUserId === ev.askUserId ? [ev.bidUserId] : [ev.bidUserId, ev.askUserId];
    default:
      return [];
  }
}

/** One SSE frame. `data` is single-line JSON, so one data: line suffices. */
export function frame(id: string, r: Rendered): string {
  return `id: ${id}\nevent: ${r.event}\ndata: ${r.data}\n\n`;
}
