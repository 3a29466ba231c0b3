// Operator configuration: one file (YAML or JSON), validated at start. Every error names the
// path of the offending value and the problem. Defaults reproduce the reference documents
// (LIMITS.md for limits, SCALE.md for assets/markets via defaultEngineConfig()).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { LimitsConfig } from './dialect.js';
import type { AssetConfig, EngineConfig, FeeTier, MarketConfig } from '../core/types.js';
import { defaultEngineConfig, type Profile } from '../core/default-config.js';

import type { FsyncPolicy, RetentionPolicy } from '../journal/options.js';

export type { FsyncPolicy, RetentionPolicy };
/** When the journal forces a write to stable storage (src/journal/options.ts). */
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'interval', 'off'];
export const RETENTION_POLICIES: readonly RetentionPolicy[] = ['archive', 'delete', 'keep'];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface ListenConfig {
  host: string;
  port: number;
}

export interface TlsConfig {
  /** Paths of PEM files. */
  cert: string;
  key: string;
}

export interface SnapshotConfig {
  /** Take a snapshot after this many journaled commands. */
  everyCommands: number;
  /** Take a snapshot at least this often, in seconds, while commands arrive. */
  everySeconds: number;
  /** Snapshots retained (recovery falls back to an older one if the newest is damaged). */
  keep: number;
  /** Journal segments covered by the oldest retained snapshot: archived, deleted or kept. */
  retention: RetentionPolicy;
}

export interface DemoConfig {
  /** Market maker: price levels per side per market. */
  levels: number;
  /** Market maker: milliseconds between quote refreshes. */
  intervalMs: number;
  /** Market maker PRNG seed. */
  seed: number;
}

export const PROFILES: readonly Profile[] = ['coinflex', 'coinfloor'];

export interface OpenfloorConfig {
  /**
   * Built-in venue whose assets and markets are the engine defaults (src/core/default-config.ts):
   * 'coinflex' (CoinFLEX SCALE.md plus Coinfloor's EUR/GBP markets) or 'coinfloor' (API v2 scales).
   */
  profile: Profile;
  /** Public listener: every dialect's HTTP routes and WebSocket endpoints. */
  listen: ListenConfig;
  /** Admin listener: admin API, /metrics, /healthz, /readyz. Loopback by default. */
  admin: ListenConfig;
  /** When set, the public listener speaks https:// and wss://. */
  tls: TlsConfig | null;
  dataDir: string;
  /** 'always': fsync every group commit before replying; 'interval': every fsyncIntervalMs; 'off': never. */
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  snapshot: SnapshotConfig;
  /**
   * When no command arrived for this many seconds, the server submits a Tick so engine time
   * (24 h ticker windows, 30-day volumes) moves on an idle exchange too.
   */
  tickSeconds: number;
  logLevel: string;
  engine: EngineConfig;
  limits: LimitsConfig;
  demo: DemoConfig;
}

export function defaultLimits(): LimitsConfig {
  return {
    authAttemptsPerHour: 1000,
    wsOrdersPerSecond: 200,
    restOrdersPer10s: 300,
    infoRequestsPer10s: 10,
    recordsPerMinute: 30,
    wsIdleTimeoutMs: 60_000,
    maxMessageBytes: 64 * 1024,
    maxBufferedBytes: 4 * 1024 * 1024,
  };
}

export function defaultConfig(profile: Profile = 'coinflex'): OpenfloorConfig {
  return {
    profile,
    listen: { host: '0.0.0.0', port: 8080 },
    admin: { host: '127.0.0.1', port: 8081 },
    tls: null,
    dataDir: './data',
    fsync: 'always',
    fsyncIntervalMs: 50,
    snapshot: { everyCommands: 1_000_000, everySeconds: 600, keep: 2, retention: 'archive' },
    tickSeconds: 60,
    logLevel: 'info',
    // The reference date fixes the year of each monthly future for a new data directory.
    engine: defaultEngineConfig(profile, Date.now()),
    limits: defaultLimits(),
    demo: { levels: 5, intervalMs: 1000, seed: 42 },
  };
}

// ---------------------------------------------------------------- errors

export interface ConfigIssue {
  /** Dotted path of the offending value, e.g. "limits.wsOrdersPerSecond" or "engine.markets[2].tick". */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], source?: string) {
    const where = source ? `${source}: ` : '';
    super(
      `invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${where}${i.path || '(root)'}: ${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

// ---------------------------------------------------------------- loading

/** Reads a YAML or JSON file into a plain object (not yet validated). */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read config file: ${(err as Error).message}` }], file);
  }
  try {
    if (extname(file).toLowerCase() === '.json') return JSON.parse(text) as unknown;
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot parse: ${(err as Error).message.split('\n')[0]}` }], file);
  }
}

/**
 * Builds the effective configuration: defaults, then the file (if any), then overrides (flags,
 * environment, programmatic). Objects merge key by key; arrays replace. Throws ConfigError.
 */
export function loadConfig(file?: string, overrides?: Partial<OpenfloorConfig> | Record<string, unknown>): OpenfloorConfig {
  let raw: unknown = {};
  if (file) {
    raw = readConfigFile(file) ?? {};
    if (!isPlainObject(raw)) throw new ConfigError([{ path: '', message: 'expected a mapping at the top level' }], file);
  }
  const profile = pickProfile(raw, overrides, file);
  return finish(deepMerge(deepMerge(defaultConfig(profile), raw), overrides ?? {}), file);
}

/** Validates a complete or partial config object merged onto the defaults. */
export function resolveConfig(partial?: Partial<OpenfloorConfig> | Record<string, unknown>): OpenfloorConfig {
  const profile = pickProfile({}, partial, undefined);
  return finish(deepMerge(defaultConfig(profile), partial ?? {}), undefined);
}

function pickProfile(raw: unknown, overrides: unknown, source: string | undefined): Profile {
  const o = isPlainObject(overrides) ? overrides.profile : undefined;
  const r = isPlainObject(raw) ? raw.profile : undefined;
  const p = o ?? r ?? 'coinflex';
  if (!(PROFILES as readonly unknown[]).includes(p)) {
    throw new ConfigError([{ path: 'profile', message: `expected one of ${PROFILES.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(p)}` }], source);
  }
  return p as Profile;
}

function finish(merged: unknown, source: string | undefined): OpenfloorConfig {
  const issues: ConfigIssue[] = [];
  const cfg = validateConfig(merged, issues);
  if (issues.length || !cfg) throw new ConfigError(issues, source);
  return cfg;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      if (v === undefined) continue;
      out[k] = k in base ? deepMerge(base[k], v) : v;
    }
    return out;
  }
  return over;
}

// ---------------------------------------------------------------- validation

class V {
  constructor(readonly issues: ConfigIssue[]) {}

  fail(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  obj(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> | undefined {
    if (!isPlainObject(v)) return this.fail(path, `expected a mapping, got ${describe(v)}`);
    for (const k of Object.keys(v)) {
      if (!keys.includes(k)) this.fail(join(path, k), `unknown key (expected one of: ${keys.join(', ')})`);
    }
    return v;
  }

  int(v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.fail(path, `expected an integer, got ${describe(v)}`);
    if (v < min) return this.fail(path, `must be at least ${min}, got ${v}`);
    if (v > max) return this.fail(path, `must be at most ${max}, got ${v}`);
    return v;
  }

  str(v: unknown, path: string, nonEmpty = true): string | undefined {
    if (typeof v !== 'string') return this.fail(path, `expected a string, got ${describe(v)}`);
    if (nonEmpty && v.length === 0) return this.fail(path, 'must not be empty');
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T | undefined {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      return this.fail(path, `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(v)}`);
    }
    return v as T;
  }

  arr(v: unknown, path: string): unknown[] | undefined {
    if (!Array.isArray(v)) return this.fail(path, `expected a list, got ${describe(v)}`);
    return v;
  }
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return `${typeof v} ${String(v)}`;
}

const TOP_KEYS = ['profile', 'listen', 'admin', 'tls', 'dataDir', 'fsync', 'fsyncIntervalMs', 'snapshot', 'tickSeconds', 'logLevel', 'engine', 'limits', 'demo'] as const;
const LIMIT_KEYS: (keyof LimitsConfig)[] = [
  'authAttemptsPerHour',
  'wsOrdersPerSecond',
  'restOrdersPer10s',
  'infoRequestsPer10s',
  'recordsPerMinute',
  'wsIdleTimeoutMs',
  'maxMessageBytes',
  'maxBufferedBytes',
];
const ENGINE_KEYS = ['assets', 'markets', 'tonceRule', 'maxOpenOrders', 'seed'] as const;
const ASSET_KEYS = ['code', 'name', 'scale'] as const;
const MARKET_KEYS = ['base', 'counter', 'priceScale', 'tick', 'kind', 'spotName', 'start', 'expires', 'tenor', 'fees'] as const;
const FEE_KEYS = ['minVolume', 'makerPpm', 'takerPpm'] as const;

function validateListen(v: V, raw: unknown, path: string): ListenConfig | undefined {
  const o = v.obj(raw, path, ['host', 'port']);
  if (!o) return undefined;
  const host = v.str(o.host, join(path, 'host'));
  const port = v.int(o.port, join(path, 'port'), 0, 65535);
  return host !== undefined && port !== undefined ? { host, port } : undefined;
}

/** Validates a fully merged configuration object; pushes issues and returns undefined on failure. */
export function validateConfig(raw: unknown, issues: ConfigIssue[]): OpenfloorConfig | undefined {
  const v = new V(issues);
  const o = v.obj(raw, '', TOP_KEYS);
  if (!o) return undefined;
  const profile = v.oneOf(o.profile, 'profile', PROFILES);
  const listen = validateListen(v, o.listen, 'listen');
  const admin = validateListen(v, o.admin, 'admin');
  let tls: TlsConfig | null = null;
  if (o.tls != null) {
    const t = v.obj(o.tls, 'tls', ['cert', 'key']);
    if (t) {
      const cert = v.str(t.cert, 'tls.cert');
      const key = v.str(t.key, 'tls.key');
      if (cert !== undefined && key !== undefined) tls = { cert, key };
    }
  }
  const dataDir = v.str(o.dataDir, 'dataDir');
  const fsync = v.oneOf(o.fsync, 'fsync', FSYNC_POLICIES);
  const logLevel = v.oneOf(o.logLevel, 'logLevel', LOG_LEVELS);
  let snapshot: SnapshotConfig | undefined;
  const fsyncIntervalMs = v.int(o.fsyncIntervalMs, 'fsyncIntervalMs', 1);
  const tickSeconds = v.int(o.tickSeconds, 'tickSeconds', 1, 86_400);
  const so = v.obj(o.snapshot, 'snapshot', ['everyCommands', 'everySeconds', 'keep', 'retention']);
  if (so) {
    const everyCommands = v.int(so.everyCommands, 'snapshot.everyCommands', 1);
    const everySeconds = v.int(so.everySeconds, 'snapshot.everySeconds', 1);
    const keep = v.int(so.keep, 'snapshot.keep', 1, 100);
    const retention = v.oneOf(so.retention, 'snapshot.retention', RETENTION_POLICIES);
    if (everyCommands !== undefined && everySeconds !== undefined && keep !== undefined && retention !== undefined) {
      snapshot = { everyCommands, everySeconds, keep, retention };
    }
  }
  let limits: LimitsConfig | undefined;
  const lo = v.obj(o.limits, 'limits', LIMIT_KEYS);
  if (lo) {
    const l: Partial<LimitsConfig> = {};
    let ok = true;
    for (const k of LIMIT_KEYS) {
      const n = v.int(lo[k], join('limits', k), 1);
      if (n === undefined) ok = false;
      else l[k] = n;
    }
    if (ok) limits = l as LimitsConfig;
  }
  let demo: DemoConfig | undefined;
  const d = v.obj(o.demo, 'demo', ['levels', 'intervalMs', 'seed']);
  if (d) {
    const levels = v.int(d.levels, 'demo.levels', 1, 50);
    const intervalMs = v.int(d.intervalMs, 'demo.intervalMs', 50);
    const seed = v.int(d.seed, 'demo.seed', 0, 0xffffffff);
    if (levels !== undefined && intervalMs !== undefined && seed !== undefined) demo = { levels, intervalMs, seed };
  }
  const engine = validateEngine(v, o.engine, 'engine');
  if (issues.length) return undefined;
  return {
    profile: profile!,
    listen: listen!,
    admin: admin!,
    tls,
    dataDir: dataDir!,
    fsync: fsync!,
    fsyncIntervalMs: fsyncIntervalMs!,
    snapshot: snapshot!,
    tickSeconds: tickSeconds!,
    logLevel: logLevel!,
    engine: engine!,
    limits: limits!,
    demo: demo!,
  };
}

function validateEngine(v: V, raw: unknown, path: string): EngineConfig | undefined {
  const o = v.obj(raw, path, ENGINE_KEYS);
  if (!o) return undefined;
  const before = v.issues.length;
  const tonceRule = v.oneOf(o.tonceRule, join(path, 'tonceRule'), ['unique', 'increasing'] as const);
  const maxOpenOrders = v.int(o.maxOpenOrders, join(path, 'maxOpenOrders'), 1);
  const seed = v.int(o.seed, join(path, 'seed'), 0);
  const assets: AssetConfig[] = [];
  const assetList = v.arr(o.assets, join(path, 'assets')) ?? [];
  assetList.forEach((a, i) => {
    const asset = validateAsset(v, a, join(join(path, 'assets'), i));
    if (!asset) return;
    const p = join(join(path, 'assets'), i);
    if (assets.some((x) => x.code === asset.code)) v.fail(join(p, 'code'), `duplicate asset code ${asset.code}`);
    else if (assets.some((x) => x.name === asset.name)) v.fail(join(p, 'name'), `duplicate asset name ${asset.name}`);
    else assets.push(asset);
  });
  const markets: MarketConfig[] = [];
  const marketList = v.arr(o.markets, join(path, 'markets')) ?? [];
  marketList.forEach((m, i) => {
    const p = join(join(path, 'markets'), i);
    const market = validateMarket(v, m, p, assets);
    if (!market) return;
    if (markets.some((x) => x.base === market.base && x.counter === market.counter)) {
      v.fail(p, `duplicate market ${market.base}:${market.counter}`);
    } else markets.push(market);
  });
  if (v.issues.length > before) return undefined;
  return { assets, markets, tonceRule: tonceRule!, maxOpenOrders: maxOpenOrders!, seed: seed! };
}

function validateAsset(v: V, raw: unknown, path: string): AssetConfig | undefined {
  const a = v.obj(raw, path, ASSET_KEYS);
  if (!a) return undefined;
  const code = v.int(a.code, join(path, 'code'), 1, 0xffff);
  const name = v.str(a.name, join(path, 'name'));
  if (name !== undefined && !/^[A-Za-z0-9_]{1,16}$/.test(name)) v.fail(join(path, 'name'), `must be 1-16 letters, digits or _, got ${describe(name)}`);
  const scale = v.int(a.scale, join(path, 'scale'), 1);
  if (scale !== undefined && !isPowerOf10(scale)) v.fail(join(path, 'scale'), `must be a power of 10, got ${scale}`);
  if (code === undefined || name === undefined || scale === undefined || !isPowerOf10(scale)) return undefined;
  return { code, name, scale };
}

/** Resolves an asset reference: a numeric code or a name from `assets`. */
function assetRef(v: V, raw: unknown, path: string, assets: AssetConfig[]): number | undefined {
  if (typeof raw === 'number') {
    if (!assets.some((a) => a.code === raw)) return v.fail(path, `unknown asset code ${raw}`);
    return raw;
  }
  if (typeof raw === 'string') {
    const a = assets.find((x) => x.name === raw || x.name.toUpperCase() === raw.toUpperCase());
    if (!a) return v.fail(path, `unknown asset ${JSON.stringify(raw)} (known: ${assets.map((x) => x.name).join(', ') || 'none'})`);
    return a.code;
  }
  return v.fail(path, `expected an asset name or code, got ${describe(raw)}`);
}

function validateMarket(v: V, raw: unknown, path: string, assets: AssetConfig[]): MarketConfig | undefined {
  const m = v.obj(raw, path, MARKET_KEYS);
  if (!m) return undefined;
  const before = v.issues.length;
  const base = assetRef(v, m.base, join(path, 'base'), assets);
  const counter = assetRef(v, m.counter, join(path, 'counter'), assets);
  if (base !== undefined && base === counter) v.fail(join(path, 'counter'), 'must differ from base');
  const priceScale = v.int(m.priceScale, join(path, 'priceScale'), 1);
  if (priceScale !== undefined && !isPowerOf10(priceScale)) v.fail(join(path, 'priceScale'), `must be a power of 10, got ${priceScale}`);
  const tick = v.int(m.tick, join(path, 'tick'), 1);
  const kind = m.kind === undefined ? 'spot' : v.oneOf(m.kind, join(path, 'kind'), ['spot', 'futures'] as const);
  const out: MarketConfig = { base: base!, counter: counter!, priceScale: priceScale!, tick: tick!, kind: kind!, fees: [] };
  if (m.spotName !== undefined) {
    const s = v.str(m.spotName, join(path, 'spotName'));
    if (s !== undefined) out.spotName = s;
  }
  for (const k of ['start', 'expires'] as const) {
    if (m[k] !== undefined) {
      const n = v.int(m[k], join(path, k), 0);
      if (n !== undefined) out[k] = n;
    }
  }
  if (m.tenor !== undefined) {
    const t = v.str(m.tenor, join(path, 'tenor'));
    if (t !== undefined) out.tenor = t;
  }
  const fees = m.fees === undefined ? [{ minVolume: 0, makerPpm: 0, takerPpm: 0 }] : v.arr(m.fees, join(path, 'fees'));
  if (fees) {
    if (fees.length === 0) v.fail(join(path, 'fees'), 'needs at least one tier');
    let prev = -1;
    fees.forEach((f, i) => {
      const p = join(join(path, 'fees'), i);
      const fo = v.obj(f, p, FEE_KEYS);
      if (!fo) return;
      const minVolume = v.int(fo.minVolume, join(p, 'minVolume'), 0);
      const makerPpm = v.int(fo.makerPpm, join(p, 'makerPpm'), 0, 1_000_000);
      const takerPpm = v.int(fo.takerPpm, join(p, 'takerPpm'), 0, 1_000_000);
      if (minVolume === undefined || makerPpm === undefined || takerPpm === undefined) return;
      if (i === 0 && minVolume !== 0) v.fail(join(p, 'minVolume'), 'the first tier must start at 0');
      if (minVolume <= prev) v.fail(join(p, 'minVolume'), 'tiers must be sorted by minVolume, strictly ascending');
      prev = minVolume;
      const tier: FeeTier = { minVolume, makerPpm, takerPpm };
      out.fees.push(tier);
    });
  }
  if (v.issues.length > before) return undefined;
  return out;
}

function isPowerOf10(n: number): boolean {
  let x = n;
  while (x >= 10 && x % 10 === 0) x /= 10;
  return x === 1;
}

/** Validates one asset given on its own (admin API / CLI). Throws ConfigError. */
export function checkAsset(raw: unknown, path = 'asset'): AssetConfig {
  const issues: ConfigIssue[] = [];
  const a = validateAsset(new V(issues), raw, path);
  if (!a || issues.length) throw new ConfigError(issues);
  return a;
}

/** Validates one market given on its own against the known assets (admin API / CLI). Throws ConfigError. */
export function checkMarket(raw: unknown, assets: AssetConfig[], path = 'market'): MarketConfig {
  const issues: ConfigIssue[] = [];
  const m = validateMarket(new V(issues), raw, path, assets);
  if (!m || issues.length) throw new ConfigError(issues);
  return m;
}

/** Market name as the native protocol's documents write it: "XBT:USDT". */
export function marketName(engineAssets: AssetConfig[], m: { base: number; counter: number }): string {
  const n = (code: number) => engineAssets.find((a) => a.code === code)?.name ?? String(code);
  return `${n(m.base)}:${n(m.counter)}`;
}
