// Rebuilding the history from the journal: re-applies journaled commands to a private engine
// (never the live one) and yields each as an Applied, with its result and events, from a
// requested sequence number on.
//
// Starting state: the newest snapshot at or before the requested point whose following
// commands the journal still holds, else the genesis config (store.json) when the journal
// reaches back to seq 1 (retention 'archive' and 'keep' keep every segment). If neither exists
// (retention 'delete' removed old segments), the replay starts at the oldest snapshot the
// journal covers and says so: records before it cannot be recovered.
import { promises as fsp } from 'node:fs';
import type { Logger } from 'pino';
import type { EngineEvent } from '../core/types.js';
import type { Applied } from '../server/context.js';
import { decodeCommand, engineKind } from '../journal/index.js';
import { listSegments, scanSegment } from '../journal/segment.js';
import { listSnapshots, readSnapshot } from '../journal/snapshot.js';
import { readStoreMeta } from '../journal/store.js';
import type { HistoryReplay } from './index.js';

export function journalReplay(dataDir: string, log?: Pick<Logger, 'warn' | 'info'>): HistoryReplay {
  return (afterSeq: number) => replayFrom(dataDir, afterSeq, log);
}

async function* replayFrom(dataDir: string, afterSeq: number, log?: Pick<Logger, 'warn' | 'info'>): AsyncGenerator<Applied> {
  const meta = await readStoreMeta(dataDir);
  const segments = await listSegments(dataDir);
  if (segments.length === 0) return;
  const { snapshots } = await listSnapshots(dataDir);
  const covers = (seq: number) => segments[0]!.firstSeq <= seq + 1;

  let engine: ReturnType<typeof engineKind.create> | undefined;
  let baseSeq = 0;
  for (let i = snapshots.length - 1; i >= 0 && engine === undefined; i--) {
    const s = snapshots[i]!;
    if (s.seq > afterSeq || !covers(s.seq)) continue;
    try {
      engine = engineKind.restore((await readSnapshot(s.file, s.rel)).state);
      baseSeq = s.seq;
    } catch (err) {
      log?.warn({ err, file: s.rel }, 'history rebuild: snapshot unreadable, trying an older starting point');
    }
  }
  if (engine === undefined && meta !== undefined && covers(0)) engine = engineKind.create(meta.genesis);
  if (engine === undefined) {
    for (const s of snapshots) {
      if (!covers(s.seq)) continue;
      try {
        engine = engineKind.restore((await readSnapshot(s.file, s.rel)).state);
        baseSeq = s.seq;
        log?.warn({ from: s.seq, wanted: afterSeq }, 'history rebuild: the journal no longer reaches back far enough; records before this snapshot are lost');
        break;
      } catch (err) {
        log?.warn({ err, file: s.rel }, 'history rebuild: snapshot unreadable');
      }
    }
  }
  if (engine === undefined) throw new Error(`cannot rebuild the history of ${dataDir}: no genesis config or snapshot the journal covers`);

  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (i + 1 < segments.length && segments[i + 1]!.firstSeq <= baseSeq + 1) continue; // wholly before the base
    const buf = await fsp.readFile(seg.file);
    const records: [seq: number, start: number, end: number][] = [];
    // The newest segment may be growing under the live sequencer: a partial last record is the
    // live feed's business, not damage.
    scanSegment(buf, seg.rel, i === segments.length - 1, seg.firstSeq, (seq, _b, start, end) => {
      if (seq > baseSeq) records.push([seq, start, end]);
    });
    for (const [seq, start, end] of records) {
      const cmd = decodeCommand(buf, start, end);
      const events: EngineEvent[] = [];
      const result = engine.apply(cmd, events);
      if (seq <= afterSeq) continue;
      const { seq: _s, time: _t, ...command } = cmd;
      yield { seq, time: cmd.time, command: command as Applied['command'], result, events };
    }
  }
}
