// Recipient rules and rendering of notices, against hand-made engine events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FanOut, marketKey, type Recipient } from '../../src/dialects/native-ws/fanout.js';
import * as render from '../../src/dialects/native-ws/render.js';
import type { EngineEvent, OrdersMatched } from '../../src/core/types.js';

class R implements Recipient {
  frames: Buffer[] = [];
  constructor(public userId: number | null) {}
  deliver(f: Buffer): void {
    this.frames.push(f);
  }
  get texts(): string[] {
    return this.frames.map((f) => f.toString());
  }
  get json(): Record<string, unknown>[] {
    return this.texts.map((t) => JSON.parse(t) as Record<string, unknown>);
  }
}

const B = 63488;
const C = 65283;
const K = marketKey(B, C);

const opened: EngineEvent = { type: 'OrderOpened', userId: 1, id: 10, tonce: 77, base: B, counter: C, quantity: -500, price: 4000000, time: 1000 };
const modified: EngineEvent = { type: 'OrderModified', userId: 1, id: 10, tonce: 77, base: B, counter: C, quantity: -400, price: 4010000, time: 1001 };
const closed: EngineEvent = {
  type: 'OrderClosed',
  userId: 1,
  id: 10,
  tonce: 77,
  base: B,
  counter: C,
  quantity: 0,
  price: 4010000,
  time: 1000,
  timeClosed: 1005,
  reason: 'filled',
};
const matched: OrdersMatched = {
  type: 'OrdersMatched',
  bid: 11,
  ask: 10,
  bidUserId: 2,
  askUserId: 1,
  bidTonce: null,
  askTonce: 77,
  base: B,
  counter: C,
  quantity: 400,
  takerSide: 'bid',
  price: 4010000,
  total: 160400,
  bidRem: 100,
  askRem: 0,
  time: 1004,
  bidBaseFee: 0,
  bidCounterFee: 48,
  askBaseFee: 0,
  askCounterFee: 16,
};

test('owner and watcher versions of OrderOpened / OrderModified / OrderClosed, field for field', () => {
  assert.equal(
    render.orderOpenedOrModified(opened as never, true),
    '{"notice":"OrderOpened","id":10,"tonce":77,"base":63488,"counter":65283,"quantity":-500,"price":4000000,"time":1000}',
  );
  assert.equal(
    render.orderOpenedOrModified(opened as never, false),
    '{"notice":"OrderOpened","id":10,"base":63488,"counter":65283,"quantity":-500,"price":4000000,"time":1000}',
  );
  assert.equal(
    render.orderOpenedOrModified(modified as never, true),
    '{"notice":"OrderModified","id":10,"tonce":77,"base":63488,"counter":65283,"quantity":-400,"price":4010000,"time":1001}',
  );
  assert.equal(
    render.orderClosed(closed as never, true),
    '{"notice":"OrderClosed","id":10,"tonce":77,"base":63488,"counter":65283,"quantity":0,"price":4010000,"time_closed":1005}',
  );
  assert.equal(
    render.orderClosed(closed as never, false),
    '{"notice":"OrderClosed","id":10,"base":63488,"counter":65283,"quantity":0,"price":4010000,"time_closed":1005}',
  );
  // A null tonce is rendered as null for the owner (present, but null).
  assert.match(render.orderOpenedOrModified({ ...opened, tonce: null } as never, true), /"tonce":null/);
});

test('OrdersMatched: buyer, seller, self-trader and watcher versions', () => {
  assert.equal(
    render.ordersMatched(matched, true, false),
    '{"notice":"OrdersMatched","bid":11,"bid_tonce":null,"ask":10,"base":63488,"counter":65283,"quantity":400,"taker_side":"bid","taker":true,' +
      '"price":4010000,"total":160400,"bid_rem":100,"ask_rem":0,"time":1004,"bid_base_fee":0,"bid_counter_fee":48}',
  );
  assert.equal(
    render.ordersMatched(matched, false, true),
    '{"notice":"OrdersMatched","bid":11,"ask":10,"ask_tonce":77,"base":63488,"counter":65283,"quantity":400,"taker_side":"bid","taker":false,' +
      '"price":4010000,"total":160400,"bid_rem":100,"ask_rem":0,"time":1004,"ask_base_fee":0,"ask_counter_fee":16}',
  );
  assert.equal(
    render.ordersMatched(matched, true, true),
    '{"notice":"OrdersMatched","bid":11,"bid_tonce":null,"ask":10,"ask_tonce":77,"base":63488,"counter":65283,"quantity":400,"taker_side":"bid","taker":true,' +
      '"price":4010000,"total":160400,"bid_rem":100,"ask_rem":0,"time":1004,"bid_base_fee":0,"bid_counter_fee":48,"ask_base_fee":0,"ask_counter_fee":16}',
  );
  assert.equal(
    render.ordersMatched(matched, false, false),
    '{"notice":"OrdersMatched","bid":11,"ask":10,"base":63488,"counter":65283,"quantity":400,"taker_side":"bid",' +
      '"price":4010000,"total":160400,"bid_rem":100,"ask_rem":0,"time":1004}',
  );
  // A market-order bid: no bid id, no bid_rem; its tonce still goes to the buyer.
  const market = { ...matched, bid: null, bidRem: null, bidTonce: 5 };
  const pub = JSON.parse(render.ordersMatched(market, false, false)) as Record<string, unknown>;
  assert.ok(!('bid' in pub) && !('bid_rem' in pub) && pub.ask === 10 && pub.ask_rem === 0);
  const buyer = JSON.parse(render.ordersMatched(market, true, false)) as Record<string, unknown>;
  assert.equal(buyer.bid_tonce, 5);
  assert.ok(!('bid' in buyer));
  // An ask taker.
  const askTaker = JSON.parse(render.ordersMatched({ ...matched, takerSide: 'ask' }, false, true)) as Record<string, unknown>;
  assert.equal(askTaker.taker, true);
});

test('TickerChanged carries only the changed fields; BalanceChanged the available balance', () => {
  assert.equal(
    render.tickerChanged({ type: 'TickerChanged', base: B, counter: C, time: 5, bid: 100, volume: 7 }),
    '{"notice":"TickerChanged","base":63488,"counter":65283,"bid":100,"volume":7}',
  );
  assert.equal(
    render.tickerChanged({ type: 'TickerChanged', base: B, counter: C, time: 5, last: 1, bid: null, ask: 3, low: 1, high: 1, volume: 0 }),
    '{"notice":"TickerChanged","base":63488,"counter":65283,"last":1,"bid":null,"ask":3,"low":1,"high":1,"volume":0}',
  );
  assert.equal(
    render.balanceChanged({ type: 'BalanceChanged', userId: 1, asset: C, available: 90, reserved: 10 }),
    '{"notice":"BalanceChanged","asset":65283,"balance":90}',
  );
  assert.equal(
    render.tradeVolumeChanged({ type: 'TradeVolumeChanged', userId: 1, asset: C, volume: 123 }),
    '{"notice":"TradeVolumeChanged","asset":65283,"volume":123}',
  );
});

test('replies: tag iff non-zero, error_code first', () => {
  assert.equal(render.okReply(0), '{"error_code":0}');
  assert.equal(render.okReply(5, { volume: 1 }), '{"tag":5,"error_code":0,"volume":1}');
  assert.equal(render.errorReply(0, 7, 'x'), '{"error_code":7,"error_msg":"x"}');
  assert.equal(render.errorReply(-3, 8, 'y'), '{"tag":-3,"error_code":8,"error_msg":"y"}');
  assert.equal(render.welcome(Buffer.from('6b3473022e6b9b5af2fe5d1dae7cf5bf', 'hex')), '{"notice":"Welcome","nonce":"azRzAi5rm1ry/l0drnz1vw=="}');
  assert.deepEqual(render.wireBalance({ asset: 1, available: 5, reserved: 3 }), { asset: 1, balance: 5, reserved_balance: 3, total_balance: 8 });
});

test('recipients: owners get private versions, watchers public ones, owner-watchers exactly one', () => {
  const f = new FanOut<R>();
  const owner = new R(1); // authenticated as the seller, not watching
  const ownerWatcher = new R(1); // seller, also watching
  const buyer = new R(2); // authenticated buyer, not watching
  const buyerWatcher = new R(2);
  const anon = new R(null); // watcher, not authenticated
  const other = new R(3); // watcher, authenticated as someone else
  const bystander = new R(4); // authenticated, not watching, not involved
  const tickerOnly = new R(null);
  f.addUser(owner, 1);
  f.addUser(ownerWatcher, 1);
  f.addUser(buyer, 2);
  f.addUser(buyerWatcher, 2);
  f.addUser(other, 3);
  f.addUser(bystander, 4);
  for (const r of [ownerWatcher, buyerWatcher, anon, other]) assert.ok(f.watchBook(r, K, 0));
  assert.equal(f.watchBook(anon, K, 0), false, 'already watching');
  f.watchTicker(tickerOnly, K, 0);
  f.watchTicker(anon, K, 0);

  const ticker: EngineEvent = { type: 'TickerChanged', base: B, counter: C, time: 1, ask: 4000000 };
  const balance: EngineEvent = { type: 'BalanceChanged', userId: 1, asset: B, available: 1, reserved: 500 };
  f.dispatch(1, [balance, opened, ticker]);
  f.dispatch(2, [modified, matched, closed, { type: 'TradeVolumeChanged', userId: 2, asset: C, volume: 160400 }]);

  const names = (r: R) => r.json.map((n) => `${String(n.notice)}${'tonce' in n || 'bid_tonce' in n || 'ask_tonce' in n ? '*' : ''}`);
  // * marks a private (party) version.
  assert.deepEqual(names(owner), ['BalanceChanged', 'OrderOpened*', 'OrderModified*', 'OrdersMatched*', 'OrderClosed*']);
  assert.deepEqual(names(ownerWatcher), names(owner));
  assert.deepEqual(names(buyer), ['OrdersMatched*', 'TradeVolumeChanged']);
  assert.deepEqual(names(buyerWatcher), ['OrderOpened', 'OrderModified', 'OrdersMatched*', 'OrderClosed', 'TradeVolumeChanged']);
  assert.deepEqual(names(anon), ['OrderOpened', 'TickerChanged', 'OrderModified', 'OrdersMatched', 'OrderClosed']);
  assert.deepEqual(names(other), ['OrderOpened', 'OrderModified', 'OrdersMatched', 'OrderClosed']);
  assert.deepEqual(names(bystander), []);
  assert.deepEqual(names(tickerOnly), ['TickerChanged']);

  // Private fields only for the right party.
  const sellerView = owner.json[3]!;
  assert.equal(sellerView.ask_tonce, 77);
  assert.equal(sellerView.taker, false);
  assert.ok(!('bid_tonce' in sellerView) && !('bid_counter_fee' in sellerView) && sellerView.ask_counter_fee === 16);
  const buyerView = buyer.json[0]!;
  assert.equal(buyerView.bid_tonce, null);
  assert.equal(buyerView.taker, true);
  assert.ok(!('ask_tonce' in buyerView) && !('ask_counter_fee' in buyerView) && buyerView.bid_counter_fee === 48);
  const publicView = anon.json[3]!;
  assert.ok(!('taker' in publicView) && !('bid_counter_fee' in publicView) && !('ask_base_fee' in publicView));

  // Public frames: the very same bytes to every watcher, rendered once per event.
  assert.equal(anon.frames[0], other.frames[0]);
  assert.ok(Buffer.isBuffer(anon.frames[0]));
  assert.equal(anon.frames[0], buyerWatcher.frames[0]);
});

test('public frames are rendered once per event however many watchers there are', () => {
  const f = new FanOut<R>();
  const watchers = Array.from({ length: 50 }, () => new R(null));
  for (const w of watchers) f.watchBook(w, K, 0);
  f.dispatch(1, [opened]);
  assert.equal(f.framesRendered, 1);
  assert.ok(watchers.every((w) => w.frames.length === 1 && w.frames[0] === watchers[0]!.frames[0]));
  // No watcher, no rendering.
  const g = new FanOut<R>();
  g.dispatch(1, [opened, matched, closed]);
  assert.equal(g.framesRendered, 0);
});

test('a self-trade reaches the self-trader once, with both sides private', () => {
  const f = new FanOut<R>();
  const me = new R(1);
  f.addUser(me, 1);
  f.watchBook(me, K, 0);
  f.dispatch(1, [{ ...matched, bidUserId: 1 }]);
  assert.equal(me.frames.length, 1);
  const n = me.json[0]!;
  assert.equal(n.bid_tonce, null);
  assert.equal(n.ask_tonce, 77);
  assert.equal(n.taker, true);
  assert.ok('bid_counter_fee' in n && 'ask_counter_fee' in n);
});

test('watchers skip public notices already reflected in their snapshot; parties do not', () => {
  const f = new FanOut<R>();
  const w = new R(null);
  const party = new R(1);
  f.addUser(party, 1);
  f.watchBook(w, K, 5);
  f.watchBook(party, K, 5);
  f.dispatch(5, [opened]);
  f.dispatch(6, [modified]);
  assert.deepEqual(w.json.map((n) => n.notice), ['OrderModified']);
  assert.deepEqual(party.json.map((n) => n.notice), ['OrderOpened', 'OrderModified']);
});

test('unwatching and removal stop delivery', () => {
  const f = new FanOut<R>();
  const w = new R(3);
  f.addUser(w, 3);
  f.watchBook(w, K, 0);
  f.watchTicker(w, K, 0);
  assert.ok(f.isWatchingBook(w, K) && f.isWatchingTicker(w, K));
  assert.ok(f.unwatchBook(w, K));
  assert.equal(f.unwatchBook(w, K), false);
  f.dispatch(1, [opened, { type: 'TickerChanged', base: B, counter: C, time: 1, last: 5 }]);
  assert.deepEqual(w.json.map((n) => n.notice), ['TickerChanged']);
  f.removeAll(w, [K], [K]);
  f.dispatch(2, [{ type: 'TickerChanged', base: B, counter: C, time: 1, last: 6 }, { type: 'BalanceChanged', userId: 3, asset: B, available: 0, reserved: 0 }]);
  assert.equal(w.frames.length, 1);
  assert.equal(f.watcherCount(K), 0);
});
