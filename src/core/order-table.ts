// Live orders by id, for CancelOrder / ModifyOrder / GetOrders by id. A Map<number, Order> did
// this before; under the engine's churn (every order is inserted once and deleted once) its
// ordered hash table keeps growing tombstones and rehashing, which showed up as the single
// largest cost of placing an order. This table allocates nothing after it has grown.
//
// Open addressing with linear probing over a power-of-two table, backward-shift deletion (no
// tombstones), load factor between 1/8 and 1/2. The home slot is the id's low bits: ids are
// issued one after another, so they spread evenly anyway, and consecutive orders land in
// consecutive slots (adding an order touches memory the previous add just touched, where a
// scattering hash costs a cache miss per add). The slot holds the order itself; its id is read
// from the order (probe runs are short, and the order is what a lookup wants next anyway).
import type { Order } from './book.js';

const MIN_BITS = 6;

export class OrderTable {
  private slots: (Order | null)[] = new Array<Order | null>(1 << MIN_BITS).fill(null);
  private bits = MIN_BITS;
  private mask = (1 << MIN_BITS) - 1;
  size = 0;

  /** Home slot of an id: its low bits (ids past 2^32, only from a foreign snapshot, mix in the high half). */
  private home(id: number): number {
    const hi = (id / 4294967296) >>> 0;
    return ((id >>> 0) ^ Math.imul(hi, 0x85ebca6b)) & this.mask;
  }

  get(id: number): Order | undefined {
    const slots = this.slots;
    const mask = this.mask;
    for (let i = this.home(id); ; i = (i + 1) & mask) {
      const o = slots[i]!;
      if (o === null) return undefined;
      if (o.id === id) return o;
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
  }

  /** Removes this order (by identity); does nothing if it is not in the table. */
  delete(order: Order): void {
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
      const h = this.home(o.id);
      if (((j - h) & mask) >= ((j - i) & mask)) {
        slots[i] = o;
        i = j;
      }
    }
    slots[i] = null;
    this.size--;
    if (this.bits > MIN_BITS && this.size * 8 < slots.length) this.resize(this.bits - 1);
  }

  private resize(bits: number): void {
    const old = this.slots;
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    this.slots = new Array<Order | null>(1 << bits).fill(null);
    for (let i = 0; i < old.length; i++) {
      const o = old[i]!;
      if (o !== null) this.place(o);
    }
  }
}
