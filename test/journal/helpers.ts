// Test helpers for the journal tests: temp dirs, a log collector, a "crash copy" of a data
// directory, and a tiny deterministic state machine that stands in for the engine where a test
// is about the file format rather than the engine.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import type { Command, CommandResult, EngineConfig, EngineEvent } from '../../src/core/types.js';
import type { Machine, MachineKind } from '../../src/journal/machine.js';

export function tmpDir(t: TestContext, prefix = 'openfloor-journal-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A logger that keeps every line (parsed) for assertions. */
export function captureLog(): { log: Logger; lines: { level: number; msg: string; [k: string]: unknown }[]; text: () => string } {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  return { log, lines, text: () => lines.map((l) => JSON.stringify(l)).join('\n') };
}

export const silent: Logger = pino({ level: 'silent' });

/**
 * What a crash (SIGKILL) leaves: the files as they are right now. Copies the data directory and
 * drops the copy's LOCK (its owner, this process, is alive).
 */
export function crashCopy(src: string, dst: string): string {
  fs.cpSync(src, dst, { recursive: true });
  fs.rmSync(path.join(dst, 'LOCK'), { force: true });
  return dst;
}

export function segmentFiles(dataDir: string, archived = false): string[] {
  const dir = archived ? path.join(dataDir, 'journal', 'archive') : path.join(dataDir, 'journal');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => path.join(dir, n));
}

export function snapshotFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, 'snapshots');
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.snap'))
    .sort()
    .map((n) => path.join(dir, n));
}

export function flipByte(file: string, offset: number): void {
  const b = fs.readFileSync(file);
  b[offset] = b[offset]! ^ 0x20;
  fs.writeFileSync(file, b);
}

// ---------------------------------------------------------------- fake machine

export const FAKE_CONFIG: EngineConfig = { assets: [], markets: [], tonceRule: 'unique', maxOpenOrders: 10, seed: 7 };

interface FakeState {
  lastSeq: number;
  now: number;
  balances: Record<string, number>;
  /** Rolling digest of every command applied, in order. */
  digest: string;
  count: number;
}

/**
 * Deterministic stand-in: Deposit/Withdraw keep balances (Withdraw fails on insufficient funds),
 * every command folds into a digest. A Withdraw to address "boom" throws (to test fatal paths).
 */
export class FakeMachine implements Machine {
  constructor(private s: FakeState) {}

  static create(): FakeMachine {
    return new FakeMachine({ lastSeq: 0, now: 0, balances: {}, digest: '', count: 0 });
  }

  get lastSeq(): number {
    return this.s.lastSeq;
  }

  get now(): number {
    return this.s.now;
  }

  apply(cmd: Command, out: EngineEvent[]): CommandResult {
    if (cmd.type === 'Withdraw' && cmd.address === 'boom') throw new Error('boom');
    this.s.lastSeq = cmd.seq;
    if (cmd.time > this.s.now) this.s.now = cmd.time;
    this.s.count++;
    this.s.digest = createHash('sha256').update(this.s.digest).update(JSON.stringify(cmd)).digest('hex').slice(0, 16);
    if (cmd.type === 'Deposit' || cmd.type === 'Withdraw') {
      const k = `${cmd.userId}:${cmd.asset}`;
      const have = this.s.balances[k] ?? 0;
      const next = cmd.type === 'Deposit' ? have + cmd.amount : have - cmd.amount;
      if (next < 0) return { ok: false, code: 4, message: 'You have insufficient funds.' };
      this.s.balances[k] = next;
      out.push({ type: 'BalanceChanged', userId: cmd.userId, asset: cmd.asset, available: next, reserved: 0 });
    }
    return { ok: true };
  }

  serialize(): unknown {
    return JSON.parse(JSON.stringify(this.s)) as unknown;
  }

  stateHash(): string {
    return createHash('sha256').update(JSON.stringify(this.s)).digest('hex');
  }
}

export const fakeKind: MachineKind<FakeMachine> = {
  create: () => FakeMachine.create(),
  restore: (state) => new FakeMachine(JSON.parse(JSON.stringify(state)) as FakeState),
};

export function deposit(userId: number, amount: number): { type: 'Deposit'; userId: number; asset: number; amount: number } {
  return { type: 'Deposit', userId, asset: 1, amount };
}
