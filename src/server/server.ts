// The server process: config → durable store (journal + recovery) → ServerContext → one public
// Fastify listener carrying every dialect's routes and WebSocket endpoints, plus a loopback
// admin listener (admin API, /metrics, /healthz, /readyz). Graceful close snapshots.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCode, type CommandResult, type EngineApi, type UnstampedCommand } from '../core/types.js';
import { journalReplay, openHistory, type History } from '../history/index.js';
import { openStore, verify, type RecoveryReport, type Sequencer } from '../journal/index.js';
import { startAdmin, ensureAdminToken, quietLogController, type AdminRuntime } from './admin.js';
import { resolveConfig, type FsyncPolicy, type OpenfloorConfig, marketName } from './config.js';
import type { Applied, AppliedListener, AppliedSink, ServerContext } from './context.js';
import type { Dialect, WebSocketEndpoint } from './dialect.js';
import { allDialects } from './dialects.js';
import { ensureDemo, startMarketMaker, type DemoCredentials } from './demo.js';
import { metrics } from './metrics.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object | null ? DeepPartial<T[K]> : T[K] };
export type ConfigOverrides = DeepPartial<OpenfloorConfig>;

export interface ServerOptions {
  /** Public listener host. startServer defaults to 127.0.0.1 (tests); `openfloor serve` to 0.0.0.0. */
  host?: string;
  /** Public port; 0 = ephemeral (the startServer default); `openfloor serve` defaults to 8080. */
  port?: number;
  dataDir: string;
  fsync?: FsyncPolicy;
  /** Configuration (merged onto the defaults; explicit options above win). */
  config?: ConfigOverrides;
  /** Demo mode: documented markets, a funded demo user, credentials in <dataDir>/demo-credentials.json. */
  demo?: boolean;
  /** Run the demo market maker (defaults to `demo`). */
  demoLiquidity?: boolean;
  adminHost?: string;
  /** Admin port; 0 = ephemeral (the startServer default); `openfloor serve` defaults to 8081. */
  adminPort?: number;
  tls?: { cert: string; key: string };
  logLevel?: string;
  /** Dialects to serve; default all that exist (src/server/dialects.ts). */
  dialects?: Dialect[];
  /** Use this logger instead of creating one (tests). */
  logger?: Logger;
}

export interface RunningServer {
  /** http(s)://host:port of the public listener. */
  url: string;
  /** ws(s)://host:port of the public listener. */
  wsUrl: string;
  port: number;
  /** http://host:port of the admin listener. */
  adminUrl: string;
  adminPort: number;
  ctx: ServerContext;
  config: OpenfloorConfig;
  recovery: RecoveryReport;
  /** Bearer token of the admin API (also in <dataDir>/admin-token). */
  adminToken: string;
  /** Demo credentials when started with demo: true. */
  demo?: DemoCredentials;
  /** What each dialect serves: WebSocket paths and the common prefix of its HTTP routes. */
  endpoints: EndpointSummary[];
  /** The sequencer's journal counters (batches, fsyncs, …): benchmarks and diagnostics. */
  journalStats(): ReturnType<Sequencer['stats']>;
  close(): Promise<void>;
}

export interface EndpointSummary {
  dialect: string;
  /** Exact WebSocket paths. */
  paths: string[];
  /** Where the dialect's HTTP routes live (see routePrefixes); empty when it has none. */
  http: string[];
  /** Number of HTTP routes (HEAD twins not counted). */
  httpRoutes: number;
}

/**
 * A short description of a dialect's HTTP routes for the banner: the static part of each route
 * (up to its first parameter); when there are more than three distinct ones, their longest
 * common prefix at a segment boundary instead.
 */
export function routePrefixes(urls: string[]): string[] {
  const stat = [...new Set(urls.map((u) => u.split(/[:*]/)[0]!))];
  if (stat.length === 0) return [];
  if (stat.length <= 3) {
    const short = stat.map((u) => {
      const hasParam = urls.some((x) => x !== u && x.startsWith(u) && /[:*]/.test(x.slice(u.length, u.length + 1)));
      const trimmed = u.replace(/\/+$/, '');
      return hasParam ? `${trimmed}/…` : trimmed || '/';
    });
    return [...new Set(short)];
  }
  let prefix = stat[0]!;
  for (const u of stat) {
    let i = 0;
    while (i < prefix.length && i < u.length && prefix[i] === u[i]) i++;
    prefix = prefix.slice(0, i);
  }
  prefix = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  return [prefix || '/'];
}

/** Name of the file a running server writes into its data directory (admin URL for the CLI). */
export const SERVER_INFO_FILE = 'server.json';

export interface ServerInfo {
  pid: number;
  url: string;
  wsUrl: string;
  adminUrl: string;
  startedAt: string;
}

export function readServerInfo(dataDir: string): ServerInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, SERVER_INFO_FILE), 'utf8')) as ServerInfo;
  } catch {
    return undefined;
  }
}

const ERROR_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));
export function errorCodeName(code: number): string {
  return ERROR_NAMES.get(code) ?? String(code);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Creates the process logger: JSON lines on stdout; secrets redacted by path as a second line of defence. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'openfloor' },
    redact: {
      paths: [
        'passphrase',
        'cookie',
        'secretKey',
        'secret_key',
        'privateKey',
        'token',
        'signature',
        'authorization',
        '*.passphrase',
        '*.cookie',
        '*.secretKey',
        '*.privateKey',
        '*.token',
        'req.headers.authorization',
        'req.headers.cookie',
      ],
      censor: '[redacted]',
    },
  });
}

/** Keeps only what is safe and useful to log about a rejected command. */
function commandSummary(cmd: UnstampedCommand): Record<string, unknown> {
  const c = cmd as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { type: cmd.type };
  for (const k of ['userId', 'sessionId', 'base', 'counter', 'asset', 'id', 'tonce']) {
    if (c[k] !== undefined) out[k] = c[k];
  }
  return out;
}

function resultName(result: CommandResult): string {
  return result.ok ? 'ok' : errorCodeName(result.code);
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const over: ConfigOverrides = { ...(opts.config ?? {}) };
  over.dataDir = opts.dataDir;
  if (opts.fsync !== undefined) over.fsync = opts.fsync;
  if (opts.logLevel !== undefined) over.logLevel = opts.logLevel;
  over.listen = {
    host: opts.host ?? opts.config?.listen?.host ?? '127.0.0.1',
    port: opts.port ?? opts.config?.listen?.port ?? 0,
  };
  over.admin = {
    host: opts.adminHost ?? opts.config?.admin?.host ?? '127.0.0.1',
    port: opts.adminPort ?? opts.config?.admin?.port ?? 0,
  };
  if (opts.tls) over.tls = opts.tls;
  const config = resolveConfig(over as Record<string, unknown>);
  const log = opts.logger ?? createLogger(config.logLevel);
  const dataDir = config.dataDir;
  // Read the TLS files before anything is opened: a wrong path fails the start cleanly.
  const tls = config.tls ? { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } : undefined;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const adminToken = ensureAdminToken(dataDir);

  // Admin first, so /healthz answers and /readyz says "not ready" while recovery runs.
  const admin = await startAdmin({ host: config.admin.host, port: config.admin.port, token: adminToken, log, dataDir, verify: () => verify(dataDir) });
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(
      {
        dataDir,
        fsync: config.fsync,
        fsyncIntervalMs: config.fsyncIntervalMs,
        snapshotEveryCommands: config.snapshot.everyCommands,
        snapshotEveryMs: config.snapshot.everySeconds * 1000,
        keepSnapshots: config.snapshot.keep,
        retention: config.snapshot.retention,
      },
      config.engine,
      log.child({ component: 'journal' }),
    );
  } catch (err) {
    await admin.close();
    throw err;
  }
  const { engine, sequencer, recovery } = store;
  log.info({ recovery }, 'recovery finished');

  const closers: (() => Promise<void> | void)[] = [];
  let closing = false;
  const pending = new InFlight();
  const ctx = makeContext(engine, sequencer, log, config, pending);
  // Journal latency histograms: one look at the sequencer's figures per published batch.
  let journalLook = false;
  const stopJournalMetrics = sequencer.onApplied(() => {
    if (journalLook) return;
    journalLook = true;
    setImmediate(() => {
      journalLook = false;
      metrics.observeJournal(sequencer.stats());
    });
  });

  const detachMetrics = metrics.attach({
    lastSeq: () => engine.lastSeq,
    restingOrders: () => restingOrders(engine),
    journal: () => sequencer.stats(),
  });

  let publicApp: FastifyInstance | undefined;
  const wsServers: WebSocketServer[] = [];
  const dialects = opts.dialects ?? allDialects();
  let demo: DemoCredentials | undefined;
  let stopMarketMaker: (() => Promise<void>) | undefined;
  let history: History | undefined;
  try {
    await ctx.submit({ type: 'ServerStarted' });
    await addConfiguredAssetsAndMarkets(ctx, config, log);
    // The trade-history read model: caught up from the journal when missing or behind.
    history = await openHistory(dataDir, ctx, { replay: journalReplay(dataDir, log.child({ component: 'history' })) });
    if (opts.demo) demo = await ensureDemo(ctx, dataDir, log);

    // ---------------------------------------------------------------- public listener
    const app = Fastify({
      bodyLimit: config.limits.maxMessageBytes,
      loggerInstance: log.child({ component: 'http' }),
      logController: quietLogController(Fastify.LogController),
      return503OnClosing: true,
      forceCloseConnections: 'idle',
      ...(tls ? { https: tls } : {}),
    }) as unknown as FastifyInstance;
    publicApp = app;

    const byPath = new Map<string, { dialect: string; endpoint: WebSocketEndpoint; wss: WebSocketServer }>();
    const endpointList: EndpointSummary[] = [];
    for (const dialect of dialects) {
      let endpoints: WebSocketEndpoint[] = [];
      const routes: string[] = [];
      // Each dialect is its own encapsulated plugin: its hooks, parsers and decorators stay its own.
      await app.register(async (scope) => {
        scope.addHook('onRoute', (r) => {
          const methods = Array.isArray(r.method) ? r.method : [r.method];
          if (!methods.every((m) => m === 'HEAD')) routes.push(r.url);
        });
        endpoints = await dialect.register(scope, ctx);
      });
      const paths: string[] = [];
      for (const endpoint of endpoints) {
        const wss = new WebSocketServer({
          noServer: true,
          perMessageDeflate: endpoint.perMessageDeflate ?? false,
          maxPayload: endpoint.maxPayload ?? config.limits.maxMessageBytes,
        });
        wsServers.push(wss);
        for (const p of endpoint.paths) {
          if (byPath.has(p)) throw new Error(`WebSocket path ${p} claimed by both ${byPath.get(p)!.dialect} and ${dialect.name}`);
          byPath.set(p, { dialect: dialect.name, endpoint, wss });
          paths.push(p);
        }
      }
      endpointList.push({ dialect: dialect.name, paths, http: routePrefixes(routes), httpRoutes: routes.length });
      if (dialect.close) closers.push(() => dialect.close!());
    }
    // Dialect read models rebuilt from the journal, before anyone can ask them anything.
    for (const dialect of dialects) {
      if (dialect.rebuild) await dialect.rebuild(journalReplay(dataDir, log.child({ component: dialect.name })));
    }
    await app.ready();

    app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const target = byPath.get(path);
      if (!target || closing) {
        socket.on('error', () => {});
        socket.end(`HTTP/1.1 ${closing ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        socket.destroy();
        if (!closing) log.info({ event: 'upgrade-refused', path, remote: req.socket.remoteAddress }, 'no WebSocket endpoint at this path');
        return;
      }
      target.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        const remote = req.socket.remoteAddress;
        metrics.connectionOpened(target.dialect);
        log.info({ event: 'connect', dialect: target.dialect, path, remote }, 'connection opened');
        ws.once('close', (code: number) => {
          metrics.connectionClosed(target.dialect);
          log.info({ event: 'disconnect', dialect: target.dialect, path, remote, code }, 'connection closed');
        });
        try {
          target.endpoint.onConnection(ws, req);
        } catch (err) {
          log.error({ err, dialect: target.dialect }, 'dialect onConnection failed');
          ws.terminate();
        }
      });
    });

    await app.listen({ host: config.listen.host, port: config.listen.port });
    const port = (app.server.address() as AddressInfo).port;
    const scheme = tls ? 'https' : 'http';
    const url = `${scheme}://${urlHost(config.listen.host)}:${port}`;
    const wsUrl = `${tls ? 'wss' : 'ws'}://${urlHost(config.listen.host)}:${port}`;

    // Idle ticks: engine time only moves with commands; keep it near the wall clock when idle.
    const tickMicros = config.tickSeconds * 1_000_000;
    const ticker = setInterval(() => {
      if (closing || Date.now() * 1000 - engine.now < tickMicros) return;
      ctx.submit({ type: 'Tick' }).catch((err: unknown) => log.error({ err }, 'idle tick failed'));
    }, Math.min(config.tickSeconds * 1000, 60_000) / 2);
    ticker.unref();
    closers.unshift(() => clearInterval(ticker));

    if (opts.demoLiquidity ?? opts.demo) stopMarketMaker = await startMarketMaker(ctx, dataDir, config.demo, log);

    const runtime: AdminRuntime = { ctx, sequencer, recovery, config, startedAt: new Date() };
    admin.setRuntime(runtime);
    const info: ServerInfo = { pid: process.pid, url, wsUrl, adminUrl: admin.url, startedAt: runtime.startedAt.toISOString() };
    writeFileSync(join(dataDir, SERVER_INFO_FILE), JSON.stringify(info, null, 2) + '\n');
    log.info({ event: 'listening', url, wsUrl, adminUrl: admin.url, fsync: config.fsync, endpoints: endpointList }, 'openfloor serving');

    let closed: Promise<void> | undefined;
    const close = (): Promise<void> =>
      (closed ??= (async () => {
        closing = true;
        admin.setClosing();
        log.info({ event: 'shutdown' }, 'shutting down: no new connections');
        if (stopMarketMaker) await stopMarketMaker();
        // Stop accepting: the listening socket closes now; in-flight HTTP requests finish.
        const appClosed = app.close();
        // Dialects close their sockets (and may submit Disconnect commands while doing so).
        for (const c of closers) {
          try {
            await c();
          } catch (err) {
            log.error({ err }, 'dialect close failed');
          }
        }
        for (const wss of wsServers) {
          for (const client of wss.clients) client.close(1001, 'server shutting down');
          wss.close();
        }
        await settle(pending);
        // Sockets that ignored the close handshake are cut after a grace period.
        const grace = setTimeout(() => {
          for (const wss of wsServers) for (const client of wss.clients) client.terminate();
        }, 2000);
        await appClosed;
        clearTimeout(grace);
        await settle(pending);
        history?.close();
        await sequencer.close();
        stopJournalMetrics();
        detachMetrics();
        rmSync(join(dataDir, SERVER_INFO_FILE), { force: true });
        await admin.close();
        log.info({ event: 'stopped', lastSeq: engine.lastSeq }, 'openfloor stopped');
      })());

    return {
      url,
      wsUrl,
      port,
      adminUrl: admin.url,
      adminPort: admin.port,
      ctx,
      config,
      recovery,
      adminToken,
      ...(demo ? { demo } : {}),
      endpoints: endpointList,
      journalStats: () => sequencer.stats(),
      close,
    };
  } catch (err) {
    closing = true;
    if (stopMarketMaker) await stopMarketMaker().catch(() => {});
    if (publicApp) await publicApp.close().catch(() => {});
    for (const c of closers) await Promise.resolve(c()).catch(() => {});
    await settle(pending);
    history?.close();
    await sequencer.close().catch(() => {});
    stopJournalMetrics();
    detachMetrics();
    await admin.close().catch(() => {});
    throw err;
  }
}

/** Counts submitted commands not yet settled (a counter rather than a set of promises: it is on every command's path). */
class InFlight {
  count = 0;
  private waiters: (() => void)[] = [];

  done(): void {
    if (--this.count === 0 && this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

async function settle(pending: InFlight): Promise<void> {
  while (pending.count > 0) await pending.idle();
}

function restingOrders(engine: EngineApi): Map<string, number> {
  const out = new Map<string, number>();
  const assets = engine.assets();
  for (const m of engine.markets()) {
    const orders = engine.bookOrders(m.base, m.counter, Number.MAX_SAFE_INTEGER);
    out.set(marketName(assets, m), orders ? orders.length : 0);
  }
  return out;
}

function makeContext(
  engine: EngineApi,
  sequencer: Sequencer,
  log: Logger,
  config: OpenfloorConfig,
  pending: InFlight,
): ServerContext {
  const cmdLog = log.child({ component: 'engine' });
  const submitTo = (cmd: UnstampedCommand, sink: AppliedSink): void => {
    pending.count++;
    sequencer.submitTo(cmd, new MeteredSink(cmd, performance.now(), sink, pending, cmdLog));
  };
  return {
    engine,
    limits: config.limits,
    log,
    submit: (cmd: UnstampedCommand): Promise<Applied> => new Promise((resolve, reject) => submitTo(cmd, { applied: resolve, failed: reject })),
    submitTo,
    whenDurable: () => sequencer.whenDurable(),
    onApplied: (listener: AppliedListener) => sequencer.onApplied(listener),
    newSessionId: () => sequencer.newSessionId(),
  };
}

/** The server's bookkeeping around a dialect's sink (submit() and submitTo() both go through it): metrics, the rejected-command log, the in-flight count. */
class MeteredSink implements AppliedSink {
  constructor(
    private readonly cmd: UnstampedCommand,
    private readonly t0: number,
    private readonly sink: AppliedSink,
    private readonly pending: InFlight,
    private readonly cmdLog: Logger,
  ) {}

  applied(applied: Applied): void {
    try {
      const seconds = (performance.now() - this.t0) / 1000;
      metrics.commandApplied(this.cmd.type, resultName(applied.result), seconds);
      if (!applied.result.ok) {
        metrics.rejected('engine', errorCodeName(applied.result.code));
        this.cmdLog.info(
          { event: 'rejected', seq: applied.seq, cmd: commandSummary(this.cmd), code: applied.result.code, error: applied.result.message },
          'command rejected',
        );
      }
    } finally {
      this.pending.done();
    }
    this.sink.applied(applied);
  }

  failed(err: Error): void {
    this.pending.done();
    this.sink.failed(err);
  }
}

/** Configured assets and markets the engine does not know yet are added through journaled commands. */
async function addConfiguredAssetsAndMarkets(ctx: ServerContext, config: OpenfloorConfig, log: Logger): Promise<void> {
  for (const asset of config.engine.assets) {
    if (ctx.engine.asset(asset.code)) continue;
    const r = await ctx.submit({ type: 'AddAsset', asset });
    if (!r.result.ok) throw new Error(`config engine.assets: cannot add asset ${asset.name}: ${r.result.message}`);
    log.info({ asset: asset.name, code: asset.code }, 'asset added from configuration');
  }
  for (const market of config.engine.markets) {
    if (ctx.engine.market(market.base, market.counter)) continue;
    const r = await ctx.submit({ type: 'AddMarket', market });
    const name = marketName(ctx.engine.assets(), market);
    if (!r.result.ok) throw new Error(`config engine.markets: cannot add market ${name}: ${r.result.message}`);
    log.info({ market: name }, 'market added from configuration');
  }
}
