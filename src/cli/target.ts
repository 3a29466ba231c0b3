// Where an operator command runs: against a running server through its admin API (token from
// <data-dir>/admin-token), or, when no server runs on the data directory, offline against the
// store opened directly. Both paths end in the same journaled engine commands (AdminOps).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AssetConfig, MarketConfig } from '../core/types.js';
import { STORE_FILE } from '../journal/format.js';
import { AdminError, AdminOps, readAdminToken, type ApiKeyCreated, type StatusReport, type UserCreated } from '../server/admin.js';
import { loadConfig } from '../server/config.js';

type Json = Record<string, unknown>;

export interface UserRow {
  id: number;
  publicKey: string;
  apiKeys: number;
  openOrders: number;
  balances: { asset: string; available: string; reserved: string }[];
}

export interface BalanceResult {
  userId: number;
  asset: string;
  amount: string;
  available: string;
}

export type MarketRow = MarketConfig & { name: string; tickDecimal?: string; restingOrders?: number };

/** The operator commands, whichever way they reach the engine. */
export interface OpsClient {
  readonly mode: 'online' | 'offline';
  /** Where: the admin URL or the data directory. */
  readonly where: string;
  createUser(passphrase?: string): Promise<UserCreated>;
  listUsers(): Promise<UserRow[]>;
  createKey(user: string, permissions?: string): Promise<ApiKeyCreated>;
  listKeys(user: string): Promise<{ accessId: string; permissions: string[]; revoked: boolean }[]>;
  revokeKey(accessId: string): Promise<{ accessId: string }>;
  addAddress(user: string, asset: string, address: string): Promise<{ userId: number; asset: string; address: string }>;
  listAddresses(user: string): Promise<{ asset: string; address: string }[]>;
  deposit(user: string, asset: string, amount: string): Promise<BalanceResult>;
  withdraw(user: string, asset: string, amount: string, address: string): Promise<BalanceResult>;
  addAsset(asset: Json): Promise<AssetConfig>;
  addMarket(market: Json): Promise<MarketRow>;
  listMarkets(): Promise<MarketRow[]>;
  status(): Promise<StatusReport>;
  snapshot(): Promise<Json>;
  verify(): Promise<Json>;
  close(): Promise<void>;
}

export interface TargetOptions {
  dataDir: string;
  adminUrl?: string;
  adminToken?: string;
  offline?: boolean;
  config?: string;
}

/** An error the CLI prints as is and exits non-zero for. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** <dataDir>/server.json, written by a running server (src/server/server.ts SERVER_INFO_FILE). */
function readServerInfo(dataDir: string): { pid: number; adminUrl: string } | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { pid: number; adminUrl: string };
  } catch {
    return undefined;
  }
}

async function reachable(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function openTarget(o: TargetOptions): Promise<OpsClient> {
  if (!o.offline) {
    const info = readServerInfo(o.dataDir);
    const url = o.adminUrl ?? info?.adminUrl;
    if (url) {
      if (await reachable(url)) {
        const token = o.adminToken ?? readAdminToken(o.dataDir);
        if (!token) throw new CliError(`no admin token: ${join(o.dataDir, 'admin-token')} is missing (pass --data-dir of the running server or set OPENFLOOR_ADMIN_TOKEN)`);
        return new HttpOps(url.replace(/\/+$/, ''), token);
      }
      if (o.adminUrl) throw new CliError(`admin-url: no openfloor admin API answers at ${o.adminUrl}`);
      if (info && info.pid !== process.pid && pidAlive(info.pid)) {
        throw new CliError(`a server (pid ${info.pid}) seems to run on ${o.dataDir} but its admin API at ${info.adminUrl} does not answer; retry, or stop it first`);
      }
    }
  }
  return openOffline(o);
}

async function openOffline(o: TargetOptions): Promise<OpsClient> {
  if (!existsSync(join(o.dataDir, STORE_FILE))) {
    throw new CliError(`data-dir: ${o.dataDir} holds no openfloor store (start \`openfloor serve --data-dir ${o.dataDir}\` once first)`);
  }
  let config;
  try {
    config = loadConfig(o.config, { dataDir: o.dataDir });
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const [{ pino }, { openStore, verify: verifyJournal }] = await Promise.all([import('pino'), import('../journal/index.js')]);
  const log = pino({ level: 'warn', base: { service: 'openfloor-cli' } }, pino.destination(2));
  const store = await openStore(
    {
      dataDir: o.dataDir,
      fsync: 'always',
      snapshotEveryCommands: config.snapshot.everyCommands,
      snapshotEveryMs: config.snapshot.everySeconds * 1000,
      keepSnapshots: config.snapshot.keep,
      retention: config.snapshot.retention,
    },
    config.engine,
    log,
  );
  const { engine, sequencer } = store;
  const ops = new AdminOps({ engine, submit: (cmd) => sequencer.submit(cmd) });
  const guard = async <T>(f: () => T | Promise<T>): Promise<T> => f();
  return {
    mode: 'offline',
    where: o.dataDir,
    createUser: (p) => guard(() => ops.createUser(p)),
    listUsers: () => guard(() => ops.listUsers()),
    createKey: (u, p) => guard(() => ops.createApiKey(u, p)),
    listKeys: (u) => guard(() => ops.listApiKeys(u)),
    revokeKey: (a) => guard(() => ops.revokeApiKey(a)),
    addAddress: (u, a, addr) => guard(() => ops.addAddress(u, a, addr)),
    listAddresses: (u) => guard(() => ops.listAddresses(u)),
    deposit: (u, a, amt) => guard(() => ops.deposit(u, a, amt)),
    withdraw: (u, a, amt, addr) => guard(() => ops.withdraw(u, a, amt, addr)),
    addAsset: (a) => guard(() => ops.addAsset(a)),
    addMarket: (m) => guard(() => ops.addMarket(m)),
    listMarkets: () => guard(() => ops.listMarkets()),
    status: async () => ({ ...ops.status('offline'), recovery: store.recovery, journal: sequencer.stats() }),
    snapshot: async () => ({ snapshot: (await sequencer.snapshot()) ?? null, lastSeq: engine.lastSeq }),
    verify: async () => {
      await sequencer.close();
      return { verify: await verifyJournal(o.dataDir) };
    },
    close: () => sequencer.close(),
  };
}

class HttpOps implements OpsClient {
  readonly mode = 'online' as const;
  constructor(
    readonly where: string,
    private readonly token: string,
  ) {}

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let r: Response;
    try {
      r = await fetch(this.where + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      throw new CliError(`admin API at ${this.where}: ${(err as Error).message}`);
    }
    const text = await r.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      data = { error: text };
    }
    if (!r.ok) {
      const d = data as { error?: string; argument?: string; code?: number };
      throw new AdminError(d.error ?? `HTTP ${r.status}`, r.status, d.argument, d.code);
    }
    return data as T;
  }

  private q(user: string): string {
    return `?user=${encodeURIComponent(user)}`;
  }

  createUser(passphrase?: string) {
    return this.call<UserCreated>('POST', '/admin/users', passphrase === undefined ? {} : { passphrase });
  }
  async listUsers() {
    return (await this.call<{ users: UserRow[] }>('GET', '/admin/users')).users;
  }
  createKey(user: string, permissions?: string) {
    return this.call<ApiKeyCreated>('POST', '/admin/keys', { user, ...(permissions !== undefined ? { permissions } : {}) });
  }
  async listKeys(user: string) {
    return (await this.call<{ keys: { accessId: string; permissions: string[]; revoked: boolean }[] }>('GET', `/admin/keys${this.q(user)}`)).keys;
  }
  revokeKey(accessId: string) {
    return this.call<{ accessId: string }>('POST', '/admin/keys/revoke', { accessId });
  }
  addAddress(user: string, asset: string, address: string) {
    return this.call<{ userId: number; asset: string; address: string }>('POST', '/admin/addresses', { user, asset, address });
  }
  async listAddresses(user: string) {
    return (await this.call<{ addresses: { asset: string; address: string }[] }>('GET', `/admin/addresses${this.q(user)}`)).addresses;
  }
  deposit(user: string, asset: string, amount: string) {
    return this.call<BalanceResult>('POST', '/admin/deposits', { user, asset, amount });
  }
  withdraw(user: string, asset: string, amount: string, address: string) {
    return this.call<BalanceResult>('POST', '/admin/withdrawals', { user, asset, amount, address });
  }
  addAsset(asset: Json) {
    return this.call<AssetConfig>('POST', '/admin/assets', asset);
  }
  addMarket(market: Json) {
    return this.call<MarketRow>('POST', '/admin/markets', market);
  }
  async listMarkets() {
    return (await this.call<{ markets: MarketRow[] }>('GET', '/admin/markets')).markets;
  }
  status() {
    return this.call<StatusReport>('GET', '/admin/status');
  }
  snapshot() {
    return this.call<Json>('POST', '/admin/snapshot', {});
  }
  verify() {
    return this.call<Json>('POST', '/admin/verify', {});
  }
  async close() {}
}
