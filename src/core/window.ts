// Trailing windows over time buckets: the 24 h market ticker (minute buckets) and the 30-day
// trade volume of a user (day buckets). Time comes from commands, so both replay exactly.
import { MAX_SAFE } from './arith.js';

export const MINUTE_US = 60_000_000;
const DAY_US = 86_400_000_000;
const TICKER_BUCKETS = 1440;
const VOLUME_BUCKETS = 30;

/** The minute (since the epoch) holding timeUs: the ticker window's bucket clock. */
export function minuteOf(timeUs: number): number {
  return Math.floor(timeUs / MINUTE_US);
}

/** The day (since the epoch) holding timeUs: the volume windows' bucket clock. */
export function dayOf(timeUs: number): number {
  return Math.floor(timeUs / DAY_US);
}

export interface TradeWindowState {
  /** [minute, low, high, volume, total] for each non-empty bucket. */
  buckets: [number, number, number, number, number][];
}

/** Trades of the trailing 24 hours in one-minute buckets: low, high, base volume, counter total. */
export class TradeWindow {
  private readonly minute = new Float64Array(TICKER_BUCKETS).fill(-1);
  private readonly low = new Float64Array(TICKER_BUCKETS);
  private readonly high = new Float64Array(TICKER_BUCKETS);
  private readonly vol = new Float64Array(TICKER_BUCKETS);
  private readonly tot = new Float64Array(TICKER_BUCKETS);
  volume = 0;
  total = 0;
  lowest: number | null = null;
  highest: number | null = null;
  private current = -Infinity;
  private filled = 0;

  /**
   * Expires buckets that fell out of the window ending in minute `now` (minuteOf(time)). Returns
   * true if anything expired. Minutes, not times, so the engine divides once per minute of its
   * clock instead of on every trade.
   */
  advance(now: number): boolean {
    if (now <= this.current) return false;
    this.current = now;
    if (this.filled === 0) return false;
    const cutoff = now - TICKER_BUCKETS;
    let expired = false;
    for (let i = 0; i < TICKER_BUCKETS; i++) {
      const m = this.minute[i]!;
      if (m >= 0 && m <= cutoff) {
        this.volume -= this.vol[i]!;
        this.total -= this.tot[i]!;
        this.minute[i] = -1;
        this.filled--;
        expired = true;
      }
    }
    if (expired) this.recomputeExtremes();
    return expired;
  }

  /** Adds a trade in minute m (minuteOf(time)). */
  add(m: number, price: number, quantity: number, total: number): void {
    this.advance(m);
    const i = m % TICKER_BUCKETS;
    if (this.minute[i] !== m) {
      this.minute[i] = m;
      this.low[i] = price;
      this.high[i] = price;
      this.vol[i] = 0;
      this.tot[i] = 0;
      this.filled++;
    } else {
      if (price < this.low[i]!) this.low[i] = price;
      if (price > this.high[i]!) this.high[i] = price;
    }
    this.vol[i]! += quantity;
    this.tot[i]! += total;
    this.volume += quantity;
    this.total += total;
    if (this.lowest === null || price < this.lowest) this.lowest = price;
    if (this.highest === null || price > this.highest) this.highest = price;
  }

  private recomputeExtremes(): void {
    let lo: number | null = null;
    let hi: number | null = null;
    for (let i = 0; i < TICKER_BUCKETS; i++) {
      if (this.minute[i]! < 0) continue;
      if (lo === null || this.low[i]! < lo) lo = this.low[i]!;
      if (hi === null || this.high[i]! > hi) hi = this.high[i]!;
    }
    this.lowest = lo;
    this.highest = hi;
  }

  /** Buckets still inside the window ending at nowUs (expiry is lazy, so filter here). */
  serialize(nowUs: number): TradeWindowState {
    const buckets: TradeWindowState['buckets'] = [];
    const cutoff = minuteOf(nowUs) - TICKER_BUCKETS;
    for (let i = 0; i < TICKER_BUCKETS; i++) {
      if (this.minute[i]! > cutoff) buckets.push([this.minute[i]!, this.low[i]!, this.high[i]!, this.vol[i]!, this.tot[i]!]);
    }
    buckets.sort((a, b) => a[0] - b[0]);
    return { buckets };
  }

  static restore(state: TradeWindowState, nowUs: number): TradeWindow {
    const w = new TradeWindow();
    for (const [m, lo, hi, v, t] of state.buckets) {
      const i = m % TICKER_BUCKETS;
      w.minute[i] = m;
      w.low[i] = lo;
      w.high[i] = hi;
      w.vol[i] = v;
      w.tot[i] = t;
      w.volume += v;
      w.total += t;
      w.filled++;
    }
    w.recomputeExtremes();
    w.current = nowUs > 0 ? minuteOf(nowUs) : -Infinity;
    return w;
  }
}

/** A day's bucket (engine time is never negative; the modulo keeps a negative day inside its region all the same). */
function bucketOf(day: number): number {
  return ((day % VOLUME_BUCKETS) + VOLUME_BUCKETS) % VOLUME_BUCKETS;
}

/** Numbers per volume window in a VolumeStore: a 4-number header, then 30 (day, volume) buckets. */
export const VOLUME_REGION = 64;
/** Header: the day the memo holds the sum for (NaN: none), that sum, the day and bucket of the last add() (NaN: none). */
const V_SUM_DAY = 0;
const V_SUM = 1;
const V_ADD_DAY = 2;
const V_ADD_INDEX = 3;
const V_BUCKETS = 4;

/**
 * Every user's 30-day trailing volumes, one window per (user, asset) that ever traded, as
 * regions of one Float64Array (window w at data[w * VOLUME_REGION ..]). A window used to be an
 * object with two arrays: a trade touched five or six scattered objects per user to add its
 * volume and read the fee tier, and with many users each of them was a cache miss. Here an add
 * touches the header (the memo) and one bucket, both in one 512-byte region.
 */
export class VolumeStore {
  data = new Float64Array(VOLUME_REGION * 64);
  /** Set by the engine while a window's TradeVolumeChanged is due at the end of the command. */
  pending = new Uint8Array(64);
  /** Windows in use (ids 0 .. count - 1). */
  count = 0;

  /** A new, empty window's id. */
  create(): number {
    if ((this.count + 1) * VOLUME_REGION > this.data.length) {
      const data = new Float64Array(this.data.length * 2);
      data.set(this.data);
      this.data = data;
      const pending = new Uint8Array(this.pending.length * 2);
      pending.set(this.pending);
      this.pending = pending;
    }
    const w = this.count++;
    const d = this.data;
    const o = w * VOLUME_REGION;
    d[o + V_SUM_DAY] = NaN;
    d[o + V_SUM] = 0;
    d[o + V_ADD_DAY] = NaN;
    d[o + V_ADD_INDEX] = 0;
    for (let i = 0; i < VOLUME_BUCKETS; i++) {
      d[o + V_BUCKETS + 2 * i] = -1;
      d[o + V_BUCKETS + 2 * i + 1] = 0;
    }
    return w;
  }

  /** Adds a non-negative integer amount on day `day` (dayOf(time)) to window w. */
  add(w: number, day: number, amount: number): void {
    const d = this.data;
    const o = w * VOLUME_REGION;
    if (day !== d[o + V_ADD_DAY]) {
      const i = bucketOf(day);
      const b = o + V_BUCKETS + 2 * i;
      if (d[b] !== day) {
        d[b] = day;
        d[b + 1] = 0;
      }
      d[o + V_ADD_DAY] = day;
      d[o + V_ADD_INDEX] = i;
    }
    d[o + V_BUCKETS + 2 * d[o + V_ADD_INDEX]! + 1]! += amount;
    if (day === d[o + V_SUM_DAY]) {
      // The bucket written holds day `day`. Whatever it held before was that day (in the sum) or
      // another day with the same residue, which lies outside the memo's 30 days (not in the
      // sum): the sum grows by exactly `amount` either way. Only a sum of at most MAX_SAFE is
      // kept: every partial sum is then exact in either order of addition, so the memo equals a
      // fresh sum bit for bit.
      const s = d[o + V_SUM]! + amount;
      if (s <= MAX_SAFE) d[o + V_SUM] = s;
      else d[o + V_SUM_DAY] = NaN;
    } else {
      // A write on another day may overwrite a bucket inside the memo's 30 days.
      d[o + V_SUM_DAY] = NaN;
    }
  }

  /** Window w's sum of the buckets within the 30 days ending on day `day` (memoised: fee tiers read it on every trade). */
  sum(w: number, day: number): number {
    const d = this.data;
    const o = w * VOLUME_REGION;
    if (day === d[o + V_SUM_DAY]) return d[o + V_SUM]!;
    let s = 0;
    for (let i = 0; i < VOLUME_BUCKETS; i++) {
      const bd = d[o + V_BUCKETS + 2 * i]!;
      if (bd > day - VOLUME_BUCKETS && bd <= day) s += d[o + V_BUCKETS + 2 * i + 1]!;
    }
    if (s <= MAX_SAFE) {
      d[o + V_SUM_DAY] = day;
      d[o + V_SUM] = s;
    }
    return s;
  }

  /** Window w's non-empty buckets as [day, volume], by day. */
  serialize(w: number): [number, number][] {
    const d = this.data;
    const o = w * VOLUME_REGION;
    const out: [number, number][] = [];
    for (let i = 0; i < VOLUME_BUCKETS; i++) {
      const day = d[o + V_BUCKETS + 2 * i]!;
      if (day >= 0) out.push([day, d[o + V_BUCKETS + 2 * i + 1]!]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  /** A new window holding these buckets (no memo: its first sum is computed). */
  restore(buckets: [number, number][]): number {
    const w = this.create();
    const d = this.data;
    const o = w * VOLUME_REGION;
    for (const [day, v] of buckets) {
      const b = o + V_BUCKETS + 2 * bucketOf(day);
      d[b] = day;
      d[b + 1] = v;
    }
    return w;
  }
}
