// Retention: once a snapshot is durable, journal segments it makes unnecessary are retired.
//
// "Covered" is judged against the OLDEST retained snapshot (keepSnapshots, default 2), not the
// newest: if the newest snapshot turns out damaged at the next start, recovery can still fall
// back to the previous one and replay the journal from there.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { ARCHIVE_DIR, JOURNAL_DIR, SNAPSHOT_DIR } from './format.js';
import { fsyncDir } from './fsutil.js';
import type { RetentionPolicy } from './options.js';
import { listSegments } from './segment.js';
import { listSnapshots } from './snapshot.js';

export interface RetentionResult {
  snapshotsDeleted: number;
  segmentsRetired: number;
}

export async function applyRetention(
  dataDir: string,
  policy: RetentionPolicy,
  keepSnapshots: number,
  sync: boolean,
  log: Logger,
): Promise<RetentionResult> {
  const res: RetentionResult = { snapshotsDeleted: 0, segmentsRetired: 0 };
  if (policy === 'keep') return res;
  const { snapshots } = await listSnapshots(dataDir);
  if (snapshots.length === 0) return res;
  const keep = snapshots.slice(-keepSnapshots);
  for (const s of snapshots.slice(0, snapshots.length - keep.length)) {
    await fsp.unlink(s.file);
    res.snapshotsDeleted++;
    log.info({ file: s.rel }, 'retention: deleted old snapshot');
  }
  if (res.snapshotsDeleted > 0 && sync) await fsyncDir(path.join(dataDir, SNAPSHOT_DIR));

  const floorSeq = keep[0]!.seq;
  const segments = (await listSegments(dataDir)).filter((s) => !s.archived);
  const journalDir = path.join(dataDir, JOURNAL_DIR);
  const archiveDir = path.join(journalDir, ARCHIVE_DIR);
  // The newest segment is never retired (it is, or was a moment ago, the one being appended to).
  for (let i = 0; i + 1 < segments.length; i++) {
    const seg = segments[i]!;
    const lastSeqInSegment = segments[i + 1]!.firstSeq - 1;
    if (lastSeqInSegment > floorSeq) break;
    if (policy === 'archive') {
      if (res.segmentsRetired === 0) await fsp.mkdir(archiveDir, { recursive: true });
      await fsp.rename(seg.file, path.join(archiveDir, path.basename(seg.file)));
      log.info({ file: seg.rel, throughSeq: lastSeqInSegment }, 'retention: archived journal segment');
    } else {
      await fsp.unlink(seg.file);
      log.info({ file: seg.rel, throughSeq: lastSeqInSegment }, 'retention: deleted journal segment');
    }
    res.segmentsRetired++;
  }
  if (res.segmentsRetired > 0 && sync) {
    if (policy === 'archive') await fsyncDir(archiveDir);
    await fsyncDir(journalDir);
  }
  return res;
}
