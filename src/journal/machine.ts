// The part of the engine the durability layer needs. `Engine` (src/core/engine.ts) satisfies it;
// the journal is written against this interface so it can also drive a stand-in in tests.
import type { Command, CommandResult, EngineConfig, EngineEvent } from '../core/types.js';

export interface Machine {
  apply(cmd: Command, out: EngineEvent[]): CommandResult;
  /** apply() without building events or results, if the machine can (recovery needs only the state); true if the command succeeded. */
  applyQuiet?(cmd: Command): boolean;
  /** Seq of the last applied command (0 before any). */
  readonly lastSeq: number;
  /** Micro-timestamp of the last applied command. */
  readonly now: number;
  serialize(): unknown;
  /**
   * serialize() for a snapshot, if the machine has a cheaper form: the result may share memory
   * with the next call's, so it is valid until then (snapshots are taken one at a time).
   */
  serializeForSnapshot?(): unknown;
  /**
   * Length of a Float64Array serializeForSnapshot() would like to be given (0: none), and the
   * hand-over: the caller pre-faults the buffer off the event loop (see Engine).
   */
  snapshotBufferWanted?(): number;
  adoptSnapshotBuffer?(buf: Float64Array): boolean;
  stateHash(): string;
}

/** How to make a machine: fresh from a config, or from a snapshot's state. */
export interface MachineKind<M extends Machine> {
  create(config: EngineConfig): M;
  restore(state: unknown): M;
}
