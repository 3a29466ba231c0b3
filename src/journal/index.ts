// The durable store: command journal, snapshots, recovery, verification - bound to the engine.
//
// openStore(opts, initialConfig, log) opens or creates opts.dataDir and returns the recovered
// engine, the Sequencer that is the only writer from then on, and a RecoveryReport:
//   - a fresh directory: the engine is created from initialConfig, which is stored in
//     store.json (so the journal can later be replayed from zero); afterwards initialConfig is
//     ignored and the state from snapshot + journal is the truth;
//   - otherwise: the newest valid snapshot (a damaged newest one → an older one or the genesis
//     config, only if the journal still covers the gap, logged at warn/error), then the journal
//     tail. A torn final record (crash mid-append) is cut off and reported in truncatedBytes;
//     damage anywhere else throws an Error naming the file and the byte offset.
// verify(dataDir) replays the whole journal read-only and compares state hashes with the
// snapshots (see store.ts).
//
// The on-disk format is described in format.ts (segments) and snapshot.ts (snapshots).
import type { Logger } from 'pino';
import { Engine } from '../core/engine.js';
import type { EngineConfig } from '../core/types.js';
import type { Sequencer } from '../server/sequencer.js';
import type { MachineKind } from './machine.js';
import type { RecoveryReport, StoreOptions } from './options.js';
import { openStoreWith, verifyWith, type VerifyResult } from './store.js';

export type { FsyncPolicy, RetentionPolicy, StoreOptions, RecoveryReport, RecordEncoding } from './options.js';
export { decodeCommand } from './record.js';
export { FATAL_EXIT_CODE } from './options.js';
export type { VerifyResult, StoreMeta } from './store.js';
export { CorruptionError } from './errors.js';
export type { Machine, MachineKind } from './machine.js';
export { openStoreWith, verifyWith } from './store.js';
export { Sequencer } from '../server/sequencer.js';

export const engineKind: MachineKind<Engine> = {
  create: (config) => new Engine(config),
  restore: (state) => Engine.restore(state),
};

export async function openStore(
  opts: StoreOptions,
  initialConfig: EngineConfig,
  log?: Logger,
): Promise<{ engine: Engine; sequencer: Sequencer; recovery: RecoveryReport }> {
  return openStoreWith(engineKind, opts, initialConfig, log);
}

export async function verify(dataDir: string): Promise<VerifyResult> {
  return verifyWith(engineKind, dataDir);
}
