// Opening a data directory: lock, genesis, recovery (snapshot + journal tail), and the
// read-only verifier. Written against the Machine interface; index.ts binds it to Engine.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pino, type Logger } from 'pino';
import type { Command, EngineConfig, EngineEvent } from '../core/types.js';
import { Sequencer } from '../server/sequencer.js';
import { CorruptionError } from './errors.js';
import { JOURNAL_DIR, JOURNAL_FORMAT_VERSION, SNAPSHOT_DIR, STORE_FILE } from './format.js';
import { decodeCommand } from './record.js';
import { atomicWriteFile, atomicWriteFileSync, exists, fsyncDir } from './fsutil.js';
import type { Machine, MachineKind } from './machine.js';
import { resolveOptions, type RecoveryReport, type StoreOptions } from './options.js';
import { SegmentReadBuffer, SegmentWriter, listSegments, readSegment, type SegmentInfo, type SegmentScan } from './segment.js';
import { listSnapshots, readSnapshot, type SnapshotFile } from './snapshot.js';

export const LOCK_FILE = 'LOCK';

// ---------------------------------------------------------------- store.json

/** store.json: the config the state was born from (so the journal can be replayed from zero) and the boot counter. */
export interface StoreMeta {
  format: 'openfloor-store';
  version: 1;
  createdAt: string;
  /** Incremented and persisted at every open; the high part of session ids. */
  boot: number;
  /** SHA-256 of JSON.stringify(genesis). */
  genesisSha256: string;
  genesis: EngineConfig;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export async function readStoreMeta(dataDir: string): Promise<StoreMeta | undefined> {
  const file = path.join(dataDir, STORE_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let meta: StoreMeta;
  try {
    meta = JSON.parse(text) as StoreMeta;
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    throw new CorruptionError(STORE_FILE, m ? Number(m[1]) : 0, `not valid JSON (${(e as Error).message})`);
  }
  if (meta.format !== 'openfloor-store' || meta.version !== 1) throw new CorruptionError(STORE_FILE, 0, 'not an openfloor store file (format/version)');
  if (!Number.isSafeInteger(meta.boot) || meta.boot < 0) throw new CorruptionError(STORE_FILE, 0, 'bad boot counter');
  if (sha256(JSON.stringify(meta.genesis)) !== meta.genesisSha256) throw new CorruptionError(STORE_FILE, 0, 'genesis config does not match its SHA-256');
  return meta;
}

function storeMetaText(meta: StoreMeta): string {
  return JSON.stringify(meta, null, 2) + '\n';
}

// ---------------------------------------------------------------- lock

/**
 * One process per data directory: LOCK holds the owner's pid. A lock left by a dead process
 * (crash, SIGKILL) is taken over; a live owner is an error.
 */
async function acquireLock(dataDir: string, log: Logger): Promise<() => Promise<void>> {
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fsp.open(file, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await fsp.unlink(file).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number((await fsp.readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(owner) && owner > 0) {
      if (owner === process.pid) throw new Error(`${dataDir} is already open in this process (${LOCK_FILE})`);
      let alive = true;
      try {
        process.kill(owner, 0);
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive) throw new Error(`${dataDir} is in use by process ${owner} (${LOCK_FILE}); stop it first`);
    }
    log.warn({ file: LOCK_FILE, owner }, 'taking over a stale lock (previous process did not shut down cleanly)');
    await fsp.unlink(file).catch(() => undefined);
  }
  throw new Error(`${dataDir}: could not acquire ${LOCK_FILE}`);
}

// ---------------------------------------------------------------- replay

interface ReplayOptions {
  /** The newest segment may end in a torn record (reported, not thrown). */
  tornTail: boolean;
  /** Called after each applied record. */
  afterApply?: (seq: number) => void;
}

interface ReplayResult {
  replayed: number;
  lastSeq: number;
  lastTime: number;
  /** Seq the journal would continue with (end of the newest segment), or undefined without segments. */
  journalNextSeq: number | undefined;
  last?: { seg: SegmentInfo; scan: SegmentScan };
}

/** The segment to start a replay from when the state is at baseSeq. */
function startIndex(segments: SegmentInfo[], baseSeq: number): number {
  let start = -1;
  for (let i = 0; i < segments.length; i++) if (segments[i]!.firstSeq <= baseSeq + 1) start = i;
  return start;
}

async function replay(segments: SegmentInfo[], baseSeq: number, baseTime: number, machine: Machine, o: ReplayOptions): Promise<ReplayResult> {
  const res: ReplayResult = { replayed: 0, lastSeq: baseSeq, lastTime: baseTime, journalNextSeq: undefined };
  if (segments.length === 0) return res;
  const start = startIndex(segments, baseSeq);
  if (start < 0) {
    const s = segments[0]!;
    throw new CorruptionError(s.rel, 0, `journal starts at seq ${s.firstSeq} but the state is at seq ${baseSeq}: commands ${baseSeq + 1}..${s.firstSeq - 1} are missing`);
  }
  const out: EngineEvent[] = [];
  // Only the state is recovered: no events to build where the machine can skip them.
  const quiet = machine.applyQuiet !== undefined;
  const rb = new SegmentReadBuffer();
  let expected = segments[start]!.firstSeq;
  for (let i = start; i < segments.length; i++) {
    const seg = segments[i]!;
    const isLast = i === segments.length - 1;
    if (seg.firstSeq !== expected) {
      throw new CorruptionError(
        seg.rel,
        0,
        seg.firstSeq > expected
          ? `segment starts at seq ${seg.firstSeq} but the previous one ends at seq ${expected - 1}: commands ${expected}..${seg.firstSeq - 1} are missing`
          : `segment starts at seq ${seg.firstSeq} but the previous one already reaches seq ${expected - 1}`,
      );
    }
    const scan = await readSegment(seg.file, seg.rel, o.tornTail && isLast, seg.firstSeq, (seq, b, s, e, off) => {
      if (seq <= baseSeq) return;
      let cmd: Command;
      try {
        cmd = decodeCommand(b, s, e);
      } catch (err) {
        throw new CorruptionError(seg.rel, off, `record seq ${seq}: ${(err as Error).message}`);
      }
      if (cmd.seq !== seq) throw new CorruptionError(seg.rel, off, `record carries seq ${String(cmd.seq)} where seq ${seq} belongs`);
      try {
        if (quiet) machine.applyQuiet!(cmd);
        else {
          if (out.length !== 0) out.length = 0;
          machine.apply(cmd, out);
        }
      } catch (err) {
        throw new Error(`${seg.rel}: engine.apply threw replaying seq ${seq} (record at byte offset ${off}): ${(err as Error).message}`);
      }
      res.replayed++;
      res.lastSeq = seq;
      res.lastTime = cmd.time;
      o.afterApply?.(seq);
    }, rb);
    expected = seg.firstSeq + scan.count;
    if (isLast) res.last = { seg, scan };
  }
  res.journalNextSeq = expected;
  return res;
}

// ---------------------------------------------------------------- open

function roundPhases(p: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k in p) out[k] = Math.round(p[k]! * 10) / 10;
  return out;
}

export interface OpenedStore<M extends Machine> {
  engine: M;
  sequencer: Sequencer;
  recovery: RecoveryReport;
}

function defaultLogger(): Logger {
  return pino({ name: 'openfloor-journal' });
}

/**
 * Opens (or creates) a data directory and recovers the state: the newest valid snapshot, then
 * the journal tail. See index.ts (openStore) for the contract.
 */
export async function openStoreWith<M extends Machine>(
  kind: MachineKind<M>,
  options: StoreOptions,
  initialConfig: EngineConfig,
  log: Logger = defaultLogger(),
): Promise<OpenedStore<M>> {
  const t0 = performance.now();
  const opts = resolveOptions(options);
  const dataDir = opts.dataDir;
  const sync = opts.fsync !== 'off';
  const journalDir = path.join(dataDir, JOURNAL_DIR);
  const snapshotDir = path.join(dataDir, SNAPSHOT_DIR);
  const dirExisted = await exists(dataDir);
  await fsp.mkdir(journalDir, { recursive: true });
  await fsp.mkdir(snapshotDir, { recursive: true });
  // The journal and snapshots hold login cookies and API secret keys: only the server's user
  // may read the data directory.
  await fsp.chmod(dataDir, 0o700);
  if (!dirExisted && sync) {
    await fsyncDir(dataDir);
    await fsyncDir(path.dirname(path.resolve(dataDir)));
  }
  const release = await acquireLock(dataDir, log);
  try {
    const segments = await listSegments(dataDir);
    const { snapshots, temps } = await listSnapshots(dataDir);
    for (const t of temps) {
      await fsp.unlink(t);
      log.warn({ file: path.relative(dataDir, t) }, 'removed the temp file of an interrupted snapshot');
    }

    // Genesis.
    let meta = await readStoreMeta(dataDir);
    let fresh = false;
    if (meta === undefined) {
      if (segments.length > 0 || snapshots.length > 0) {
        throw new Error(`${path.join(dataDir, STORE_FILE)} is missing but the directory holds a journal or snapshots; refusing to guess the genesis config`);
      }
      const text = JSON.stringify(initialConfig);
      meta = { format: 'openfloor-store', version: 1, createdAt: new Date().toISOString(), boot: 0, genesisSha256: sha256(text), genesis: JSON.parse(text) as EngineConfig };
      fresh = true;
    }
    const genesis = meta.genesis;

    // Where the recovery time goes (logged with the result).
    const phases = { snapshotReadMs: 0, restoreMs: 0, journalMs: 0 };

    // Base state: newest valid snapshot, falling back (loudly) to older ones or genesis.
    const covers = (seq: number): boolean => segments.length > 0 && segments[0]!.firstSeq <= seq + 1;
    let machine: M | undefined;
    let baseSeq = 0;
    let baseTime = 0;
    let baseFile = '';
    const damaged: { snap: SnapshotFile; err: Error }[] = [];
    for (let i = snapshots.length - 1; i >= 0; i--) {
      const snap = snapshots[i]!;
      if (damaged.length > 0 && !covers(snap.seq)) {
        log.warn({ file: snap.rel, seq: snap.seq }, 'cannot fall back to this snapshot: the journal no longer covers the commands after it');
        continue;
      }
      try {
        const tRead = performance.now();
        const loaded = await readSnapshot(snap.file, snap.rel);
        phases.snapshotReadMs += performance.now() - tRead;
        const tRestore = performance.now();
        if (loaded.meta.seq !== snap.seq) throw new CorruptionError(snap.rel, 16, `meta record says seq ${loaded.meta.seq}, the file name seq ${snap.seq}`);
        try {
          machine = kind.restore(loaded.state);
          phases.restoreMs += performance.now() - tRestore;
        } catch (e) {
          throw new Error(`${snap.rel}: Engine.restore rejected the snapshot: ${(e as Error).message}`);
        }
        baseSeq = snap.seq;
        baseTime = loaded.meta.time;
        baseFile = snap.file;
        break;
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        damaged.push({ snap, err });
        log.error({ file: snap.rel, err: err.message }, 'snapshot is damaged');
      }
    }
    if (machine === undefined) {
      if (damaged.length > 0 && !covers(0)) {
        throw new Error(`${damaged[0]!.err.message}; no older valid snapshot, and the journal does not reach back to seq 1, so the state cannot be recovered`);
      }
      machine = kind.create(genesis);
      if (!fresh) log.info(damaged.length > 0 ? 'recovering from the genesis config and the whole journal' : 'no snapshot yet: replaying the journal from the genesis config');
    }
    if (damaged.length > 0) {
      log.warn(
        { damaged: damaged.map((d) => d.snap.rel), from: baseSeq === 0 ? STORE_FILE : path.relative(dataDir, baseFile) },
        `newest snapshot is damaged (${damaged[0]!.err.message}); falling back to ${baseSeq === 0 ? 'the genesis config' : `the snapshot at seq ${baseSeq}`} and replaying the journal from there`,
      );
    }

    // Journal tail.
    const tReplay = performance.now();
    const r = await replay(segments, baseSeq, baseTime, machine, { tornTail: true });
    phases.journalMs = performance.now() - tReplay;
    const newestDamaged = damaged.length > 0 ? damaged[0]!.snap.seq : 0;
    if (r.lastSeq < newestDamaged) {
      throw new Error(
        `${damaged[0]!.err.message}; the journal ends at seq ${r.lastSeq}, so falling back would lose commands ${r.lastSeq + 1}..${newestDamaged} - refusing to start`,
      );
    }
    let truncatedBytes = 0;
    let writer: SegmentWriter | null = null;
    if (r.last?.scan.torn) {
      const { seg, scan } = r.last;
      const torn = scan.torn!;
      truncatedBytes = torn.bytes;
      if (torn.wholeFile) {
        await fsp.unlink(seg.file);
        if (sync) await fsyncDir(path.dirname(seg.file));
        log.warn({ file: seg.rel, bytes: torn.bytes, reason: torn.reason }, 'removed a journal segment whose header was never completely written (crash during creation)');
      } else {
        const fh = await fsp.open(seg.file, 'r+');
        try {
          await fh.truncate(torn.offset);
          if (sync) await fh.sync();
        } finally {
          await fh.close();
        }
        log.warn({ file: seg.rel, offset: torn.offset, bytes: torn.bytes, reason: torn.reason, lastSeq: r.lastSeq }, 'cut off a torn record at the end of the journal (crash during an append)');
      }
    }
    // Appending goes on in the newest segment - unless it is of an older format version (its
    // readers expect that version's records): then the next write starts a new segment.
    if (r.last && !r.last.scan.torn?.wholeFile && !r.last.seg.archived && r.journalNextSeq === r.lastSeq + 1 && r.last.scan.version === JOURNAL_FORMAT_VERSION) {
      writer = await SegmentWriter.openAppend(r.last.seg.file, r.last.seg.firstSeq, r.last.scan.validEnd);
    } else if (r.last && !r.last.scan.torn?.wholeFile && !r.last.seg.archived && r.last.scan.version !== JOURNAL_FORMAT_VERSION && r.last.scan.count === 0) {
      // An empty segment of the older format would be in the way of the new one (same name).
      await fsp.unlink(r.last.seg.file);
      if (sync) await fsyncDir(path.dirname(r.last.seg.file));
    } else if (r.journalNextSeq !== undefined && r.journalNextSeq < baseSeq + 1) {
      log.warn({ journalEndsAt: r.journalNextSeq - 1, snapshotSeq: baseSeq }, 'the journal ends before the snapshot it should cover (fsync off and a system crash?); continuing from the snapshot in a new segment');
    }
    const lastSeq = r.lastSeq;
    const lastTime = Math.max(baseTime, r.lastTime, machine.now || 0);
    if (machine.lastSeq !== lastSeq) log.warn({ engineLastSeq: machine.lastSeq, journalLastSeq: lastSeq }, 'engine.lastSeq differs from the journal');

    // Persist the boot counter (session ids) - and, the first time, the genesis config.
    meta.boot += 1;
    const storeMeta = meta;
    await atomicWriteFile(path.join(dataDir, STORE_FILE), storeMetaText(storeMeta), sync);
    const bumpBoot = (): number => {
      storeMeta.boot += 1;
      atomicWriteFileSync(path.join(dataDir, STORE_FILE), storeMetaText(storeMeta), sync);
      return storeMeta.boot;
    };

    const recovery: RecoveryReport = { snapshotSeq: baseSeq, replayed: r.replayed, truncatedBytes, ms: performance.now() - t0 };
    log.info({ ...recovery, ...roundPhases(phases), lastSeq, boot: storeMeta.boot, fresh }, fresh ? 'created a new data directory' : 'recovered');
    const sequencer = new Sequencer({
      machine,
      options: opts,
      log,
      lastSeq,
      lastTime,
      lastSnapshotSeq: baseSeq,
      lastSnapshotFile: baseFile,
      writer,
      boot: storeMeta.boot,
      bumpBoot,
      release,
    });
    return { engine: machine, sequencer, recovery };
  } catch (e) {
    await release();
    throw e;
  }
}

// ---------------------------------------------------------------- verify

export interface VerifyResult {
  ok: boolean;
  /** Journal records replayed. */
  commands: number;
  /** State hash after the last journal record. */
  hash: string;
  /** State hash of the newest snapshot, if any. */
  snapshotHash?: string;
  message: string;
}

/**
 * Read-only check of a data directory: replays the whole journal (archive included) from the
 * genesis config and compares the state hash at every snapshot's seq with that snapshot's. If
 * old segments were deleted, says so and starts from the oldest snapshot the journal still
 * covers. Never modifies anything (a torn tail is reported, not cut).
 */
export async function verifyWith<M extends Machine>(kind: MachineKind<M>, dataDir: string): Promise<VerifyResult> {
  const notes: string[] = [];
  const problems: string[] = [];
  let commands = 0;
  let hash = '';
  let snapshotHash: string | undefined;
  try {
    if (!fs.existsSync(dataDir)) throw new Error(`${dataDir} does not exist`);
    const meta = await readStoreMeta(dataDir);
    const segments = await listSegments(dataDir);
    const { snapshots } = await listSnapshots(dataDir);
    const loadHash = async (s: SnapshotFile): Promise<{ hash: string; machine: M } | undefined> => {
      try {
        const l = await readSnapshot(s.file, s.rel);
        if (l.meta.seq !== s.seq) throw new CorruptionError(s.rel, 16, `meta record says seq ${l.meta.seq}, the file name seq ${s.seq}`);
        const m = kind.restore(l.state);
        return { hash: m.stateHash(), machine: m };
      } catch (e) {
        problems.push(`snapshot damaged: ${(e as Error).message}`);
        return undefined;
      }
    };

    // Starting point.
    let machine: M | undefined;
    let baseSeq = 0;
    if (meta && (segments.length === 0 || segments[0]!.firstSeq === 1)) {
      machine = kind.create(meta.genesis);
      notes.push(`replaying from the genesis config (${STORE_FILE})`);
    } else {
      if (!meta) problems.push(`${STORE_FILE} is missing: cannot replay from zero`);
      else notes.push(`journal segments before seq ${segments[0]!.firstSeq} were deleted (retention 'delete'): verifying only from the oldest snapshot the journal still covers`);
      const firstSeq = segments.length > 0 ? segments[0]!.firstSeq : Infinity;
      for (const s of snapshots) {
        if (s.seq + 1 < firstSeq) continue;
        const l = await loadHash(s);
        if (l) {
          machine = l.machine;
          baseSeq = s.seq;
          notes.push(`starting from ${s.rel}`);
          break;
        }
      }
      if (!machine) throw new Error(`no snapshot covered by the remaining journal (which starts at seq ${firstSeq}) to start from`);
    }

    // Checkpoints: every later snapshot's hash.
    const checkpoints = new Map<number, { rel: string; hash: string }>();
    for (const s of snapshots) {
      if (s.seq <= baseSeq) continue;
      const l = await loadHash(s);
      if (l) checkpoints.set(s.seq, { rel: s.rel, hash: l.hash });
    }
    const newest = snapshots[snapshots.length - 1];
    if (newest) snapshotHash = newest.seq === baseSeq ? machine.stateHash() : checkpoints.get(newest.seq)?.hash;
    let matched = 0;
    const m = machine;
    const r = await replay(segments, baseSeq, 0, m, {
      tornTail: true,
      afterApply: (seq) => {
        const c = checkpoints.get(seq);
        if (!c) return;
        const h = m.stateHash();
        if (h === c.hash) matched++;
        else problems.push(`state hash after replaying to seq ${seq} is ${h}, but ${c.rel} has ${c.hash}`);
      },
    });
    commands = r.replayed;
    hash = m.stateHash();
    for (const [seq, c] of checkpoints) {
      if (seq > r.lastSeq) problems.push(`${c.rel} is at seq ${seq}, beyond the end of the journal (seq ${r.lastSeq})`);
    }
    if (r.last?.scan.torn) {
      const t = r.last.scan.torn;
      notes.push(`torn tail in ${r.last.seg.rel} at byte offset ${t.offset} (${t.bytes} bytes, ${t.reason}): the next start cuts it off`);
    }
    notes.push(`replayed ${r.replayed} commands (through seq ${r.lastSeq}); ${matched} snapshot hash(es) matched`);
  } catch (e) {
    problems.push((e as Error).message);
  }
  const ok = problems.length === 0;
  const message = [ok ? 'OK' : 'FAILED', ...problems, ...notes].join('; ');
  const res: VerifyResult = { ok, commands, hash, message };
  if (snapshotHash !== undefined) res.snapshotHash = snapshotHash;
  return res;
}
