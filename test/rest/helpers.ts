// Shared fixtures of the HTTP dialect tests (REST, Event Stream, BIST): a real server on an
// ephemeral loopback port with a small configuration, users with passphrases, Basic headers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/server/server.js';
import type { ServerContext } from '../../src/server/context.js';
import type { EngineConfig, FeeTier } from '../../src/core/types.js';
import { derivePrivateKey, newCookie, publicKeyFromPrivate, privateKeyToBase64 } from '../../src/auth/secp224k1.js';
import { openHistory, journalReplay, type History } from '../../src/history/index.js';
import { createDialect as rest } from '../../src/dialects/rest/index.js';
import { createDialect as eventStream, type EventStream, type EventStreamOptions } from '../../src/dialects/event-stream/index.js';
import { createDialect as bist } from '../../src/dialects/bist/index.js';
import type { LimitsConfig } from '../../src/server/dialect.js';

export const XBT = 0xf800; // 63488, scale 10^4
export const USDT = 0xff03; // 65283, scale 10^4
export const GBP = 0xfa20; // 64032, scale 10^2
export const XBTDEC = 0xc80b; // 51211 futures
export const USDTDEC = 0xcab3; // 51891 futures
export const XBTJUN20 = 10005; // expired futures
export const USDTJUN20 = 10053;

const NO_FEES: FeeTier[] = [{ minVolume: 0, makerPpm: 0, takerPpm: 0 }];
/** 0.1 % taker, no maker fee: 1,000,000 counter units traded → 1,000 fee, exact. */
export const TAKER_FEES: FeeTier[] = [{ minVolume: 0, makerPpm: 0, takerPpm: 1000 }];

export function testEngineConfig(fees: FeeTier[] = NO_FEES): EngineConfig {
  const farFuture = Date.UTC(2099, 11, 25, 8);
  return {
    tonceRule: 'unique',
    maxOpenOrders: 1000,
    seed: 42,
    assets: [
      { code: XBT, name: 'XBT', scale: 10_000 },
      { code: USDT, name: 'USDT', scale: 10_000 },
      { code: GBP, name: 'GBP', scale: 100 },
      { code: XBTDEC, name: 'XBTDEC', scale: 10_000 },
      { code: USDTDEC, name: 'USDTDEC', scale: 10_000 },
      { code: XBTJUN20, name: 'XBTJUN20', scale: 10_000 },
      { code: USDTJUN20, name: 'USDTJUN20', scale: 10_000 },
    ],
    markets: [
      { base: XBT, counter: USDT, priceScale: 10_000, tick: 10_000, kind: 'spot', spotName: 'XBT:USDT', fees },
      { base: XBT, counter: GBP, priceScale: 100, tick: 1, kind: 'spot', spotName: 'XBT:GBP', fees },
      {
        base: XBTDEC,
        counter: USDTDEC,
        priceScale: 10_000,
        tick: 5_000,
        kind: 'futures',
        spotName: 'XBT:USDT',
        start: Date.UTC(2099, 8, 1),
        expires: farFuture,
        tenor: 'Z99',
        fees,
      },
      {
        base: XBTJUN20,
        counter: USDTJUN20,
        priceScale: 10_000,
        tick: 5_000,
        kind: 'futures',
        spotName: 'XBT:USDT',
        start: Date.UTC(2020, 2, 1),
        expires: Date.UTC(2020, 5, 26, 8),
        tenor: 'M20',
        fees,
      },
    ],
  };
}

export interface TestServer {
  url: string;
  ctx: ServerContext;
  server: RunningServer;
  history: History;
  dataDir: string;
  /** The Event Stream dialect's live instance. */
  stream: EventStream;
  close(): Promise<void>;
}

export interface TestServerOptions {
  fees?: FeeTier[];
  limits?: Partial<LimitsConfig>;
  eventStream?: EventStreamOptions;
  /** Reuse a data directory (restart tests); it is not removed on close. */
  dataDir?: string;
  /** Snapshot every this many commands (default: the server's). */
  snapshotEveryCommands?: number;
  /** Journal retention of covered segments. */
  retention?: 'archive' | 'delete' | 'keep';
  /** Snapshots kept. */
  keepSnapshots?: number;
}

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'openfloor-http-'));
  const es = eventStream(o.eventStream);
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    fsync: 'off',
    logLevel: 'silent',
    dialects: [rest(), es, bist()],
    config: {
      engine: testEngineConfig(o.fees),
      ...(o.limits ? { limits: o.limits } : {}),
      ...(o.snapshotEveryCommands !== undefined || o.retention !== undefined || o.keepSnapshots !== undefined
        ? {
            snapshot: {
              everyCommands: o.snapshotEveryCommands ?? 1_000_000,
              retention: o.retention ?? 'archive',
              keep: o.keepSnapshots ?? 2,
            },
          }
        : {}),
    },
  });
  // The server may open the history itself; openHistory is idempotent per context.
  const history = await openHistory(dataDir, server.ctx, { replay: journalReplay(dataDir) });
  return {
    url: server.url,
    ctx: server.ctx,
    server,
    history,
    dataDir,
    stream: es.stream()!,
    async close() {
      await server.close();
      history.close();
      if (o.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestUser {
  id: number;
  cookie: string;
  passphrase: string;
  /** Base64 of the 28-byte private key (the alternative Basic password). */
  privateKey: string;
  /** Authorization header value with the passphrase. */
  auth: string;
}

export function basic(userPass: string): string {
  return 'Basic ' + Buffer.from(userPass, 'utf8').toString('base64');
}

/** Creates a user whose key derives from (id, passphrase): the next id is predicted and checked. */
export async function createUser(ctx: ServerContext, passphrase = 'opensesame', deposits: [number, number][] = []): Promise<TestUser> {
  const id = Math.max(0, ...ctx.engine.users().map((u) => u.id)) + 1;
  const priv = derivePrivateKey(id, passphrase);
  const cookie = newCookie();
  const applied = await ctx.submit({ type: 'CreateUser', publicKey: publicKeyFromPrivate(priv).toString('base64'), cookie });
  assert.ok(applied.result.ok, 'CreateUser failed');
  assert.equal((applied.result as { userId: number }).userId, id, 'user id prediction');
  for (const [asset, amount] of deposits) {
    const d = await ctx.submit({ type: 'Deposit', userId: id, asset, amount });
    assert.ok(d.result.ok, 'Deposit failed');
  }
  return { id, cookie, passphrase, privateKey: privateKeyToBase64(priv), auth: basic(`${id}/${cookie}:${passphrase}`) };
}

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  json(): unknown;
}

/** fetch with the body read; `form` is sent as application/x-www-form-urlencoded. */
export async function http(
  url: string,
  o: { method?: string; auth?: string; form?: Record<string, string | number>; body?: string; headers?: Record<string, string> } = {},
): Promise<Res> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.auth !== undefined) headers.authorization = o.auth;
  let body: string | undefined = o.body;
  if (o.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(Object.entries(o.form).map(([k, v]): [string, string] => [k, String(v)])).toString();
  }
  const r = await fetch(url, { method: o.method ?? 'GET', headers, body });
  const text = await r.text();
  return {
    status: r.status,
    headers: r.headers,
    text,
    json: () => JSON.parse(text) as unknown,
  };
}
