// The trade-history read model in SQLite: trades, each user's transactions (trades, deposits,
// withdrawals), closed orders and end-of-day balances, all derived from applied commands and
// their events. It remembers the last applied sequence number in the same transaction as the
// rows, so after a crash it is always consistent with some prefix of the journal and can catch up.
import Database from 'better-sqlite3';
import type { Applied } from '../server/context.js';
import type { OrderClosed } from '../core/types.js';

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

/** Slots of the writer thread's shared BigInt64Array (worker.ts): its lastSeq, and 1 once closed. */
export const WRITER_SEQ = 0;
export const WRITER_CLOSED = 1;

/** Row kinds in a row batch; each row is [op, seq, …fields] with a fixed length per kind. */
const Op = { TRANSFER: 0, TRADE: 1, CLOSED: 2, BALANCE: 3 } as const;
const ROW_LENGTH = [7, 17, 12, 7];

const REASONS = ['filled', 'cancelled', 'killed', 'disconnected', 'exhausted'] as const;
const REASON_CODE: Record<OrderClosed['reason'], number> = { filled: 0, cancelled: 1, killed: 2, disconnected: 3, exhausted: 4 };

/** null travels as NaN (every other value is a safe integer, exact in a double). */
const nul = (v: number | null): number => (v === null ? NaN : v);
const den = (x: number): number | null => (x !== x ? null : x);

/**
 * A growable batch of rows as doubles: what the store records of applied commands, cheap to
 * build on the matching thread and to hand to the writer thread. The doubles live in shared
 * memory, so posting a batch copies nothing (V8's structured clone of a plain typed array costs
 * ~10 ns per byte); the poster never writes to a batch again once it is posted.
 */
export class RowBuffer {
  data: Float64Array;
  length = 0;
  /** Applied commands whose rows are in the buffer, and the seq of the last one. */
  commands = 0;
  lastSeq = 0;

  constructor(capacity = 1024) {
    this.data = sharedDoubles(capacity);
  }

  /** Makes room for n more values and returns the index of the first. */
  reserve(n: number): number {
    const need = this.length + n;
    if (need > this.data.length) {
      const d = sharedDoubles(Math.max(need, this.data.length * 2));
      d.set(this.data.subarray(0, this.length));
      this.data = d;
    }
    const i = this.length;
    this.length = need;
    return i;
  }

  /** The values written so far (a view). */
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

function sharedDoubles(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(n * Float64Array.BYTES_PER_ELEMENT));
}

/** Appends what the store records of one applied command to `out`. */
export function rowsOf(a: Applied, out: RowBuffer): void {
  const cmd = a.command;
  const seq = a.seq;
  out.commands++;
  out.lastSeq = seq;
  if ((cmd.type === 'Deposit' || cmd.type === 'Withdraw') && a.result.ok) {
    const deposit = cmd.type === 'Deposit';
    const i = out.reserve(7);
    const d = out.data;
    d[i] = Op.TRANSFER;
    d[i + 1] = seq;
    d[i + 2] = cmd.userId;
    d[i + 3] = a.time;
    d[i + 4] = deposit ? TxKind.DEPOSIT : TxKind.WITHDRAWAL;
    d[i + 5] = cmd.asset;
    d[i + 6] = deposit ? cmd.amount : -cmd.amount;
  }
  const events = a.events;
  let day = -1;
  for (let k = 0; k < events.length; k++) {
    const ev = events[k]!;
    switch (ev.type) {
      case 'OrdersMatched': {
        const i = out.reserve(17);
        const d = out.data;
        d[i] = Op.TRADE;
        d[i + 1] = seq;
        d[i + 2] = ev.time;
        d[i + 3] = ev.base;
        d[i + 4] = ev.counter;
        d[i + 5] = ev.quantity;
        d[i + 6] = ev.price;
        d[i + 7] = ev.total;
        d[i + 8] = ev.takerSide === 'bid' ? 0 : 1;
        d[i + 9] = ev.bidUserId;
        d[i + 10] = ev.bidBaseFee;
        d[i + 11] = ev.bidCounterFee;
        d[i + 12] = nul(ev.bid);
        d[i + 13] = ev.askUserId;
        d[i + 14] = ev.askBaseFee;
        d[i + 15] = ev.askCounterFee;
        d[i + 16] = nul(ev.ask);
        break;
      }
      case 'OrderClosed': {
        const i = out.reserve(12);
        const d = out.data;
        d[i] = Op.CLOSED;
        d[i + 1] = seq;
        d[i + 2] = ev.id;
        d[i + 3] = ev.userId;
        d[i + 4] = nul(ev.tonce);
        d[i + 5] = ev.base;
        d[i + 6] = ev.counter;
        d[i + 7] = ev.quantity;
        d[i + 8] = ev.price;
        d[i + 9] = ev.time;
        d[i + 10] = ev.timeClosed;
        d[i + 11] = REASON_CODE[ev.reason];
        break;
      }
      case 'BalanceChanged': {
        if (day < 0) day = Math.floor(a.time / MICROS_PER_DAY);
        const i = out.reserve(7);
        const d = out.data;
        d[i] = Op.BALANCE;
        d[i + 1] = seq;
        d[i + 2] = ev.userId;
        d[i + 3] = ev.asset;
        d[i + 4] = day;
        d[i + 5] = ev.available;
        d[i + 6] = ev.reserved;
        break;
      }
      default:
        break;
    }
  }
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
  private readonly writeBatch: (rows: Float64Array, lastSeq: number) => void;

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
    const readSeq = this.db.prepare(`SELECT value FROM meta WHERE key = 'last_seq'`);
    this.writeBatch = this.db.transaction((rows: Float64Array, lastSeq: number) => {
      // Read inside the transaction: another connection (the writer thread, or this one before
      // it started) may have written since this object last looked.
      const from = (readSeq.get() as { value: number } | undefined)?.value ?? 0;
      this.seq = from;
      const st = this.stmt;
      const n = rows.length;
      // End-of-day balances: only the last value of each (user, asset, day) in the batch is
      // written; the upsert would overwrite the earlier ones in the same transaction anyway.
      const balances = new Map<string, number>();
      let i = 0;
      while (i < n) {
        const op = rows[i]!;
        const seq = rows[i + 1]!;
        const len = ROW_LENGTH[op];
        if (len === undefined) throw new Error(`history rows: unknown row kind ${op} at ${i}`);
        if (seq > from) {
          if (op === Op.TRANSFER) {
            st.userTx.run(rows[i + 2], seq, rows[i + 3], rows[i + 4], rows[i + 5], null, rows[i + 6], null, null, null, null, null, null);
          } else if (op === Op.TRADE) {
            const time = rows[i + 2];
            const base = rows[i + 3];
            const counter = rows[i + 4];
            const quantity = rows[i + 5]!;
            const price = rows[i + 6];
            const total = rows[i + 7]!;
            const info = st.trade.run(seq, time, base, counter, quantity, price, total, rows[i + 8]);
            const tid = Number(info.lastInsertRowid);
            st.userTx.run(rows[i + 9], seq, time, TxKind.TRADE, base, counter, quantity, price, total, rows[i + 10], rows[i + 11], den(rows[i + 12]!), tid);
            st.userTx.run(rows[i + 13], seq, time, TxKind.TRADE, base, counter, -quantity, price, -total, rows[i + 14], rows[i + 15], den(rows[i + 16]!), tid);
          } else if (op === Op.CLOSED) {
            st.closed.run(
              rows[i + 2], rows[i + 3], seq, den(rows[i + 4]!), rows[i + 5], rows[i + 6], rows[i + 7], rows[i + 8], rows[i + 9], rows[i + 10],
              REASONS[rows[i + 11]!] ?? 'unknown',
            );
          } else {
            balances.set(`${rows[i + 2]},${rows[i + 3]},${rows[i + 4]}`, i);
          }
        }
        i += len;
      }
      for (const j of balances.values()) st.balance.run(rows[j + 2], rows[j + 3], rows[j + 4], rows[j + 5], rows[j + 6]);
      if (lastSeq > from) {
        st.setSeq.run(lastSeq);
        this.seq = lastSeq;
      }
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
    const rows = new RowBuffer();
    for (const a of applieds) rowsOf(a, rows);
    this.writeRows(rows.values(), applieds[applieds.length - 1]!.seq);
  }

  /**
   * Writes rows made by rowsOf (for commands up to `lastSeq`, in sequence order) in one
   * transaction; rows of commands at or below lastSeq are skipped. The writer thread uses this.
   */
  writeRows(rows: Float64Array, lastSeq: number): void {
    this.writeBatch(rows, lastSeq);
  }

  /** Re-reads lastSeq from the database (after another connection wrote to it). */
  refreshLastSeq(): number {
    this.seq = this.meta('last_seq') ?? 0;
    return this.seq;
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
