// Event Stream rendering (EventStream.md, Version 2) and the resumption ring, with hand-made events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_TICKER, frame, mergeTicker, ownersOf, renderFor, renderTicker } from '../../src/dialects/event-stream/render.js';
import { EventRing, parseEventId, type StreamEvent } from '../../src/dialects/event-stream/ring.js';
import type { EngineEvent, OrdersMatched } from '../../src/core/types.js';

const B = 63488;
const C = 65283;

const opened: EngineEvent = { type: 'OrderOpened', userId: 1, id: 10, tonce: 77, base: B, counter: C, quantity: -500, price: 4000000, time: 1000 };
const closed: EngineEvent = {
  type: 'OrderClosed',
  userId: 1,
  id: 10,
  tonce: null,
  base: B,
  counter: C,
  quantity: 0,
  price: 4000000,
  time: 1000,
  timeClosed: 1005,
  reason: 'filled',
};
const matched: OrdersMatched = {
  type: 'OrdersMatched',
  bid: null,
  ask: 10,
  bidUserId: 2,
  askUserId: 1,
  bidTonce: null,
  askTonce: 77,
  base: B,
  counter: C,
  quantity: 500,
  takerSide: 'bid',
  price: 4000000,
  total: 200000,
  bidRem: null,
  askRem: 0,
  time: 1004,
  bidBaseFee: 0,
  bidCounterFee: 200,
  askBaseFee: 0,
  askCounterFee: 0,
};

const data = (ev: EngineEvent, viewer?: number) => {
  const r = renderFor(ev, viewer);
  return r === undefined ? undefined : { event: r.event, data: r.data };
};

test('BalanceChanged: Version 2 fields, only to its user', () => {
  const ev: EngineEvent = { type: 'BalanceChanged', userId: 3, asset: B, available: 15000, reserved: 500 };
  assert.deepEqual(data(ev, 3), { event: 'BalanceChanged', data: '{"asset":63488,"available":15000,"reserved":500}' });
  assert.equal(data(ev, 4), undefined);
  assert.equal(data(ev, undefined), undefined);
});

test('UserTradeVolumeChanged: only to its user', () => {
  const ev: EngineEvent = { type: 'TradeVolumeChanged', userId: 3, asset: C, volume: 123 };
  assert.deepEqual(data(ev, 3), { event: 'UserTradeVolumeChanged', data: '{"asset":65283,"volume":123}' });
  assert.equal(data(ev, undefined), undefined);
});

test('OrderOpened and OrderClosed: tonce only for the owner; document field order', () => {
  assert.equal(renderFor(opened, 1)!.data, '{"base":63488,"counter":65283,"id":10,"tonce":77,"quantity":-500,"price":4000000,"time":1000}');
  assert.equal(renderFor(opened, 2)!.data, '{"base":63488,"counter":65283,"id":10,"quantity":-500,"price":4000000,"time":1000}');
  assert.equal(renderFor(opened, undefined)!.data, renderFor(opened, 2)!.data);
  assert.equal(renderFor(closed, 1)!.data, '{"base":63488,"counter":65283,"id":10,"tonce":null,"quantity":0,"price":4000000}');
  assert.equal(renderFor(closed, undefined)!.data, '{"base":63488,"counter":65283,"id":10,"quantity":0,"price":4000000}');
  const modified: EngineEvent = { ...opened, type: 'OrderModified', quantity: -400, time: 1001 };
  assert.deepEqual(data(modified, undefined), {
    event: 'OrderModified',
    data: '{"base":63488,"counter":65283,"id":10,"quantity":-400,"price":4000000,"time":1001}',
  });
});

test('OrdersMatched: market side omitted; tonces and fees per owner', () => {
  assert.equal(
    renderFor(matched, undefined)!.data,
    '{"base":63488,"counter":65283,"ask":10,"quantity":500,"price":4000000,"total":200000,"ask_rem":0,"time":1004}',
  );
  assert.equal(
    renderFor(matched, 1)!.data,
    '{"base":63488,"counter":65283,"ask":10,"ask_tonce":77,"quantity":500,"price":4000000,"total":200000,"ask_rem":0,"time":1004,"ask_base_fee":0,"ask_counter_fee":0}',
  );
  assert.equal(
    renderFor(matched, 2)!.data,
    '{"base":63488,"counter":65283,"bid_tonce":null,"ask":10,"quantity":500,"price":4000000,"total":200000,"ask_rem":0,"time":1004,"bid_base_fee":0,"bid_counter_fee":200}',
  );
  const self: OrdersMatched = { ...matched, bid: 11, bidRem: 5, bidUserId: 1 };
  assert.equal(
    renderFor(self, 1)!.data,
    '{"base":63488,"counter":65283,"bid":11,"bid_tonce":null,"ask":10,"ask_tonce":77,"quantity":500,"price":4000000,"total":200000,"bid_rem":5,"ask_rem":0,"time":1004,"bid_base_fee":0,"bid_counter_fee":200,"ask_base_fee":0,"ask_counter_fee":0}',
  );
  assert.deepEqual(ownersOf(self), [1]);
  assert.deepEqual(ownersOf(matched), [2, 1]);
});

test('TickerChanged: deltas merged into the full ticker the stream sends', () => {
  let t = mergeTicker(EMPTY_TICKER, { bid: 100, ask: 110 });
  t = mergeTicker(t, { last: 105, low: 105, high: 105, volume: 7 });
  t = mergeTicker(t, { bid: null });
  assert.equal(
    renderTicker(B, C, t).data,
    '{"base":63488,"counter":65283,"last":105,"bid":null,"ask":110,"low":105,"high":105,"volume":7}',
  );
  assert.equal(renderFor({ type: 'UserCreated', userId: 1 }, 1), undefined);
});

test('frames are single-line SSE events with ids', () => {
  assert.equal(frame('12.3', { event: 'X', data: '{"a":1}' }), 'id: 12.3\nevent: X\ndata: {"a":1}\n\n');
});

function ev(seq: number, idx: number): StreamEvent {
  return { seq, idx, id: `${seq}.${idx}`, ev: { type: 'UserCreated', userId: seq } };
}

test('event ids parse as seq.index or bare seq', () => {
  assert.deepEqual(parseEventId('12.3'), { seq: 12, idx: 3 });
  assert.deepEqual(parseEventId('12'), { seq: 12 });
  for (const bad of ['', 'x', '1.2.3', '-1', '1.', '99999999999999999']) assert.equal(parseEventId(bad), undefined, bad);
});

test('ring: resumes strictly after the given event, evicting whole commands', () => {
  const ring = new EventRing(5, 10);
  ring.push(11, [ev(11, 0), ev(11, 1)]);
  ring.push(12, []);
  ring.push(13, [ev(13, 0), ev(13, 1), ev(13, 2)]);
  assert.equal(ring.size, 5);
  assert.equal(ring.lastSeq, 13);
  const ids = (r: ReturnType<EventRing['resumeAfter']>) => (r.ok ? r.events.map((e) => e.id) : r.reason);
  assert.deepEqual(ids(ring.resumeAfter({ seq: 10 })), ['11.0', '11.1', '13.0', '13.1', '13.2']);
  assert.deepEqual(ids(ring.resumeAfter({ seq: 11, idx: 0 })), ['11.1', '13.0', '13.1', '13.2']);
  assert.deepEqual(ids(ring.resumeAfter({ seq: 12 })), ['13.0', '13.1', '13.2']);
  assert.deepEqual(ids(ring.resumeAfter({ seq: 13, idx: 2 })), []);
  // Before the start: refused, not a silent gap.
  assert.equal(ring.resumeAfter({ seq: 9 }).ok, false);
  assert.equal(ring.resumeAfter({ seq: 10, idx: 0 }).ok, false);
  // From the future: refused.
  assert.equal(ring.resumeAfter({ seq: 14 }).ok, false);

  ring.push(14, [ev(14, 0)]); // evicts all of command 11 (two events)
  assert.equal(ring.droppedThrough, 11);
  assert.equal(ring.size, 4);
  assert.equal(ring.resumeAfter({ seq: 11, idx: 0 }).ok, false);
  assert.equal(ring.resumeAfter({ seq: 11, idx: 1 }).ok, false); // cannot know 11.1 was the last of 11
  assert.deepEqual(ids(ring.resumeAfter({ seq: 11 })), ['13.0', '13.1', '13.2', '14.0']);
  assert.deepEqual(ids(ring.resumeAfter({ seq: 12 })), ['13.0', '13.1', '13.2', '14.0']);
});

test('ring: a command larger than the capacity is kept whole', () => {
  const ring = new EventRing(2, 0);
  ring.push(1, [ev(1, 0)]);
  ring.push(2, [ev(2, 0), ev(2, 1), ev(2, 2)]);
  assert.equal(ring.size, 3);
  assert.equal(ring.droppedThrough, 1);
  for (let s = 3; s < 10_000; s++) ring.push(s, [ev(s, 0)]);
  assert.equal(ring.size, 2);
  assert.equal(ring.oldest!.seq, 9998);
  assert.deepEqual(ring.resumeAfter({ seq: 9997 }).ok, true);
});
