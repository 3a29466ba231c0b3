// Native WebSocket benchmark. Prints one JSON line. The server (fsync 'always', i.e. one
// fdatasync per group-committed journal batch) runs in this process; the clients run in a child
// process (this file with argument "child"), so they do not share the server's event loop - but on
// a 2-core machine they do share the CPU, so the server's own CPU time per command
// (process.cpuUsage of this process over the measured window / acknowledgements) is printed too.
//
// Saturation phase (--phases latency):
//   commands_per_s, p50_ms, p99_ms, p999_ms
//       100 authenticated connections (--connections) each run --inflight independent loops
//       (default 1: one command in flight per connection, the most conservative setting and the
//       one every earlier figure used) of PlaceOrder (a bid below the mid at a price of the
//       connection's own: nothing ever matches) then CancelOrder of that order, each sent when
//       the previous acknowledgement arrived. commands_per_s = acknowledgements received during
//       the measured window (--seconds, after a 2 s warm-up) / window; p50/p99/p999 = time from
//       sending a command to receiving its acknowledgement, over every acknowledgement in the
//       window. saturation_inflight says which --inflight was used. The command loops of this
//       phase and the fixed-rate one use RawConn: frames written straight to the socket and
//       replies read without ws or JSON.parse, since the client's CPU comes out of the same 2 cores.
//   server_cpu_us_per_cmd   server CPU (user + system, all its threads) in the window / acks;
//   server_sys_cpu_us_per_cmd   the kernel (system) part of it: socket reads/writes, fdatasync;
//   client_cpu_us_per_cmd, client_sys_cpu_us_per_cmd   the same for the client process (the two
//       share the 2 cores: their sum bounds commands_per_s at ~2e6 / (server + client));
//   server_main_thread_cpu_us_per_cmd   the same for the event-loop thread alone (/proc, Linux);
//   server_loop_delay_p99_ms / _max_ms  the server's event-loop delay in the window;
//   server_cmds_per_fsync, server_fsync_mean_ms  journal group-commit size and fdatasync time.
//   (The fixed-rate phase reports the same figures with the prefix rate_server_.)
//
// Fixed-rate phase (--phases rate), open loop:
//   rate_target_per_s (--cmd-rate, default 10,000), rate_achieved_per_s, rate_p50_ms, rate_p99_ms,
//   rate_p999_ms, rate_server_cpu_us_per_cmd, rate_server_main_thread_cpu_us_per_cmd
//       The same 100 authenticated connections; commands are scheduled at exactly
//       --cmd-rate per second (command k at start + k / rate) and handed round-robin to the
//       connections (a 1 ms interval timer sends every command that is due). A connection whose
//       previous PlaceOrder has been acknowledged cancels that order, otherwise it places another
//       one, so the stream is PlaceOrder/CancelOrder pairs and a connection may have several
//       commands in flight (pipelining with tags, as the protocol allows). Latency is measured from the command's scheduled time (not from when the client
//       got round to sending it, so a late client does not hide latency) to its acknowledgement.
//       rate_achieved_per_s = acknowledgements in the window / window. rate_client_loop_delay_p99_ms
//       is the client process's own event-loop delay: latency it adds on top of the server's;
//       rate_client_send_lag_p50_ms / _p99_ms how late the client wrote commands after their
//       scheduled time (its 1 ms timer, its own GC and CPU share): the part of rate_p50/p99 that
//       happened before the server saw the command; rate_client_cpu_us_per_cmd its CPU time in
//       the window / acks.
//
// Fan-out phase (--phases fanout):
//   fanout_p99_ms           1,000 WatchOrders subscribers while the book changes 2,000 times/s:
//                           time from sending a change to a subscriber receiving its notice (same
//                           clock). Of the subscribers, a sample parses every frame and measures
//                           latency; the rest read and discard their bytes (their WebSocket parsing
//                           would otherwise cost the single client process more than the server's
//                           fan-out). fanout_server_main_thread_cpu_pct: the server's event-loop
//                           thread's CPU in the window, % of one core.
// Idle phase (--phases idle):
//   rss_mb_10k_idle         server RSS with 10,000 idle authenticated connections.
// plus the context of each figure (achieved rates, counts, baseline RSS).
//
// Usage: node --expose-gc dist/bench/ws.js [--seconds 10] [--idle 10000] [--subscribers 1000]
//        [--rate 2000] [--connections 100] [--inflight 1] [--cmd-rate 10000]
//        [--phases latency,rate,fanout,idle] [--ops N]
//   --ops N: the saturation phase runs a fixed amount of work instead of a timed window: every
//   loop sends N PlaceOrder/CancelOrder pairs as warm-up, then exactly N pairs measured. For A/B
//   comparisons by instruction count, where time means nothing under valgrind:
//     WS_BENCH_CALLGRIND=1 valgrind --tool=callgrind --instr-atstart=no node dist/bench/ws.js \
//       --phases latency --ops 40      (the server's instructions in the measured window only)
import '../src/v8-tuning.js';
import { fork, execSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
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
  | { kind: 'latency'; url: string; users: Cred[]; inflight: number; warmupMs: number; measureMs: number; ops: number }
  | { kind: 'rate'; url: string; users: Cred[]; rate: number; warmupMs: number; measureMs: number }
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
      const buf = data as Buffer;
      // Notices other than Welcome are only decoded for a listener (the client shares the CPU).
      if (buf[2] === 110 /* {"notice" */ && this.nonce !== undefined && this.onNotice === undefined) return;
      const text = buf.toString('utf8');
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

  /** Like call, with the command's fields already as JSON text (without braces or tag). */
  callJson(fields: string): Promise<Record<string, unknown>> {
    const tag = ++this.tag;
    return new Promise((resolve) => {
      this.pending.set(tag, resolve);
      this.ws.send(`{"tag":${tag},${fields}}`);
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

  /**
   * Takes the TCP socket over from `ws` (once nothing is in flight): see RawConn. The server
   * cannot tell the difference; this client spends far less CPU per command than `ws` + JSON.
   */
  raw(): RawConn {
    return new RawConn(this.ws, this.tag);
  }
}

/** What the command loops read from a reply: tag, error_code, id; the whole reply on an error. */
interface Reply {
  tag: number;
  error_code: number;
  id?: number;
  [k: string]: unknown;
}

/**
 * The command loops' client, straight on the socket (the client shares the 2 cores with the
 * server, so its cost per command bounds what the benchmark can show). Sends each command as one
 * complete masked text frame (mask key 0: the server unmasks exactly as with any other key) in
 * one write; reads the server's unmasked frames itself, skips notices without decoding them, and
 * reads tag, error_code and id out of a reply's bytes (a failed reply is parsed as JSON in full).
 */
class RawConn {
  private readonly pending = new Map<number, (m: Reply) => void>();
  private readonly sock: Socket;
  private rest: Buffer | undefined;

  constructor(
    readonly ws: WebSocket,
    private tag: number,
  ) {
    const sock = (ws as unknown as { _socket: Socket })._socket;
    sock.removeAllListeners('data');
    sock.on('data', (b: Buffer) => this.onData(b));
    this.sock = sock;
  }

  callJson(fields: string): Promise<Reply> {
    const tag = ++this.tag;
    return new Promise((resolve) => {
      this.pending.set(tag, resolve);
      const text = `{"tag":${tag},${fields}}`;
      const len = text.length; // ASCII
      const head = len < 126 ? String.fromCharCode(0x81, 0x80 | len) : String.fromCharCode(0x81, 0x80 | 126, len >>> 8, len & 0xff);
      this.sock.write(head + '\0\0\0\0' + text, 'latin1');
    });
  }

  close(): void {
    this.ws.terminate();
  }

  private onData(chunk: Buffer): void {
    let b = chunk;
    if (this.rest !== undefined) {
      b = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    let at = 0;
    const n = b.length;
    while (at + 2 <= n) {
      let len = b[at + 1]! & 0x7f;
      let p = at + 2;
      if (len === 126) {
        if (p + 2 > n) break;
        len = b.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        if (p + 8 > n) break;
        len = Number(b.readBigUInt64BE(p));
        p += 8;
      }
      if (p + len > n) break;
      const op = b[at]! & 0x0f;
      if (op === 1 && b[p + 2] === 116 /* {"tag" */) this.reply(b, p, p + len);
      // Anything else (notices, control frames) is not the command loops' business.
      at = p + len;
    }
    if (at < n) this.rest = b.subarray(at);
  }

  /** {"tag":T,"error_code":E[,"id":I…]} in b[p, end). */
  private reply(b: Buffer, p: number, end: number): void {
    let i = p + 7; // after {"tag":
    let tag = 0;
    for (let c = b[i]!; c >= 48 && c <= 57; c = b[++i]!) tag = tag * 10 + c - 48;
    const cb = this.pending.get(tag);
    if (cb === undefined) return;
    this.pending.delete(tag);
    i += 14; // ,"error_code":
    let code = 0;
    for (let c = b[i]!; c >= 48 && c <= 57; c = b[++i]!) code = code * 10 + c - 48;
    if (code !== 0) {
      cb(JSON.parse(b.toString('utf8', p, end)) as Reply);
      return;
    }
    const r: Reply = { tag, error_code: 0 };
    if (b[i] === 44 && b[i + 2] === 105 && b[i + 3] === 100 && b[i + 4] === 34 /* ,"id" */) {
      i += 6;
      let id = 0;
      for (let c = b[i]!; c >= 48 && c <= 57 && i < end; c = b[++i]!) id = id * 10 + c - 48;
      r.id = id;
    }
    cb(r);
  }
}

/** PlaceOrder of 100 units at `price` (a bid below the mid: nothing ever matches), as JSON fields. */
function placeOrderJson(price: number): string {
  return `"method":"PlaceOrder","base":${XBT},"counter":${USDT},"quantity":100,"price":${price}`;
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

/** Tells the parent that the measured window starts / ends (it reads its own CPU time then). */
function mark(m: 'start' | 'end'): void {
  process.send!({ mark: m });
}

/** Resolves when the parent says the measured window may begin (it answers every 'start' mark). */
function go(): Promise<void> {
  return new Promise((resolve) => {
    const on = (m: unknown): void => {
      if ((m as { go?: boolean }).go === true) {
        process.off('message', on);
        resolve();
      }
    };
    process.on('message', on);
  });
}

async function openAuthenticated(url: string, users: Cred[]): Promise<BenchConn[]> {
  return Promise.all(
    users.map(async (u) => {
      const c = await BenchConn.open(url);
      await c.authenticate(u, derivePrivateKey(u.userId, u.passphrase));
      return c;
    }),
  );
}

async function childLatency(t: Extract<ChildTask, { kind: 'latency' }>): Promise<unknown> {
  const conns = (await openAuthenticated(t.url, t.users)).map((c) => c.raw());
  const lat: number[] = [];
  let measuring = false;
  let stop = false;
  let count = 0;
  /** Every connection runs `inflight` loops of PlaceOrder/CancelOrder pairs: `pairs` each, or until `stop`. */
  const run = (pairs: number): Promise<void[]> =>
    Promise.all(
      conns.flatMap((c, i) =>
        Array.from({ length: t.inflight }, async () => {
          // Bids below the mid at a price of their own: nothing ever matches.
          const place = placeOrderJson(MID - (i + 1) * TICK);
          for (let n = 0; pairs > 0 ? n < pairs : !stop; n++) {
            let t0 = performance.now();
            const r = await c.callJson(place);
            let t1 = performance.now();
            if (measuring) {
              lat.push(t1 - t0);
              count++;
            }
            if (r.error_code !== 0) throw new Error(`PlaceOrder failed: ${JSON.stringify(r)}`);
            t0 = performance.now();
            const r2 = await c.callJson(`"method":"CancelOrder","id":${r.id as number}`);
            t1 = performance.now();
            if (measuring) {
              lat.push(t1 - t0);
              count++;
            }
            if (r2.error_code !== 0) throw new Error(`CancelOrder failed: ${JSON.stringify(r2)}`);
          }
        }),
      ),
    );
  let start: number;
  let cpu0: NodeJS.CpuUsage;
  if (t.ops > 0) {
    // --ops: the same amount of work as warm-up, then exactly `ops` pairs per loop, measured,
    // in a window the parent has acknowledged (it may switch an instruction counter on first).
    await run(t.ops);
    mark('start');
    await go();
    measuring = true;
    start = performance.now();
    cpu0 = process.cpuUsage();
    await run(t.ops);
  } else {
    const loops = run(0);
    await sleep(t.warmupMs);
    measuring = true;
    mark('start');
    start = performance.now();
    cpu0 = process.cpuUsage();
    await sleep(t.measureMs);
    stop = true;
    measuring = false;
    mark('end');
    const cpu = process.cpuUsage(cpu0);
    const elapsed = performance.now() - start;
    await loops;
    return finish(cpu, elapsed);
  }
  measuring = false;
  mark('end');
  return finish(process.cpuUsage(cpu0), performance.now() - start);

  function finish(cpu: NodeJS.CpuUsage, elapsed: number): unknown {
    for (const c of conns) c.close();
    const sorted = Float64Array.from(lat).sort();
    return {
      commands_per_s: round(count / (elapsed / 1000), 1),
      p50_ms: round(percentile(sorted, 50)),
      p99_ms: round(percentile(sorted, 99)),
      p999_ms: round(percentile(sorted, 99.9)),
      acks: count,
      saturation_inflight: t.inflight,
      client_cpu_us_per_cmd: round((cpu.user + cpu.system) / count, 2),
      client_sys_cpu_us_per_cmd: round(cpu.system / count, 2),
    };
  }
}

async function childRate(t: Extract<ChildTask, { kind: 'rate' }>): Promise<unknown> {
  const conns = (await openAuthenticated(t.url, t.users)).map((c) => c.raw());
  // Per connection: ids of its acknowledged, not yet cancelled orders.
  const live = conns.map(() => [] as number[]);
  const lat: number[] = [];
  // How late the client sent each command (its timer tick, its own GC, its share of the cores):
  // the part of `lat` that passed before the server could see the command.
  const sendLag: number[] = [];
  let measuring = false;
  let acks = 0;
  let failure: Error | undefined;
  const inflight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  };
  const t0 = performance.now();
  let k = 0; // commands scheduled so far; command k is due at t0 + k / rate
  let next = 0; // round-robin connection
  const send = (due: number): void => {
    const i = next;
    next = (next + 1) % conns.length;
    const c = conns[i]!;
    const own = live[i]!;
    const sentAt = performance.now();
    const done = (r: Record<string, unknown>): void => {
      const now = performance.now();
      if (r.error_code !== 0) failure ??= new Error(`command failed: ${JSON.stringify(r)}`);
      if (measuring) {
        lat.push(now - due);
        sendLag.push(sentAt - due);
        acks++;
      }
    };
    if (own.length > 0) {
      track(c.callJson(`"method":"CancelOrder","id":${own.shift()!}`).then(done));
    } else {
      track(
        c.callJson(placeOrderJson(MID - (i + 1) * TICK)).then((r) => {
          done(r);
          if (r.error_code === 0) own.push(r.id as number);
        }),
      );
    }
  };
  let stop = false;
  const step = (): void => {
    const now = performance.now();
    while (!stop && t0 + (k * 1000) / t.rate <= now) send(t0 + (k++ * 1000) / t.rate);
  };
  const timer = setInterval(step, 1);
  await sleep(t.warmupMs);
  measuring = true;
  mark('start');
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  await sleep(t.measureMs);
  measuring = false;
  loop.disable();
  mark('end');
  const cpu = process.cpuUsage(cpu0);
  const elapsed = performance.now() - start;
  stop = true;
  clearInterval(timer);
  await Promise.all([...inflight]);
  // Leave the book as the phase found it (the fan-out phase snapshots it).
  await Promise.all(conns.flatMap((c, i) => live[i]!.map((id) => c.callJson(`"method":"CancelOrder","id":${id}`))));
  for (const c of conns) c.close();
  if (failure) throw failure;
  const sorted = Float64Array.from(lat).sort();
  const sortedLag = Float64Array.from(sendLag).sort();
  return {
    rate_target_per_s: t.rate,
    rate_achieved_per_s: round(acks / (elapsed / 1000), 1),
    rate_p50_ms: round(percentile(sorted, 50)),
    rate_p99_ms: round(percentile(sorted, 99)),
    rate_p999_ms: round(percentile(sorted, 99.9)),
    rate_acks: acks,
    rate_client_send_lag_p50_ms: round(percentile(sortedLag, 50)),
    rate_client_send_lag_p99_ms: round(percentile(sortedLag, 99)),
    rate_client_loop_delay_p99_ms: round(loop.percentile(99) / 1e6, 2),
    rate_client_cpu_us_per_cmd: round((cpu.user + cpu.system) / acks, 2),
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
  mark('start');
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  await sleep(t.measureMs);
  measuring = false;
  mark('end');
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
    else if (task.kind === 'rate') process.send!({ result: await childRate(task) });
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
  return new Set(i >= 0 ? process.argv[i + 1]!.split(',') : ['latency', 'rate', 'fanout', 'idle']);
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
    // 10 million USDT and a million XBT each: 10,000 users stay below the engine's 2^53 total per asset.
    for (const [asset, amount] of [[USDT, 1e11], [XBT, 1e10]] as const) {
      if (!(await ctx.submit({ type: 'Deposit', userId, asset, amount })).result.ok) throw new Error('Deposit failed');
    }
    out.push({ userId, cookie, passphrase });
  }
  return out;
}

/**
 * CPU time (µs, user + system) of this process's main thread alone, from /proc (Linux; clock
 * ticks, so ±10 ms): what the event loop spent, without helper threads (fsync pool, history
 * writer). Undefined where /proc is not available.
 */
function mainThreadCpuUs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = (() => {
  try {
    return Number(execSync('getconf CLK_TCK').toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function rssMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return round(process.memoryUsage().rss / 1048576, 1);
}

/**
 * WS_BENCH_CALLGRIND=1: the server runs under `valgrind --tool=callgrind --instr-atstart=no`;
 * instruction counting is switched on for the measured window only (callgrind_control).
 */
const CALLGRIND = process.env.WS_BENCH_CALLGRIND === '1';

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
    /**
     * Runs a phase whose child marks its measured window; returns the child's result, the server's
     * CPU over the whole phase (% of one core) and its CPU in the window (µs).
     */
    interface Window {
      /** Server CPU over the whole phase, % of one core. */
      cpuPct: number;
      /** Server CPU in the measured window: all threads / the main thread alone (µs). */
      cpuUs: number;
      /** Of cpuUs: kernel time (µs; system calls: socket reads and writes, fdatasync, …). */
      sysUs: number;
      mainUs: number;
      /** Event-loop delay in the window (ms): p99 and max. */
      loopP99: number;
      loopMax: number;
      /** Longest journal fdatasync seen at the end of the window (ms; the last one). */
      fsyncs: number;
      fsyncSeconds: number;
    }
    const journalStats = (): { fsyncs: number; fsyncSeconds: number } => server.journalStats();
    const windowed = async (task: ChildTask): Promise<[Record<string, unknown>, Window]> => {
      let w0: NodeJS.CpuUsage | undefined;
      let m0: number | undefined;
      let j0 = { fsyncs: 0, fsyncSeconds: 0 };
      const win: Window = { cpuPct: 0, cpuUs: 0, sysUs: 0, mainUs: NaN, loopP99: NaN, loopMax: NaN, fsyncs: 0, fsyncSeconds: 0 };
      const loop = monitorEventLoopDelay({ resolution: 1 });
      const [r, cpu] = await cpuOf(() =>
        runChild(task, (m, c) => {
          if (m.mark === 'start') {
            if (CALLGRIND) execSync(`callgrind_control -i on ${process.pid}`, { stdio: 'ignore' });
            c.send({ go: true });
            w0 = process.cpuUsage();
            m0 = mainThreadCpuUs();
            j0 = journalStats();
            loop.enable();
          } else if (m.mark === 'end' && w0) {
            if (CALLGRIND) execSync(`callgrind_control -i off ${process.pid}`, { stdio: 'ignore' });
            loop.disable();
            const d = process.cpuUsage(w0);
            const m1 = mainThreadCpuUs();
            const j1 = journalStats();
            win.cpuUs = d.user + d.system;
            win.sysUs = d.system;
            if (m0 !== undefined && m1 !== undefined) win.mainUs = m1 - m0;
            win.loopP99 = loop.percentile(99) / 1e6;
            win.loopMax = loop.max / 1e6;
            win.fsyncs = j1.fsyncs - j0.fsyncs;
            win.fsyncSeconds = j1.fsyncSeconds - j0.fsyncSeconds;
          }
        }),
      );
      win.cpuPct = cpu;
      return [r, win];
    };
    const context = (prefix: string, w: Window, acks: number): Record<string, number> => ({
      [`${prefix}cpu_us_per_cmd`]: round(w.cpuUs / acks, 2),
      [`${prefix}sys_cpu_us_per_cmd`]: round(w.sysUs / acks, 2),
      [`${prefix}main_thread_cpu_us_per_cmd`]: round(w.mainUs / acks, 2),
      [`${prefix}loop_delay_p99_ms`]: round(w.loopP99, 2),
      [`${prefix}loop_delay_max_ms`]: round(w.loopMax, 2),
      [`${prefix}cmds_per_fsync`]: round(acks / Math.max(1, w.fsyncs), 1),
      [`${prefix}fsync_mean_ms`]: round((w.fsyncSeconds * 1000) / Math.max(1, w.fsyncs), 3),
    });
    if (run.has('latency')) {
      const inflight = arg('inflight', 1);
      const ops = arg('ops', 0);
      const [r, w] = await windowed({ kind: 'latency', url, users: users.slice(0, connections), inflight, warmupMs: 2000, measureMs: seconds * 1000, ops });
      Object.assign(out, r, { server_cpu_pct_latency: w.cpuPct }, context('server_', w, r.acks as number));
    }
    if (run.has('rate')) {
      const cmdRate = arg('cmd-rate', 10_000);
      const [r, w] = await windowed({ kind: 'rate', url, users: users.slice(0, connections), rate: cmdRate, warmupMs: 2000, measureMs: seconds * 1000 });
      Object.assign(out, r, { server_cpu_pct_rate: w.cpuPct }, context('rate_server_', w, r.rate_acks as number));
    }
    if (run.has('fanout')) {
      const measuring = Math.min(20, subscribers);
      const [r, w] = await windowed({ kind: 'fanout', url, driver, subscribers, measuring, rate, warmupMs: 2000, measureMs: seconds * 1000 });
      Object.assign(out, r, {
        server_cpu_pct_fanout: w.cpuPct,
        fanout_server_main_thread_cpu_pct: round(w.mainUs / (seconds * 1e4), 1),
        fanout_server_loop_delay_p99_ms: round(w.loopP99, 2),
      });
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
