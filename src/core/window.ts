// Trailing windows over time buckets: the 24 h market ticker (minute buckets) and the 30-day
// trade volume of a user (day buckets). Time comes from commands, so both replay exactly.
import { MAX_SAFE } from './arith.js';

const MINUTE_US = 60_000_000;
const DAY_US = 86_400_000_000;
const TICKER_BUCKETS = 1440;
const VOLUME_BUCKETS = 30;

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

  /** Expires buckets that fell out of the window ending at `timeUs`. Returns true if anything expired. */
  advance(timeUs: number): boolean {
    const now = Math.floor(timeUs / MINUTE_US);
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

  add(timeUs: number, price: number, quantity: number, total: number): void {
    this.advance(timeUs);
    const m = Math.floor(timeUs / MINUTE_US);
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
    const cutoff = Math.floor(nowUs / MINUTE_US) - TICKER_BUCKETS;
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
    w.current = nowUs > 0 ? Math.floor(nowUs / MINUTE_US) : -Infinity;
    return w;
  }
}

/** One user's 30-day trailing volume in one asset, in day buckets. */
export class VolumeWindow {
  private readonly day = new Array<number>(VOLUME_BUCKETS).fill(-1);
  private readonly vol = new Array<number>(VOLUME_BUCKETS).fill(0);
  /**
   * Memo of sum(): the day it holds the sum for (NaN: none) and that sum. Fee tiers read the sum
   * on every trade, so it is kept up to date by add() instead of re-adding 30 buckets. Only a sum
   * of at most MAX_SAFE is kept: every partial sum is then exact in either order of addition, so
   * the memo equals a fresh sum() bit for bit.
   */
  private sumDay = NaN;
  private sumValue = 0;
  /**
   * Day and bucket of the last add() (NaN: none): that bucket holds that day until an add() on
   * another day, so a same-day add() skips finding and checking the bucket.
   */
  private addDay = NaN;
  private addIndex = 0;
  /** Set by the engine while this window's TradeVolumeChanged is due at the end of the command. */
  pending = false;

  /** Adds a non-negative integer amount at timeUs. */
  add(timeUs: number, amount: number): void {
    const d = Math.floor(timeUs / DAY_US);
    if (d !== this.addDay) {
      const i = d % VOLUME_BUCKETS;
      if (this.day[i] !== d) {
        this.day[i] = d;
        this.vol[i] = 0;
      }
      this.addDay = d;
      this.addIndex = i;
    }
    this.vol[this.addIndex]! += amount;
    if (d === this.sumDay) {
      // The bucket written holds day d. Whatever it held before was day d (in the sum) or another
      // day with the same residue, which lies outside d's 30 days (not in the sum): the sum grows
      // by exactly `amount` either way.
      const s = this.sumValue + amount;
      if (s <= MAX_SAFE) this.sumValue = s;
      else this.sumDay = NaN;
    } else {
      // A write on another day may overwrite a bucket inside the memo's 30 days.
      this.sumDay = NaN;
    }
  }

  /** Sum of the buckets within the 30 days ending at timeUs. */
  sum(timeUs: number): number {
    const d = Math.floor(timeUs / DAY_US);
    if (d === this.sumDay) return this.sumValue;
    let s = 0;
    for (let i = 0; i < VOLUME_BUCKETS; i++) {
      const bd = this.day[i]!;
      if (bd > d - VOLUME_BUCKETS && bd <= d) s += this.vol[i]!;
    }
    // Only for d >= 0: add() on a negative day writes outside the 30 buckets this loop reads.
    if (d >= 0 && s <= MAX_SAFE) {
      this.sumDay = d;
      this.sumValue = s;
    }
    return s;
  }

  serialize(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < VOLUME_BUCKETS; i++) if (this.day[i]! >= 0) out.push([this.day[i]!, this.vol[i]!]);
    return out.sort((a, b) => a[0] - b[0]);
  }

  static restore(buckets: [number, number][]): VolumeWindow {
    const w = new VolumeWindow();
    for (const [d, v] of buckets) {
      const i = d % VOLUME_BUCKETS;
      w.day[i] = d;
      w.vol[i] = v;
    }
    return w;
  }
}
