// Native WebSocket benchmark. Prints one JSON line:
//   commands_per_s, p50_ms, p99_ms, p999_ms  PlaceOrder/CancelOrder acknowledgements from 100
//                                            authenticated connections on loopback, fsync always
//                                            (each connection: one command in flight at a time);
//   fanout_p99_ms                            1,000 WatchOrders subscribers while the book changes
//                                            2,000 times/s: time from sending a change to a
//                                            subscriber receiving its notice (same clock);
//   rss_mb_10k_idle                          server RSS with 10,000 idle authenticated connections.
// plus the context of each figure (achieved rates, counts, baseline RSS).
//
// The server runs in this process; the clients run in a child process (this file with argument
// "child"), so they do not share the server's event loop. Of the fan-out subscribers, a sample
// parses every frame and measures latency; the rest read and discard their bytes (their WebSocket
// parsing would otherwise cost the single client process more than the server's fan-out).
//
// Usage: node --expose-gc dist/bench/ws.js [--seconds 10] [--idle 10000] [--subscribers 1000]
//        [--rate 2000] [--connections 100] [--phases latency,fanout,idle]
import { fork, execSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { pino } from 'pino';
import { startServer } from '../src/server/server.js';
import { createDialect } from '../src/dialects/native-ws/index.js';
import { derivePrivateKey, publicKeyFromPrivate, signChallenge } from '../src/auth/secp224k1.js';
import type { ServerContext } from '../src/server/context.js';

const XBT = 0xf800;
const USDT = 0xff03;
const TICK = 10_000;
const MID = 40_000 * TICK;

interface Cred {
  userId: number;
  cookie: string;
  passphrase: string;
}

type ChildTask =
  | { kind: 'latency'; url: string; users: Cred[]; warmupMs: number; measureMs: number }
  | { kind: 'fanout'; url: string; driver: Cred; subscribers: number; measuring: number; rate: number; warmupMs: number; measureMs: number }
  | { kind: 'idle'; url: string; users: Cred[]; count: number };

// ================================================================ shared client helpers

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A minimal raw client: connect, Welcome, Authenticate; replies by tag through `onReply`. */
class BenchConn {
  private tag = 0;
  private readonly pending = new Map<number, (m: Record<string, unknown>) => void>();
  nonce: Buffer | undefined;
  onNotice: ((text: string) => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      if (text.charCodeAt(2) === 110 /* {"notice" */) {
        if (this.nonce === undefined) {
          const w = JSON.parse(text) as { nonce: string };
          this.nonce = Buffer.from(w.nonce, 'base64');
          this.pending.get(-1)?.(w);
          return;
        }
        this.onNotice?.(text);
        return;
      }
      const m = JSON.parse(text) as Record<string, unknown>;
      const cb = this.pending.get(m.tag as number);
      if (cb) {
        this.pending.delete(m.tag as number);
        cb(m);
      }
    });
    ws.on('error', () => {});
  }

  static open(url: string): Promise<BenchConn> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const c = new BenchConn(ws);
      c.pending.set(-1, () => {
        c.pending.delete(-1);
        resolve(c);
      });
      ws.once('error', reject);
    });
  }

  call(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    const tag = ++this.tag;
    return new Promise((resolve) => {
      this.pending.set(tag, resolve);
      this.ws.send(JSON.stringify({ tag, ...cmd }));
    });
  }

  async authenticate(u: Cred, priv: Buffer): Promise<void> {
    const clientNonce = Buffer.alloc(16, 1);
    const r = await this.call({
      method: 'Authenticate',
      user_id: u.userId,
      cookie: u.cookie,
      nonce: clientNonce.toString('base64'),
      signature: signChallenge(priv, u.userId, this.nonce!, clientNonce),
    });
    if (r.error_code !== 0) throw new Error(`authentication failed: ${JSON.stringify(r)}`);
  }
}

async function inBatches<T>(n: number, batch: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => f(i + k)))));
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ================================================================ child tasks

async function childLatency(t: Extract<ChildTask, { kind: 'latency' }>): Promise<unknown> {
  const conns = await Promise.all(
    t.users.map(async (u) => {
      const c = await BenchConn.open(t.url);
      await c.authenticate(u, derivePrivateKey(u.userId, u.passphrase));
      return c;
    }),
  );
  const lat: number[] = [];
  let measuring = false;
  let stop = false;
  let count = 0;
  const loops = conns.map(async (c, i) => {
    // Bids below the mid at a price of their own: nothing ever matches.
    const price = MID - (i + 1) * TICK;
    while (!stop) {
      let t0 = performance.now();
      const r = await c.call({ method: 'PlaceOrder', base: XBT, counter: USDT, quantity: 100, price });
      let t1 = performance.now();
      if (measuring) {
        lat.push(t1 - t0);
        count++;
      }
      if (r.error_code !== 0) throw new Error(`PlaceOrder failed: ${JSON.stringify(r)}`);
      t0 = performance.now();
      const r2 = await c.call({ method: 'CancelOrder', id: r.id });
      t1 = performance.now();
      if (measuring) {
        lat.push(t1 - t0);
        count++;
      }
      if (r2.error_code !== 0) throw new Error(`CancelOrder failed: ${JSON.stringify(r2)}`);
    }
  });
  await sleep(t.warmupMs);
  measuring = true;
  const start = performance.now();
  await sleep(t.measureMs);
  measuring = false;
  const elapsed = performance.now() - start;
  stop = true;
  await Promise.all(loops);
  for (const c of conns) c.ws.close();
  const sorted = Float64Array.from(lat).sort();
  return {
    commands_per_s: round(count / (elapsed / 1000), 1),
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    p999_ms: round(percentile(sorted, 99.9)),
    acks: count,
  };
}

async function childFanout(t: Extract<ChildTask, { kind: 'fanout' }>): Promise<unknown> {
  const driver = await BenchConn.open(t.url);
  await driver.authenticate(t.driver, derivePrivateKey(t.driver.userId, t.driver.passphrase));
  const subs = await inBatches(t.subscribers, 100, async () => {
    const c = await BenchConn.open(t.url);
    const r = await c.call({ method: 'WatchOrders', base: XBT, counter: USDT, watch: true });
    if (r.error_code !== 0) throw new Error(`WatchOrders failed: ${JSON.stringify(r)}`);
    return c;
  });
  // Send times: OrderOpened notices are recognised by their (unique) quantity, OrderClosed by id.
  const sentByQty = new Map<number, number>();
  const sentById = new Map<number, number>();
  const lat: number[] = [];
  let received = 0;
  let measuring = false;
  let drained = 0;
  subs.forEach((c, i) => {
    if (i < t.measuring) {
      c.onNotice = (text) => {
        const now = performance.now();
        received++;
        const n = JSON.parse(text) as { notice: string; id: number; quantity: number };
        const sent = n.notice === 'OrderOpened' ? sentByQty.get(n.quantity) : n.notice === 'OrderClosed' ? sentById.get(n.id) : undefined;
        if (measuring && sent !== undefined) lat.push(now - sent);
      };
    } else {
      // Read and discard: keeps the server's socket drained without parsing WebSocket frames.
      const sock = (c.ws as unknown as { _socket: Socket })._socket;
      sock.removeAllListeners('data');
      sock.on('data', (b: Buffer) => (drained += b.length));
    }
  });

  // The driver: `rate` book changes per second, alternating between opening and cancelling.
  let seq = 0;
  let changes = 0;
  const live: number[] = [];
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((t.rate * tickMs) / 1000));
  let stop = false;
  let lastTick = performance.now();
  let owed = 0;
  const inflight = new Set<Promise<unknown>>();
  const step = (): void => {
    // Keeps the rate exact even when timers fire late.
    const now = performance.now();
    owed += ((now - lastTick) * t.rate) / 1000;
    lastTick = now;
    const n = Math.min(Math.floor(owed), perTick * 5);
    owed -= n;
    for (let k = 0; k < n; k++) {
      if (live.length > 50 && (seq & 1) === 1) {
        const id = live.shift()!;
        sentById.set(id, performance.now());
        const p = driver.call({ method: 'CancelOrder', id });
        inflight.add(p);
        void p.then(() => inflight.delete(p));
      } else {
        const qty = 1 + (seq % 1_000_000);
        sentByQty.set(qty, performance.now());
        const price = MID - (1 + (seq % 200)) * TICK;
        const p = driver.call({ method: 'PlaceOrder', base: XBT, counter: USDT, quantity: qty, price }).then((r) => {
          if (r.error_code === 0) live.push(r.id as number);
        });
        inflight.add(p);
        void p.then(() => inflight.delete(p));
      }
      seq++;
      if (measuring) changes++;
    }
  };
  const timer = setInterval(() => {
    if (!stop) step();
  }, tickMs);
  await sleep(t.warmupMs);
  measuring = true;
  received = 0;
  drained = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  await sleep(t.measureMs);
  measuring = false;
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - start) / 1000;
  const receivedMeasured = received;
  const drainedBytes = drained;
  stop = true;
  clearInterval(timer);
  await Promise.all([...inflight]);
  const sorted = Float64Array.from(lat).sort();
  for (const c of subs) c.ws.terminate();
  driver.ws.close();
  return {
    fanout_p50_ms: round(percentile(sorted, 50)),
    fanout_p99_ms: round(percentile(sorted, 99)),
    fanout_changes_per_s: round(changes / elapsed, 1),
    fanout_subscribers: t.subscribers,
    fanout_notices_per_s_per_subscriber: round(receivedMeasured / t.measuring / elapsed, 1),
    fanout_drained_mb_per_s: round(drainedBytes / 1e6 / elapsed, 1),
    fanout_samples: lat.length,
    client_cpu_pct_fanout: round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100, 1),
  };
}

async function childIdle(t: Extract<ChildTask, { kind: 'idle' }>): Promise<void> {
  const privs = t.users.map((u) => derivePrivateKey(u.userId, u.passphrase));
  const conns: BenchConn[] = [];
  // Connections opened first must not reach the server's 60 s idle timeout while the rest are
  // still being set up (signing is slow): a Ping every 20 s keeps them alive.
  const timer = setInterval(() => {
    for (const c of conns) c.ws.ping();
  }, 20_000);
  await inBatches(t.count, 250, async (i) => {
    const k = i % t.users.length;
    const c = await BenchConn.open(t.url);
    await c.authenticate(t.users[k]!, privs[k]!);
    conns.push(c);
  });
  process.send!({ ready: conns.length });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  clearInterval(timer);
  for (const c of conns) c.ws.terminate();
}

async function child(): Promise<void> {
  const task = await new Promise<ChildTask>((resolve) => process.once('message', (m) => resolve(m as ChildTask)));
  try {
    if (task.kind === 'latency') process.send!({ result: await childLatency(task) });
    else if (task.kind === 'fanout') process.send!({ result: await childFanout(task) });
    else await childIdle(task);
  } catch (err) {
    process.send!({ error: String((err as Error).stack ?? err) });
  }
  setTimeout(() => process.exit(0), 100).unref();
}

// ================================================================ orchestration

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function phases(): Set<string> {
  const i = process.argv.indexOf('--phases');
  return new Set(i >= 0 ? process.argv[i + 1]!.split(',') : ['latency', 'fanout', 'idle']);
}

function openFileLimit(): number {
  try {
    return Number(execSync('ulimit -n', { shell: '/bin/bash' }).toString().trim());
  } catch {
    return 1024;
  }
}

function runChild(task: ChildTask, onMessage?: (m: Record<string, unknown>, c: ChildProcess) => void): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = fork(fileURLToPath(import.meta.url), ['child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.on('message', (m: Record<string, unknown>) => {
      if (m.error) reject(new Error(String(m.error)));
      else if (m.result) resolve(m.result as Record<string, unknown>);
      else onMessage?.(m, c);
    });
    c.on('exit', (code) => reject(new Error(`child exited with ${code}`)));
    c.send(task);
  });
}

async function makeUsers(ctx: ServerContext, n: number): Promise<Cred[]> {
  const out: Cred[] = [];
  for (let i = 0; i < n; i++) {
    const userId = ctx.engine.users().reduce((m, u) => Math.max(m, u.id), 0) + 1;
    const passphrase = `bench-${userId}`;
    const cookie = Buffer.alloc(20, userId).toString('base64');
    const publicKey = publicKeyFromPrivate(derivePrivateKey(userId, passphrase)).toString('base64');
    const a = await ctx.submit({ type: 'CreateUser', publicKey, cookie });
    if (!a.result.ok) throw new Error('CreateUser failed');
    await ctx.submit({ type: 'Deposit', userId, asset: USDT, amount: 1e15 });
    await ctx.submit({ type: 'Deposit', userId, asset: XBT, amount: 1e12 });
    out.push({ userId, cookie, passphrase });
  }
  return out;
}

function rssMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return round(process.memoryUsage().rss / 1048576, 1);
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 10);
  const connections = arg('connections', 100);
  const subscribers = arg('subscribers', 1000);
  const rate = arg('rate', 2000);
  const fdLimit = openFileLimit();
  const idle = Math.min(arg('idle', 10_000), Math.max(0, fdLimit - 500));

  const dir = mkdtempSync(join(tmpdir(), 'openfloor-bench-ws-'));
  const dialect = createDialect();
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir: dir,
    fsync: 'always',
    dialects: [dialect],
    logger: pino({ level: 'silent' }),
    config: {
      limits: { wsOrdersPerSecond: 1_000_000_000, authAttemptsPerHour: 1_000_000, infoRequestsPer10s: 1_000_000 },
      snapshot: { everyCommands: 100_000_000, everySeconds: 86_400 },
    },
  });
  const url = `${server.wsUrl}/`;
  const out: Record<string, unknown> = {};
  try {
    const users = await makeUsers(server.ctx, Math.max(connections, 100) + 1);
    const driver = users.pop()!;

    const run = phases();
    /** Idle phase: `idle` authenticated connections from two client processes, then the server's RSS. */
    const idlePhase = async (): Promise<void> => {
      out.rss_mb_baseline = rssMb();
      const start = performance.now();
      const children: ChildProcess[] = [];
      const ready: number[] = [];
      const halves = [Math.ceil(idle / 2), Math.floor(idle / 2)];
      await new Promise<void>((resolve, reject) => {
        halves.forEach((count, i) => {
          const c = fork(fileURLToPath(import.meta.url), ['child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
          children.push(c);
          c.on('message', (m: Record<string, unknown>) => {
            if (m.error) reject(new Error(String(m.error)));
            else if (typeof m.ready === 'number') {
              ready.push(m.ready);
              if (ready.length === halves.length) resolve();
            }
          });
          c.send({ kind: 'idle', url, users: users.slice(i * 50, i * 50 + 50), count } satisfies ChildTask);
        });
      });
      out.idle_connections = ready.reduce((a, b) => a + b, 0);
      out.idle_sessions_on_server = dialect.sessionCount;
      out.idle_setup_s = round((performance.now() - start) / 1000, 1);
      await sleep(1000);
      out.rss_mb_10k_idle = rssMb();
      const mem = process.memoryUsage();
      out.heap_mb_10k_idle = round(mem.heapUsed / 1048576, 1);
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              c.on('exit', () => resolve());
              c.send({ done: true });
            }),
        ),
      );
      // Wait until the server has let go of every session.
      while (dialect.sessionCount > 0) await sleep(50);
    };
    if (run.has('idle') && idle > 0) await idlePhase();
    /** Server CPU (user + system) as a percentage of one core over a phase. */
    const cpuOf = async (f: () => Promise<Record<string, unknown>>): Promise<[Record<string, unknown>, number]> => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await f();
      const c = process.cpuUsage(c0);
      return [r, round(((c.user + c.system) / 1000 / (performance.now() - t0)) * 100, 1)];
    };
    if (run.has('latency')) {
      const [r, cpu] = await cpuOf(() => runChild({ kind: 'latency', url, users: users.slice(0, connections), warmupMs: 2000, measureMs: seconds * 1000 }));
      Object.assign(out, r, { server_cpu_pct_latency: cpu });
    }
    if (run.has('fanout')) {
      const measuring = Math.min(20, subscribers);
      const [r, cpu] = await cpuOf(() =>
        runChild({ kind: 'fanout', url, driver, subscribers, measuring, rate, warmupMs: 2000, measureMs: seconds * 1000 }),
      );
      Object.assign(out, r, { server_cpu_pct_fanout: cpu });
    }
    Object.assign(out, {
      fsync: 'always',
      connections,
      open_file_limit: fdLimit,
      node: process.version,
      cpus: cpus().length,
      loadavg_1m: round(loadavg()[0]!, 2),
    });
    console.log(JSON.stringify(out));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') {
  void child();
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
