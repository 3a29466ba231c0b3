// startServer wiring over real sockets: WebSocket dispatch by path, body limit, readiness,
// graceful close with in-flight commands, restart recovery, TLS.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import type { Dialect } from '../../src/server/dialect.js';
import { startAdmin } from '../../src/server/admin.js';
import { routePrefixes, startServer, type RunningServer } from '../../src/server/server.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'openfloor-server-'));
}

/** A minimal dialect for wiring tests: one HTTP route and one WebSocket endpoint. */
function fixtureDialect(name: string, wsPath: string): Dialect & { connections: number; closed: boolean } {
  const d = {
    name,
    connections: 0,
    closed: false,
    register(app: Parameters<Dialect['register']>[0]) {
      app.post(`/${name}/echo`, async (req) => ({ got: req.body }));
      return [
        {
          paths: [wsPath],
          onConnection: (ws: WebSocket) => {
            d.connections++;
            ws.send('hello');
            ws.on('message', (m) => ws.send(String(m)));
          },
        },
      ];
    },
    close() {
      d.closed = true;
    },
  };
  return d;
}

function upgrade(url: string, opts: { rejectUnauthorized?: boolean } = {}): Promise<{ status: number; first?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('message', (m) => {
      resolve({ status: 101, first: String(m) });
      ws.close();
    });
    ws.on('error', reject);
  });
}

test('WebSocket upgrades dispatch by exact path; unknown paths get 404; bodies over maxMessageBytes get 413', { timeout: 30_000 }, async () => {
  const dir = tmp();
  let s: RunningServer | undefined;
  try {
    const a = fixtureDialect('alpha', '/alpha');
    const b = fixtureDialect('beta', '/beta/ws');
    s = await startServer({ dataDir: dir, fsync: 'off', logLevel: 'silent', dialects: [a, b], config: { limits: { maxMessageBytes: 1024 } } });
    assert.deepEqual(
      s.endpoints.map((e) => [e.dialect, e.paths, e.http]),
      [
        ['alpha', ['/alpha'], ['/alpha/echo']],
        ['beta', ['/beta/ws'], ['/beta/echo']],
      ],
    );
    assert.deepEqual(await upgrade(`${s.wsUrl}/alpha`), { status: 101, first: 'hello' });
    assert.deepEqual(await upgrade(`${s.wsUrl}/beta/ws?x=1`), { status: 101, first: 'hello' });
    assert.equal((await upgrade(`${s.wsUrl}/alpha/`)).status, 404);
    assert.equal((await upgrade(`${s.wsUrl}/gamma`)).status, 404);
    assert.equal(a.connections, 1);
    assert.equal(b.connections, 1);

    const small = await fetch(`${s.url}/alpha/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x: 1 }) });
    assert.equal(small.status, 200);
    assert.deepEqual(await small.json(), { got: { x: 1 } });
    const big = await fetch(`${s.url}/alpha/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(2000) }) });
    assert.equal(big.status, 413);
  } finally {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two dialects claiming the same WebSocket path: startServer fails and releases the data directory', { timeout: 30_000 }, async () => {
  const dir = tmp();
  try {
    await assert.rejects(
      startServer({ dataDir: dir, fsync: 'off', logLevel: 'silent', dialects: [fixtureDialect('one', '/x'), fixtureDialect('two', '/x')] }),
      /WebSocket path \/x claimed by both one and two/,
    );
    // The lock was released: the directory opens again.
    const s = await startServer({ dataDir: dir, fsync: 'off', logLevel: 'silent', dialects: [] });
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readyz is 503 until recovery finished; healthz answers at once', { timeout: 30_000 }, async () => {
  const dir = tmp();
  const admin = await startAdmin({ host: '127.0.0.1', port: 0, token: 'x'.repeat(64), log: pino({ level: 'silent' }), dataDir: dir });
  try {
    assert.equal((await fetch(`${admin.url}/healthz`)).status, 200);
    const r = await fetch(`${admin.url}/readyz`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { status: 'recovering' });
    const st = await fetch(`${admin.url}/admin/status`, { headers: { authorization: `Bearer ${'x'.repeat(64)}` } });
    assert.equal(st.status, 503);
  } finally {
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('close() finishes in-flight commands, closes dialects, snapshots; a restart replays nothing', { timeout: 30_000 }, async () => {
  const dir = tmp();
  try {
    const d = fixtureDialect('alpha', '/alpha');
    const s = await startServer({ dataDir: dir, fsync: 'always', logLevel: 'silent', dialects: [d] });
    const cookie = 'Y29va2ll';
    // A client that stays connected is told the server goes away (1001) and does not hold up close().
    const client = new WebSocket(`${s.wsUrl}/alpha`);
    await new Promise<void>((resolve, reject) => {
      client.once('message', () => resolve());
      client.once('error', reject);
    });
    const clientClosed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    const inflight = Array.from({ length: 50 }, (_, i) => s.ctx.submit({ type: 'CreateUser', publicKey: `key${i}`, cookie }));
    const closing = s.close();
    const applied = await Promise.all(inflight);
    assert.ok(applied.every((a) => a.result.ok));
    await closing;
    assert.equal(d.closed, true);
    assert.equal(await clientClosed, 1001);
    const lastSeq = applied[applied.length - 1]!.seq;
    // Admin and public listeners are gone.
    await assert.rejects(fetch(`${s.adminUrl}/healthz`));
    await assert.rejects(fetch(`${s.url}/alpha/echo`, { method: 'POST' }));

    const s2 = await startServer({ dataDir: dir, fsync: 'always', logLevel: 'silent', dialects: [] });
    try {
      assert.equal(s2.recovery.replayed, 0);
      assert.equal(s2.recovery.snapshotSeq, lastSeq);
      assert.equal(s2.ctx.engine.users().length, 50);
    } finally {
      await s2.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('routePrefixes summarises a dialect\'s routes', () => {
  assert.deepEqual(routePrefixes([]), []);
  assert.deepEqual(routePrefixes(['/event-stream', '/v2/event-stream']), ['/event-stream', '/v2/event-stream']);
  assert.deepEqual(routePrefixes(['/bist/:base/:counter/ticker/', '/v2/bist/:base/:counter/ticker/']), ['/bist/…', '/v2/bist/…']);
  assert.deepEqual(routePrefixes(['/assets/', '/markets/', '/tickers/', '/tickers/:pair', '/orders/']), ['/']);
  assert.deepEqual(routePrefixes(['/v2/spot/a', '/v2/spot/b', '/v2/assets/c', '/v2/x', '/v2/y']), ['/v2/']);
});

test('TLS: https:// and wss:// on the public port', { timeout: 30_000 }, async (t) => {
  const dir = tmp();
  try {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    if (gen.error || gen.status !== 0) {
      t.skip('openssl is not available to make a test certificate');
      return;
    }
    const s = await startServer({ dataDir: join(dir, 'data'), fsync: 'off', logLevel: 'silent', tls: { cert, key }, dialects: [fixtureDialect('alpha', '/alpha')] });
    try {
      assert.match(s.url, /^https:\/\//);
      assert.match(s.wsUrl, /^wss:\/\//);
      const ca = readFileSync(cert);
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(`${s.url}/alpha/echo`, { method: 'POST', ca, checkServerIdentity: () => undefined, headers: { 'content-type': 'application/json' } }, (res) => {
          let b = '';
          res.setEncoding('utf8').on('data', (c: string) => (b += c)).on('end', () => resolve(b));
        });
        req.on('error', reject);
        req.end('{"tls":true}');
      });
      assert.deepEqual(JSON.parse(body), { got: { tls: true } });
      assert.deepEqual(await upgrade(`${s.wsUrl}/alpha`, { rejectUnauthorized: false }), { status: 101, first: 'hello' });
      // The admin listener stays plain HTTP on loopback.
      assert.match(s.adminUrl, /^http:\/\/127\.0\.0\.1:/);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
