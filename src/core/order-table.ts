// Live orders by id, for CancelOrder / ModifyOrder / GetOrders by id. A Map<number, Order> did
// this before; under the engine's churn (every order is inserted once and deleted once) its
// ordered hash table keeps growing tombstones and rehashing, which showed up as the single
// largest cost of placing an order. This table allocates nothing after it has grown.
//
// Open addressing with linear probing over a power-of-two table, multiplicative (Fibonacci)
// hashing of the id, backward-shift deletion (no tombstones), load factor between 1/8 and 1/2.
// Order ids are issued by the engine, one after another, so they spread evenly. Not the id's
// low bits as the home slot: consecutive ids then fill one contiguous run of slots, and both
// backward-shift deletion and a probe landing inside the run walk to its end (with 1,000,000
// resting orders a cancel cost ~150 µs). The ids are kept beside the slots so a probe compares
// numbers without touching each order's memory.
import type { Order } from './book.js';

const MIN_BITS = 6;

export class OrderTable {
  /** Id per slot (valid where `slots` holds an order). */
  private keys = new Float64Array(1 << MIN_BITS);
  private slots: (Order | null)[] = new Array<Order | null>(1 << MIN_BITS).fill(null);
  private bits = MIN_BITS;
  private mask = (1 << MIN_BITS) - 1;
  size = 0;

  /** Home slot of an id: both 32-bit halves mixed, the top `bits` bits of the product. */
  private home(id: number): number {
    const lo = id >>> 0;
    const hi = (id / 4294967296) >>> 0;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - this.bits);
  }

  get(id: number): Order | undefined {
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = this.home(id); ; i = (i + 1) & mask) {
      const o = slots[i]!;
      if (o === null) return undefined;
      if (keys[i] === id) return o;
    }
  }

  /** Adds an order whose id is not in the table. */
  add(order: Order): void {
    if ((this.size + 1) * 2 > this.slots.length) this.resize(this.bits + 1);
    this.place(order);
    this.size++;
  }

  private place(order: Order): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.home(order.id);
    while (slots[i] !== null) i = (i + 1) & mask;
    slots[i] = order;
    this.keys[i] = order.id;
  }

  /** Removes this order (by identity); does nothing if it is not in the table. */
  delete(order: Order): void {
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    let i = this.home(order.id);
    for (;;) {
      const o = slots[i]!;
      if (o === null) return;
      if (o === order) break;
      i = (i + 1) & mask;
    }
    // Backward shift: pull later entries of the probe run into the hole when their home slot
    // does not lie cyclically in (hole, their slot], so every entry stays reachable from home.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const o = slots[j]!;
      if (o === null) break;
      const h = this.home(keys[j]!);
      if (((j - h) & mask) >= ((j - i) & mask)) {
        slots[i] = o;
        keys[i] = keys[j]!;
        i = j;
      }
    }
    slots[i] = null;
    this.size--;
    if (this.bits > MIN_BITS && this.size * 8 < slots.length) this.resize(this.bits - 1);
  }

  /**
   * Longest run of occupied slots (a cyclic run counts once). Deletion and a failed lookup walk
   * to the end of their run, so this bounds their cost; for tests and diagnostics, O(table).
   */
  longestRun(): number {
    const slots = this.slots;
    const n = slots.length;
    let start = 0;
    while (start < n && slots[start] !== null) start++;
    if (start === n) return n;
    let longest = 0;
    let run = 0;
    for (let k = 1; k <= n; k++) {
      if (slots[(start + k) % n] !== null) {
        run++;
        if (run > longest) longest = run;
      } else run = 0;
    }
    return longest;
  }

  private resize(bits: number): void {
    const old = this.slots;
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    this.keys = new Float64Array(1 << bits);
    this.slots = new Array<Order | null>(1 << bits).fill(null);
    for (let i = 0; i < old.length; i++) {
      const o = old[i]!;
      if (o !== null) this.place(o);
    }
  }
}
