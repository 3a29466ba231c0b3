// Options of the durable store and what recovery reports.

export type FsyncPolicy = 'always' | 'interval' | 'off';
export type RetentionPolicy = 'keep' | 'delete' | 'archive';

export interface StoreOptions {
  dataDir: string;
  /**
   * 'always': every group-commit batch is fdatasync'ed before any of its commands is published
   *   or acknowledged (survives power loss).
   * 'interval': batches are written (survive a process crash) and fdatasync'ed every
   *   fsyncIntervalMs; a power loss can lose up to that much acknowledged work.
   * 'off': written, never fsynced (throwaway test servers).
   */
  fsync: FsyncPolicy;
  /** Default 50. */
  fsyncIntervalMs?: number;
  /** Default 1,000,000. */
  snapshotEveryCommands?: number;
  /** Default 10 minutes. */
  snapshotEveryMs?: number;
  /** Default 64 MiB. A segment is rolled over before a batch would make it exceed this. */
  segmentBytes?: number;
  /**
   * What happens to journal segments fully covered by the oldest retained snapshot, and to
   * snapshots beyond keepSnapshots: 'archive' (default) moves segments to journal/archive/
   * and deletes old snapshots; 'delete' deletes both; 'keep' keeps everything in place.
   */
  retention?: RetentionPolicy;
  /** Snapshots retained (default 2, minimum 1). Recovery falls back to an older one if the newest is damaged. */
  keepSnapshots?: number;
  /**
   * Called after a journal write/fsync failed (or the engine threw), once the failure is logged
   * at fatal level and every pending submit rejected. Default: process.exit(FATAL_EXIT_CODE),
   * because the in-memory state may be ahead of the disk and must not be served.
   */
  onFatal?: (err: Error) => void;
  /** Longest synchronous stretch of snapshot JSON work before yielding (default 4 ms). */
  snapshotSliceMs?: number;
  /**
   * How new journal records are written: 'binary' (compact layouts for the common commands,
   * JSON for the rest) or 'json' (every record JSON). Both are read back either way. Default:
   * DEFAULT_RECORD_ENCODING.
   */
  recordEncoding?: RecordEncoding;
}

export type RecordEncoding = 'binary' | 'json';

/** Binary: smaller records, about 4x cheaper to write and decode than JSON (bench/journal.ts). */
export const DEFAULT_RECORD_ENCODING: RecordEncoding = 'binary';

export interface ResolvedStoreOptions {
  dataDir: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  snapshotEveryCommands: number;
  snapshotEveryMs: number;
  segmentBytes: number;
  retention: RetentionPolicy;
  keepSnapshots: number;
  onFatal: (err: Error) => void;
  snapshotSliceMs: number;
  recordEncoding: RecordEncoding;
}

/** Exit code of the process after a fatal journal failure. */
export const FATAL_EXIT_CODE = 70;

export interface RecoveryReport {
  /** Seq of the snapshot recovery started from (0: from the genesis config). */
  snapshotSeq: number;
  /** Journal records applied after the snapshot. */
  replayed: number;
  /** Bytes cut off a torn final record (0 when the journal ended cleanly). */
  truncatedBytes: number;
  ms: number;
}

export function resolveOptions(o: StoreOptions): ResolvedStoreOptions {
  const pos = (v: number | undefined, d: number, name: string): number => {
    const x = v ?? d;
    if (!(x > 0) || !Number.isFinite(x)) throw new Error(`StoreOptions.${name} must be a positive number (got ${String(v)})`);
    return x;
  };
  if (o.fsync !== 'always' && o.fsync !== 'interval' && o.fsync !== 'off') throw new Error(`StoreOptions.fsync: unknown policy ${String(o.fsync)}`);
  const retention = o.retention ?? 'archive';
  if (retention !== 'keep' && retention !== 'delete' && retention !== 'archive') throw new Error(`StoreOptions.retention: unknown policy ${String(retention)}`);
  const recordEncoding = o.recordEncoding ?? DEFAULT_RECORD_ENCODING;
  if (recordEncoding !== 'binary' && recordEncoding !== 'json') throw new Error(`StoreOptions.recordEncoding: unknown encoding ${String(recordEncoding)}`);
  return {
    dataDir: o.dataDir,
    fsync: o.fsync,
    fsyncIntervalMs: pos(o.fsyncIntervalMs, 50, 'fsyncIntervalMs'),
    snapshotEveryCommands: Math.floor(pos(o.snapshotEveryCommands, 1_000_000, 'snapshotEveryCommands')),
    snapshotEveryMs: pos(o.snapshotEveryMs, 10 * 60 * 1000, 'snapshotEveryMs'),
    segmentBytes: pos(o.segmentBytes, 64 * 1024 * 1024, 'segmentBytes'),
    retention,
    keepSnapshots: Math.max(1, Math.floor(o.keepSnapshots ?? 2)),
    onFatal:
      o.onFatal ??
      (() => {
        process.exit(FATAL_EXIT_CODE);
      }),
    snapshotSliceMs: pos(o.snapshotSliceMs, 4, 'snapshotSliceMs'),
    recordEncoding,
  };
}
