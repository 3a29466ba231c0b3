// The hot events share the hidden classes of src/core/event-shapes.ts's templates: a key added
// to an event's literal in the engine and not to its template (or the other way round) would
// give the event its own hidden class back, with boxed number fields, and fail here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { EVENT_SHAPE_TEMPLATES, type HotEventType } from '../../src/core/event-shapes.js';
import type { EngineEvent } from '../../src/core/types.js';
import { ok, Harness, USDT, XBT } from './helpers.js';

// V8's own predicate, the only way to ask whether two objects share a hidden class.
setFlagsFromString('--allow-natives-syntax');
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

function hasTemplate(e: EngineEvent): e is Extract<EngineEvent, { type: HotEventType }> {
  return Object.hasOwn(EVENT_SHAPE_TEMPLATES, e.type);
}

test("every hot event shares its template's hidden class, whatever its numbers", () => {
  const h = Harness.of();
  // Large balances and small ones, so fields see both small integers and boxed numbers.
  const a = h.user({ [XBT]: 2 ** 40, [USDT]: 2 ** 45 });
  const b = h.user({ [XBT]: 5_000, [USDT]: 70_000_000 });
  const resting = h.limit(a, 300, 4_000_000);
  ok(h.run({ type: 'ModifyOrder', userId: a, id: resting, quantityDelta: -100 }).result);
  h.limit(a, -200, 4_100_000, { tonce: 7 });
  h.place(b, { quantity: -150, price: 4_000_000 }); // trades with the bid, rests nothing
  h.place(b, { quantity: 100 }); // a market order: OrdersMatched with a null id
  ok(h.run({ type: 'CancelAllOrders', userId: a }).result);

  const seen = new Set<string>();
  for (const e of h.allEvents) {
    if (!hasTemplate(e)) continue;
    seen.add(e.type);
    const template = EVENT_SHAPE_TEMPLATES[e.type];
    assert.deepEqual(Object.keys(e), Object.keys(template), `${e.type}: keys or their order differ from the template`);
    assert.ok(haveSameMap(e, template), `${e.type} does not share its template's hidden class`);
  }
  assert.deepEqual([...seen].sort(), Object.keys(EVENT_SHAPE_TEMPLATES).sort(), 'the scenario emits every templated type');
});

test('the check can fail: an object with one key more has another hidden class', () => {
  const e = { ...EVENT_SHAPE_TEMPLATES.BalanceChanged, extra: 1 };
  assert.equal(haveSameMap(e, EVENT_SHAPE_TEMPLATES.BalanceChanged), false);
});
