// Operator commands through the built binary: online (admin API of a running server) and
// offline (store opened directly), each a journaled engine command.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { derivePrivateKey, publicKeyFromPrivate, publicKeyToBase64 } from '../../src/auth/secp224k1.js';
import { cliJson, removeDir, runCli, startServe, tempDir, type ServerProcess } from './helpers.js';

interface UserRow {
  id: number;
  publicKey: string;
  apiKeys: number;
  balances: { asset: string; available: string; reserved: string }[];
}

/** The same sequence of operator commands, in either mode. Returns the ids it created. */
async function exercise(dir: string, mode: 'online' | 'offline', suffix: string): Promise<{ userId: number }> {
  const d = ['--data-dir', dir];
  const status = await cliJson<{ mode: string; users: number }>(['status', ...d]);
  assert.equal(status.mode, mode);

  // user create: generated passphrase, and a given one; only the public key is stored.
  const gen = await cliJson<{ userId: number; cookie: string; passphrase: string; generated: boolean }>(['user', 'create', ...d]);
  assert.equal(gen.generated, true);
  assert.ok(gen.passphrase.length >= 16);
  const given = await cliJson<{ userId: number; cookie: string; passphrase: string; generated: boolean }>(['user', 'create', '--passphrase', 'opensesame', ...d]);
  assert.equal(given.userId, gen.userId + 1);
  assert.equal(given.passphrase, 'opensesame');
  const users = await cliJson<UserRow[]>(['user', 'list', ...d]);
  const row = users.find((u) => u.id === given.userId);
  assert.ok(row);
  assert.equal(row.publicKey, publicKeyToBase64(publicKeyFromPrivate(derivePrivateKey(given.userId, 'opensesame'))));
  assert.ok(!JSON.stringify(users).includes('opensesame'), 'no passphrase is stored');
  const human = await runCli(['user', 'create', ...d]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /user \d+ created/);
  assert.match(human.stdout, /cookie\s+\S+/);

  // key create / list / revoke
  const key = await cliJson<{ accessId: string; secretKey: string; permissions: string[] }>(['key', 'create', '--user', String(gen.userId), '--permissions', 'read', ...d]);
  assert.deepEqual(key.permissions, ['read']);
  assert.match(key.secretKey, /^[0-9A-F]{64}$/);
  await cliJson(['key', 'revoke', key.accessId, ...d]);
  const keys = await cliJson<{ accessId: string; revoked: boolean }[]>(['key', 'list', '--user', String(gen.userId), ...d]);
  assert.deepEqual(keys.map((k) => [k.accessId, k.revoked]), [[key.accessId, true]]);
  const again = await runCli(['key', 'revoke', key.accessId, ...d]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already revoked/);

  // deposit, address, withdraw (refused to a non-whitelisted address)
  const dep = await cliJson<{ available: string }>(['deposit', '--user', String(gen.userId), '--asset', 'XBT', '--amount', '2.5', ...d]);
  assert.equal(dep.available, '2.5');
  const refused = await runCli(['withdraw', '--user', String(gen.userId), '--asset', 'XBT', '--amount', '1', '--address', `bc1-not-listed-${suffix}`, ...d]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /withdraw: .*address/i);
  await cliJson(['address', 'add', '--user', String(gen.userId), '--asset', 'XBT', '--address', `bc1-listed-${suffix}`, ...d]);
  const addrs = await cliJson<{ asset: string; address: string }[]>(['address', 'list', '--user', String(gen.userId), ...d]);
  assert.deepEqual(addrs, [{ asset: 'XBT', address: `bc1-listed-${suffix}` }]);
  const wd = await cliJson<{ available: string }>(['withdraw', '--user', String(gen.userId), '--asset', 'XBT', '--amount', '1', '--address', `bc1-listed-${suffix}`, ...d]);
  assert.equal(wd.available, '1.5');
  const tooMuch = await runCli(['withdraw', '--user', String(gen.userId), '--asset', 'XBT', '--amount', '5', '--address', `bc1-listed-${suffix}`, ...d]);
  assert.equal(tooMuch.code, 1);

  // asset add, market add, market list
  const code = suffix === 'on' ? 4242 : 4343;
  const name = suffix === 'on' ? 'DOGE' : 'SHIB';
  const asset = await cliJson<{ code: number; name: string }>(['asset', 'add', '--code', String(code), '--name', name, '--scale', '100000000', ...d]);
  assert.deepEqual([asset.code, asset.name], [code, name]);
  const dup = await runCli(['asset', 'add', '--code', String(code), '--name', `${name}2`, '--scale', '100', ...d]);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /code: asset code \d+ already exists/);
  await cliJson(['market', 'add', '--base', name, '--counter', 'USDT', '--price-scale', '10000', '--tick', '1', '--fees', '0:100:200', ...d]);
  const markets = await cliJson<{ name: string; fees: unknown[] }[]>(['market', 'list', ...d]);
  const m = markets.find((x) => x.name === `${name}:USDT`);
  assert.ok(m);
  assert.deepEqual(m.fees, [{ minVolume: 0, makerPpm: 100, takerPpm: 200 }]);
  const badMarket = await runCli(['market', 'add', '--base', name, '--counter', 'NOPE', '--price-scale', '10000', '--tick', '1', ...d]);
  assert.equal(badMarket.code, 2);
  assert.match(badMarket.stderr, /counter: unknown asset "NOPE"/);

  // Errors name the bad argument and exit non-zero.
  const badUser = await runCli(['deposit', '--user', 'abc', '--asset', 'XBT', '--amount', '1', ...d]);
  assert.notEqual(badUser.code, 0);
  assert.match(badUser.stderr, /--user/);
  const noUser = await runCli(['deposit', '--user', '999', '--asset', 'XBT', '--amount', '1', ...d]);
  assert.notEqual(noUser.code, 0);
  assert.match(noUser.stderr, /user: there is no user 999/);
  const badAmount = await runCli(['deposit', '--user', String(gen.userId), '--asset', 'XBT', '--amount', '0.00001', ...d]);
  assert.equal(badAmount.code, 2);
  assert.match(badAmount.stderr, /amount: 0\.00001 has more than 4 decimal places/);
  const badAsset = await runCli(['deposit', '--user', String(gen.userId), '--asset', 'XYZ', '--amount', '1', ...d]);
  assert.notEqual(badAsset.code, 0);
  assert.match(badAsset.stderr, /asset: unknown asset "XYZ"/);
  const missing = await runCli(['deposit', '--user', String(gen.userId), '--asset', 'XBT', ...d]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /--amount/);

  // snapshot and verify
  const snap = await cliJson<{ lastSeq: number }>(['snapshot', ...d]);
  assert.ok(snap.lastSeq > 0);
  const ver = await cliJson<{ verify: { ok: boolean; message: string } }>(['verify', ...d]);
  assert.equal(ver.verify.ok, true, ver.verify.message);
  return { userId: gen.userId };
}

test('operator commands online (admin API) and offline (store opened directly)', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  let srv: ServerProcess | undefined;
  try {
    // Offline before any server ran: refused, nothing is created by a typo'd --data-dir.
    const none = await runCli(['status', '--data-dir', dir]);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /holds no openfloor store/);

    srv = await startServe(['--data-dir', dir, '--port', '0', '--admin-port', '0', '--fsync', 'off']);
    const online = await exercise(dir, 'online', 'on');
    // Rejected commands are logged, without secrets.
    const rejected = srv.logs.filter((l) => l.event === 'rejected');
    assert.ok(rejected.some((l) => (l.cmd as { type: string }).type === 'Withdraw'));
    const all = JSON.stringify(srv.logs);
    assert.ok(!all.includes('opensesame'), 'no passphrase in the logs');
    assert.equal((await srv.stop()).code, 0);

    // Offline, against the same data directory.
    const offline = await exercise(dir, 'offline', 'off');
    assert.ok(offline.userId > online.userId);

    // A server started afterwards sees what was done offline (journal, not a side door).
    srv = await startServe(['--data-dir', dir, '--port', '0', '--admin-port', '0', '--fsync', 'off']);
    const users = await cliJson<UserRow[]>(['user', 'list', '--data-dir', dir]);
    assert.ok(users.some((u) => u.id === offline.userId && u.balances.some((b) => b.asset === 'XBT' && b.available === '1.5')));
    const markets = await cliJson<{ name: string }[]>(['market', 'list', '--data-dir', dir]);
    assert.ok(markets.some((m) => m.name === 'SHIB:USDT'));
    assert.ok(markets.some((m) => m.name === 'DOGE:USDT'));
    // --offline while the server holds the data directory: refused by the directory lock.
    const locked = await runCli(['status', '--offline', '--data-dir', dir]);
    assert.notEqual(locked.code, 0);
    assert.equal((await srv.stop()).code, 0);
  } finally {
    srv?.kill();
    removeDir(dir);
  }
});
