// Accounts and administration: users, deposits, withdrawals to registered addresses, positions,
// AddAsset / AddMarket validation, API keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/core/engine.js';
import type { MarketConfig } from '../../src/core/types.js';
import { ETH, EUR, failure, Harness, NO_FEES, ofType, ok, stateOf, testConfig, types, USDC, USDT, XBT } from './helpers.js';

test('CreateUser: ids count up, views expose key and cookie, empty fields are rejected', () => {
  const h = Harness.of();
  const s = h.run({ type: 'CreateUser', publicKey: 'PK1', cookie: 'C1' });
  assert.deepEqual(ok(s.result), { ok: true, userId: 1 });
  assert.deepEqual(s.events, [{ type: 'UserCreated', userId: 1 }]);
  assert.deepEqual(ok(h.run({ type: 'CreateUser', publicKey: 'PK2', cookie: 'C2' }).result), { ok: true, userId: 2 });
  failure(h.run({ type: 'CreateUser', publicKey: '', cookie: 'C' }).result, 8);
  failure(h.run({ type: 'CreateUser', publicKey: 'P', cookie: '' }).result, 8);
  assert.deepEqual(h.engine.user(1), { id: 1, publicKey: 'PK1', cookie: 'C1' });
  assert.equal(h.engine.user(3), undefined);
  assert.deepEqual(
    h.engine.users().map((u) => u.id),
    [1, 2],
  );
  // Every asset has a zero balance row.
  assert.equal(h.engine.balances(1).length, h.engine.assets().length);
  assert.ok(h.engine.balances(1).every((b) => b.available === 0 && b.reserved === 0));
  assert.deepEqual(h.engine.balances(99), []);
});

test('deposits: positive safe integers into existing assets, reported by BalanceChanged', () => {
  const h = Harness.of();
  const a = h.user();
  const s = h.run({ type: 'Deposit', userId: a, asset: USDT, amount: 500 });
  ok(s.result);
  assert.deepEqual(s.events, [{ type: 'BalanceChanged', userId: a, asset: USDT, available: 500, reserved: 0 }]);
  failure(h.run({ type: 'Deposit', userId: a, asset: USDT, amount: 0 }).result, 8);
  failure(h.run({ type: 'Deposit', userId: a, asset: USDT, amount: -5 }).result, 8);
  failure(h.run({ type: 'Deposit', userId: a, asset: USDT, amount: 1.5 }).result, 8);
  failure(h.run({ type: 'Deposit', userId: a, asset: 0x1234, amount: 5 }).result, 1);
  failure(h.run({ type: 'Deposit', userId: 99, asset: USDT, amount: 5 }).result, 1);
  failure(h.run({ type: 'Deposit', userId: a, asset: USDT, amount: Number.MAX_SAFE_INTEGER }).result, 8);
  // Reserved funds count towards the overflow limit too.
  h.limit(a, 1, 10_000);
  failure(h.run({ type: 'Deposit', userId: a, asset: USDT, amount: Number.MAX_SAFE_INTEGER - 500 + 1 }).result, 8);
  ok(h.run({ type: 'Deposit', userId: a, asset: USDT, amount: Number.MAX_SAFE_INTEGER - 500 }).result);
  assert.deepEqual(h.balance(a, USDT), { asset: USDT, available: Number.MAX_SAFE_INTEGER - 1, reserved: 1 });
});

test('deposits: the total of an asset over all users stays a safe integer, so trades can never carry a balance past 2^53', () => {
  const h = Harness.of(testConfig({ fees: [{ minVolume: 0, makerPpm: 1_000, takerPpm: 2_000 }] }));
  const a = h.user({ [XBT]: 1_000 });
  const b = h.user({ [USDT]: 1_000_000_000 });
  // a alone is far from the per-user limit, but together with b's funds USDT would pass 2^53.
  const room = Number.MAX_SAFE_INTEGER - 1_000_000_000;
  const refused = h.run({ type: 'Deposit', userId: a, asset: USDT, amount: room + 1 });
  failure(refused.result, 8);
  assert.deepEqual(refused.events, []);
  assert.equal(h.engine.heldTotal(USDT), 1_000_000_000, 'unchanged');
  ok(h.run({ type: 'Deposit', userId: a, asset: USDT, amount: room }).result);
  assert.equal(h.engine.heldTotal(USDT), Number.MAX_SAFE_INTEGER);
  failure(h.run({ type: 'Deposit', userId: b, asset: USDT, amount: 1 }).result, 8);
  // Fees leave the total; a withdrawal makes room again.
  h.limit(a, -1_000, 1_000_000);
  h.place(b, { quantity: 1_000, price: 1_000_000 });
  const fees = Number.MAX_SAFE_INTEGER - h.engine.heldTotal(USDT)!;
  assert.ok(fees > 0, 'the trade took fees');
  const sum = [a, b].reduce((t, u) => t + h.balance(u, USDT).available + h.balance(u, USDT).reserved, 0);
  assert.equal(h.engine.heldTotal(USDT), sum);
  ok(h.run({ type: 'AddWithdrawalAddress', userId: b, asset: USDT, address: 'out' }).result);
  ok(h.run({ type: 'Withdraw', userId: b, asset: USDT, amount: 500, address: 'out' }).result);
  assert.equal(h.engine.heldTotal(USDT), sum - 500);
  ok(h.run({ type: 'Deposit', userId: b, asset: USDT, amount: fees + 500 }).result);
  failure(h.run({ type: 'Deposit', userId: b, asset: USDT, amount: 1 }).result, 8);
  // Derived from the balances: a restore recomputes it.
  assert.equal(Engine.restore(h.engine.serialize()).heldTotal(USDT), Number.MAX_SAFE_INTEGER);
  assert.equal(h.engine.heldTotal(0x1234), undefined);
});

test('withdrawals go only to an address registered for that user and asset', () => {
  const h = Harness.of();
  const a = h.user({ [XBT]: 1_000 });
  const b = h.user();
  failure(h.run({ type: 'Withdraw', userId: a, asset: XBT, amount: 10, address: 'addr1' }).result, 8);
  failure(h.run({ type: 'AddWithdrawalAddress', userId: a, asset: 0x1234, address: 'addr1' }).result, 1);
  failure(h.run({ type: 'AddWithdrawalAddress', userId: 99, asset: XBT, address: 'addr1' }).result, 1);
  failure(h.run({ type: 'AddWithdrawalAddress', userId: a, asset: XBT, address: '' }).result, 8);
  failure(h.run({ type: 'AddWithdrawalAddress', userId: a, asset: XBT, address: 'x'.repeat(257) }).result, 8);
  ok(h.run({ type: 'AddWithdrawalAddress', userId: a, asset: XBT, address: 'addr1' }).result);
  ok(h.run({ type: 'AddWithdrawalAddress', userId: a, asset: USDT, address: 'addr:usdt' }).result);
  ok(h.run({ type: 'AddWithdrawalAddress', userId: b, asset: XBT, address: 'addr2' }).result);
  assert.deepEqual(h.engine.withdrawalAddresses(a), [
    { asset: XBT, address: 'addr1' },
    { asset: USDT, address: 'addr:usdt' },
  ]);
  // Insertion order survives a restore ("z" before "a" would sort differently).
  ok(h.run({ type: 'AddWithdrawalAddress', userId: b, asset: XBT, address: 'a-later' }).result);
  const restored = Engine.restore(JSON.parse(JSON.stringify(h.engine.serialize())));
  assert.deepEqual(restored.withdrawalAddresses(b), h.engine.withdrawalAddresses(b));
  assert.deepEqual(h.engine.withdrawalAddresses(b).map((x) => x.address), ['addr2', 'a-later']);
  // Another user's address, or the right address for another asset, is refused.
  failure(h.run({ type: 'Withdraw', userId: a, asset: XBT, amount: 10, address: 'addr2' }).result, 8);
  failure(h.run({ type: 'Withdraw', userId: a, asset: XBT, amount: 10, address: 'addr:usdt' }).result, 8);
  failure(h.run({ type: 'Withdraw', userId: a, asset: XBT, amount: 0, address: 'addr1' }).result, 8);
  failure(h.run({ type: 'Withdraw', userId: a, asset: XBT, amount: 1_001, address: 'addr1' }).result, 4, 'You have insufficient funds.');
  // Reserved funds cannot be withdrawn.
  h.limit(a, -600, 1_000_000);
  failure(h.run({ type: 'Withdraw', userId: a, asset: XBT, amount: 401, address: 'addr1' }).result, 4);
  const s = h.run({ type: 'Withdraw', userId: a, asset: XBT, amount: 400, address: 'addr1' });
  ok(s.result);
  assert.deepEqual(s.events, [{ type: 'BalanceChanged', userId: a, asset: XBT, available: 0, reserved: 600 }]);
});

test('positions: net traded amounts per asset, fees included, with the time of the last change', () => {
  const h = Harness.of(testConfig({ fees: [{ minVolume: 0, makerPpm: 1_000, takerPpm: 2_000 }] }));
  const s = h.user({ [XBT]: 100_000 });
  const b = h.user({ [USDT]: 100_000_000 });
  h.limit(s, -10_000, 1_000_000);
  h.place(b, { quantity: 10_000, price: 1_000_000 }); // total 1_000_000, fees 2_000 / 1_000
  const t = h.time;
  assert.deepEqual(h.engine.positions(b), [
    { asset: XBT, position: 10_000, through: t },
    { asset: USDT, position: -1_002_000, through: t },
  ]);
  assert.deepEqual(h.engine.positions(s), [
    { asset: XBT, position: -10_000, through: t },
    { asset: USDT, position: 999_000, through: t },
  ]);
  assert.deepEqual(h.engine.positions(99), []);
});

test('AddAsset: validation and effect', () => {
  const h = Harness.of();
  const a = h.user();
  const add = (asset: { code: number; name: string; scale: number }) => h.run({ type: 'AddAsset', asset });
  failure(add({ code: 0, name: 'ZZZ', scale: 100 }).result, 8);
  failure(add({ code: 0x10000, name: 'ZZZ', scale: 100 }).result, 8);
  failure(add({ code: 1.5, name: 'ZZZ', scale: 100 }).result, 8);
  failure(add({ code: XBT, name: 'ZZZ', scale: 100 }).result, 8);
  failure(add({ code: 0x7777, name: 'XBT', scale: 100 }).result, 8);
  failure(add({ code: 0x7777, name: '', scale: 100 }).result, 8);
  failure(add({ code: 0x7777, name: 'bad name', scale: 100 }).result, 8);
  failure(add({ code: 0x7777, name: 'ZZZ', scale: 0 }).result, 8);
  failure(add({ code: 0x7777, name: 'ZZZ', scale: 1.5 }).result, 8);
  const s = add({ code: 0x7777, name: 'ZZZ', scale: 100 });
  ok(s.result);
  assert.deepEqual(s.events, [{ type: 'AssetAdded', asset: 0x7777 }]);
  assert.deepEqual(h.engine.asset(0x7777), { code: 0x7777, name: 'ZZZ', scale: 100 });
  assert.deepEqual(h.engine.assetByName('ZZZ'), { code: 0x7777, name: 'ZZZ', scale: 100 });
  // Existing users have a zero balance in it and can deposit.
  assert.deepEqual(h.balance(a, 0x7777), { asset: 0x7777, available: 0, reserved: 0 });
  h.deposit(a, 0x7777, 5);
  assert.equal(h.balance(a, 0x7777).available, 5);
});

test('AddMarket: validation and effect', () => {
  const h = Harness.of();
  const good: MarketConfig = { base: ETH, counter: EUR, priceScale: 100, tick: 5, kind: 'spot', spotName: 'ETH:EUR', fees: NO_FEES };
  const add = (market: Partial<MarketConfig>) => h.run({ type: 'AddMarket', market: { ...good, ...market } as MarketConfig });
  failure(add({ base: 0x1234 }).result, 8);
  failure(add({ counter: ETH }).result, 8);
  failure(add({ base: XBT, counter: USDT }).result, 8); // exists
  failure(add({ priceScale: 0 }).result, 8);
  failure(add({ tick: 0 }).result, 8);
  failure(add({ tick: 2.5 }).result, 8);
  failure(add({ kind: 'option' as 'spot' }).result, 8);
  failure(add({ fees: [] }).result, 8);
  failure(add({ fees: [{ minVolume: 0, makerPpm: -1, takerPpm: 0 }] }).result, 8);
  failure(add({ fees: [{ minVolume: 0, makerPpm: 0, takerPpm: 1_000_001 }] }).result, 8);
  failure(
    add({
      fees: [
        { minVolume: 0, makerPpm: 0, takerPpm: 0 },
        { minVolume: 0, makerPpm: 0, takerPpm: 0 },
      ],
    }).result,
    8,
  );
  failure(add({ kind: 'futures', start: 2_000, expires: 1_000 }).result, 8);
  failure(add({ kind: 'futures', start: 1.5 }).result, 8);
  assert.equal(h.engine.market(ETH, EUR), undefined);
  const s = add({});
  ok(s.result);
  assert.deepEqual(s.events, [{ type: 'MarketAdded', base: ETH, counter: EUR }]);
  assert.deepEqual(h.engine.market(ETH, EUR), good);
  // It trades, with its own tick.
  const a = h.user({ [EUR]: 100_000 });
  const step = h.place(a, { base: ETH, counter: EUR, quantity: 10_000, price: 1_234 });
  ok(step.result);
  assert.equal(ofType(step.events, 'OrderOpened')[0]!.price, 1_230);
  // The market list and the ticker list include it.
  assert.ok(h.engine.markets().some((m) => m.base === ETH && m.counter === EUR));
  assert.ok(h.engine.tickers().some((t) => t.base === ETH && t.counter === EUR && t.bid === 1_230));
});

test('the constructor validates its configuration', () => {
  const cfg = testConfig();
  assert.throws(() => new Engine({ ...cfg, assets: [...cfg.assets, { code: XBT, name: 'DUP', scale: 1 }] }));
  assert.throws(() => new Engine({ ...cfg, markets: [...cfg.markets, { ...cfg.markets[0]!, tick: 0 }] }));
});

test('API keys: create, look up, list per user, revoke', () => {
  const h = Harness.of();
  const a = h.user();
  const b = h.user();
  const key = (accessId: string, userId = a, secretKey = '0123456789abcdef', permissions: ('read' | 'trade')[] = ['read', 'trade']) =>
    h.run({ type: 'CreateApiKey', userId, accessId, secretKey, permissions });
  ok(key('k1', a, '0123456789abcdef', ['read', 'read', 'trade']).result);
  ok(key('k2', a, '0123456789abcdefXYZ', ['read']).result);
  ok(key('k3', b).result);
  failure(key('k1').result, 8);
  failure(key('').result, 8);
  failure(key('k4', a, 'short').result, 8);
  failure(key('k5', 99).result, 1);
  assert.deepEqual(h.engine.apiKey('k1'), { accessId: 'k1', userId: a, secretKey: '0123456789abcdef', permissions: ['read', 'trade'], revoked: false });
  assert.deepEqual(
    h.engine.apiKeys(a).map((k) => k.accessId),
    ['k1', 'k2'],
  );
  assert.equal(h.engine.apiKey('nope'), undefined);
  ok(h.run({ type: 'RevokeApiKey', accessId: 'k1' }).result);
  assert.equal(h.engine.apiKey('k1')?.revoked, true);
  failure(h.run({ type: 'RevokeApiKey', accessId: 'k1' }).result, 1);
  failure(h.run({ type: 'RevokeApiKey', accessId: 'nope' }).result, 1);
  // Views are copies.
  h.engine.apiKey('k2')!.permissions.push('trade');
  assert.deepEqual(h.engine.apiKey('k2')!.permissions, ['read']);
});

test('unknown command types fail without changing state', () => {
  const h = Harness.of();
  h.user({ [USDT]: 5 });
  const before = stateOf(h.engine);
  const s = h.run({ type: 'Bogus' } as never);
  failure(s.result, 8);
  assert.deepEqual(types(s.events), []);
  assert.deepEqual(stateOf(h.engine), before);
});

test('asset and market views are copies', () => {
  const h = Harness.of();
  h.engine.asset(USDC)!.scale = 1;
  h.engine.market(USDC, USDT)!.fees[0]!.takerPpm = 99;
  assert.equal(h.engine.asset(USDC)!.scale, 10_000);
  assert.equal(h.engine.market(USDC, USDT)!.fees[0]!.takerPpm, 0);
});
