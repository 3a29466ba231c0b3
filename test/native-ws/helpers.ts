// Shared set-up of the native WebSocket end-to-end tests: a real server on an ephemeral port in a
// temporary data directory, users created and funded through ctx.submit, clients over real sockets.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { pino } from 'pino';
import { startServer, type ConfigOverrides, type RunningServer } from '../../src/server/server.js';
import type { LimitsConfig } from '../../src/server/dialect.js';
import type { ServerContext } from '../../src/server/context.js';
import { createDialect, type NativeWsDialect, type NativeWsOptions } from '../../src/dialects/native-ws/index.js';
import { derivePrivateKey, newCookie, publicKeyFromPrivate } from '../../src/auth/secp224k1.js';
import { NativeClient, type ClientOptions } from '../../src/client/index.js';
import type { FsyncPolicy } from '../../src/server/config.js';

export const XBT = 0xf800;
export const USDT = 0xff03;
export const ETH = 0xf820;
/** XBT:USDT ticks are 1 USDT = 10,000 price units; quantities have 4 decimals. */
export const TICK = 10_000;
export const ONE_XBT = 10_000;

export interface TestServer {
  server: RunningServer;
  ctx: ServerContext;
  dialect: NativeWsDialect;
  url: string;
  close(): Promise<void>;
}

export async function startTestServer(
  opts: {
    limits?: Partial<LimitsConfig>;
    dialect?: NativeWsOptions;
    fsync?: FsyncPolicy;
    path?: string;
    /** Further configuration (e.g. { engine: { maxOpenOrders: 3 } }). */
    config?: ConfigOverrides;
  } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'openfloor-native-ws-'));
  const dialect = createDialect(opts.dialect);
  let server: RunningServer;
  try {
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir: dir,
      fsync: opts.fsync ?? 'off',
      dialects: [dialect],
      logger: pino({ level: 'silent' }),
      config: { ...(opts.config ?? {}), ...(opts.limits ? { limits: opts.limits } : {}) },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    server,
    ctx: server.ctx,
    dialect,
    url: `${server.wsUrl}${opts.path ?? '/'}`,
    async close() {
      try {
        await server.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface TestUser {
  userId: number;
  cookie: string;
  passphrase: string;
}

/**
 * Creates a user whose key derives from a passphrase. The private key depends on the user id,
 * so the id is predicted (the engine numbers users 1, 2, …) and checked.
 */
export async function createUser(ctx: ServerContext, passphrase = randomBytes(8).toString('hex'), cookie = newCookie()): Promise<TestUser> {
  const next = ctx.engine.users().reduce((m, u) => Math.max(m, u.id), 0) + 1;
  const publicKey = publicKeyFromPrivate(derivePrivateKey(next, passphrase)).toString('base64');
  const a = await ctx.submit({ type: 'CreateUser', publicKey, cookie });
  const r = a.result as { ok: boolean; userId?: number };
  if (!r.ok || r.userId !== next) throw new Error(`CreateUser gave ${JSON.stringify(r)}, expected user ${next}`);
  return { userId: next, cookie, passphrase };
}

export async function fund(ctx: ServerContext, userId: number, asset: number, amount: number): Promise<void> {
  const a = await ctx.submit({ type: 'Deposit', userId, asset, amount });
  if (!a.result.ok) throw new Error(`Deposit failed: ${JSON.stringify(a.result)}`);
}

/** A funded user (1,000 XBT and 100,000,000 USDT by default). */
export async function fundedUser(ctx: ServerContext, xbt = 1000 * ONE_XBT, usdt = 100_000_000 * 10_000): Promise<TestUser> {
  const u = await createUser(ctx);
  if (xbt > 0) await fund(ctx, u.userId, XBT, xbt);
  if (usdt > 0) await fund(ctx, u.userId, USDT, usdt);
  return u;
}

export async function connect(url: string, opts: ClientOptions = {}): Promise<NativeClient> {
  return NativeClient.connect(url, { pingIntervalMs: 0, ...opts });
}

export async function login(url: string, u: TestUser, opts: ClientOptions = {}): Promise<NativeClient> {
  const c = await connect(url, opts);
  await c.authenticate(u);
  return c;
}

// ---------------------------------------------------------------- raw wire access

/** A raw `ws` connection that records every frame, for tests about the wire itself. */
export class RawConn {
  readonly frames: string[] = [];
  private waiters: { pred: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
  private seen = 0;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      this.frames.push(text);
      const m = JSON.parse(text) as Record<string, unknown>;
      for (const w of [...this.waiters]) {
        if (w.pred(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => {});
  }

  static open(url: string, options: WebSocket.ClientOptions = {}): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
      const c = new RawConn(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }

  /** The first frame (Welcome). */
  async welcome(): Promise<Record<string, unknown>> {
    return this.nextWhere((m) => m.notice === 'Welcome', 0);
  }

  send(v: unknown): void {
    this.ws.send(typeof v === 'string' ? v : JSON.stringify(v));
  }

  /** Resolves with the first recorded frame from index `from` on (default: not yet consumed) matching `pred`. */
  nextWhere(pred: (m: Record<string, unknown>) => boolean, from = this.seen): Promise<Record<string, unknown>> {
    for (let i = from; i < this.frames.length; i++) {
      const m = JSON.parse(this.frames[i]!) as Record<string, unknown>;
      if (pred(m)) {
        this.seen = Math.max(this.seen, i + 1);
        return Promise.resolve(m);
      }
    }
    return new Promise((resolve) =>
      this.waiters.push({
        pred,
        resolve: (m) => {
          this.seen = this.frames.length;
          resolve(m);
        },
      }),
    );
  }

  /** Sends a command and resolves with the reply carrying its tag. */
  async call(cmd: Record<string, unknown> & { tag: number }): Promise<Record<string, unknown>> {
    const p = this.nextWhere((m) => m.tag === cmd.tag && 'error_code' in m, 0);
    this.send(cmd);
    return p;
  }

  /** Sends a frame and resolves with the next reply (a frame with error_code) after everything recorded so far. */
  async request(v: unknown): Promise<Record<string, unknown>> {
    const from = this.frames.length;
    const p = this.nextWhere((m) => 'error_code' in m, from);
    this.send(v);
    return p;
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

/** Resolves after the server has made everything so far durable and published it (a barrier). */
export async function settle(ctx: ServerContext): Promise<void> {
  await ctx.whenDurable();
}
