// A dialect is one wire protocol: HTTP routes on the shared Fastify instance and/or
// WebSocket endpoints on the same port. It translates; it never reaches into the engine.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { Applied, ServerContext } from './context.js';

/**
 * Every applied command with seq > afterSeq, in sequence order, re-derived from the journal
 * (src/history/replay.ts). It may stop at the journal's end; the live feed covers the rest.
 */
export type JournalReplay = (afterSeq: number) => AsyncIterable<Applied> | Iterable<Applied>;

export interface WebSocketEndpoint {
  /** Exact request paths (query string ignored), e.g. ['/', '/v1']. */
  paths: string[];
  /** Options for this endpoint's frames. */
  perMessageDeflate?: boolean;
  maxPayload?: number;
  onConnection(ws: WebSocket, req: IncomingMessage): void;
}

/** Every figure of LIMITS.md, configurable. Defaults in src/server/config.ts reproduce the docs. */
export interface LimitsConfig {
  /** Authentication attempts per user per hour (1,000). */
  authAttemptsPerHour: number;
  /** WebSocket order placements (incl. cancels and estimates) per user per second (200). */
  wsOrdersPerSecond: number;
  /** REST order requests per user per 10 s (300). */
  restOrdersPer10s: number;
  /** Information requests per session per 10 s (10). */
  infoRequestsPer10s: number;
  /** Records (history) requests per user per minute (30). */
  recordsPerMinute: number;
  /** WebSocket idle timeout (60 s without traffic). */
  wsIdleTimeoutMs: number;
  /** Largest accepted WebSocket frame / HTTP body in bytes. */
  maxMessageBytes: number;
  /** Outgoing bytes buffered for one slow client before it is disconnected. */
  maxBufferedBytes: number;
}

export interface Dialect {
  name: string;
  /** Registers HTTP routes (as a Fastify plugin body) and returns any WebSocket endpoints. */
  register(app: FastifyInstance, ctx: ServerContext): Promise<WebSocketEndpoint[]> | WebSocketEndpoint[];
  /**
   * Called once after register() and before the server accepts traffic, for dialects whose read
   * models are rebuilt from the journal (ARCHITECTURE.md): `replay(0)` yields every applied
   * command the journal holds. Commands applied while it runs still reach onApplied listeners.
   */
  rebuild?(replay: JournalReplay): Promise<void>;
  /** Called on shutdown: close sockets and timers. */
  close?(): Promise<void> | void;
}
