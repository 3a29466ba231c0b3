// Operator surface. `AdminOps` implements every operator command as journaled engine commands
// (never a side door into the state); the admin listener exposes it over HTTP on loopback, and
// the CLI calls the same class directly against an opened store when no server runs.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import { derivePrivateKey, newCookie, publicKeyFromPrivate, publicKeyToBase64 } from '../auth/secp224k1.js';
import type {
  ApiKeyPermission,
  AssetConfig,
  CommandResult,
  EngineApi,
  MarketConfig,
  UnstampedCommand,
} from '../core/types.js';
import type { RecoveryReport, Sequencer } from '../journal/index.js';
import { checkAsset, checkMarket, ConfigError, marketName, type OpenfloorConfig } from './config.js';
import type { Applied, ServerContext } from './context.js';

// ---------------------------------------------------------------- token

export const ADMIN_TOKEN_FILE = 'admin-token';

/** Reads <dataDir>/admin-token, creating it (32 random bytes, hex, mode 0600) when missing. */
export function ensureAdminToken(dataDir: string): string {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  try {
    const t = readFileSync(file, 'utf8').trim();
    if (t.length >= 32) {
      chmodSync(file, 0o600);
      return t;
    }
  } catch {
    // created below
  }
  const token = randomBytes(32).toString('hex');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

export function readAdminToken(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- errors

/** A bad operator request: names the argument and the problem. */
export class AdminError extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly argument?: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

function bad(argument: string, problem: string): AdminError {
  return new AdminError(`${argument}: ${problem}`, 400, argument);
}

// ---------------------------------------------------------------- amounts

/** Exact decimal → integer units ("1.5", scale 10000 → 15000). Throws AdminError naming `argument`. */
export function parseUnits(value: unknown, scale: number, argument: string, allowZero = false): number {
  let s: string;
  if (typeof value === 'number' && Number.isFinite(value)) s = String(value);
  else if (typeof value === 'string') s = value.trim();
  else throw bad(argument, `expected a decimal number, got ${JSON.stringify(value) ?? 'nothing'}`);
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw bad(argument, `expected a non-negative decimal number, got ${JSON.stringify(s)}`);
  const decimals = Math.round(Math.log10(scale));
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > decimals) throw bad(argument, `${s} has more than ${decimals} decimal places (asset scale ${scale})`);
  const units = BigInt(m[1]!) * BigInt(scale) + BigInt((frac + '0'.repeat(decimals)).slice(0, decimals) || '0');
  if (units > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(argument, `${s} is too large`);
  if (units === 0n && !allowZero) throw bad(argument, 'must be greater than zero');
  return Number(units);
}

/** Integer units → exact decimal string (15000, scale 10000 → "1.5"). */
export function formatUnits(units: number, scale: number): string {
  const neg = units < 0;
  const abs = BigInt(Math.abs(units));
  const s = BigInt(scale);
  const whole = abs / s;
  const decimals = Math.round(Math.log10(scale));
  let frac = decimals ? (abs % s).toString().padStart(decimals, '0').replace(/0+$/, '') : '';
  if (frac) frac = '.' + frac;
  return `${neg ? '-' : ''}${whole}${frac}`;
}

// ---------------------------------------------------------------- operations
// (this module keeps its top-level imports light: the CLI loads it for offline operations)

/** The minimum an operation needs: read-only queries and the journaled way in. */
export interface OpsTarget {
  readonly engine: EngineApi;
  submit(cmd: UnstampedCommand): Promise<Applied>;
}

export interface UserCreated {
  userId: number;
  cookie: string;
  passphrase: string;
  /** True when the passphrase was generated (print it: it is stored nowhere). */
  generated: boolean;
}

export interface ApiKeyCreated {
  userId: number;
  accessId: string;
  secretKey: string;
  permissions: ApiKeyPermission[];
}

export interface StatusReport {
  lastSeq: number;
  now: number;
  users: number;
  assets: number;
  markets: number;
  openOrders: number;
  mode: 'online' | 'offline';
  startedAt?: string;
  fsync?: string;
  recovery?: RecoveryReport;
  journal?: unknown;
  connections?: Record<string, number>;
}

export function generatePassphrase(): string {
  return randomBytes(18).toString('base64url');
}

const PERMISSIONS: ApiKeyPermission[] = ['read', 'trade'];

function engineFailure(result: CommandResult, what: string): AdminError | undefined {
  if (result.ok) return undefined;
  return new AdminError(`${what}: ${result.message}`, 409, undefined, result.code);
}

/**
 * Every operator command, as journaled engine commands. One operation at a time: user ids are
 * predicted (the key derivation needs the id before CreateUser), so creations are serialised.
 */
export class AdminOps {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly target: OpsTarget) {}

  get engine(): EngineApi {
    return this.target.engine;
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.queue.then(f, f);
    this.queue = p.catch(() => undefined);
    return p;
  }

  asset(ref: unknown, argument = 'asset'): AssetConfig {
    if (typeof ref === 'number' || (typeof ref === 'string' && /^\d+$/.test(ref))) {
      const a = this.engine.asset(Number(ref));
      if (!a) throw bad(argument, `no asset with code ${ref}`);
      return a;
    }
    if (typeof ref !== 'string' || !ref) throw bad(argument, 'expected an asset name or code');
    const a = this.engine.assetByName(ref) ?? this.engine.assets().find((x) => x.name.toUpperCase() === ref.toUpperCase());
    if (!a) throw bad(argument, `unknown asset ${JSON.stringify(ref)} (known: ${this.engine.assets().map((x) => x.name).join(', ')})`);
    return a;
  }

  userId(ref: unknown, argument = 'user'): number {
    const n = typeof ref === 'string' && /^\d+$/.test(ref) ? Number(ref) : ref;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw bad(argument, `expected a user id, got ${JSON.stringify(ref) ?? 'nothing'}`);
    if (!this.engine.user(n)) throw new AdminError(`${argument}: there is no user ${n}`, 404, argument);
    return n;
  }

  /** The id the engine will give the next user. */
  nextUserId(): number {
    let max = 0;
    for (const u of this.engine.users()) if (u.id > max) max = u.id;
    return max + 1;
  }

  createUser(passphrase?: unknown): Promise<UserCreated> {
    if (passphrase !== undefined && passphrase !== null && (typeof passphrase !== 'string' || passphrase.length === 0)) {
      throw bad('passphrase', 'must be a non-empty string');
    }
    return this.serial(async () => {
      const generated = typeof passphrase !== 'string';
      const pass = typeof passphrase === 'string' ? passphrase : generatePassphrase();
      const id = this.nextUserId();
      const publicKey = publicKeyToBase64(publicKeyFromPrivate(derivePrivateKey(id, pass)));
      const cookie = newCookie();
      const applied = await this.target.submit({ type: 'CreateUser', publicKey, cookie });
      const err = engineFailure(applied.result, 'create user');
      if (err) throw err;
      const got = (applied.result as { userId?: number }).userId;
      if (got !== id) {
        throw new AdminError(`create user: engine assigned id ${String(got)} instead of the predicted ${id}; the key does not match, do not use this user`, 500);
      }
      return { userId: id, cookie, passphrase: pass, generated };
    });
  }

  listUsers(): { id: number; publicKey: string; apiKeys: number; openOrders: number; balances: { asset: string; available: string; reserved: string }[] }[] {
    return this.engine
      .users()
      .map((u) => ({
        id: u.id,
        publicKey: u.publicKey,
        apiKeys: this.engine.apiKeys(u.id).filter((k) => !k.revoked).length,
        openOrders: this.engine.openOrders(u.id).length,
        balances: this.engine
          .balances(u.id)
          .filter((b) => b.available !== 0 || b.reserved !== 0)
          .map((b) => {
            const a = this.engine.asset(b.asset);
            const scale = a?.scale ?? 1;
            return { asset: a?.name ?? String(b.asset), available: formatUnits(b.available, scale), reserved: formatUnits(b.reserved, scale) };
          }),
      }))
      .sort((a, b) => a.id - b.id);
  }

  createApiKey(user: unknown, permissions?: unknown): Promise<ApiKeyCreated> {
    const userId = this.userId(user);
    let perms: ApiKeyPermission[] = ['read', 'trade'];
    if (permissions !== undefined && permissions !== null) {
      const list = typeof permissions === 'string' ? permissions.split(',').map((s) => s.trim()).filter(Boolean) : permissions;
      if (!Array.isArray(list) || list.length === 0 || list.some((p) => !PERMISSIONS.includes(p as ApiKeyPermission))) {
        throw bad('permissions', `expected a non-empty list of ${PERMISSIONS.join(', ')}, got ${JSON.stringify(permissions)}`);
      }
      perms = [...new Set(list as ApiKeyPermission[])];
    }
    return this.serial(async () => {
      const accessId = randomBytes(16).toString('hex').toUpperCase();
      const secretKey = randomBytes(32).toString('hex').toUpperCase();
      const applied = await this.target.submit({ type: 'CreateApiKey', userId, accessId, secretKey, permissions: perms });
      const err = engineFailure(applied.result, 'create API key');
      if (err) throw err;
      return { userId, accessId, secretKey, permissions: perms };
    });
  }

  listApiKeys(user: unknown): { accessId: string; permissions: ApiKeyPermission[]; revoked: boolean }[] {
    const userId = this.userId(user);
    return this.engine.apiKeys(userId).map((k) => ({ accessId: k.accessId, permissions: k.permissions, revoked: k.revoked }));
  }

  async revokeApiKey(accessId: unknown): Promise<{ accessId: string }> {
    if (typeof accessId !== 'string' || !accessId) throw bad('access-id', 'expected an API key access id');
    const k = this.engine.apiKey(accessId);
    if (!k) throw new AdminError(`access-id: no API key ${accessId}`, 404, 'access-id');
    if (k.revoked) throw new AdminError(`access-id: API key ${accessId} is already revoked`, 409, 'access-id');
    const applied = await this.target.submit({ type: 'RevokeApiKey', accessId });
    const err = engineFailure(applied.result, 'revoke API key');
    if (err) throw err;
    return { accessId };
  }

  async addAddress(user: unknown, asset: unknown, address: unknown): Promise<{ userId: number; asset: string; address: string }> {
    const userId = this.userId(user);
    const a = this.asset(asset);
    if (typeof address !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(address)) {
      throw bad('address', 'expected 1-256 printable characters without spaces');
    }
    const applied = await this.target.submit({ type: 'AddWithdrawalAddress', userId, asset: a.code, address });
    const err = engineFailure(applied.result, 'add address');
    if (err) throw err;
    return { userId, asset: a.name, address };
  }

  listAddresses(user: unknown): { asset: string; address: string }[] {
    const userId = this.userId(user);
    return this.engine.withdrawalAddresses(userId).map((x) => ({ asset: this.engine.asset(x.asset)?.name ?? String(x.asset), address: x.address }));
  }

  private async balanceOp(
    kind: 'Deposit' | 'Withdraw',
    user: unknown,
    asset: unknown,
    amount: unknown,
    address?: unknown,
  ): Promise<{ userId: number; asset: string; amount: string; available: string }> {
    const userId = this.userId(user);
    const a = this.asset(asset);
    const units = parseUnits(amount, a.scale, 'amount');
    let cmd: UnstampedCommand;
    if (kind === 'Withdraw') {
      if (typeof address !== 'string' || !address) throw bad('address', 'a withdrawal needs the destination address');
      cmd = { type: 'Withdraw', userId, asset: a.code, amount: units, address };
    } else {
      cmd = { type: 'Deposit', userId, asset: a.code, amount: units };
    }
    const applied = await this.target.submit(cmd);
    const err = engineFailure(applied.result, kind.toLowerCase());
    if (err) throw err;
    const bal = this.engine.balances(userId).find((b) => b.asset === a.code);
    return { userId, asset: a.name, amount: formatUnits(units, a.scale), available: formatUnits(bal?.available ?? 0, a.scale) };
  }

  deposit(user: unknown, asset: unknown, amount: unknown): Promise<{ userId: number; asset: string; amount: string; available: string }> {
    return this.balanceOp('Deposit', user, asset, amount);
  }

  withdraw(user: unknown, asset: unknown, amount: unknown, address: unknown): Promise<{ userId: number; asset: string; amount: string; available: string }> {
    return this.balanceOp('Withdraw', user, asset, amount, address);
  }

  async addAsset(raw: unknown): Promise<AssetConfig> {
    let asset: AssetConfig;
    try {
      asset = checkAsset(raw, 'asset');
    } catch (err) {
      throw configToAdmin(err);
    }
    if (this.engine.asset(asset.code)) throw new AdminError(`code: asset code ${asset.code} already exists`, 409, 'code');
    if (this.engine.assetByName(asset.name)) throw new AdminError(`name: asset ${asset.name} already exists`, 409, 'name');
    const applied = await this.target.submit({ type: 'AddAsset', asset });
    const err = engineFailure(applied.result, 'add asset');
    if (err) throw err;
    return asset;
  }

  async addMarket(raw: unknown): Promise<MarketConfig & { name: string }> {
    let market: MarketConfig;
    try {
      market = checkMarket(raw, this.engine.assets(), 'market');
    } catch (err) {
      throw configToAdmin(err);
    }
    const name = marketName(this.engine.assets(), market);
    if (this.engine.market(market.base, market.counter)) throw new AdminError(`market: ${name} already exists`, 409, 'market');
    const applied = await this.target.submit({ type: 'AddMarket', market });
    const err = engineFailure(applied.result, 'add market');
    if (err) throw err;
    return { ...market, name };
  }

  listMarkets(): (MarketConfig & { name: string; tickDecimal: string; restingOrders: number })[] {
    const assets = this.engine.assets();
    return this.engine.markets().map((m) => ({
      ...m,
      name: marketName(assets, m),
      tickDecimal: formatUnits(m.tick, m.priceScale),
      restingOrders: this.engine.bookOrders(m.base, m.counter, Number.MAX_SAFE_INTEGER)?.length ?? 0,
    }));
  }

  status(mode: 'online' | 'offline'): StatusReport {
    let openOrders = 0;
    const users = this.engine.users();
    for (const u of users) openOrders += this.engine.openOrders(u.id).length;
    return {
      lastSeq: this.engine.lastSeq,
      now: this.engine.now,
      users: users.length,
      assets: this.engine.assets().length,
      markets: this.engine.markets().length,
      openOrders,
      mode,
    };
  }
}

function configToAdmin(err: unknown): AdminError {
  if (err instanceof ConfigError) {
    const first = err.issues[0];
    const arg = first?.path.replace(/^(asset|market)\.?/, '') || undefined;
    return new AdminError(err.issues.map((i) => `${i.path.replace(/^(asset|market)\.?/, '') || '(value)'}: ${i.message}`).join('; '), 400, arg);
  }
  return err instanceof AdminError ? err : new AdminError((err as Error).message, 500);
}

// ---------------------------------------------------------------- HTTP listener

/**
 * Fastify's log lines, reduced to what an operator needs: no line per request (connection
 * events are logged by the server, rejected commands by the engine wrapper), one error line per
 * 5xx answer with method and path only (a query string can carry credentials, e.g. BIST's auth).
 */
export function quietLogController(Base: typeof LogController): LogController {
  class Quiet extends Base {
    constructor() {
      super({ disableRequestLogging: true });
    }
    override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
      if (reply.statusCode >= 500) {
        reply.log.error({ method: request.method, path: request.url.split('?')[0], status: reply.statusCode, err: error }, 'request failed');
      }
    }
  }
  return new Quiet();
}

export interface AdminRuntime {
  ctx: ServerContext;
  sequencer: Sequencer;
  recovery: RecoveryReport;
  config: OpenfloorConfig;
  startedAt: Date;
}

export interface AdminListener {
  url: string;
  port: number;
  app: FastifyInstance;
  /** Makes the admin API and /readyz live (called once recovery finished and the server listens). */
  setRuntime(rt: AdminRuntime): void;
  /** /readyz answers 503 from now on. */
  setClosing(): void;
  close(): Promise<void>;
}

export interface AdminOptions {
  host: string;
  port: number;
  token: string;
  log: Logger;
  dataDir: string;
  /** Verifies the journal of the data directory (journal verify()); wired by the server. */
  verify?: () => Promise<unknown>;
}

function tokenMatches(header: unknown, token: string): boolean {
  if (typeof header !== 'string') return false;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startAdmin(opts: AdminOptions): Promise<AdminListener> {
  // Loaded here, not at the top: the CLI uses AdminOps offline and should start fast.
  const { default: Fastify } = await import('fastify');
  const { metrics } = await import('./metrics.js');
  let runtime: AdminRuntime | undefined;
  let ops: AdminOps | undefined;
  let closing = false;
  const log = opts.log.child({ component: 'admin' });
  const app = Fastify({ loggerInstance: log, logController: quietLogController(Fastify.LogController), bodyLimit: 1024 * 1024 }) as unknown as FastifyInstance;

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (runtime && !closing) return { status: 'ready', lastSeq: runtime.ctx.engine.lastSeq };
    return reply.code(503).send({ status: closing ? 'shutting down' : 'recovering' });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await metrics.render();
    return reply.header('content-type', metrics.contentType()).send(body);
  });

  const requireOps = (): AdminOps => {
    if (!ops || !runtime) throw new AdminError('server is not ready yet (recovery running)', 503);
    return ops;
  };

  app.register(async (api) => {
    api.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      if (!tokenMatches(req.headers.authorization, opts.token)) {
        log.warn({ event: 'admin-unauthorized', path: req.url, remote: req.ip }, 'admin request without a valid token');
        return reply.code(401).send({ error: 'missing or wrong admin token (Authorization: Bearer <data-dir>/admin-token)' });
      }
    });
    api.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
      if (err instanceof AdminError) {
        if (err.status >= 500) log.error({ err, path: req.url }, 'admin request failed');
        return reply.code(err.status).send({ error: err.message, argument: err.argument, code: err.code });
      }
      const e = err as { statusCode?: number; message?: string };
      if (e.statusCode && e.statusCode < 500) return reply.code(e.statusCode).send({ error: e.message });
      log.error({ err, path: req.url }, 'admin request failed');
      return reply.code(500).send({ error: (err as Error).message });
    });
    const body = (req: FastifyRequest): Record<string, unknown> => {
      const b = req.body;
      if (b == null) return {};
      if (typeof b !== 'object' || Array.isArray(b)) throw new AdminError('request body must be a JSON object', 400);
      return b as Record<string, unknown>;
    };
    const query = (req: FastifyRequest): Record<string, unknown> => (req.query ?? {}) as Record<string, unknown>;
    const audit = (action: string, fields: Record<string, unknown>) => log.info({ event: 'admin', action, ...fields }, `admin ${action}`);

    api.get('/admin/status', async () => {
      const o = requireOps();
      const rt = runtime!;
      const connections: Record<string, number> = {};
      for (const v of (await metrics.connectionsOpen.get()).values) connections[String(v.labels.dialect)] = v.value;
      return {
        ...o.status('online'),
        startedAt: rt.startedAt.toISOString(),
        fsync: rt.config.fsync,
        recovery: rt.recovery,
        journal: rt.sequencer.stats(),
        connections,
      } satisfies StatusReport;
    });
    api.get('/admin/users', async () => ({ users: requireOps().listUsers() }));
    api.post('/admin/users', async (req) => {
      const u = await requireOps().createUser(body(req).passphrase);
      audit('user-create', { userId: u.userId });
      return u;
    });
    api.get('/admin/keys', async (req) => ({ keys: requireOps().listApiKeys(query(req).user) }));
    api.post('/admin/keys', async (req) => {
      const b = body(req);
      const k = await requireOps().createApiKey(b.user, b.permissions);
      audit('key-create', { userId: k.userId, accessId: k.accessId });
      return k;
    });
    api.post('/admin/keys/revoke', async (req) => {
      const r = await requireOps().revokeApiKey(body(req).accessId);
      audit('key-revoke', r);
      return r;
    });
    api.get('/admin/addresses', async (req) => ({ addresses: requireOps().listAddresses(query(req).user) }));
    api.post('/admin/addresses', async (req) => {
      const b = body(req);
      const r = await requireOps().addAddress(b.user, b.asset, b.address);
      audit('address-add', r);
      return r;
    });
    api.post('/admin/deposits', async (req) => {
      const b = body(req);
      const r = await requireOps().deposit(b.user, b.asset, b.amount);
      audit('deposit', r);
      return r;
    });
    api.post('/admin/withdrawals', async (req) => {
      const b = body(req);
      const r = await requireOps().withdraw(b.user, b.asset, b.amount, b.address);
      audit('withdraw', r);
      return r;
    });
    api.post('/admin/assets', async (req) => {
      const r = await requireOps().addAsset(body(req));
      audit('asset-add', { code: r.code, name: r.name });
      return r;
    });
    api.get('/admin/markets', async () => ({ markets: requireOps().listMarkets() }));
    api.post('/admin/markets', async (req) => {
      const r = await requireOps().addMarket(body(req));
      audit('market-add', { market: r.name });
      return r;
    });
    api.post('/admin/snapshot', async () => {
      requireOps();
      const r = await runtime!.sequencer.snapshot();
      audit('snapshot', { result: r });
      return { snapshot: r ?? null, lastSeq: runtime!.ctx.engine.lastSeq };
    });
    api.post('/admin/verify', async () => {
      requireOps();
      if (!opts.verify) throw new AdminError('verify is not available on this server', 501);
      const r = await opts.verify();
      audit('verify', {});
      return { verify: r };
    });
  });

  await app.listen({ host: opts.host, port: opts.port });
  const port = (app.server.address() as AddressInfo).port;
  const host = opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    port,
    app,
    setRuntime(rt) {
      runtime = rt;
      ops = new AdminOps(rt.ctx);
    },
    setClosing() {
      closing = true;
    },
    close: () => app.close(),
  };
}
