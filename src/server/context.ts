// What a dialect (wire protocol adapter) gets from the server: the one way in (submit) and
// the one way out (the applied-command feed). A dialect never touches engine internals.
import type { Logger } from 'pino';
import type { LimitsConfig } from './dialect.js';
import type { CommandResult, EngineApi, EngineEvent, UnstampedCommand } from '../core/types.js';

/** One command after it was applied and made durable. */
export interface Applied {
  seq: number;
  time: number;
  command: UnstampedCommand;
  result: CommandResult;
  /** Events in engine order. */
  events: EngineEvent[];
}

export type AppliedListener = (applied: Applied) => void;

/**
 * Receives the outcome of one submitted command (ServerContext.submitTo): exactly one of its
 * methods is called, once. `applied` is called when the command is durable, after the Applied
 * was published to every listener (in seq order with the other commands of its group commit);
 * `failed` when it could not be applied or journaled (possibly before submitTo returns).
 */
export interface AppliedSink {
  applied(applied: Applied): void;
  failed(err: Error): void;
}

export interface ServerContext {
  /** Read-only queries. Never call engine.apply from a dialect. */
  readonly engine: EngineApi;
  /**
   * Stamps, journals and applies a state-changing command. Resolves once it is durable, after
   * the Applied has been published to every listener.
   */
  submit(cmd: UnstampedCommand): Promise<Applied>;
  /**
   * submit() without a promise, for hot paths: the outcome goes to `sink` (no promise, closure or
   * microtask per command).
   */
  submitTo(cmd: UnstampedCommand, sink: AppliedSink): void;
  /** Resolves once every command applied so far is durable: await it before replying to a query. */
  whenDurable(): Promise<void>;
  /** Subscribes to every applied, durable command in sequence order. Returns the unsubscribe function. */
  onApplied(listener: AppliedListener): () => void;
  /** A fresh session id, unique across restarts (non-persistent orders hang on it). */
  newSessionId(): number;
  readonly log: Logger;
  readonly limits: LimitsConfig;
}
