// Live orders by id, for CancelOrder / ModifyOrder / GetOrders by id. A Map<number, Order> did
// this before; under the engine's churn (every order is inserted once and deleted once) its
// ordered hash table keeps growing tombstones and rehashing, which showed up as the single
// largest cost of placing an order. This table allocates nothing after it has grown.
//
// Open addressing with linear probing over a power-of-two table, multiplicative (Fibonacci)
// hashing, backward-shift deletion (no tombstones), load factor between 1/8 and 1/2. Order ids
// are issued by the engine, one after another. Not the id's low bits as the home slot:
// consecutive ids then fill one contiguous run of slots, and both backward-shift deletion and a
// probe landing inside the run walk to its end (with 1,000,000 resting orders a cancel cost
// ~150 µs). Instead the id's group of four (id >>> 2) is hashed and the four take 64 adjacent
// bytes of slots (one or two cache lines, one page): orders placed one after another are added
// and looked up in memory already in cache, not in a line and often a page of their own each.
// bench:engine ran faster than with every id hashed on its own in 4 alternating pairs of 4
// (8–13 % in the three quieter ones), and the groups tile the table, so consecutive ids still
// sit at their home slots. Ids and handles are numbers side by side, so a probe compares ids
// without touching any order's memory.
import { NO_ORDER } from './book.js';

const MIN_BITS = 6;

export class OrderTable {
  /**
   * Slot i is entries[2i] (the id) and entries[2i + 1] (the order's pool handle, NO_ORDER where
   * empty): a probe reads one cache line, not one in an id array and one in a handle array.
   */
  private entries = emptyEntries(MIN_BITS);
  private bits = MIN_BITS;
  private mask = (1 << MIN_BITS) - 1;
  size = 0;

  /**
   * Home slot of an id: its group (id >>> 2, both 32-bit halves mixed) hashed to the top
   * `bits - 2` bits of the product, then the id's place in its group of four.
   */
  private home(id: number): number {
    const lo = id >>> 0;
    const hi = (id / 4294967296) >>> 0;
    const group = Math.imul((lo >>> 2) ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (34 - this.bits);
    return (group << 2) | (lo & 3);
  }

  /** The handle of the order with this id, or NO_ORDER. */
  get(id: number): number {
    const e = this.entries;
    const mask = this.mask;
    for (let i = this.home(id); ; i = (i + 1) & mask) {
      const h = e[2 * i + 1]!;
      if (h === NO_ORDER) return NO_ORDER;
      if (e[2 * i] === id) return h;
    }
  }

  /** Sizes the table for n more orders at once (restore: no rehash per doubling). */
  reserve(n: number): void {
    let bits = this.bits;
    while ((this.size + n) * 2 > 1 << bits) bits++;
    if (bits > this.bits) this.resize(bits);
  }

  /** Adds an order whose id is not in the table. */
  add(h: number, id: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.resize(this.bits + 1);
    this.place(h, id);
    this.size++;
  }

  private place(h: number, id: number): void {
    const e = this.entries;
    const mask = this.mask;
    let i = this.home(id);
    while (e[2 * i + 1] !== NO_ORDER) i = (i + 1) & mask;
    e[2 * i] = id;
    e[2 * i + 1] = h;
  }

  /** Removes the order with this id; does nothing if it is not in the table. */
  delete(id: number): void {
    const e = this.entries;
    const mask = this.mask;
    let i = this.home(id);
    for (;;) {
      if (e[2 * i + 1] === NO_ORDER) return;
      if (e[2 * i] === id) break;
      i = (i + 1) & mask;
    }
    // Backward shift: pull later entries of the probe run into the hole when their home slot
    // does not lie cyclically in (hole, their slot], so every entry stays reachable from home.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const o = e[2 * j + 1]!;
      if (o === NO_ORDER) break;
      const key = e[2 * j]!;
      const h = this.home(key);
      if (((j - h) & mask) >= ((j - i) & mask)) {
        e[2 * i] = key;
        e[2 * i + 1] = o;
        i = j;
      }
    }
    e[2 * i + 1] = NO_ORDER;
    this.size--;
    if (this.bits > MIN_BITS && this.size * 8 < this.mask + 1) this.resize(this.bits - 1);
  }

  /**
   * Longest run of occupied slots (a cyclic run counts once). Deletion and a failed lookup walk
   * to the end of their run, so this bounds their cost; for tests and diagnostics, O(table).
   */
  longestRun(): number {
    const e = this.entries;
    const n = this.mask + 1;
    let start = 0;
    while (start < n && e[2 * start + 1] !== NO_ORDER) start++;
    if (start === n) return n;
    let longest = 0;
    let run = 0;
    for (let k = 1; k <= n; k++) {
      if (e[2 * ((start + k) % n) + 1] !== NO_ORDER) {
        run++;
        if (run > longest) longest = run;
      } else run = 0;
    }
    return longest;
  }

  private resize(bits: number): void {
    const old = this.entries;
    const n = this.mask + 1;
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    this.entries = emptyEntries(bits);
    for (let i = 0; i < n; i++) {
      const h = old[2 * i + 1]!;
      if (h !== NO_ORDER) this.place(h, old[2 * i]!);
    }
  }
}

/** A table of 2^bits empty slots. */
function emptyEntries(bits: number): Float64Array {
  const e = new Float64Array(2 << bits);
  for (let i = 1; i < e.length; i += 2) e[i] = NO_ORDER;
  return e;
}
