// Shared set-up of the CoinEx dialect tests: a real server on an ephemeral port in a temporary
// data directory, users and API keys created through the operator's admin API, funds deposited
// through ctx.submit, clients over real sockets.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import WebSocket from 'ws';
import { pino } from 'pino';
import ccxt from 'ccxt';
import { startServer, type ConfigOverrides, type RunningServer } from '../../src/server/server.js';
import type { ServerContext } from '../../src/server/context.js';
import type { Dialect } from '../../src/server/dialect.js';
import type { Applied } from '../../src/server/context.js';
import { createDialect } from '../../src/dialects/coinex/index.js';

export const XBT = 0xf800;
export const USDT = 0xff03;
export const ETH = 0xf820;
/** 4 decimals for XBT and USDT; XBT:USDT prices have 4 decimals and a tick of 1 USDT. */
export const E4 = 10_000;

export interface CxServer {
  server: RunningServer;
  ctx: ServerContext;
  url: string;
  wsUrl: string;
  /** Every applied command since start (the engine's own record of what happened). */
  applied: Applied[];
  close(): Promise<void>;
}

/**
 * Starts a server with the CoinEx dialect. With `dataDir` it uses (and on close keeps) that
 * directory, e.g. to restart on the same journal; otherwise a fresh temporary one, removed on close.
 */
export async function startCx(opts: { config?: ConfigOverrides; extraDialects?: Dialect[]; dataDir?: string } = {}): Promise<CxServer> {
  const own = opts.dataDir === undefined;
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'openfloor-coinex-'));
  let server: RunningServer;
  try {
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir: dir,
      fsync: 'off',
      dialects: [createDialect(), ...(opts.extraDialects ?? [])],
      logger: pino({ level: 'silent' }),
      config: opts.config ?? {},
    });
  } catch (err) {
    if (own) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const applied: Applied[] = [];
  const off = server.ctx.onApplied((a) => applied.push(a));
  return {
    server,
    ctx: server.ctx,
    url: server.url,
    wsUrl: server.wsUrl,
    applied,
    async close() {
      off();
      try {
        await server.close();
      } finally {
        if (own) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The operator's admin API (Authorization: Bearer <admin token>). */
export async function admin(s: CxServer, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${s.server.adminUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export interface Account {
  userId: number;
  accessId: string;
  secret: string;
}

/** A user with an API key, both created through the admin API, funded by deposits. */
export async function account(s: CxServer, funds: Record<number, number> = { [XBT]: 100 * E4, [USDT]: 10_000_000 * E4 }, permissions = ['read', 'trade']): Promise<Account> {
  const u = await admin(s, '/admin/users', {});
  const userId = u.userId as number;
  const k = await admin(s, '/admin/keys', { user: userId, permissions });
  for (const [asset, amount] of Object.entries(funds)) {
    const a = await s.ctx.submit({ type: 'Deposit', userId, asset: Number(asset), amount });
    if (!a.result.ok) throw new Error(`deposit failed: ${JSON.stringify(a.result)}`);
  }
  return { userId, accessId: k.accessId as string, secret: k.secretKey as string };
}

export interface CxResponse {
  status: number;
  body: { code: number; data: unknown; message: string; pagination?: { total?: number; has_next: boolean } };
}

/** A CoinEx HTTP request, signed with the guide's HMAC unless told otherwise. */
export async function call(
  s: CxServer,
  method: 'GET' | 'POST',
  pathWithQuery: string,
  opts: {
    key?: Account;
    body?: string | Record<string, unknown>;
    timestamp?: number | string;
    window?: string;
    sign?: string;
    omit?: ('key' | 'sign' | 'timestamp')[];
    headers?: Record<string, string>;
  } = {},
): Promise<CxResponse> {
  const body = opts.body === undefined ? (method === 'POST' ? '{}' : '') : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(opts.headers ?? {}) };
  if (opts.key !== undefined) {
    const ts = String(opts.timestamp ?? Date.now());
    const sign = opts.sign ?? createHmac('sha256', opts.key.secret).update(method + pathWithQuery + body + ts).digest('hex');
    if (!opts.omit?.includes('key')) headers['x-coinex-key'] = opts.key.accessId;
    if (!opts.omit?.includes('sign')) headers['x-coinex-sign'] = sign;
    if (!opts.omit?.includes('timestamp')) headers['x-coinex-timestamp'] = ts;
    if (opts.window !== undefined) headers['x-coinex-windowtime'] = opts.window;
  } else if (opts.timestamp !== undefined) {
    headers['x-coinex-timestamp'] = String(opts.timestamp);
  }
  const res = await fetch(`${s.url}${pathWithQuery}`, { method, headers, ...(method === 'POST' ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as CxResponse['body'] };
}

export type CoinexPro = InstanceType<typeof ccxt.pro.coinex>;

/** ccxt's unmodified coinex class (REST and WebSocket) pointed at the local server. */
export async function ccxtClient(s: CxServer, a: Account): Promise<CoinexPro> {
  const ex = new ccxt.pro.coinex({ apiKey: a.accessId, secret: a.secret, enableRateLimit: false });
  ex.urls['api'] = {
    public: s.url,
    private: s.url,
    perpetualPublic: s.url,
    perpetualPrivate: s.url,
    ws: { spot: `${s.wsUrl}/v2/spot/`, swap: `${s.wsUrl}/v2/futures/` },
  };
  // ccxt requires this before it opens ws:// (non-TLS) connections from node.
  await ex.loadHttpProxyAgent();
  return ex;
}

/** A raw CoinEx WebSocket connection: decodes the gzip frames, matches replies by id. */
export class CxSocket {
  readonly messages: Record<string, unknown>[] = [];
  /** Whether every server frame so far was binary (CoinEx compresses every message). */
  allBinary = true;
  private waiters: { pred: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  private nextId = 1;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.allBinary = false;
      const m = JSON.parse(isBinary ? gunzipSync(data).toString('utf8') : data.toString('utf8')) as Record<string, unknown>;
      this.messages.push(m);
      for (const w of [...this.waiters]) {
        if (w.pred(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('error', () => {});
  }

  static open(url: string): Promise<CxSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const c = new CxSocket(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }

  /** The first message (already received or future) satisfying pred, searching from index `from`. */
  next(pred: (m: Record<string, unknown>) => boolean, from = 0): Promise<Record<string, unknown>> {
    for (let i = from; i < this.messages.length; i++) if (pred(this.messages[i]!)) return Promise.resolve(this.messages[i]!);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  /** Sends a request and resolves with its reply. */
  request(method: string, params: unknown = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const p = this.next((m) => m.id === id);
    this.ws.send(JSON.stringify({ method, params, id }));
    return p;
  }

  sign(a: Account, timestamp = Date.now()): Promise<Record<string, unknown>> {
    const signed = createHmac('sha256', a.secret).update(String(timestamp)).digest('hex');
    return this.request('server.sign', { access_id: a.accessId, signed_str: signed, timestamp });
  }

  close(): Promise<number> {
    this.ws.close();
    return this.closed;
  }
}

/** Decimal string of a scaled integer, trailing zeros trimmed (the dialect's form). */
export function dec(v: number, decimals = 4): string {
  const neg = v < 0;
  const digits = String(Math.abs(v)).padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return (neg ? '-' : '') + (frac ? `${whole}.${frac}` : whole);
}
