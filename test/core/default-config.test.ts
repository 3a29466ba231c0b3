// The built-in venue profiles: they construct, carry the spec's rules and scales, and trade.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultEngineConfig, marketName } from '../../src/core/default-config.js';
import { Engine } from '../../src/core/engine.js';
import { EUR, failure, Harness, ok, USDT, XBT } from './helpers.js';

test('coinflex profile: unique tonces, 1,000 open orders, SCALE.md assets and ticks', () => {
  const cfg = defaultEngineConfig('coinflex');
  assert.equal(cfg.tonceRule, 'unique');
  assert.equal(cfg.maxOpenOrders, 1000);
  const e = new Engine(cfg);
  assert.deepEqual(e.asset(XBT), { code: XBT, name: 'XBT', scale: 10_000 });
  assert.equal(e.market(XBT, USDT)?.tick, 10_000);
  assert.equal(marketName(cfg.assets, { base: XBT, counter: USDT }), 'XBT:USDT');
  // Every monthly future has a one-year trading window ending at its expiry.
  for (const m of cfg.markets.filter((x) => x.kind === 'futures' && x.expires !== undefined)) assert.ok(m.start! < m.expires!);
  // The June 2020 contracts have expired: orders are refused.
  const h = new Harness(e);
  const a = h.user({ [10005]: 10_000, [10053]: 1_000_000 });
  failure(h.place(a, { base: 10005, counter: 10053, quantity: 1, price: 100_000 }).result, 8);
});

test('coinfloor profile: increasing tonces, XBT at 10^8, XBT:GBP at price scale 100', () => {
  const cfg = defaultEngineConfig('coinfloor');
  assert.equal(cfg.tonceRule, 'increasing');
  const h = Harness.of(cfg);
  assert.deepEqual(h.engine.asset(XBT), { code: XBT, name: 'XBT', scale: 100_000_000 });
  const GBP = 0xfa20;
  const a = h.user({ [GBP]: 1_000_000, [EUR]: 1_000_000 });
  // Buy Ƀ1 at £543.21 (SCALE.md): reserves 54321 pence.
  ok(h.place(a, { base: XBT, counter: GBP, quantity: 100_000_000, price: 54321, tonce: 5 }).result);
  assert.deepEqual(h.balance(a, GBP), { asset: GBP, available: 1_000_000 - 54321, reserved: 54321 });
  // Ƀ0.00000001 at €1000: a total of 0.1 cent rounds up to 1 cent of reservation.
  ok(h.place(a, { base: XBT, counter: EUR, quantity: 1, price: 100_000, tonce: 6 }).result);
  assert.equal(h.balance(a, EUR).reserved, 1);
  failure(h.place(a, { base: XBT, counter: EUR, quantity: 1, price: 100_000, tonce: 6 }).result, 3);
});
