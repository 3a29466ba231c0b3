// `openfloor serve` end to end: the built binary as a child process on ephemeral ports.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { coinexSign } from '../../src/auth/hmac.js';
import { derivePrivateKey, signChallenge } from '../../src/auth/secp224k1.js';
import { adminFetch, cliJson, removeDir, runCli, startServe, tempDir, type ServerProcess } from './helpers.js';

interface DemoFile {
  userId: number;
  cookie: string;
  passphrase: string;
  apiKey: { accessId: string; secretKey: string; permissions: string[] };
}

/** Connects, reads the Welcome nonce, authenticates; resolves with the Authenticate reply. */
function authenticate(url: string, userId: number, cookie: string, passphrase: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no Authenticate reply'));
    }, 10_000);
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Record<string, unknown>;
      if (msg.notice === 'Welcome') {
        const serverNonce = Buffer.from(String(msg.nonce), 'base64');
        const clientNonce = randomBytes(16);
        const signature = signChallenge(derivePrivateKey(userId, passphrase), userId, serverNonce, clientNonce);
        ws.send(JSON.stringify({ tag: 1, method: 'Authenticate', user_id: userId, cookie, nonce: clientNonce.toString('base64'), signature }));
        return;
      }
      if (msg.tag === 1) {
        clearTimeout(timer);
        ws.close();
        resolve(msg);
      }
    });
  });
}

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', (err) => reject(err));
  });
}

test('serve --demo on a fresh data dir: URLs, credentials that work, SIGTERM, recovery from the snapshot', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  let srv: ServerProcess | undefined;
  try {
    srv = await startServe(['--demo', '--data-dir', dir, '--port', '0', '--admin-port', '0']);
    const { url, wsUrl, adminUrl, fsync } = srv.listening;
    assert.equal(fsync, 'always');
    const banner = await srv.waitForStderr(/Stop with Ctrl-C/);
    assert.match(banner, /fsync policy\s+always/);
    assert.ok(banner.includes(`${adminUrl}/metrics`), 'banner prints the metrics URL');
    const hasNative = existsSync(new URL('../../src/dialects/native-ws/index.js', import.meta.url));
    if (hasNative) {
      assert.ok(banner.includes(`${wsUrl}/`), 'banner prints the native WebSocket URL');
      assert.ok(banner.includes(`${wsUrl}/v1`));
    }
    assert.ok(banner.includes(url) || !hasNative);

    // Credentials file and admin token: present, private.
    const credFile = join(dir, 'demo-credentials.json');
    assert.ok(existsSync(credFile));
    assert.equal(statSync(credFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'admin-token')).mode & 0o777, 0o600);
    const creds = JSON.parse(readFileSync(credFile, 'utf8')) as DemoFile;
    assert.ok(banner.includes(creds.passphrase), 'the banner prints the demo passphrase');
    const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();

    // Health and readiness.
    assert.equal((await fetch(`${adminUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${adminUrl}/readyz`)).status, 200);
    assert.equal((await adminFetch(adminUrl, 'wrong', 'GET', '/admin/status')).status, 401);

    // The demo user exists, is funded, has its CoinEx key; the engine holds its public key.
    const users = await adminFetch<{ users: { id: number; publicKey: string; balances: { asset: string; available: string }[] }[] }>(adminUrl, token, 'GET', '/admin/users');
    const demo = users.body.users.find((u) => u.id === creds.userId);
    assert.ok(demo);
    assert.ok(demo.balances.some((b) => b.asset === 'XBT' && b.available === '10'));
    const keys = await cliJson<{ accessId: string; revoked: boolean; permissions: string[] }[]>(['key', 'list', '--user', String(creds.userId), '--data-dir', dir]);
    assert.deepEqual(keys, [{ accessId: creds.apiKey.accessId, permissions: ['read', 'trade'], revoked: false }]);

    // The credentials authenticate over the native WebSocket protocol; a wrong passphrase does not.
    if (hasNative) {
      const ok = await authenticate(wsUrl + '/', creds.userId, creds.cookie, creds.passphrase);
      assert.equal(ok.error_code, 0, JSON.stringify(ok));
      const bad = await authenticate(wsUrl + '/v1', creds.userId, creds.cookie, creds.passphrase + 'x');
      assert.notEqual(bad.error_code, 0);
      // Unknown WebSocket path: 404, socket destroyed.
      assert.equal(await upgradeStatus(wsUrl + '/no-such-endpoint'), 404);
    }

    // The CoinEx API key signs a private request (HMAC-SHA256 per the integration guide).
    const hasCoinex = existsSync(new URL('../../src/dialects/coinex/index.js', import.meta.url));
    if (hasCoinex) {
      const path = '/v2/assets/spot/balance';
      const ts = String(Date.now());
      const r = await fetch(url + path, {
        headers: { 'X-COINEX-KEY': creds.apiKey.accessId, 'X-COINEX-TIMESTAMP': ts, 'X-COINEX-SIGN': coinexSign('GET', path, '', ts, creds.apiKey.secretKey) },
      });
      const body = (await r.json()) as { code: number; data: { ccy: string; available: string }[] };
      assert.equal(body.code, 0, JSON.stringify(body));
      assert.ok(body.data.some((b) => b.ccy.toUpperCase() === 'USDT' && Number(b.available) > 0), JSON.stringify(body.data));
      assert.ok(banner.includes(`${wsUrl}/v2/spot`), 'banner prints the CoinEx WebSocket URL');
    }

    // The demo market maker quotes: resting orders on the demo markets.
    const markets = await cliJson<{ name: string; restingOrders: number }[]>(['market', 'list', '--data-dir', dir]);
    assert.ok((markets.find((m) => m.name === 'XBT:USDT')?.restingOrders ?? 0) > 0);

    // SIGTERM: clean shutdown, exit 0, final snapshot.
    const stopped = await srv.stop('SIGTERM');
    assert.equal(stopped.code, 0, srv.stderr());
    const snap = srv.logs.find((l) => l.msg === 'snapshot written');
    assert.ok(snap, 'a snapshot was taken on shutdown');
    const last = srv.logs.find((l) => l.event === 'stopped');
    assert.ok(last);
    assert.ok(!existsSync(join(dir, 'server.json')));

    // Next start: recovers from that snapshot without replaying what it covers.
    srv = await startServe(['--data-dir', dir, '--port', '0', '--admin-port', '0', '--no-demo-liquidity']);
    const rec = srv.logs.find((l) => l.msg === 'recovery finished')?.recovery as { snapshotSeq: number; replayed: number };
    assert.equal(rec.snapshotSeq, last.lastSeq);
    assert.equal(rec.replayed, 0);
    assert.match(await srv.waitForStderr(/Stop with Ctrl-C/), new RegExp(`from snapshot seq ${String(last.lastSeq)}, replayed 0 journal records`));
    // The demo user survived the restart.
    if (hasNative) {
      const again = await authenticate(srv.listening.wsUrl + '/', creds.userId, creds.cookie, creds.passphrase);
      assert.equal(again.error_code, 0);
    }
    const stopped2 = await srv.stop('SIGINT');
    assert.equal(stopped2.code, 0);
  } finally {
    srv?.kill();
    removeDir(dir);
  }
});

test('config errors are reported with their path and problem; the server does not start', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  try {
    const yamlFile = join(dir, 'bad.yaml');
    writeFileSync(
      yamlFile,
      [
        'listen:',
        '  port: 99999',
        'limits:',
        '  wsOrdersPerSecond: -1',
        'engine:',
        '  markets:',
        '    - { base: NOPE, counter: USDT, priceScale: 10000, tick: 1 }',
        'fsync: sometimes',
        'colour: blue',
      ].join('\n'),
    );
    const r = await runCli(['serve', '--config', yamlFile, '--data-dir', join(dir, 'data'), '--port', '0', '--admin-port', '0']);
    assert.equal(r.code, 2, r.stderr);
    for (const expected of [
      'limits.wsOrdersPerSecond: must be at least 1',
      'engine.markets[0].base: unknown asset "NOPE"',
      'fsync: expected one of "always", "interval", "off"',
      'colour: unknown key',
    ]) {
      assert.ok(r.stderr.includes(expected), `stderr names ${expected}:\n${r.stderr}`);
    }
    // The port flag wins over the file, so listen.port is not reported here; in the file alone it is.
    const jsonFile = join(dir, 'bad.json');
    writeFileSync(jsonFile, JSON.stringify({ listen: { port: 99999 }, snapshot: { everyCommands: 'often' } }));
    const r2 = await runCli(['serve', '--config', jsonFile, '--data-dir', join(dir, 'data')]);
    assert.equal(r2.code, 2);
    assert.ok(r2.stderr.includes('listen.port: must be at most 65535, got 99999'), r2.stderr);
    assert.ok(r2.stderr.includes('snapshot.everyCommands: expected an integer, got "often"'), r2.stderr);
    assert.ok(!existsSync(join(dir, 'data', 'store.json')), 'nothing was created');

    // Unparsable file: the parser's message with the file name.
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'limits: [1, 2\n');
    const r3 = await runCli(['serve', '--config', broken, '--data-dir', join(dir, 'data')]);
    assert.equal(r3.code, 2);
    assert.ok(r3.stderr.includes('broken.yaml'), r3.stderr);

    // Flags and environment: a bad value names the option.
    const r4 = await runCli(['serve', '--port', 'eighty'], {});
    assert.notEqual(r4.code, 0);
    assert.match(r4.stderr, /--port/);
    const r5 = await runCli(['serve', '--data-dir', join(dir, 'data')], { env: { OPENFLOOR_FSYNC: 'maybe' } });
    assert.notEqual(r5.code, 0);
    assert.match(r5.stderr, /--fsync/);
    const r6 = await runCli(['serve', '--tls-cert', join(dir, 'cert.pem'), '--data-dir', join(dir, 'data')]);
    assert.equal(r6.code, 2);
    assert.match(r6.stderr, /--tls-key/);
  } finally {
    removeDir(dir);
  }
});

test('a valid YAML config applies: limits, listener and fsync from the file, flags win over it', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  let srv: ServerProcess | undefined;
  try {
    const file = join(dir, 'openfloor.yaml');
    writeFileSync(
      file,
      ['listen: { host: 127.0.0.1, port: 1 }', 'fsync: interval', 'fsyncIntervalMs: 20', 'limits:', '  wsOrdersPerSecond: 50', 'logLevel: info'].join('\n'),
    );
    srv = await startServe(['--config', file, '--data-dir', join(dir, 'data'), '--port', '0', '--admin-port', '0'], {
      env: { OPENFLOOR_LOG_LEVEL: 'info' },
    });
    assert.equal(srv.listening.fsync, 'interval');
    assert.match(srv.listening.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(srv.listening.url, 'http://127.0.0.1:1');
    assert.equal((await srv.stop()).code, 0);
  } finally {
    srv?.kill();
    removeDir(dir);
  }
});

test('--help everywhere', { timeout: 60_000 }, async () => {
  for (const args of [[], ['serve'], ['user', 'create'], ['key', 'revoke'], ['address', 'add'], ['deposit'], ['withdraw'], ['asset', 'add'], ['market', 'add'], ['status'], ['verify']]) {
    const r = await runCli([...args, '--help']);
    assert.equal(r.code, 0, `${args.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, /Usage: openfloor/);
  }
  const serve = await runCli(['serve', '--help']);
  for (const flag of ['--port', 'OPENFLOOR_PORT', '--data-dir', 'OPENFLOOR_DATA_DIR', '--config', '--fsync', '--tls-cert', '--tls-key', '--admin-port', '--demo', '--demo-liquidity']) {
    assert.ok(serve.stdout.includes(flag), `serve --help mentions ${flag}`);
  }
  const unknown = await runCli(['frobnicate']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /frobnicate/);
});
