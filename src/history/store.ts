// The trade-history read model in SQLite: trades, each user's transactions (trades, deposits,
// withdrawals), closed orders and end-of-day balances, all derived from applied commands and
// their events. It remembers the last applied sequence number in the same transaction as the
// rows, so after a crash it is always consistent with some prefix of the journal and can catch up.
import Database from 'better-sqlite3';
import type { Applied } from '../server/context.js';
import type { OrderClosed, OrdersMatched } from '../core/types.js';

/** Transaction kinds, numbered as BIST's user_transactions `type`. */
export const TxKind = { DEPOSIT: 0, WITHDRAWAL: 1, TRADE: 2 } as const;
export type TxKind = (typeof TxKind)[keyof typeof TxKind];

export const MICROS_PER_DAY = 86_400_000_000;

/** One side of a trade as its user sees it. Quantity and total are signed: positive bought, negative sold. */
export interface UserTrade {
  /** Row id of this user-side record (unique per user transaction). */
  id: number;
  /** Public trade id (shared by both sides of the trade). */
  tid: number;
  time: number;
  base: number;
  counter: number;
  quantity: number;
  price: number;
  total: number;
  baseFee: number;
  counterFee: number;
  /** The user's limit order, or null when the user's side was a market order. */
  orderId: number | null;
}

/** A row of a user's transaction list: a trade side, a deposit or a withdrawal. */
export interface UserTransaction {
  id: number;
  kind: TxKind;
  time: number;
  /** For a trade, the market's base asset; for a transfer, the asset moved. */
  base: number;
  /** The market's counter asset; null for a transfer. */
  counter: number | null;
  /** Signed: a trade as in UserTrade, a deposit positive, a withdrawal negative. */
  quantity: number;
  price: number | null;
  total: number | null;
  baseFee: number | null;
  counterFee: number | null;
  orderId: number | null;
  tid: number | null;
}

export interface MarketTrade {
  tid: number;
  time: number;
  base: number;
  counter: number;
  /** Always positive. */
  quantity: number;
  price: number;
  total: number;
  takerSide: 'bid' | 'ask';
}

/** A closed order as the engine reported it (the OrderClosed event without its tag). */
export type ClosedOrder = Omit<OrderClosed, 'type'>;

export interface RangeQuery {
  /** Strictly after this micro-timestamp. */
  since?: number;
  /** Strictly before this micro-timestamp. */
  until?: number;
  sort: 'asc' | 'desc';
  limit: number;
}

export interface BalanceSnapshot {
  asset: number;
  available: number;
  reserved: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS trades (
  tid INTEGER PRIMARY KEY,
  seq INTEGER NOT NULL,
  time INTEGER NOT NULL,
  base INTEGER NOT NULL,
  counter INTEGER NOT NULL,
  quantity INTEGER NOT NULL,
  price INTEGER NOT NULL,
  total INTEGER NOT NULL,
  taker_side INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS trades_market_time ON trades (base, counter, time);
CREATE TABLE IF NOT EXISTS user_tx (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  time INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  base INTEGER NOT NULL,
  counter INTEGER,
  quantity INTEGER NOT NULL,
  price INTEGER,
  total INTEGER,
  base_fee INTEGER,
  counter_fee INTEGER,
  order_id INTEGER,
  tid INTEGER
);
CREATE INDEX IF NOT EXISTS user_tx_user_kind_time ON user_tx (user_id, kind, time);
CREATE INDEX IF NOT EXISTS user_tx_user_time ON user_tx (user_id, time);
CREATE TABLE IF NOT EXISTS closed_orders (
  id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  tonce INTEGER,
  base INTEGER NOT NULL,
  counter INTEGER NOT NULL,
  quantity INTEGER NOT NULL,
  price INTEGER NOT NULL,
  time INTEGER NOT NULL,
  time_closed INTEGER NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS closed_orders_user_time ON closed_orders (user_id, time_closed);
CREATE TABLE IF NOT EXISTS balance_days (
  user_id INTEGER NOT NULL,
  asset INTEGER NOT NULL,
  day INTEGER NOT NULL,
  available INTEGER NOT NULL,
  reserved INTEGER NOT NULL,
  PRIMARY KEY (user_id, asset, day)
) WITHOUT ROWID;
`;

const SCHEMA_VERSION = 1;

type Row = Record<string, number | string | null>;

function userTradeOf(r: Row): UserTrade {
  return {
    id: r.id as number,
    tid: r.tid as number,
    time: r.time as number,
    base: r.base as number,
    counter: r.counter as number,
    quantity: r.quantity as number,
    price: r.price as number,
    total: r.total as number,
    baseFee: r.base_fee as number,
    counterFee: r.counter_fee as number,
    orderId: r.order_id as number | null,
  };
}

function userTxOf(r: Row): UserTransaction {
  return {
    id: r.id as number,
    kind: r.kind as TxKind,
    time: r.time as number,
    base: r.base as number,
    counter: r.counter as number | null,
    quantity: r.quantity as number,
    price: r.price as number | null,
    total: r.total as number | null,
    baseFee: r.base_fee as number | null,
    counterFee: r.counter_fee as number | null,
    orderId: r.order_id as number | null,
    tid: r.tid as number | null,
  };
}

export class HistoryStore {
  private readonly db: Database.Database;
  private seq: number;
  private readonly stmt: {
    setSeq: Database.Statement;
    trade: Database.Statement;
    userTx: Database.Statement;
    closed: Database.Statement;
    balance: Database.Statement;
    tradesAsc: Database.Statement;
    tradesDesc: Database.Statement;
    tradeAt: Database.Statement;
    txAsc: Database.Statement;
    txDesc: Database.Statement;
    marketTrades: Database.Statement;
    closedAsc: Database.Statement;
    closedDesc: Database.Statement;
    balancesBefore: Database.Statement;
  };
  private readonly writeBatch: (applieds: readonly Applied[]) => void;

  /** Opens (creating if needed) the store in `file`; ":memory:" for tests. */
  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // The store can always be rebuilt from the journal; rows and last_seq commit together.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    const version = this.meta('schema_version');
    if (version === undefined) this.setMeta('schema_version', SCHEMA_VERSION);
    else if (version !== SCHEMA_VERSION) throw new Error(`history store ${file}: unsupported schema version ${version}`);
    this.seq = this.meta('last_seq') ?? 0;

    const range = (dir: 'ASC' | 'DESC') =>
      this.db.prepare(
        `SELECT * FROM user_tx WHERE user_id = ? AND kind = 2 AND time > ? AND time < ? ORDER BY time ${dir}, id ${dir} LIMIT ?`,
      );
    const txs = (dir: 'ASC' | 'DESC') =>
      this.db.prepare(
        `SELECT * FROM user_tx WHERE user_id = @user AND ((kind = 2 AND base = @base AND counter = @counter) OR (kind < 2 AND base IN (@base, @counter)))
         ORDER BY time ${dir}, id ${dir} LIMIT @limit OFFSET @offset`,
      );
    const closed = (dir: 'ASC' | 'DESC') =>
      this.db.prepare(
        `SELECT * FROM closed_orders WHERE user_id = ? AND time_closed > ? AND time_closed < ? ORDER BY time_closed ${dir}, rowid ${dir} LIMIT ?`,
      );
    this.stmt = {
      setSeq: this.db.prepare(`INSERT INTO meta (key, value) VALUES ('last_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
      trade: this.db.prepare(
        `INSERT INTO trades (seq, time, base, counter, quantity, price, total, taker_side) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      userTx: this.db.prepare(
        `INSERT INTO user_tx (user_id, seq, time, kind, base, counter, quantity, price, total, base_fee, counter_fee, order_id, tid)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      closed: this.db.prepare(
        `INSERT INTO closed_orders (id, user_id, seq, tonce, base, counter, quantity, price, time, time_closed, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      balance: this.db.prepare(
        `INSERT INTO balance_days (user_id, asset, day, available, reserved) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_id, asset, day) DO UPDATE SET available = excluded.available, reserved = excluded.reserved`,
      ),
      tradesAsc: range('ASC'),
      tradesDesc: range('DESC'),
      tradeAt: this.db.prepare(`SELECT * FROM user_tx WHERE user_id = ? AND kind = 2 AND time = ? ORDER BY id LIMIT 1`),
      txAsc: txs('ASC'),
      txDesc: txs('DESC'),
      marketTrades: this.db.prepare(
        `SELECT * FROM trades WHERE base = ? AND counter = ? AND time > ? ORDER BY time DESC, tid DESC LIMIT ?`,
      ),
      closedAsc: closed('ASC'),
      closedDesc: closed('DESC'),
      balancesBefore: this.db.prepare(
        `SELECT b.asset, b.available, b.reserved FROM balance_days b
         WHERE b.user_id = @user AND b.day = (SELECT MAX(day) FROM balance_days WHERE user_id = @user AND asset = b.asset AND day < @day)`,
      ),
    };
    this.writeBatch = this.db.transaction((applieds: readonly Applied[]) => {
      let last = this.seq;
      for (const a of applieds) {
        if (a.seq <= last) continue; // already stored (replay and live feed overlap)
        this.apply(a);
        last = a.seq;
      }
      if (last !== this.seq) this.stmt.setSeq.run(last);
      this.seq = last;
    });
  }

  /** Sequence number of the last applied command reflected in the store (0 when empty). */
  get lastSeq(): number {
    return this.seq;
  }

  private meta(key: string): number | undefined {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: number } | undefined;
    return r?.value;
  }

  private setMeta(key: string, value: number): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** Deletes every row (a store ahead of its journal belongs to another history). */
  reset(): void {
    this.db.exec('DELETE FROM trades; DELETE FROM user_tx; DELETE FROM closed_orders; DELETE FROM balance_days;');
    this.setMeta('last_seq', 0);
    this.seq = 0;
  }

  /** Writes applied commands in one transaction; those at or below lastSeq are skipped. */
  write(applieds: readonly Applied[]): void {
    if (applieds.length === 0) return;
    this.writeBatch(applieds);
  }

  private apply(a: Applied): void {
    const cmd = a.command;
    if ((cmd.type === 'Deposit' || cmd.type === 'Withdraw') && a.result.ok) {
      const sign = cmd.type === 'Deposit' ? 1 : -1;
      const kind = cmd.type === 'Deposit' ? TxKind.DEPOSIT : TxKind.WITHDRAWAL;
      this.stmt.userTx.run(cmd.userId, a.seq, a.time, kind, cmd.asset, null, sign * cmd.amount, null, null, null, null, null, null);
    }
    const day = Math.floor(a.time / MICROS_PER_DAY);
    for (const ev of a.events) {
      switch (ev.type) {
        case 'OrdersMatched':
          this.trade(a.seq, ev);
          break;
        case 'OrderClosed':
          this.stmt.closed.run(ev.id, ev.userId, a.seq, ev.tonce, ev.base, ev.counter, ev.quantity, ev.price, ev.time, ev.timeClosed, ev.reason);
          break;
        case 'BalanceChanged':
          this.stmt.balance.run(ev.userId, ev.asset, day, ev.available, ev.reserved);
          break;
        default:
          break;
      }
    }
  }

  private trade(seq: number, m: OrdersMatched): void {
    const info = this.stmt.trade.run(seq, m.time, m.base, m.counter, m.quantity, m.price, m.total, m.takerSide === 'bid' ? 0 : 1);
    const tid = Number(info.lastInsertRowid);
    this.stmt.userTx.run(m.bidUserId, seq, m.time, TxKind.TRADE, m.base, m.counter, m.quantity, m.price, m.total, m.bidBaseFee, m.bidCounterFee, m.bid, tid);
    this.stmt.userTx.run(m.askUserId, seq, m.time, TxKind.TRADE, m.base, m.counter, -m.quantity, m.price, -m.total, m.askBaseFee, m.askCounterFee, m.ask, tid);
  }

  // ------------------------------------------------------------ queries

  /** A user's trades in (since, until), sorted by time then record id. */
  userTrades(userId: number, q: RangeQuery): UserTrade[] {
    const stmt = q.sort === 'asc' ? this.stmt.tradesAsc : this.stmt.tradesDesc;
    const rows = stmt.all(userId, q.since ?? -1, q.until ?? Number.MAX_SAFE_INTEGER, q.limit) as Row[];
    return rows.map(userTradeOf);
  }

  /** The user's first trade record at exactly `time`. */
  userTradeAt(userId: number, time: number): UserTrade | undefined {
    const r = this.stmt.tradeAt.get(userId, time) as Row | undefined;
    return r === undefined ? undefined : userTradeOf(r);
  }

  /** A user's trades in one market plus deposits and withdrawals of either of its assets. */
  userTransactions(userId: number, base: number, counter: number, q: { offset: number; limit: number; sort: 'asc' | 'desc' }): UserTransaction[] {
    const stmt = q.sort === 'asc' ? this.stmt.txAsc : this.stmt.txDesc;
    const rows = stmt.all({ user: userId, base, counter, limit: q.limit, offset: q.offset }) as Row[];
    return rows.map(userTxOf);
  }

  /** Trades of a market strictly after `since`, newest first. */
  marketTrades(base: number, counter: number, since: number, limit: number): MarketTrade[] {
    const rows = this.stmt.marketTrades.all(base, counter, since, limit) as Row[];
    return rows.map((r) => ({
      tid: r.tid as number,
      time: r.time as number,
      base: r.base as number,
      counter: r.counter as number,
      quantity: r.quantity as number,
      price: r.price as number,
      total: r.total as number,
      takerSide: r.taker_side === 0 ? 'bid' : 'ask',
    }));
  }

  /** A user's closed orders with time_closed in (since, until). */
  closedOrders(userId: number, q: RangeQuery): ClosedOrder[] {
    const stmt = q.sort === 'asc' ? this.stmt.closedAsc : this.stmt.closedDesc;
    const rows = stmt.all(userId, q.since ?? -1, q.until ?? Number.MAX_SAFE_INTEGER, q.limit) as Row[];
    return rows.map((r) => ({
      id: r.id as number,
      userId: r.user_id as number,
      tonce: r.tonce as number | null,
      base: r.base as number,
      counter: r.counter as number,
      quantity: r.quantity as number,
      price: r.price as number,
      time: r.time as number,
      timeClosed: r.time_closed as number,
      reason: r.reason as ClosedOrder['reason'],
    }));
  }

  /**
   * The user's balances as they stood at the start of `day` (days since the epoch, UTC): for each
   * asset, the last balance recorded on an earlier day. Assets never touched before are absent.
   */
  balancesAtStartOfDay(userId: number, day: number): BalanceSnapshot[] {
    return this.stmt.balancesBefore.all({ user: userId, day }) as BalanceSnapshot[];
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
