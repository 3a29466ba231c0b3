// A typed client of the native WebSocket API (WEBSOCKET-README.md).
//
//   const c = await NativeClient.connect('ws://127.0.0.1:8080/');
//   await c.authenticate({ userId: 1, cookie, passphrase: 'opensesame' });
//   c.on('OrdersMatched', (n) => …);
//   const { id } = await c.placeOrder({ base: 63488, counter: 65283, quantity: 10000, price: 400000000 });
//
// Every command carries an automatic, unique, non-zero tag and returns one promise, settled by the
// reply with that tag (replies may come in any order). Error replies reject with ApiError (code
// and the server's message). Notices are delivered synchronously, in arrival order, to typed
// listeners. A keepalive Ping goes out after pingIntervalMs without traffic (the server closes
// idle connections after 60 s).
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { derivePrivateKey, signChallenge } from '../auth/secp224k1.js';
import { decodeBase64Strict } from '../auth/base64.js';
import type {
  BookNotice,
  ErrorReply,
  MethodName,
  Methods,
  Notice,
  NoticeName,
  NoticeOf,
  OkReply,
  WireBalance,
  WireBookOrder,
  WireOrder,
  WireTicker,
} from './types.js';

/** An error reply from the server. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly method: MethodName,
    readonly tag: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The connection closed before the reply arrived. */
export class ConnectionClosedError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`connection closed (${code}${reason ? `: ${reason}` : ''})`);
    this.name = 'ConnectionClosedError';
  }
}

export interface ClientOptions {
  /** Send a Ping after this many ms without traffic; 0 disables. Default 45,000 (the spec's advice). */
  pingIntervalMs?: number;
  /** Reject a command whose reply has not arrived after this many ms; 0 (default) waits forever. */
  timeoutMs?: number;
  /** Options for the underlying `ws` client (headers, maxPayload, TLS, …). */
  ws?: WebSocket.ClientOptions;
}

export type Credentials =
  | { userId: number; cookie: string; passphrase: string }
  /** The 28-byte private key, raw or base64. */
  | { userId: number; cookie: string; privateKey: Buffer | string };

export interface CloseInfo {
  code: number;
  reason: string;
}

interface Events {
  /** Any notice (after the typed listeners of its name). */
  notice: (n: Notice) => void;
  /** A reply without a tag (an error for a frame the server could not attribute). */
  untaggedReply: (r: ErrorReply) => void;
  close: (info: CloseInfo) => void;
  error: (err: Error) => void;
}
type EventName = NoticeName | keyof Events;
type Listener<E extends EventName> = E extends NoticeName ? (n: NoticeOf<E>) => void : E extends keyof Events ? Events[E] : never;

interface PendingReply {
  method: MethodName;
  resolve: (r: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

const BOOK_NOTICES = new Set<string>(['OrderOpened', 'OrderModified', 'OrdersMatched', 'OrderClosed']);

export class NativeClient {
  /** The 16-byte server nonce from the Welcome notice. */
  readonly serverNonce: Buffer;
  /** The authenticated user, once authenticate() succeeded. */
  userId: number | null = null;
  /** Resolves when the connection has closed. */
  readonly closed: Promise<CloseInfo>;

  private readonly listeners = new Map<EventName, Set<(...args: never[]) => void>>();
  private readonly pending = new Map<number, PendingReply>();
  private nextTag = 1;
  private lastTraffic = Date.now();
  private pinger: NodeJS.Timeout | undefined;
  private closeInfo: CloseInfo | undefined;

  private constructor(
    readonly ws: WebSocket,
    serverNonce: Buffer,
    private readonly options: ClientOptions,
  ) {
    this.serverNonce = serverNonce;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        const info = { code, reason: reason.toString('utf8') };
        this.closeInfo = info;
        if (this.pinger) clearInterval(this.pinger);
        const err = new ConnectionClosedError(info.code, info.reason);
        for (const p of this.pending.values()) {
          if (p.timer) clearTimeout(p.timer);
          p.reject(err);
        }
        this.pending.clear();
        this.emit('close', info);
        resolve(info);
      });
    });
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => (this.lastTraffic = Date.now()));
    ws.on('ping', () => (this.lastTraffic = Date.now()));
    ws.on('error', (err) => this.emit('error', err));
    const every = options.pingIntervalMs ?? 45_000;
    if (every > 0) {
      this.pinger = setInterval(() => {
        if (Date.now() - this.lastTraffic >= every && ws.readyState === WebSocket.OPEN) {
          ws.ping();
          this.lastTraffic = Date.now();
        }
      }, Math.max(10, Math.floor(every / 3)));
      this.pinger.unref();
    }
  }

  /** Connects and resolves once the server's Welcome notice (with its nonce) has arrived. */
  static connect(url: string, options: ClientOptions = {}): Promise<NativeClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, ...options.ws });
      const fail = (err: Error) => {
        cleanup();
        ws.terminate();
        reject(err);
      };
      const onClose = (code: number, reason: Buffer) => fail(new ConnectionClosedError(code, reason.toString('utf8')));
      const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
        cleanup();
        let n: unknown;
        try {
          n = isBinary ? undefined : JSON.parse(rawText(data));
        } catch {
          n = undefined;
        }
        const w = n as { notice?: unknown; nonce?: unknown } | undefined;
        const nonce = w?.notice === 'Welcome' ? decodeBase64Strict(w.nonce) : undefined;
        if (nonce === undefined) {
          ws.terminate();
          reject(new Error('expected a Welcome notice with a base64 nonce as the first message'));
          return;
        }
        resolve(new NativeClient(ws, nonce, options));
      };
      const cleanup = () => {
        ws.off('error', fail);
        ws.off('close', onClose);
        ws.off('message', onMessage);
      };
      ws.on('error', fail);
      ws.on('close', onClose);
      ws.once('message', onMessage);
    });
  }

  // ------------------------------------------------------------ events

  on<E extends EventName>(event: E, listener: Listener<E>): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (...args: never[]) => void);
    return this;
  }

  off<E extends EventName>(event: E, listener: Listener<E>): this {
    this.listeners.get(event)?.delete(listener as (...args: never[]) => void);
    return this;
  }

  once<E extends EventName>(event: E, listener: Listener<E>): this {
    const wrapper = ((...args: never[]) => {
      this.off(event, wrapper as Listener<E>);
      (listener as (...a: never[]) => void)(...args);
    }) as Listener<E>;
    return this.on(event, wrapper);
  }

  /** Listens to the four book notices (for LocalBook); returns the detach function. */
  onBookNotice(listener: (n: BookNotice) => void): () => void {
    const l = (n: Notice) => {
      if (BOOK_NOTICES.has(n.notice)) listener(n as BookNotice);
    };
    this.on('notice', l);
    return () => this.off('notice', l);
  }

  /** Resolves with the next notice of that name (optionally one that satisfies `filter`). */
  next<N extends NoticeName>(name: N, filter?: (n: NoticeOf<N>) => boolean): Promise<NoticeOf<N>> {
    return new Promise((resolve, reject) => {
      const onClose = (info: CloseInfo) => {
        this.off(name, l as Listener<N>);
        reject(new ConnectionClosedError(info.code, info.reason));
      };
      const l = (n: NoticeOf<N>) => {
        if (filter && !filter(n)) return;
        this.off(name, l as Listener<N>);
        this.off('close', onClose);
        resolve(n);
      };
      this.on(name, l as Listener<N>);
      this.once('close', onClose);
    });
  }

  private emit(event: EventName, arg: unknown): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    for (const l of [...set]) {
      try {
        (l as (a: unknown) => void)(arg);
      } catch (err) {
        if (event !== 'error') this.emit('error', err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    this.lastTraffic = Date.now();
    if (isBinary) {
      this.emit('error', new Error('unexpected binary frame from the server'));
      return;
    }
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(rawText(data)) as Record<string, unknown>;
    } catch {
      this.emit('error', new Error('unparseable frame from the server'));
      return;
    }
    if (typeof msg.notice === 'string') {
      const n = msg as unknown as Notice;
      this.emit(n.notice, n);
      this.emit('notice', n);
      return;
    }
    const tag = typeof msg.tag === 'number' ? msg.tag : 0;
    const p = tag !== 0 ? this.pending.get(tag) : undefined;
    if (p === undefined) {
      this.emit('untaggedReply', msg as unknown as ErrorReply);
      return;
    }
    this.pending.delete(tag);
    if (p.timer) clearTimeout(p.timer);
    if (msg.error_code === 0) p.resolve(msg);
    else p.reject(new ApiError(Number(msg.error_code), String(msg.error_msg), p.method, tag));
  }

  // ------------------------------------------------------------ commands

  /** Sends one command with a fresh tag; resolves with the success reply, rejects with ApiError. */
  request<M extends MethodName>(method: M, fields: Methods[M]['request']): Promise<OkReply<M>> {
    if (this.closeInfo || this.ws.readyState !== WebSocket.OPEN) {
      const info = this.closeInfo ?? { code: 1006, reason: 'not open' };
      return Promise.reject(new ConnectionClosedError(info.code, info.reason));
    }
    const tag = this.nextTag;
    this.nextTag = this.nextTag >= Number.MAX_SAFE_INTEGER ? 1 : this.nextTag + 1;
    return new Promise<OkReply<M>>((resolve, reject) => {
      const timeoutMs = this.options.timeoutMs ?? 0;
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              if (this.pending.delete(tag)) reject(new Error(`${method}: no reply within ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      this.pending.set(tag, { method, resolve: resolve as (r: Record<string, unknown>) => void, reject, timer });
      this.ws.send(JSON.stringify({ tag, method, ...fields }));
      this.lastTraffic = Date.now();
    });
  }

  /**
   * Authenticates (AUTH.md): signs user id ‖ server nonce ‖ client nonce with the key derived
   * from the passphrase (or the given private key). `clientNonce` defaults to 16 random bytes.
   */
  async authenticate(creds: Credentials, clientNonce: Buffer = randomBytes(16)): Promise<void> {
    const priv =
      'passphrase' in creds
        ? derivePrivateKey(creds.userId, creds.passphrase)
        : typeof creds.privateKey === 'string'
          ? Buffer.from(creds.privateKey, 'base64')
          : creds.privateKey;
    const signature = signChallenge(priv, creds.userId, this.serverNonce, clientNonce);
    await this.request('Authenticate', {
      user_id: creds.userId,
      cookie: creds.cookie,
      nonce: clientNonce.toString('base64'),
      signature,
    });
    this.userId = creds.userId;
  }

  async getBalances(): Promise<WireBalance[]> {
    return (await this.request('GetBalances', {})).balances;
  }

  async getOrders(): Promise<WireOrder[]> {
    return (await this.request('GetOrders', {})).orders;
  }

  async estimateMarketOrder(p: Methods['EstimateMarketOrder']['request']): Promise<{ quantity: number; total: number }> {
    const r = await this.request('EstimateMarketOrder', p);
    return { quantity: r.quantity, total: r.total };
  }

  /** Limit order (quantity + price): { id, time }. Market order (quantity or total): { remaining }. */
  async placeOrder(p: Methods['PlaceOrder']['request']): Promise<{ id?: number; time?: number; remaining?: number }> {
    const r = await this.request('PlaceOrder', p);
    const out: { id?: number; time?: number; remaining?: number } = {};
    if (r.id !== undefined) out.id = r.id;
    if (r.time !== undefined) out.time = r.time;
    if (r.remaining !== undefined) out.remaining = r.remaining;
    return out;
  }

  async modifyOrder(p: Methods['ModifyOrder']['request']): Promise<WireOrder> {
    return orderOf(await this.request('ModifyOrder', p));
  }

  async cancelOrder(p: Methods['CancelOrder']['request']): Promise<WireOrder> {
    return orderOf(await this.request('CancelOrder', p));
  }

  async cancelAllOrders(): Promise<WireOrder[]> {
    return (await this.request('CancelAllOrders', {})).orders;
  }

  async getTradeVolume(asset: number): Promise<number> {
    return (await this.request('GetTradeVolume', { asset })).volume;
  }

  /** Subscribes (resolving with the snapshot) or unsubscribes (resolving with undefined). */
  async watchOrders(base: number, counter: number, watch = true): Promise<WireBookOrder[] | undefined> {
    return (await this.request('WatchOrders', { base, counter, watch })).orders;
  }

  /** Subscribes (resolving with the current ticker) or unsubscribes (resolving with undefined). */
  async watchTicker(base: number, counter: number, watch = true): Promise<WireTicker | undefined> {
    const r = await this.request('WatchTicker', { base, counter, watch });
    if (!watch) return undefined;
    return { last: r.last ?? null, bid: r.bid ?? null, ask: r.ask ?? null, low: r.low ?? null, high: r.high ?? null, volume: r.volume ?? 0 };
  }

  /** Commands awaiting their reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Closes the connection (pending commands reject) and resolves once it is closed. */
  close(code = 1000, reason = ''): Promise<CloseInfo> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
    return this.closed;
  }
}

function orderOf(r: WireOrder): WireOrder {
  return { id: r.id, tonce: r.tonce ?? null, base: r.base, counter: r.counter, quantity: r.quantity, price: r.price, time: r.time };
}

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
