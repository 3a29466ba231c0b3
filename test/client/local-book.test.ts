// LocalBook against hand-made notices: IMPL-GUIDE.md's rules one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalBook } from '../../src/client/local-book.js';
import type { BookNotice } from '../../src/client/types.js';

const B = 63488;
const C = 65283;

const open = (id: number, quantity: number, price: number): BookNotice => ({ notice: 'OrderOpened', id, base: B, counter: C, quantity, price, time: id });
const modify = (id: number, quantity: number, price: number): BookNotice => ({ notice: 'OrderModified', id, base: B, counter: C, quantity, price, time: 100 + id });
const close = (id: number): BookNotice => ({ notice: 'OrderClosed', id, base: B, counter: C, quantity: 0, price: 1, time_closed: 5 });

function ids(book: LocalBook): number[] {
  return book.orders().map((o) => o.id);
}

test('snapshot: bids positive, asks negative, priority order kept', () => {
  const b = new LocalBook(B, C);
  b.loadSnapshot([
    { id: 1, quantity: 5, price: 100, time: 1 },
    { id: 2, quantity: 3, price: 100, time: 2 },
    { id: 3, quantity: 1, price: 99, time: 3 },
    { id: 4, quantity: -2, price: 101, time: 4 },
    { id: 5, quantity: -7, price: 102, time: 5 },
  ]);
  assert.deepEqual(ids(b), [1, 2, 3, 4, 5]);
  assert.equal(b.bestBid(), 100);
  assert.equal(b.bestAsk(), 101);
  assert.deepEqual(b.depth(), { bids: [[100, 8], [99, 1]], asks: [[101, 2], [102, 7]] });
  assert.deepEqual(b.depth(1), { bids: [[100, 8]], asks: [[101, 2]] });
});

test('OrderOpened adds at the back of its level; OrderClosed deletes (unknown ids ignored)', () => {
  const b = new LocalBook(B, C);
  b.loadSnapshot([{ id: 1, quantity: 5, price: 100, time: 1 }]);
  b.apply(open(2, 4, 100));
  b.apply(open(3, 4, 101));
  b.apply(open(4, -4, 102));
  assert.deepEqual(ids(b), [3, 1, 2, 4]);
  b.apply(close(1));
  b.apply(close(999));
  assert.deepEqual(ids(b), [3, 2, 4]);
});

test('OrderModified: smaller quantity keeps the place; larger quantity or new price goes to the back', () => {
  const b = new LocalBook(B, C);
  b.loadSnapshot([
    { id: 1, quantity: 5, price: 100, time: 1 },
    { id: 2, quantity: 5, price: 100, time: 2 },
    { id: 3, quantity: 5, price: 100, time: 3 },
  ]);
  b.apply(modify(1, 4, 100));
  assert.deepEqual(ids(b), [1, 2, 3]);
  assert.equal(b.get(1)!.quantity, 4);
  b.apply(modify(1, 6, 100));
  assert.deepEqual(ids(b), [2, 3, 1]);
  b.apply(modify(2, 5, 99));
  b.apply(modify(3, 5, 100));
  assert.deepEqual(ids(b), [3, 1, 2]);
  assert.equal(b.get(2)!.price, 99);
  // Unknown orders are added (they exist on the server).
  b.apply(modify(9, -1, 200));
  assert.equal(b.get(9)!.quantity, -1);
});

test('OrdersMatched sets bid_rem and -ask_rem; absent or unknown sides are ignored', () => {
  const b = new LocalBook(B, C);
  b.loadSnapshot([
    { id: 1, quantity: 5, price: 100, time: 1 },
    { id: 2, quantity: -5, price: 101, time: 2 },
  ]);
  const m = (fields: Partial<Extract<BookNotice, { notice: 'OrdersMatched' }>>): BookNotice => ({
    notice: 'OrdersMatched',
    base: B,
    counter: C,
    quantity: 1,
    taker_side: 'bid',
    price: 101,
    total: 1,
    time: 9,
    ...fields,
  });
  b.apply(m({ bid: 77, ask: 2, ask_rem: 3 }));
  assert.equal(b.get(2)!.quantity, -3);
  assert.equal(b.get(77), undefined);
  b.apply(m({ ask: 2, ask_rem: 1 })); // market-order buyer: no bid
  assert.equal(b.get(2)!.quantity, -1);
  b.apply(m({ bid: 1, bid_rem: 2, ask: 55, ask_rem: 0, taker_side: 'ask', price: 100 }));
  assert.equal(b.get(1)!.quantity, 2);
  // A filled order stays (with quantity 0, left out of orders()) until its OrderClosed.
  b.apply(m({ bid: 1, bid_rem: 0 }));
  assert.equal(b.size, 2);
  assert.deepEqual(ids(b), [2]);
  b.apply(close(1));
  assert.equal(b.size, 1);
});

test('notices of other books are ignored', () => {
  const b = new LocalBook(B, C);
  b.apply({ ...open(1, 1, 1), counter: 1 } as BookNotice);
  assert.equal(b.size, 0);
});

test('re-applying notices already reflected in a snapshot converges to the same view', () => {
  // The server's state after: open 1, open 2, match (1 -> rem 1), close 2, modify 1.
  const history: BookNotice[] = [
    open(1, 3, 100),
    open(2, -2, 100),
    {
      notice: 'OrdersMatched',
      bid: 1,
      ask: 2,
      base: B,
      counter: C,
      quantity: 2,
      taker_side: 'ask',
      price: 100,
      total: 2,
      bid_rem: 1,
      ask_rem: 0,
      time: 3,
    },
    close(2),
    modify(1, 1, 100),
  ];
  const truth = new LocalBook(B, C);
  truth.loadSnapshot([]);
  for (const n of history) truth.apply(n);
  // Any suffix of the history replayed onto the final snapshot gives the same book.
  for (let k = 0; k <= history.length; k++) {
    const b = new LocalBook(B, C);
    b.loadSnapshot(truth.orders());
    for (const n of history.slice(k)) b.apply(n);
    assert.deepEqual(b.orders(), truth.orders(), `suffix from ${k}`);
  }
});
