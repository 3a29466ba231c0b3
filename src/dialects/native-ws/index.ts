// The native WebSocket API (coinflex-api/WEBSOCKET-README.md, the superset of
// coinfloor-api/WEBSOCKET-README.md; AUTH.md; LIMITS.md), served at '/' and '/v1'.
//
// Per connection: a Welcome notice with a fresh 16-byte server nonce, then commands in JSON text
// frames. Every command is parsed and validated completely (parse.ts) before anything happens.
// State-changing commands are submitted in arrival order; their replies follow once the command
// is durable (ctx.submitTo's sink - or ctx.submit's promise - is told after the notices were
// published, so a command's notices precede its reply). Queries read the engine synchronously,
// then wait for ctx.whenDurable() before replying, so no reply reveals state that is not yet
// durable. Replies may therefore be reordered with respect to each other, as the spec allows;
// clients correlate them by `tag`.
//
// Limits (LIMITS.md, configurable via ctx.limits): authentication attempts per user per hour,
// order placements (incl. modifications, cancellations and estimates) per user per second,
// information requests per session per 10 s, frame size (close 1009, enforced by ws through the
// endpoint's maxPayload), idle timeout (close 1001), and the outgoing buffer of a slow consumer
// (close 1008).
//
// Output path: notices and replies are rendered once and queued per session; at the end of the
// tick each session's queue is framed and goes out in one write on its socket: texts alone (the
// usual case: replies and a party's own notices) as one string of their frames' bytes written
// with the latin1 encoding (frame.ts asciiFrames: no Buffer at all), otherwise as one Buffer
// (concatFrames, one allocation). A public notice is framed once and the same Buffer goes to every
// watcher, and a group-committed batch of N commands costs each watcher one write, not N.
// Writing complete frames directly to the socket under `ws` is safe here: server frames are
// unmasked, the endpoint negotiates no extension (perMessageDeflate false), so ws's own sender
// never holds frames back.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Dialect, WebSocketEndpoint } from '../../server/dialect.js';
import type { Applied, AppliedSink, ServerContext } from '../../server/context.js';
import { RateLimiter, rateLimitsFrom } from '../../server/rate-limit.js';
import { rejected } from '../../server/metrics.js';
import {
  ErrorCode,
  ErrorMessage,
  type CancelOrder,
  type CommandResult,
  type ModifyOrder,
  type OrderRecord,
  type PlaceOrder,
  type UnstampedCommand,
} from '../../core/types.js';
import { cookiesEqual, publicKeyObjectFromBase64, verifyChallenge } from '../../auth/secp224k1.js';
import { parseMessage, type NativeCommand } from './parse.js';
import * as render from './render.js';
import { FanOut, marketKey, type Recipient } from './fanout.js';
import { asciiFrames, concatFrames, framePayload, textFrame } from './frame.js';

export const DIALECT_NAME = 'native-ws';

/** Close codes (RFC 6455 §7.4.1) this dialect uses. */
export const CloseCode = {
  GOING_AWAY: 1001,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
} as const;

export interface NativeWsOptions {
  /** Request paths; default ['/', '/v1']. */
  paths?: string[];
  /** Source of the 16-byte server nonces; default crypto.randomBytes. Tests use it to replay AUTH.md's example. */
  nonce?: () => Buffer;
  /** Monotonic milliseconds for rate limits and the idle timeout; default performance.now(). */
  clock?: () => number;
}

const ERROR_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

/** WebSocket readyState OPEN (the numeric constant, so that `ws` is only a type import here). */
const OPEN = 1;

/** Snapshot sizes of WatchOrders (WEBSOCKET-README.md: up to 1000 bids and 1000 asks). */
const SNAPSHOT_PER_SIDE = 1000;

class Session implements Recipient {
  userId: number | null = null;
  readonly books = new Set<string>();
  readonly tickers = new Set<string>();
  /** Set once a PlaceOrder with persist=false was submitted: close then submits a Disconnect. */
  nonPersistent = false;
  /** No more frames are sent once the connection is closing. */
  closing = false;
  /**
   * Output queued in the current tick, in order (null: none; see NativeWs.enqueue): complete
   * frames (Buffers, possibly shared with other sessions) and texts still to be framed.
   */
  out: (Buffer | string)[] | null = null;
  /** Whether `out` holds a text / a complete frame (Buffer) / a text not known to be ASCII. */
  outText = false;
  outFrame = false;
  outUnchecked = false;
  lastTraffic: number;
  /** Rate-limit keys: order placements count per user once authenticated (else per session); information requests per session. */
  orderKey: string;
  readonly infoKey: string;
  /** The TCP socket under `ws`, written to directly with complete frames (see frame.ts). */
  readonly socket: Socket | undefined;

  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    readonly nonce: Buffer,
    private readonly dialect: NativeWs,
  ) {
    this.lastTraffic = dialect.now();
    this.orderKey = this.infoKey = `s${id}`;
    // Raw writes need the plain socket and no negotiated extension (the endpoint offers none).
    const sock = (ws as unknown as { _socket?: Socket })._socket;
    this.socket = sock && typeof sock.write === 'function' && ws.extensions === '' ? sock : undefined;
  }

  deliver(frame: Buffer): void {
    this.dialect.enqueue(this, frame);
  }

  deliverText(text: string): void {
    // Notices are ASCII by construction (see FanOut's Recipient.deliverText).
    this.dialect.enqueue(this, text, true);
  }
}

const SEND_TEXT = { binary: false, compress: false } as const;

/** How the success of a state-changing command is rendered (see NativeWs.replyApplied). */
const REPLY_PLACE = 0;
const REPLY_ORDER = 1;
const REPLY_ORDERS = 2;
type ReplyKind = typeof REPLY_PLACE | typeof REPLY_ORDER | typeof REPLY_ORDERS;

/** Replies to one submitted command once it is durable: one object per command, no promise or closure. */
class ReplySink implements AppliedSink {
  constructor(
    private readonly dialect: NativeWs,
    private readonly s: Session,
    private readonly tag: number,
    private readonly kind: ReplyKind,
  ) {}

  applied(a: Applied): void {
    this.dialect.replyApplied(this.s, this.tag, this.kind, a);
  }

  failed(err: Error): void {
    this.dialect.internalError(this.s, err);
  }
}

/** Counters of the dialect's own decisions (tests, benchmarks, logs). */
export interface NativeWsStats {
  sessions: number;
  closedIdle: number;
  closedSlowConsumer: number;
  closedTooBig: number;
}

class NativeWs {
  readonly fanout = new FanOut<Session>(textFrame);
  readonly counters = { closedIdle: 0, closedSlowConsumer: 0, closedTooBig: 0 };
  private readonly sessions = new Set<Session>();
  private ctx!: ServerContext;
  private unsubscribe: (() => void) | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private authLimiter!: RateLimiter;
  private ordersLimiter!: RateLimiter;
  private infoLimiter!: RateLimiter;
  readonly now: () => number;
  private readonly newNonce: () => Buffer;
  /** Sessions with frames queued in this tick. */
  private dirty: Session[] = [];

  constructor(private readonly options: NativeWsOptions) {
    this.now = options.clock ?? (() => performance.now());
    this.newNonce = options.nonce ?? (() => randomBytes(16));
  }

  register(ctx: ServerContext): WebSocketEndpoint[] {
    this.ctx = ctx;
    const rl = rateLimitsFrom(ctx.limits);
    this.authLimiter = new RateLimiter(rl.authAttempts);
    this.ordersLimiter = new RateLimiter(rl.wsOrders);
    this.infoLimiter = new RateLimiter(rl.infoRequests);
    this.fanout.lastSeq = ctx.engine.lastSeq;
    this.unsubscribe = ctx.onApplied((a: Applied) => {
      try {
        this.fanout.dispatch(a.seq, a.events);
      } catch (err) {
        // Never let a rendering bug break the sequencer's publication loop.
        ctx.log.error({ err, seq: a.seq }, 'native-ws: notice fan-out failed');
      }
    });
    const idle = ctx.limits.wsIdleTimeoutMs;
    this.sweeper = setInterval(() => this.sweep(), Math.max(20, Math.min(5000, Math.floor(idle / 4))));
    this.sweeper.unref();
    return [
      {
        paths: this.options.paths ?? ['/', '/v1'],
        perMessageDeflate: false,
        maxPayload: ctx.limits.maxMessageBytes,
        onConnection: (ws, req) => this.onConnection(ws, req),
      },
    ];
  }

  /** Closes every session; the non-persistent orders of each are cancelled before this resolves. */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    const disconnects: Promise<unknown>[] = [];
    for (const s of this.sessions) {
      this.closeSession(s, CloseCode.GOING_AWAY, 'Server shutting down');
      if (s.nonPersistent) {
        s.nonPersistent = false;
        disconnects.push(this.submit({ type: 'Disconnect', sessionId: s.id }));
      }
    }
    await Promise.allSettled(disconnects);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  // ------------------------------------------------------------ connection lifecycle

  private onConnection(ws: WebSocket, _req: IncomingMessage): void {
    const nonce = this.newNonce();
    const s = new Session(this.ctx.newSessionId(), ws, nonce, this);
    this.sessions.add(s);
    ws.on('message', (data, isBinary) => this.onMessage(s, data, isBinary));
    ws.on('ping', () => (s.lastTraffic = this.now()));
    ws.on('pong', () => (s.lastTraffic = this.now()));
    ws.on('error', (err) => this.ctx.log.debug({ err, session: s.id }, 'native-ws socket error'));
    ws.on('close', () => this.onClose(s));
    this.send(s, render.welcome(nonce));
  }

  private onClose(s: Session): void {
    if (!this.sessions.delete(s)) return;
    s.closing = true;
    this.fanout.removeAll(s, s.books, s.tickers);
    if (s.nonPersistent) {
      this.submit({ type: 'Disconnect', sessionId: s.id }).catch((err: unknown) =>
        this.ctx.log.warn({ err, session: s.id }, 'native-ws: Disconnect could not be submitted'),
      );
    }
  }

  private closeSession(s: Session, code: number, reason: string): void {
    if (s.closing) return;
    s.closing = true;
    try {
      s.ws.close(code, reason);
    } catch {
      s.ws.terminate();
    }
  }

  private sweep(): void {
    const deadline = this.now() - this.ctx.limits.wsIdleTimeoutMs;
    for (const s of this.sessions) {
      if (s.lastTraffic < deadline && !s.closing) {
        this.counters.closedIdle++;
        this.closeSession(s, CloseCode.GOING_AWAY, 'Idle timeout: no traffic in either direction');
      }
    }
  }

  /**
   * Queues one complete frame for a session. All frames a session gets in one tick (the notices
   * of a group-committed batch, the replies resolved with it) leave in a single socket write at
   * the end of the tick, in the order they were queued.
   */
  enqueue(s: Session, frame: Buffer | string, ascii = false): void {
    if (s.closing) return;
    if (typeof frame === 'string') {
      s.outText = true;
      if (!ascii) s.outUnchecked = true;
    } else s.outFrame = true;
    if (s.out === null) {
      s.out = [frame];
      this.dirty.push(s);
      if (this.dirty.length === 1) process.nextTick(this.flush);
    } else {
      s.out.push(frame);
    }
  }

  /** Queues a rendered reply or notice for one session (framed when the tick's output is written). */
  send(s: Session, text: string): void {
    if (!s.closing) this.enqueue(s, text);
  }

  /** Writes every queued frame; disconnects consumers whose unsent data exceeds the limit. */
  private readonly flush = (): void => {
    const list = this.dirty;
    this.dirty = [];
    const now = this.now();
    const max = this.ctx.limits.maxBufferedBytes;
    // Book watchers usually get the very same frames in a tick: one concatenation serves a run of them.
    let prevOut: (Buffer | string)[] = [];
    let prevBytes: Buffer | undefined;
    for (const s of list) {
      const out = s.out!;
      const text = s.outText;
      const frames = s.outFrame;
      const unchecked = s.outUnchecked;
      s.out = null;
      s.outText = false;
      s.outFrame = false;
      s.outUnchecked = false;
      if (s.closing || s.ws.readyState !== OPEN) continue;
      if (s.socket) {
        if (!frames) {
          // Texts only (replies, a party's notices): their frames as one string, no Buffer.
          const str = asciiFrames(out as string[], unchecked);
          if (str !== undefined) s.socket.write(str, 'latin1');
          else s.socket.write(out.length === 1 ? textFrame(out[0] as string) : concatFrames(out));
        } else if (out.length === 1) {
          s.socket.write(out[0] as Buffer);
        } else if (text) {
          s.socket.write(concatFrames(out));
        } else {
          if (prevBytes === undefined || !sameFrames(out, prevOut)) {
            prevBytes = Buffer.concat(out as Buffer[]);
            prevOut = out;
          }
          s.socket.write(prevBytes);
        }
      } else {
        for (const f of out) s.ws.send(typeof f === 'string' ? f : framePayload(f), SEND_TEXT);
      }
      s.lastTraffic = now;
      if (s.ws.bufferedAmount > max) {
        this.ctx.log.info({ session: s.id, buffered: s.ws.bufferedAmount }, 'native-ws: closing slow consumer');
        this.counters.closedSlowConsumer++;
        this.closeSession(s, CloseCode.POLICY_VIOLATION, 'Slow consumer: too much outgoing data buffered');
      }
    }
  };

  // ------------------------------------------------------------ commands

  private onMessage(s: Session, data: unknown, isBinary: boolean): void {
    s.lastTraffic = this.now();
    if (s.closing) return;
    const size = messageSize(data);
    if (size > this.ctx.limits.maxMessageBytes) {
      this.counters.closedTooBig++;
      this.closeSession(s, CloseCode.MESSAGE_TOO_BIG, 'Message too big');
      return;
    }
    if (isBinary) {
      this.error(s, 0, ErrorCode.INVALID, 'Binary frames are not accepted: send each command as a JSON text frame.');
      return;
    }
    const text = messageText(data);
    const p = parseMessage(text);
    if (!p.ok) {
      this.error(s, p.tag, ErrorCode.INVALID, p.message);
      return;
    }
    try {
      this.handle(s, p.tag, p.cmd);
    } catch (err) {
      this.ctx.log.error({ err, session: s.id }, 'native-ws: command failed');
      this.closeSession(s, CloseCode.INTERNAL_ERROR, 'Internal error');
    }
  }

  private reply(s: Session, frame: string): void {
    this.send(s, frame);
  }

  /** An error decided by this dialect (counted in the rejects metric under the code's name). */
  private error(s: Session, tag: number, code: number, message: string): void {
    rejected(DIALECT_NAME, ERROR_NAMES.get(code) ?? code);
    this.send(s, render.errorReply(tag, code, message));
  }

  /** Replies once everything read so far is durable. */
  private afterDurable(s: Session, frame: () => string): void {
    this.ctx.whenDurable().then(
      () => this.reply(s, frame()),
      (err: unknown) => this.internalError(s, err),
    );
  }

  internalError(s: Session, err: unknown): void {
    this.ctx.log.error({ err, session: s.id }, 'native-ws: internal error');
    this.closeSession(s, CloseCode.INTERNAL_ERROR, 'Internal error');
  }

  private submit(cmd: UnstampedCommand): Promise<Applied> {
    try {
      return this.ctx.submit(cmd);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Submits a state-changing command and replies with its rendered result. */
  private submitAndReply(s: Session, tag: number, cmd: UnstampedCommand, kind: ReplyKind): void {
    try {
      this.ctx.submitTo(cmd, new ReplySink(this, s, tag, kind));
    } catch (err) {
      this.internalError(s, err);
    }
  }

  /** The reply to a durable state-changing command. */
  replyApplied(s: Session, tag: number, kind: ReplyKind, applied: Applied): void {
    const r = applied.result;
    // Engine rejections are counted by the server (metrics source "engine").
    if (!r.ok) {
      this.reply(s, render.errorReply(tag, r.code, r.message));
      return;
    }
    const ok = r as CommandResult & { ok: true };
    switch (kind) {
      case REPLY_PLACE:
        // Numbers and fixed names only: ASCII by construction.
        this.enqueue(s, render.placeOrderReply(tag, ok as { id?: number; time?: number; remaining?: number }), true);
        return;
      case REPLY_ORDER:
        this.enqueue(s, render.orderReply(tag, (ok as { order: OrderRecord }).order), true);
        return;
      case REPLY_ORDERS:
        this.reply(s, render.okReply(tag, { orders: (ok as { orders: OrderRecord[] }).orders.map(render.wireOrder) }));
        return;
    }
  }

  private requireAuth(s: Session, tag: number): number | undefined {
    if (s.userId === null) {
      this.error(s, tag, ErrorCode.AUTH, ErrorMessage.NOT_AUTHENTICATED);
      return undefined;
    }
    return s.userId;
  }

  private allowOrder(s: Session, tag: number): boolean {
    if (this.ordersLimiter.allow(s.orderKey, this.now())) return true;
    this.error(s, tag, ErrorCode.RATE_LIMIT, ErrorMessage.ORDERS_TOO_RAPIDLY);
    return false;
  }

  private allowInfo(s: Session, tag: number): boolean {
    if (this.infoLimiter.allow(s.infoKey, this.now())) return true;
    this.error(s, tag, ErrorCode.RATE_LIMIT, ErrorMessage.INFO_TOO_RAPIDLY);
    return false;
  }

  private handle(s: Session, tag: number, cmd: NativeCommand): void {
    const engine = this.ctx.engine;
    switch (cmd.method) {
      case 'Authenticate':
        this.authenticate(s, tag, cmd.userId, cmd.cookie, cmd.nonce, cmd.signature);
        return;

      case 'GetBalances': {
        const userId = this.requireAuth(s, tag);
        if (userId === undefined || !this.allowInfo(s, tag)) return;
        const balances = engine.balances(userId).map(render.wireBalance);
        this.afterDurable(s, () => render.okReply(tag, { balances }));
        return;
      }

      case 'GetOrders': {
        const userId = this.requireAuth(s, tag);
        if (userId === undefined || !this.allowInfo(s, tag)) return;
        const orders = engine.openOrders(userId).map(render.wireOrder);
        this.afterDurable(s, () => render.okReply(tag, { orders }));
        return;
      }

      case 'GetTradeVolume': {
        const userId = this.requireAuth(s, tag);
        if (userId === undefined || !this.allowInfo(s, tag)) return;
        if (engine.asset(cmd.asset) === undefined) {
          this.error(s, tag, ErrorCode.INVALID, 'You specified an invalid asset.');
          return;
        }
        const volume = engine.tradeVolume(userId, cmd.asset);
        this.afterDurable(s, () => render.okReply(tag, { volume }));
        return;
      }

      case 'EstimateMarketOrder': {
        if (!this.allowOrder(s, tag)) return;
        const r = engine.estimateMarketOrder(cmd.base, cmd.counter, cmd.quantity, cmd.total);
        if (!r.ok) {
          this.afterDurable(s, () => {
            rejected(DIALECT_NAME, ERROR_NAMES.get(r.code) ?? r.code);
            return render.errorReply(tag, r.code, r.message);
          });
        } else {
          const fields = { quantity: r.quantity, total: r.total };
          this.afterDurable(s, () => render.okReply(tag, fields));
        }
        return;
      }

      case 'PlaceOrder': {
        const userId = this.requireAuth(s, tag);
        if (userId === undefined || !this.allowOrder(s, tag)) return;
        const c: Omit<PlaceOrder, 'seq' | 'time'> = { type: 'PlaceOrder', userId, sessionId: s.id, base: cmd.base, counter: cmd.counter };
        if (cmd.tonce !== undefined) c.tonce = cmd.tonce;
        if (cmd.quantity !== undefined) c.quantity = cmd.quantity;
        if (cmd.price !== undefined) c.price = cmd.price;
        if (cmd.total !== undefined) c.total = cmd.total;
        if (cmd.persist !== undefined) c.persist = cmd.persist;
        if (cmd.postOnly !== undefined) c.postOnly = cmd.postOnly;
        if (cmd.persist === false) s.nonPersistent = true;
        this.submitAndReply(s, tag, c, REPLY_PLACE);
        return;
      }

      case 'ModifyOrder': {
        const userId = this.requireAuth(s, tag);
        if (userId === undefined || !this.allowOrder(s, tag)) return;
        const c: Omit<ModifyOrder, 'seq' | 'time'> = { type: 'ModifyOrder', userId };
        if (cmd.id !== undefined) c.id = cmd.id;
        if (cmd.tonce !== undefined) c.tonce = cmd.tonce;
        if (cmd.quantityDelta !== undefined) c.quantityDelta = cmd.quantityDelta;
        if (cmd.price !== undefined) c.price = cmd.price;
        if (cmd.postOnly !== undefined) c.postOnly = cmd.postOnly;
        this.submitAndReply(s, tag, c, REPLY_ORDER);
        return;
      }

      case 'CancelOrder': {
        const userId = this.requireAuth(s, tag);
        if (userId === undefined || !this.allowOrder(s, tag)) return;
        const c: Omit<CancelOrder, 'seq' | 'time'> = { type: 'CancelOrder', userId };
        if (cmd.id !== undefined) c.id = cmd.id;
        if (cmd.tonce !== undefined) c.tonce = cmd.tonce;
        this.submitAndReply(s, tag, c, REPLY_ORDER);
        return;
      }

      case 'CancelAllOrders': {
        const userId = this.requireAuth(s, tag);
        if (userId === undefined || !this.allowOrder(s, tag)) return;
        this.submitAndReply(s, tag, { type: 'CancelAllOrders', userId }, REPLY_ORDERS);
        return;
      }

      case 'WatchOrders':
      case 'WatchTicker':
        this.watch(s, tag, cmd.method, cmd.base, cmd.counter, cmd.watch);
        return;
    }
  }

  private authenticate(s: Session, tag: number, userId: number, cookie: string, clientNonce: Buffer, signature: [string, string]): void {
    const user = this.ctx.engine.user(userId);
    if (user === undefined) {
      this.afterDurable(s, () => {
        rejected(DIALECT_NAME, 'NOT_FOUND');
        return render.errorReply(tag, ErrorCode.NOT_FOUND, ErrorMessage.NO_SUCH_USER);
      });
      return;
    }
    if (!this.authLimiter.allow(`u${userId}`, this.now())) {
      this.error(s, tag, ErrorCode.RATE_LIMIT, ErrorMessage.AUTH_TOO_RAPIDLY);
      return;
    }
    if (!cookiesEqual(cookie, user.cookie)) {
      this.error(s, tag, ErrorCode.AUTH, ErrorMessage.BAD_COOKIE);
      return;
    }
    const pub = publicKeyObjectFromBase64(user.publicKey);
    if (pub === undefined || !verifyChallenge(pub, userId, s.nonce, clientNonce, signature)) {
      this.error(s, tag, ErrorCode.AUTH, ErrorMessage.BAD_SIGNATURE);
      return;
    }
    if (s.userId !== userId) {
      if (s.userId !== null) this.fanout.removeUser(s, s.userId);
      s.userId = userId;
      s.orderKey = `u${userId}`;
      this.fanout.addUser(s, userId);
    }
    this.afterDurable(s, () => render.okReply(tag));
  }

  private watch(s: Session, tag: number, method: 'WatchOrders' | 'WatchTicker', base: number, counter: number, watch: boolean): void {
    const engine = this.ctx.engine;
    const key = marketKey(base, counter);
    const orders = method === 'WatchOrders';
    const own = orders ? s.books : s.tickers;
    if (!watch) {
      if (!own.has(key)) {
        if (engine.market(base, counter) === undefined) this.error(s, tag, ErrorCode.NOT_FOUND, ErrorMessage.INVALID_PAIR);
        else this.error(s, tag, ErrorCode.NOT_FOUND, orders ? ErrorMessage.NOT_WATCHING_ORDERS : ErrorMessage.NOT_WATCHING_TICKER);
        return;
      }
      own.delete(key);
      if (orders) this.fanout.unwatchBook(s, key);
      else this.fanout.unwatchTicker(s, key);
      this.reply(s, render.okReply(tag));
      return;
    }
    if (engine.market(base, counter) === undefined) {
      this.error(s, tag, ErrorCode.NOT_FOUND, ErrorMessage.INVALID_PAIR);
      return;
    }
    if (own.has(key)) {
      this.error(s, tag, ErrorCode.ALREADY, orders ? ErrorMessage.ALREADY_WATCHING_ORDERS : ErrorMessage.ALREADY_WATCHING_TICKER);
      return;
    }
    // Snapshot and subscription happen in the same synchronous step: the snapshot reflects
    // every command up to engine.lastSeq, and the fan-out skips public notices up to it.
    const seq = engine.lastSeq;
    own.add(key);
    if (orders) {
      const snapshot = (engine.bookOrders(base, counter, SNAPSHOT_PER_SIDE) ?? []).map(render.wireBookOrder);
      this.fanout.watchBook(s, key, seq);
      this.afterDurable(s, () => render.okReply(tag, { orders: snapshot }));
    } else {
      const t = engine.ticker(base, counter);
      const fields = t ? render.wireTicker(t) : { last: null, bid: null, ask: null, low: null, high: null, volume: 0 };
      this.fanout.watchTicker(s, key, seq);
      this.afterDurable(s, () => render.okReply(tag, fields));
    }
  }

  /** Open sessions (for tests and the benchmark). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  stats(): NativeWsStats {
    return { sessions: this.sessions.size, ...this.counters };
  }
}

function sameFrames(a: (Buffer | string)[], b: (Buffer | string)[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function messageText(data: unknown): string {
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return (data as Buffer).toString('utf8');
}

function messageSize(data: unknown): number {
  if (Array.isArray(data)) return (data as Buffer[]).reduce((n, b) => n + b.length, 0);
  if (data instanceof ArrayBuffer) return data.byteLength;
  return (data as Buffer).length;
}

export interface NativeWsDialect extends Dialect {
  /** Open native WebSocket sessions. */
  readonly sessionCount: number;
  /** Sessions and the closes this dialect decided (idle, slow consumer, frame too big). */
  stats(): NativeWsStats;
}

/** The native WebSocket dialect. */
export function createDialect(options: NativeWsOptions = {}): NativeWsDialect {
  const impl = new NativeWs(options);
  return {
    name: DIALECT_NAME,
    register: (_app, ctx) => impl.register(ctx),
    close: () => impl.close(),
    get sessionCount() {
      return impl.sessionCount;
    },
    stats: () => impl.stats(),
  };
}
