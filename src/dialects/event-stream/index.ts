// Event Stream (EventStream.md, Version 2): GET /event-stream (and /v2/event-stream, Coinfloor's
// address) as Server-Sent Events. Anonymous requests get public events (order book and ticker);
// HTTP Basic credentials (header, or the `auth` query parameter for EventSource, which cannot set
// headers) add the user's private events and fields.
//
// Resumption: every event has an id "<seq>.<i>" (see ring.ts). A reconnecting client's
// Last-Event-ID is looked up in an in-memory ring of the most recent events (default 50,000,
// option ringSize); if the events after it are no longer held (or the server restarted), the
// client gets a `Reset` event instead of a silent gap:
//
//     id: <seq>
//     event: Reset
//     data: {"reason":"…","last_event_id":"<what the client sent>"}
//
// after which the stream continues live; the client should re-read state (REST) before relying
// on deltas. A bare "<seq>" is accepted as Last-Event-ID too. The ring is in memory: after a
// restart every resuming client gets a Reset. Heartbeat comments (": heartbeat") keep proxies
// from timing out idle streams.
//
// Slow clients: while a socket holds more than limits.maxBufferedBytes unsent, its events wait in
// a per-client backlog (pointers into the ring) and go out on 'drain'; a client that falls more
// than ringSize/2 live events behind is disconnected and resumes (or is reset) when it returns.
//
// Rendering (render.ts): Version 2 names; TickerChanged always carries every field (the engine's
// deltas are merged); OrderModified, absent from the document, is sent with OrderOpened's fields
// because a book cannot be followed without it.
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Dialect } from '../../server/dialect.js';
import type { Applied, ServerContext } from '../../server/context.js';
import { asciiJson, HttpError, optionalUser, registerScope, routes } from '../http-common.js';
import { EMPTY_TICKER, frame, mergeTicker, ownersOf, renderFor, renderTicker, type TickerState } from './render.js';
import { EventRing, parseEventId, type StreamEvent } from './ring.js';

export interface EventStreamOptions {
  /** Events kept for Last-Event-ID resumption. Default 50,000. */
  ringSize?: number;
  /** Milliseconds between heartbeat comments. Default 15,000. */
  heartbeatMs?: number;
  /** The SSE `retry:` reconnection delay suggested to clients, in ms. Default 1,000. */
  retryMs?: number;
  /** Paths served. Default ['/event-stream', '/v2/event-stream']. */
  paths?: string[];
}

interface Client {
  res: StreamSink;
  userId: number | undefined;
  /**
   * Events not yet written because the socket is still draining earlier ones (references into the
   * ring's events, so a slow client costs pointers, not copies). Empty while the client keeps up.
   */
  backlog: StreamEvent[];
  /** Index of the next backlog event to write. */
  next: number;
  /** Live events queued in the backlog since it was last empty (the catch-up does not count). */
  lagging: number;
}

/** The part of a ServerResponse the stream writes to. */
export type StreamSink = Pick<ServerResponse, 'write' | 'end' | 'destroy' | 'on' | 'destroyed' | 'writableLength' | 'writableNeedDrain'>;

/** Events rendered per write while catching up. */
const CHUNK = 256;

export class EventStream {
  readonly ring: EventRing;
  private readonly clients = new Set<Client>();
  private readonly tickers = new Map<string, TickerState>();
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly maxBuffered: number;
  /**
   * A client that falls this many live events behind is dropped: half the ring, so that what it
   * missed is usually still there when it comes back with Last-Event-ID.
   */
  private readonly maxLag: number;

  constructor(
    private readonly ctx: ServerContext,
    private readonly options: Required<EventStreamOptions>,
  ) {
    this.ring = new EventRing(options.ringSize, ctx.engine.lastSeq);
    this.maxBuffered = ctx.limits.maxBufferedBytes;
    this.maxLag = Math.max(1, Math.floor(options.ringSize / 2));
    for (const t of ctx.engine.tickers()) {
      this.tickers.set(`${t.base}:${t.counter}`, { last: t.last, bid: t.bid, ask: t.ask, low: t.low, high: t.high, volume: t.volume });
    }
  }

  get clientCount(): number {
    return this.clients.size;
  }

  start(): void {
    this.unsubscribe = this.ctx.onApplied((a) => this.onApplied(a));
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  private onApplied(a: Applied): void {
    const events: StreamEvent[] = [];
    a.events.forEach((ev, idx) => {
      const e: StreamEvent = { seq: a.seq, idx, id: `${a.seq}.${idx}`, ev };
      if (ev.type === 'TickerChanged') {
        const key = `${ev.base}:${ev.counter}`;
        const t = mergeTicker(this.tickers.get(key) ?? EMPTY_TICKER, ev);
        this.tickers.set(key, t);
        e.publicFrame = frame(e.id, renderTicker(ev.base, ev.counter, t));
      } else if (ev.type === 'UserCreated' || ev.type === 'MarketAdded' || ev.type === 'AssetAdded') {
        return; // not part of the stream; their ids are simply skipped
      }
      events.push(e);
    });
    this.ring.push(a.seq, events);
    if (events.length === 0 || this.clients.size === 0) return;
    for (const c of this.clients) this.send(c, events);
  }

  private framesFor(c: Client, events: StreamEvent[], from = 0, to = events.length): string {
    let out = '';
    for (let i = from; i < to; i++) {
      const e = events[i]!;
      if (c.userId !== undefined && ownersOf(e.ev).includes(c.userId)) {
        const r = renderFor(e.ev, c.userId);
        if (r !== undefined) out += frame(e.id, r);
        continue;
      }
      if (e.publicFrame === undefined) {
        const r = renderFor(e.ev, undefined);
        e.publicFrame = r === undefined ? null : frame(e.id, r);
      }
      if (e.publicFrame !== null) out += e.publicFrame;
    }
    return out;
  }

  /** True while the socket holds more than maxBuffered unsent bytes (and will emit 'drain'). */
  private full(c: Client): boolean {
    return c.res.writableNeedDrain && c.res.writableLength >= this.maxBuffered;
  }

  private send(c: Client, events: StreamEvent[]): void {
    if (c.res.destroyed) return;
    if (c.next < c.backlog.length || this.full(c)) {
      for (const e of events) c.backlog.push(e);
      c.lagging += events.length;
      if (c.lagging > this.maxLag) {
        // Too slow: drop it; it reconnects with Last-Event-ID and resumes from the ring (or gets a Reset).
        this.ctx.log.info({ userId: c.userId, behind: c.backlog.length - c.next }, 'event stream client too slow; disconnecting');
        this.drop(c);
        c.res.destroy();
      }
      return;
    }
    const text = this.framesFor(c, events);
    if (text !== '') c.res.write(text);
  }

  /** Writes the backlog while the socket accepts it; resumes on 'drain'. */
  private pump(c: Client): void {
    while (c.next < c.backlog.length && !c.res.destroyed) {
      if (this.full(c)) return;
      const to = Math.min(c.backlog.length, c.next + CHUNK);
      const text = this.framesFor(c, c.backlog, c.next, to);
      c.next = to;
      if (text !== '') c.res.write(text);
    }
    c.backlog = [];
    c.next = 0;
    c.lagging = 0;
  }

  private beat(): void {
    for (const c of this.clients) {
      if (c.next >= c.backlog.length && !this.full(c) && !c.res.destroyed) c.res.write(': heartbeat\n\n');
    }
  }

  private drop(c: Client): void {
    this.clients.delete(c);
  }

  /** Answers GET /event-stream after authentication; takes over the response. */
  async handle(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const query = (req.query ?? {}) as Record<string, unknown>;
    const userId = optionalUser(this.ctx, req, query.auth);
    await this.ctx.whenDurable();
    const lastEventId = req.headers['last-event-id'];
    if (Array.isArray(lastEventId)) throw new HttpError(400, 'Send at most one Last-Event-ID header.');
    if (req.method === 'HEAD') {
      // Headers only: a HEAD response has no body, so there is no stream to keep open.
      reply.code(200).header('Content-Type', 'text/event-stream; charset=utf-8').header('Cache-Control', 'no-cache, no-transform');
      return reply.send();
    }

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    res.socket?.setKeepAlive(true, this.options.heartbeatMs);
    this.attach(res, userId, lastEventId);
    return undefined;
  }

  /**
   * Starts streaming to `res` (headers already sent): the catch-up after `lastEventId` (or a
   * Reset), then live events. Synchronous, so no applied command can slip between the catch-up
   * and joining the live set; the catch-up itself is written as the socket drains.
   */
  attach(res: StreamSink, userId: number | undefined, lastEventId: string | undefined): void {
    const client: Client = { res, userId, backlog: [], next: 0, lagging: 0 };
    let head = `retry: ${this.options.retryMs}\n: openfloor event stream${userId === undefined ? '' : ` for user ${userId}`}\n\n`;
    if (lastEventId !== undefined && lastEventId !== '') {
      const pos = parseEventId(lastEventId);
      const result = pos === undefined ? { ok: false as const, reason: 'Last-Event-ID is not an id of this stream.' } : this.ring.resumeAfter(pos);
      if (result.ok) {
        client.backlog = result.events;
      } else {
        const id = String(this.ring.lastSeq);
        head += frame(id, { event: 'Reset', data: asciiJson({ reason: result.reason, last_event_id: lastEventId.slice(0, 64) }) });
      }
    }
    this.clients.add(client);
    res.on('close', () => this.drop(client));
    res.on('drain', () => this.pump(client));
    res.write(head);
    this.pump(client);
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}

export function createDialect(options: EventStreamOptions = {}): Dialect & { stream(): EventStream | undefined } {
  const opts: Required<EventStreamOptions> = {
    ringSize: options.ringSize ?? 50_000,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    retryMs: options.retryMs ?? 1_000,
    paths: options.paths ?? ['/event-stream', '/v2/event-stream'],
  };
  let stream: EventStream | undefined;
  return {
    name: 'event-stream',
    stream: () => stream,
    register(app: FastifyInstance, ctx: ServerContext) {
      const s = new EventStream(ctx, opts);
      stream = s;
      s.start();
      registerScope(
        app,
        (reply, err) => {
          reply.code(err.status).header('Content-Type', 'text/plain; charset=utf-8').send(err.message);
        },
        (scope) => {
          scope.addHook('preClose', (done) => {
            s.close();
            done();
          });
          routes(scope, opts.paths, { GET: (req, reply) => s.handle(req, reply) }, ctx.limits.maxMessageBytes);
        },
      );
      return [];
    },
    close() {
      stream?.close();
    },
  };
}
