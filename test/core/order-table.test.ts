// The engine's table of live orders by id, against a Map under random adds and deletes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NO_ORDER } from '../../src/core/book.js';
import { OrderTable } from '../../src/core/order-table.js';

/** An order as the table sees it: its id and its pool handle (any distinct small integer). */
interface Entry {
  id: number;
  h: number;
}
let nextHandle = 0;
function order(id: number): Entry {
  return { id, h: nextHandle++ % 1_000_000_000 };
}

type Op = { k: 'add' } | { k: 'addFar'; id: number } | { k: 'delete'; pick: number } | { k: 'get'; id: number };

test('OrderTable behaves like a Map from id to handle', () => {
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.constant({ k: 'add' as const }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('addFar' as const), id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) }) },
    { weight: 5, arbitrary: fc.record({ k: fc.constant('delete' as const), pick: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ k: fc.constant('get' as const), id: fc.integer({ min: 0, max: 400 }) }) },
  );
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 600 }), (ops) => {
      const table = new OrderTable();
      const model = new Map<number, Entry>();
      let nextId = 1;
      for (const op of ops) {
        if (op.k === 'add' || (op.k === 'addFar' && !model.has(op.id))) {
          const o = order(op.k === 'add' ? nextId++ : op.id);
          if (model.has(o.id)) continue;
          table.add(o.h, o.id);
          model.set(o.id, o);
        } else if (op.k === 'delete' && model.size > 0) {
          const o = [...model.values()][op.pick % model.size]!;
          table.delete(o.id);
          model.delete(o.id);
          table.delete(o.id); // deleting an absent order does nothing
        } else if (op.k === 'get') {
          assert.equal(table.get(op.id), model.get(op.id)?.h ?? NO_ORDER);
        }
        assert.equal(table.size, model.size);
      }
      for (const [id, o] of model) assert.equal(table.get(id), o.h);
      if (!model.has(nextId)) assert.equal(table.get(nextId), NO_ORDER);
    }),
    { numRuns: 200 },
  );
});

test('OrderTable grows and shrinks without losing orders', () => {
  const table = new OrderTable();
  const live: Entry[] = [];
  // Long-lived orders scattered among many short-lived ones, as on a busy book.
  for (let id = 1; id <= 50_000; id++) {
    const o = order(id);
    table.add(o.h, o.id);
    live.push(o);
    if (id % 97 !== 0 && live.length > 10) table.delete(live.splice(live.length - 5, 1)[0]!.id);
  }
  for (const o of live) assert.equal(table.get(o.id), o.h);
  assert.equal(table.size, live.length);
  for (const o of live.splice(0, live.length - 3)) table.delete(o.id);
  assert.equal(table.size, 3);
  for (const o of live) assert.equal(table.get(o.id), o.h);
  // Lookups of ids a command may carry that are not order ids.
  for (const id of [0, -1, 1.5, NaN, Infinity, 2 ** 60]) assert.equal(table.get(id), NO_ORDER);
});

test('OrderTable keeps probe runs short when ids are consecutive (as the engine issues them)', () => {
  // Homing ids by their low bits once made 1,000,000 resting orders one contiguous run of
  // slots, and every cancel walked to its end. Here: 200,000 consecutive ids, then churn that
  // deletes old orders and adds new ones, as a live book does.
  const table = new OrderTable();
  const live: Entry[] = [];
  let nextId = 1;
  for (let i = 0; i < 200_000; i++) {
    const o = order(nextId++);
    table.add(o.h, o.id);
    live.push(o);
  }
  assert.ok(table.longestRun() < 200, `longest run ${table.longestRun()}`);
  for (let i = 0; i < 100_000; i++) {
    table.delete(live[i * 2]!.id);
    const o = order(nextId++);
    table.add(o.h, o.id);
    live[i * 2] = o;
  }
  assert.equal(table.size, 200_000);
  assert.ok(table.longestRun() < 200, `longest run ${table.longestRun()}`);
  for (const o of live) assert.equal(table.get(o.id), o.h);
});
