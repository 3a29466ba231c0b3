// Runs the built `openfloor` binary (dist/src/cli/main.js) as child processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/src/cli/main.js, next to this file's compiled copy (dist/test/cli/helpers.js). */
export const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export function tempDir(prefix = 'openfloor-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment without OPENFLOOR_* variables of the surrounding shell. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OPENFLOOR_')) env[k] = v;
  return { ...env, ...extra };
}

/** Runs one CLI command to completion (killed after timeoutMs). */
export function runCli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs a CLI command that must succeed with --json and returns its parsed output. */
export async function cliJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const r = await runCli([...args, '--json']);
  if (r.code !== 0) throw new Error(`openfloor ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export interface LogLine {
  level: number;
  msg: string;
  event?: string;
  [k: string]: unknown;
}

export interface ServerProcess {
  child: ChildProcess;
  /** The "openfloor serving" log line: url, wsUrl, adminUrl, fsync, endpoints. */
  listening: LogLine & { url: string; wsUrl: string; adminUrl: string; fsync: string };
  logs: LogLine[];
  stderr(): string;
  /**
   * Resolves with stderr so far once it matches `re` (rejects after timeoutMs). The banner is
   * written after the "listening" log line, on another pipe: it may not have arrived when
   * startServe resolves.
   */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal and resolves with the exit code (SIGKILL after timeoutMs). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills without waiting for a clean shutdown (for finally blocks). */
  kill(): void;
}

/** Starts `openfloor serve …` and resolves once it logs that it serves (rejects if it exits first). */
export function startServe(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'serve', ...args], { env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    const logs: LogLine[] = [];
    let err = '';
    let buf = '';
    let done = false;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exitWaiters: ((e: { code: number | null; signal: NodeJS.Signals | null }) => void)[] = [];
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(`server did not start in time; stderr:\n${err}`));
    }, opts.timeoutMs ?? 30_000);
    const stderrWaiters: (() => void)[] = [];
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      for (const w of stderrWaiters.splice(0)) w();
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          continue;
        }
        logs.push(parsed);
        if (!done && parsed.event === 'listening') {
          done = true;
          clearTimeout(timer);
          resolve(proc(parsed as ServerProcess['listening']));
        }
      }
    });
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      for (const w of exitWaiters.splice(0)) w(exited);
      for (const w of stderrWaiters.splice(0)) w();
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(new Error(`server exited (${code ?? signal}) before serving; stderr:\n${err}`));
      }
    });
    const proc = (listening: ServerProcess['listening']): ServerProcess => ({
      child,
      listening,
      logs,
      stderr: () => err,
      waitForStderr(re, timeoutMs = 10_000) {
        return new Promise((res, rej) => {
          const t = setTimeout(() => rej(new Error(`stderr did not match ${String(re)} in ${timeoutMs} ms:\n${err}`)), timeoutMs);
          const check = (): void => {
            if (re.test(err)) {
              clearTimeout(t);
              res(err);
            } else if (exited) {
              clearTimeout(t);
              rej(new Error(`server exited before stderr matched ${String(re)}:\n${err}`));
            } else stderrWaiters.push(check);
          };
          check();
        });
      },
      stop(signal = 'SIGTERM', timeoutMs = 20_000) {
        return new Promise((res) => {
          if (exited) return res(exited);
          const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
          exitWaiters.push((e) => {
            clearTimeout(t);
            // Let the last stdout chunks arrive.
            setImmediate(() => res(e));
          });
          child.kill(signal);
        });
      },
      kill() {
        if (!exited) child.kill('SIGKILL');
      },
    });
  });
}

export async function adminFetch<T = unknown>(adminUrl: string, token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await fetch(adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : undefined) as T };
}
