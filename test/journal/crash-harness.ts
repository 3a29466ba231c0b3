// SIGKILL crash trials against the real server process (`node dist/src/cli/main.js serve`).
//
// One trial: a fresh data directory; `cycles` times: start the server, let `clients` concurrent
// HTTP clients send 1-unit XBT deposits to one user through the admin API as fast as they can,
// SIGKILL the server after a random delay. Then, with the server dead:
//   - verify(dataDir) (read-only replay of the whole journal, hash compared with every
//     snapshot) must pass - a torn tail is allowed, it is what a kill mid-append leaves;
//   - openStore recovers, and the user's balance B must satisfy acked ≤ B ≤ sent: every
//     deposit the server acknowledged survived, and nothing appeared that was never sent;
//   - the next cycle's server must start on the same directory.
// Used by crash.test.ts (a few trials) and scripts/crash-trials.mjs (many).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultEngineConfig } from '../../src/core/default-config.js';
import { openStore, verify } from '../../src/journal/index.js';
import { silent } from './helpers.js';
import { seededUniform } from '../../src/core/prng.js';

const XBT = 0xf800;
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface CrashTrialOptions {
  seed: number;
  cycles?: number;
  clients?: number;
  /** Kill after a delay drawn from [minKillMs, maxKillMs) once the clients run. */
  minKillMs?: number;
  maxKillMs?: number;
  fsync?: 'always' | 'interval';
  /** Keep the data directory (for a failed trial). */
  keep?: boolean;
}

export interface CrashTrialResult {
  seed: number;
  ok: boolean;
  message: string;
  dataDir: string;
  sent: number;
  acked: number;
  balance: number;
  cycles: number;
  truncatedBytes: number;
  replayed: number;
  commands: number;
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Running {
  child: ChildProcess;
  adminUrl: string;
  token: string;
  stderr: () => string;
  exited: Promise<void>;
}

async function startServer(dataDir: string, fsync: string): Promise<Running> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('OPENFLOOR_')) delete env[k];
  const child = spawn(
    process.execPath,
    [MAIN, 'serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--fsync', fsync, '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'pipe'], env },
  );
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (err.length < 20_000) err += b.toString();
  });
  let dead = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => ((dead = true), resolve())));
  const deadline = Date.now() + 30_000;
  const infoFile = path.join(dataDir, 'server.json');
  for (;;) {
    if (dead) throw new Error(`server exited during start: ${err}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start within 30 s: ${err}`);
    }
    try {
      const info = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as { pid: number; adminUrl: string };
      if (info.pid === child.pid) {
        const token = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
        return { child, adminUrl: info.adminUrl, token, stderr: () => err, exited };
      }
    } catch {
      // not there yet
    }
    await sleep(20);
  }
}

async function admin(s: Running, route: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(s.adminUrl + route, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${route}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export async function runCrashTrial(o: CrashTrialOptions): Promise<CrashTrialResult> {
  const random = seededUniform(o.seed);
  const cycles = o.cycles ?? 2;
  const clients = o.clients ?? 8;
  const minKill = o.minKillMs ?? 20;
  const maxKill = o.maxKillMs ?? 300;
  const fsync = o.fsync ?? 'always';
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `openfloor-crash-${o.seed}-`));
  const res: CrashTrialResult = { seed: o.seed, ok: false, message: '', dataDir, sent: 0, acked: 0, balance: 0, cycles: 0, truncatedBytes: 0, replayed: 0, commands: 0 };
  let userId = 0;
  let server: Running | undefined;
  try {
    for (let c = 0; c < cycles; c++) {
      server = await startServer(dataDir, fsync);
      const s = server;
      if (userId === 0) userId = (await admin(s, '/admin/users', {})).userId as number;
      let stop = false;
      const loops = Array.from({ length: clients }, async () => {
        while (!stop) {
          res.sent++;
          try {
            await admin(s, '/admin/deposits', { user: userId, asset: 'XBT', amount: '0.0001' });
            // Counted whenever it arrives (even racing the kill): the server acknowledged it.
            res.acked++;
          } catch {
            return; // the server is gone
          }
        }
      });
      await sleep(minKill + random() * (maxKill - minKill));
      s.child.kill('SIGKILL');
      await s.exited;
      stop = true;
      await Promise.all(loops);
      server = undefined;
      res.cycles++;
      // The directory as the kill left it must verify (read-only).
      const v = await verify(dataDir);
      if (!v.ok) throw new Error(`verify after kill ${c + 1}: ${v.message}`);
    }
    const r = await openStore({ dataDir, fsync: 'off' }, defaultEngineConfig(), silent);
    res.truncatedBytes = r.recovery.truncatedBytes;
    res.replayed = r.recovery.replayed;
    res.balance = r.engine.balances(userId).find((b) => b.asset === XBT)?.available ?? 0;
    res.commands = r.engine.lastSeq;
    await r.sequencer.close();
    const v = await verify(dataDir);
    if (!v.ok) throw new Error(`verify after recovery: ${v.message}`);
    if (res.balance < res.acked) throw new Error(`lost acknowledged deposits: balance ${res.balance} < acked ${res.acked}`);
    if (res.balance > res.sent) throw new Error(`balance ${res.balance} exceeds the ${res.sent} deposits sent`);
    res.ok = true;
    res.message = 'ok';
  } catch (e) {
    res.message = `${(e as Error).message}${server ? `\nserver stderr:\n${server.stderr()}` : ''}`;
    if (server) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  } finally {
    if (res.ok || !o.keep) fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return res;
}
