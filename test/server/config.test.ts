// Configuration: defaults reproduce the reference documents; every error names its path.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, defaultConfig, loadConfig, resolveConfig } from '../../src/server/config.js';

function issues(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}

test('defaults: LIMITS.md figures, loopback admin, fsync always, the CoinFLEX profile', () => {
  const c = resolveConfig();
  assert.deepEqual(c.limits, {
    authAttemptsPerHour: 1000,
    wsOrdersPerSecond: 200,
    restOrdersPer10s: 300,
    infoRequestsPer10s: 10,
    recordsPerMinute: 30,
    wsIdleTimeoutMs: 60_000,
    maxMessageBytes: 65_536,
    maxBufferedBytes: 4_194_304,
  });
  assert.deepEqual(c.listen, { host: '0.0.0.0', port: 8080 });
  assert.deepEqual(c.admin, { host: '127.0.0.1', port: 8081 });
  assert.equal(c.fsync, 'always');
  assert.equal(c.engine.maxOpenOrders, 1000);
  assert.equal(c.engine.tonceRule, 'unique');
  assert.ok(c.engine.assets.some((a) => a.name === 'XBT' && a.code === 63488 && a.scale === 10000));
  const coinfloor = resolveConfig({ profile: 'coinfloor' });
  assert.equal(coinfloor.engine.tonceRule, 'increasing');
  assert.equal(coinfloor.engine.assets.find((a) => a.name === 'XBT')?.scale, 100_000_000);
});

test('merging: objects merge key by key, arrays replace, asset names resolve', () => {
  const c = resolveConfig({
    limits: { wsOrdersPerSecond: 5 },
    engine: {
      assets: [
        { code: 1, name: 'AAA', scale: 100 },
        { code: 2, name: 'BBB', scale: 10000 },
      ],
      markets: [{ base: 'AAA', counter: 'BBB', priceScale: 100, tick: 5, fees: [{ minVolume: 0, makerPpm: 1, takerPpm: 2 }] }],
    },
  } as Record<string, unknown>);
  assert.equal(c.limits.wsOrdersPerSecond, 5);
  assert.equal(c.limits.restOrdersPer10s, 300);
  assert.deepEqual(c.engine.markets, [{ base: 1, counter: 2, priceScale: 100, tick: 5, kind: 'spot', fees: [{ minVolume: 0, makerPpm: 1, takerPpm: 2 }] }]);
  assert.equal(c.engine.tonceRule, defaultConfig().engine.tonceRule);
});

test('errors name the path and the problem, all at once', () => {
  const got = issues(() =>
    resolveConfig({
      listen: { host: '', port: 70000 },
      limits: { maxMessageBytes: 0, bogus: 1 },
      engine: {
        assets: [
          { code: 1, name: 'AAA', scale: 100 },
          { code: 1, name: 'AAB', scale: 10 },
          { code: 3, name: 'AAC', scale: 3 },
        ],
        markets: [{ base: 'NOPE', counter: 'ZZZ', priceScale: 100, tick: 0, fees: [{ minVolume: 5, makerPpm: 1, takerPpm: 2 }] }],
      },
      snapshot: { retention: 'forever' },
      tls: { cert: 'c.pem' },
    } as Record<string, unknown>),
  );
  for (const expected of [
    'listen.host: must not be empty',
    'listen.port: must be at most 65535, got 70000',
    'limits.maxMessageBytes: must be at least 1, got 0',
    'limits.bogus: unknown key',
    'engine.assets[2].scale: must be a power of 10, got 3',
    'engine.assets[1].code: duplicate asset code 1',
    'engine.markets[0].base: unknown asset "NOPE" (known: AAA)',
    'engine.markets[0].counter: unknown asset "ZZZ"',
    'engine.markets[0].tick: must be at least 1, got 0',
    'engine.markets[0].fees[0].minVolume: the first tier must start at 0',
    'snapshot.retention: expected one of "archive", "delete", "keep", got "forever"',
    'tls.key: expected a string, got nothing',
  ]) {
    assert.ok(got.some((g) => g.startsWith(expected)), `missing "${expected}" in:\n${got.join('\n')}`);
  }
});

test('files: YAML and JSON load; the message names the file; a bad profile is reported', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfloor-config-'));
  try {
    const y = join(dir, 'a.yaml');
    writeFileSync(y, 'fsync: interval\nlimits:\n  infoRequestsPer10s: 20\n');
    const c = loadConfig(y, { dataDir: '/x' });
    assert.equal(c.fsync, 'interval');
    assert.equal(c.limits.infoRequestsPer10s, 20);
    assert.equal(c.dataDir, '/x');
    const j = join(dir, 'b.json');
    writeFileSync(j, JSON.stringify({ admin: { port: 'x' } }));
    assert.throws(() => loadConfig(j), (err: Error) => err.message.includes(`${j}: admin.port: expected an integer, got "x"`));
    const p = join(dir, 'c.yaml');
    writeFileSync(p, 'profile: kraken\n');
    assert.deepEqual(issues(() => loadConfig(p)), ['profile: expected one of "coinflex", "coinfloor", got "kraken"']);
    assert.throws(() => loadConfig(join(dir, 'missing.yaml')), /cannot read config file/);
    const list = join(dir, 'd.yaml');
    writeFileSync(list, '- 1\n- 2\n');
    assert.deepEqual(issues(() => loadConfig(list)), [': expected a mapping at the top level']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the documented example configuration (README "Configuration") is valid', () => {
  const file = new URL('../../../test/cli/fixtures/openfloor.example.yaml', import.meta.url);
  const c = loadConfig(file.pathname);
  assert.equal(c.listen.port, 8080);
  assert.deepEqual(c.tls, { cert: '/etc/openfloor/tls/fullchain.pem', key: '/etc/openfloor/tls/privkey.pem' });
  assert.equal(c.engine.assets.length, 6);
  assert.deepEqual(
    c.engine.markets.map((m) => [m.base, m.counter, m.kind]),
    [
      [63488, 65283, 'spot'],
      [63520, 65283, 'spot'],
      [63488, 64032, 'spot'],
      [51211, 51891, 'futures'],
    ],
  );
  assert.deepEqual(c.limits, resolveConfig().limits, 'the example spells out the defaults');
});
