// HTTP dialect throughput over loopback: `node dist/bench/http.js` prints one JSON line on stdout
// (diagnostics on stderr):
//   tickers_rps / tickers_p99_ms         GET /tickers/ (public, every market)
//   depth_rps / depth_p99_ms             GET /depth/<XBT>:<USDT> (top 20 levels of a 40-level book)
//   auth_orders_rps / auth_orders_p99_ms POST /orders/ with HTTP Basic: a 1-unit market buy
//                                        against a deep resting ask, i.e. authentication (cached),
//                                        parsing, sequencer, journal append, engine, history write
//
// The server runs in a child process (this file with --serve), so autocannon does not share its
// event loop. Journal fsync is 'off' unless --fsync is given: the figure is the HTTP path, not the
// disk. Options (flags or env): --connections N (BENCH_CONNECTIONS, 32), --duration S
// (BENCH_DURATION, 5), --pipelining N (BENCH_PIPELINING, 1), --fsync off|interval|always.
import '../src/v8-tuning.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { startServer } from '../src/server/server.js';
import { derivePrivateKey, newCookie, publicKeyFromPrivate } from '../src/auth/secp224k1.js';
import { openHistory, journalReplay } from '../src/history/index.js';
import { createDialect as rest } from '../src/dialects/rest/index.js';
import { createDialect as eventStream } from '../src/dialects/event-stream/index.js';
import { createDialect as bist } from '../src/dialects/bist/index.js';
import type { ServerContext } from '../src/server/context.js';
import type { UnstampedCommand } from '../src/core/types.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const XBT = 0xf800;
const USDT = 0xff03;

const log = (msg: string): void => {
  process.stderr.write(`[bench:http] ${msg}\n`);
};

const { values: args } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    connections: { type: 'string' },
    duration: { type: 'string' },
    pipelining: { type: 'string' },
    fsync: { type: 'string' },
  },
});

const num = (flag: string | undefined, env: string, dflt: number) => {
  const v = Number(flag ?? process.env[env] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bad value for ${env}: ${flag ?? process.env[env]}`);
  return v;
};

interface Setup {
  url: string;
  auth: string;
}

async function must(ctx: ServerContext, cmd: UnstampedCommand): Promise<number | undefined> {
  const a = await ctx.submit(cmd);
  if (!a.result.ok) throw new Error(`${cmd.type}: ${a.result.message}`);
  return (a.result as { userId?: number }).userId;
}

async function createUser(ctx: ServerContext, passphrase: string, deposits: [number, number][]): Promise<{ id: number; cookie: string }> {
  const id = Math.max(0, ...ctx.engine.users().map((u) => u.id)) + 1;
  const cookie = newCookie();
  const got = await must(ctx, { type: 'CreateUser', publicKey: publicKeyFromPrivate(derivePrivateKey(id, passphrase)).toString('base64'), cookie });
  if (got !== id) throw new Error('user id prediction failed');
  for (const [asset, amount] of deposits) await must(ctx, { type: 'Deposit', userId: id, asset, amount });
  return { id, cookie };
}

/** Child process: a server with a 40-level XBT:USDT book and a deep ask to buy from. */
async function serve(fsync: 'off' | 'interval' | 'always'): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'openfloor-bench-http-'));
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    fsync,
    logLevel: 'silent',
    dialects: [rest(), eventStream(), bist()],
    config: { limits: { restOrdersPer10s: 1_000_000_000, recordsPerMinute: 1_000_000_000 } },
  });
  const history = await openHistory(dataDir, server.ctx, { replay: journalReplay(dataDir) });
  const ctx = server.ctx;
  const maker = await createUser(ctx, 'maker', [
    [XBT, 1_000_000_000_000],
    [USDT, 1_000_000_000_000],
  ]);
  const taker = await createUser(ctx, 'taker', [[USDT, 1_000_000_000_000_000]]);
  const session = ctx.newSessionId();
  for (let i = 1; i <= 40; i++) {
    await must(ctx, { type: 'PlaceOrder', userId: maker.id, sessionId: session, tonce: null, base: XBT, counter: USDT, quantity: 1_000, price: (4000 - i) * 10_000, persist: true });
    await must(ctx, { type: 'PlaceOrder', userId: maker.id, sessionId: session, tonce: null, base: XBT, counter: USDT, quantity: -1_000, price: (4000 + i) * 10_000, persist: true });
  }
  // The market buys consume this one (the best ask, at 4000, below the 40 levels).
  await must(ctx, { type: 'PlaceOrder', userId: maker.id, sessionId: session, tonce: null, base: XBT, counter: USDT, quantity: -100_000_000_000, price: 4000 * 10_000, persist: true });
  const setup: Setup = { url: server.url, auth: 'Basic ' + Buffer.from(`${taker.id}/${taker.cookie}:taker`).toString('base64') };
  process.stdout.write(JSON.stringify(setup) + '\n');
  const stop = async () => {
    await server.close();
    history.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
}

async function main(): Promise<void> {
  const connections = num(args.connections, 'BENCH_CONNECTIONS', 32);
  const duration = num(args.duration, 'BENCH_DURATION', 5);
  const pipelining = num(args.pipelining, 'BENCH_PIPELINING', 1);
  const fsync = (args.fsync ?? process.env.BENCH_FSYNC ?? 'off') as 'off' | 'interval' | 'always';
  const child = spawn(process.execPath, ['--min-semi-space-size=32', '--max-semi-space-size=32', fileURLToPath(import.meta.url), '--serve', '--fsync', fsync], { stdio: ['pipe', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const setup = JSON.parse(first) as Setup;
  log(`server at ${setup.url}; ${connections} connections, ${duration} s per run, pipelining ${pipelining}, fsync ${fsync}`);
  const run = async (name: string, opts: Record<string, unknown>) => {
    // A short warm-up first (JIT, caches), then the measured run.
    await autocannon({ connections, pipelining, duration: 1, ...opts });
    const r = await autocannon({ connections, pipelining, duration, ...opts });
    log(`${name}: ${r.requests.average.toFixed(0)} req/s, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}`);
    return r;
  };
  try {
    const tickers = await run('tickers', { url: `${setup.url}/tickers/` });
    const depth = await run('depth', { url: `${setup.url}/depth/${XBT}:${USDT}` });
    const orders = await run('auth_orders', {
      url: `${setup.url}/orders/`,
      method: 'POST',
      headers: { authorization: setup.auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: `base=${XBT}&counter=${USDT}&quantity=1`,
    });
    const result = {
      bench: 'http',
      tickers_rps: Math.round(tickers.requests.average),
      tickers_p99_ms: tickers.latency.p99,
      depth_rps: Math.round(depth.requests.average),
      depth_p99_ms: depth.latency.p99,
      auth_orders_rps: Math.round(orders.requests.average),
      auth_orders_p99_ms: orders.latency.p99,
      non2xx: tickers.non2xx + depth.non2xx + orders.non2xx,
      errors: tickers.errors + depth.errors + orders.errors,
      connections,
      duration_s: duration,
      pipelining,
      fsync,
      node: process.version,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
  }
}

if (args.serve) {
  serve((args.fsync ?? 'off') as 'off' | 'interval' | 'always').catch((err: unknown) => {
    process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
}
