// Who receives which notice (WEBSOCKET-README.md "Recipients"), and in which version.
//
//  - BalanceChanged, TradeVolumeChanged: every session authenticated as that user.
//  - OrderOpened / OrderModified / OrderClosed: the owner's sessions get the owner version (with
//    `tonce`); every other session watching that book gets the public version (no `tonce`).
//  - OrdersMatched: the buyer's sessions get bid_tonce, bid fees and `taker`; the seller's get
//    ask_tonce, ask fees and `taker`; a self-trader gets both sides; other book watchers get the
//    public version (no tonces, fees or `taker`).
//  - TickerChanged: the ticker watchers of that book.
//  A session that is both owner and watcher gets exactly one notice: the owner version.
//
// Public frames are serialised (and framed) once per event and the same bytes go to every watcher;
// a party's frame once per event and party (handed over as text when the party has a single
// session, which then frames it along with the rest of its output). Events reach each session in
// engine order.
//
// Atomic snapshots: the engine may be ahead of what has been published (commands are applied
// before they are durable). A watcher whose snapshot was taken at sequence S therefore records S
// and skips public notices of commands <= S, which its snapshot already reflects. (A party's own
// notices are not skipped: it gets them as a party anyway, before the reply, and re-applying
// them to the snapshot is harmless - each sets an order's state to what it was at that time.)
import type { EngineEvent } from '../../core/types.js';
import * as render from './render.js';

export interface Recipient {
  /** The authenticated user, or null. Read at dispatch time. */
  readonly userId: number | null;
  /** Receives one encoded frame; the same Buffer may go to many recipients (do not modify it). */
  deliver(frame: Buffer): void;
  /**
   * Optional: receives a rendered notice not yet encoded, when it goes to this recipient alone
   * (the recipient encodes it itself, e.g. together with the rest of its output). The text is
   * always ASCII: every notice consists of fixed names, numbers, 'bid'/'ask', booleans and null
   * (render.ts; test/native-ws/render.test.ts checks it).
   */
  deliverText?(text: string): void;
}

/** Turns a rendered notice into the bytes recipients get (the dialect: a complete WebSocket frame). */
export type Encoder = (text: string) => Buffer;

const utf8: Encoder = (text) => Buffer.from(text, 'utf8');

export function marketKey(base: number, counter: number): string {
  return `${base}:${counter}`;
}

export class FanOut<R extends Recipient> {
  private readonly users = new Map<number, Set<R>>();
  /** Book watchers per market, each with the sequence number its snapshot reflects. */
  private readonly books = new Map<string, Map<R, number>>();
  private readonly tickers = new Map<string, Map<R, number>>();
  /** Sequence number of the last dispatched command. */
  lastSeq = 0;
  /** Frames serialised (for tests: proves public frames are rendered once per event). */
  framesRendered = 0;

  constructor(private readonly encode: Encoder = utf8) {}

  // ------------------------------------------------------------ registration

  addUser(r: R, userId: number): void {
    let set = this.users.get(userId);
    if (!set) this.users.set(userId, (set = new Set()));
    set.add(r);
  }

  removeUser(r: R, userId: number): void {
    const set = this.users.get(userId);
    if (!set) return;
    set.delete(r);
    if (set.size === 0) this.users.delete(userId);
  }

  watchBook(r: R, key: string, snapshotSeq: number): boolean {
    return add(this.books, r, key, snapshotSeq);
  }

  unwatchBook(r: R, key: string): boolean {
    return remove(this.books, r, key);
  }

  isWatchingBook(r: R, key: string): boolean {
    return this.books.get(key)?.has(r) ?? false;
  }

  watchTicker(r: R, key: string, snapshotSeq: number): boolean {
    return add(this.tickers, r, key, snapshotSeq);
  }

  unwatchTicker(r: R, key: string): boolean {
    return remove(this.tickers, r, key);
  }

  isWatchingTicker(r: R, key: string): boolean {
    return this.tickers.get(key)?.has(r) ?? false;
  }

  /** Forgets a recipient everywhere (on disconnect). */
  removeAll(r: R, books: Iterable<string>, tickers: Iterable<string>): void {
    if (r.userId !== null) this.removeUser(r, r.userId);
    for (const k of books) remove(this.books, r, k);
    for (const k of tickers) remove(this.tickers, r, k);
  }

  watcherCount(key: string): number {
    return this.books.get(key)?.size ?? 0;
  }

  // ------------------------------------------------------------ dispatch

  /** Sends every event of one applied command to its recipients. */
  dispatch(seq: number, events: readonly EngineEvent[]): void {
    this.lastSeq = seq;
    for (const e of events) {
      switch (e.type) {
        case 'BalanceChanged':
        case 'TradeVolumeChanged':
          this.toUser(e.userId, e, OWNER);
          break;
        case 'OrderOpened':
        case 'OrderModified':
        case 'OrderClosed':
          this.toUser(e.userId, e, OWNER);
          this.toWatchers(this.books, seq, e.base, e.counter, e.userId, e.userId, e);
          break;
        case 'OrdersMatched':
          if (e.bidUserId === e.askUserId) {
            this.toUser(e.bidUserId, e, BUYER | SELLER);
          } else {
            this.toUser(e.bidUserId, e, BUYER);
            this.toUser(e.askUserId, e, SELLER);
          }
          this.toWatchers(this.books, seq, e.base, e.counter, e.bidUserId, e.askUserId, e);
          break;
        case 'TickerChanged':
          this.toWatchers(this.tickers, seq, e.base, e.counter, null, null, e);
          break;
        default:
          break;
      }
    }
  }

  private toUser(userId: number, e: NoticeEvent, party: number): void {
    const set = this.users.get(userId);
    if (!set || set.size === 0) return;
    this.framesRendered++;
    if (set.size === 1) {
      const r = set.values().next().value as R;
      if (r.deliverText !== undefined) {
        r.deliverText(notice(e, party));
        return;
      }
    }
    const f = this.encode(notice(e, party));
    for (const r of set) r.deliver(f);
  }

  private toWatchers(
    index: Map<string, Map<R, number>>,
    seq: number,
    base: number,
    counter: number,
    partyA: number | null,
    partyB: number | null,
    e: NoticeEvent,
  ): void {
    const watchers = index.get(marketKey(base, counter));
    if (!watchers || watchers.size === 0) return;
    let bytes: Buffer | undefined;
    for (const [r, since] of watchers) {
      if (seq <= since) continue;
      const u = r.userId;
      if (u !== null && (u === partyA || u === partyB)) continue;
      if (bytes === undefined) {
        bytes = this.encode(notice(e, PUBLIC));
        this.framesRendered++;
      }
      r.deliver(bytes);
    }
  }
}

/** Events that become notices. */
type NoticeEvent = Extract<
  EngineEvent,
  { type: 'BalanceChanged' | 'TradeVolumeChanged' | 'OrderOpened' | 'OrderModified' | 'OrderClosed' | 'OrdersMatched' | 'TickerChanged' }
>;

/** Which version of a notice: for a book watcher, the owner, the buyer and/or the seller. */
const PUBLIC = 0;
const OWNER = 1;
const BUYER = 2;
const SELLER = 4;

/** An event's notice in the version for `party` (rendered here rather than in a closure per event and recipient kind). */
function notice(e: NoticeEvent, party: number): string {
  switch (e.type) {
    case 'BalanceChanged':
      return render.balanceChanged(e);
    case 'TradeVolumeChanged':
      return render.tradeVolumeChanged(e);
    case 'OrderOpened':
    case 'OrderModified':
      return render.orderOpenedOrModified(e, party === OWNER);
    case 'OrderClosed':
      return render.orderClosed(e, party === OWNER);
    case 'OrdersMatched':
      return render.ordersMatched(e, (party & BUYER) !== 0, (party & SELLER) !== 0);
    case 'TickerChanged':
      return render.tickerChanged(e);
  }
}

function add<R>(index: Map<string, Map<R, number>>, r: R, key: string, seq: number): boolean {
  let m = index.get(key);
  if (!m) index.set(key, (m = new Map()));
  if (m.has(r)) return false;
  m.set(r, seq);
  return true;
}

function remove<R>(index: Map<string, Map<R, number>>, r: R, key: string): boolean {
  const m = index.get(key);
  if (!m || !m.delete(r)) return false;
  if (m.size === 0) index.delete(key);
  return true;
}
