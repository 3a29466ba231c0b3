// CoinEx v2 WebSocket API at /v2/spot and /v2/futures (docs/coinex.md, "WebSocket").
//
// Requests: {"method", "params", "id"}; replies {"id", "code", "message"[, "data"]}; pushes
// {"method": "<topic>.update", "data", "id": null}. Every server frame is a binary frame holding
// gzip-compressed JSON, as CoinEx sends them. Methods: server.sign, server.ping, server.time,
// depth / deals / state / bbo (public) and, after server.sign, order / balance / user_deals
// (spot endpoint) or balance (futures endpoint) .subscribe and .unsubscribe.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { WebSocketEndpoint } from '../../server/dialect.js';
import { authenticateWs, type Principal } from './auth.js';
import { CoinexError, WS_FUTURES_OFFSET, WsCode } from './errors.js';
import { mergeInterval } from './http.js';
import type { CxMarket, MarketKind } from './names.js';
import type { Env } from './orders.js';
import type { Changes } from './readmodel.js';
import * as render from './render.js';
import { clientFrameText, encodeFrame } from './wire.js';

type Filter = Set<number> | 'all' | null;

interface DepthSub {
  key: string;
  market: CxMarket;
  limit: number;
  interval: number;
  full: boolean;
}

class Session {
  principal: Principal | undefined;
  readonly depth = new Map<number, DepthSub>();
  deals: Filter = null;
  state: Filter = null;
  bbo = new Set<number>();
  orders: Filter = null;
  userDeals: Filter = null;
  /** Asset codes. */
  balances: Filter = null;
  idle: NodeJS.Timeout | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly kind: MarketKind,
  ) {}

  clearPrivate(): void {
    this.orders = null;
    this.userDeals = null;
    this.balances = null;
  }
}

function matches(f: Filter, key: number): boolean {
  return f === 'all' || (f !== null && f.has(key));
}

function addTo(f: Filter, keys: number[]): Filter {
  if (keys.length === 0 || f === 'all') return 'all';
  const s = f ?? new Set<number>();
  for (const k of keys) s.add(k);
  return s;
}

function removeFrom(f: Filter, keys: number[]): Filter {
  if (keys.length === 0 || f === null) return null;
  if (f === 'all') return f;
  for (const k of keys) f.delete(k);
  return f.size === 0 ? null : f;
}

function sameLevels(a: render.DepthView, b: render.DepthView): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Levels of `next` that differ from `prev`, with removed prices at amount "0". */
function depthDiff(prev: render.DepthView, next: render.DepthView): render.DepthView {
  const side = (p: render.Level[], n: render.Level[]): render.Level[] => {
    const old = new Map(p);
    const now = new Map(n);
    const out: render.Level[] = [];
    for (const [price, amount] of n) if (old.get(price) !== amount) out.push([price, amount]);
    for (const [price] of p) if (!now.has(price)) out.push([price, '0']);
    return out;
  };
  return { bids: side(prev.bids, next.bids), asks: side(prev.asks, next.asks) };
}

export class WsHub {
  private readonly sessions = new Set<Session>();
  /** Last depth sent per subscription key (market|limit|interval): the base of incremental pushes. */
  private readonly depthCache = new Map<string, { view: render.DepthView; refs: number }>();
  private readonly bboCache = new Map<number, string>();

  constructor(private readonly env: Env) {}

  endpoint(kind: MarketKind): WebSocketEndpoint {
    const base = `/v2/${kind}`;
    return {
      paths: [base, `${base}/`],
      perMessageDeflate: false,
      maxPayload: this.env.ctx.limits.maxMessageBytes,
      onConnection: (ws: WebSocket, _req: IncomingMessage) => this.connect(ws, kind),
    };
  }

  closeAll(): void {
    for (const s of this.sessions) {
      clearTimeout(s.idle);
      s.ws.close(1001, 'server shutting down');
    }
    this.sessions.clear();
  }

  // ---------------------------------------------------------------- connections

  private connect(ws: WebSocket, kind: MarketKind): void {
    const s = new Session(ws, kind);
    this.sessions.add(s);
    const limits = this.env.ctx.limits;
    const touch = (): void => {
      clearTimeout(s.idle);
      s.idle = setTimeout(() => ws.close(1000, 'idle timeout'), limits.wsIdleTimeoutMs);
      s.idle.unref?.();
    };
    touch();
    ws.on('ping', touch);
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      touch();
      try {
        this.message(s, clientFrameText(data, isBinary, limits.maxMessageBytes));
      } catch (err) {
        this.env.ctx.log.error({ err }, 'coinex: WebSocket message failed');
        this.send(s, { id: null, code: this.code(s, WsCode.INTERNAL), message: 'internal error' });
      }
    });
    ws.on('close', () => this.disconnect(s));
    ws.on('error', () => ws.terminate());
  }

  private disconnect(s: Session): void {
    clearTimeout(s.idle);
    if (!this.sessions.delete(s)) return;
    for (const sub of s.depth.values()) this.unref(sub.key);
  }

  private code(s: Session, spotCode: number): number {
    return s.kind === 'futures' ? spotCode + WS_FUTURES_OFFSET : spotCode;
  }

  private send(s: Session, message: unknown): void {
    this.sendFrame(s, encodeFrame(message));
  }

  private sendFrame(s: Session, frame: Buffer): void {
    const ws = s.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.env.ctx.limits.maxBufferedBytes) {
      ws.terminate();
      return;
    }
    ws.send(frame, { binary: true });
  }

  // ---------------------------------------------------------------- requests

  private message(s: Session, text: string | undefined): void {
    let msg: unknown;
    try {
      msg = text === undefined ? undefined : JSON.parse(text);
    } catch {
      msg = undefined;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      this.send(s, { id: null, code: this.code(s, WsCode.INVALID_ARGUMENT), message: 'invalid argument: a JSON object is required' });
      return;
    }
    const { method, params = {}, id = null } = msg as { method?: unknown; params?: unknown; id?: unknown };
    const reqId = typeof id === 'number' || typeof id === 'string' || id === null ? id : null;
    const reply = (code: number, message: string, data?: unknown): void => {
      const out: Record<string, unknown> = { id: reqId, code: code === 0 ? 0 : this.code(s, code), message };
      if (data !== undefined) out.data = data;
      this.send(s, out);
    };
    if (typeof method !== 'string') return reply(WsCode.INVALID_ARGUMENT, 'invalid argument: method is required');
    if (params === null || typeof params !== 'object' || Array.isArray(params)) return reply(WsCode.INVALID_ARGUMENT, 'invalid argument: params must be an object');
    const p = params as Record<string, unknown>;
    try {
      const after = this.dispatch(s, method, p, reply);
      after?.();
    } catch (e) {
      if (e instanceof CoinexError) return reply(WsCode.INVALID_ARGUMENT, e.message);
      throw e;
    }
  }

  /** Handles one request; may return what to push after the reply (initial snapshots). */
  private dispatch(s: Session, method: string, p: Record<string, unknown>, reply: (code: number, message: string, data?: unknown) => void): (() => void) | void {
    const now = Date.now();
    switch (method) {
      case 'server.ping':
        return reply(0, 'OK', { result: 'pong' });
      case 'server.time':
        return reply(0, 'OK', { timestamp: now });
      case 'server.sign': {
        const r = authenticateWs(this.env.ctx, p, now);
        if (r.ok) {
          if (s.principal !== undefined && s.principal.accessId !== r.principal.accessId) s.clearPrivate();
          s.principal = r.principal;
          return reply(0, 'OK');
        }
        return reply(r.code === 'argument' ? WsCode.INVALID_ARGUMENT : r.code === 'rate' ? WsCode.TOO_FREQUENT : WsCode.BAD_SIGNATURE, r.message);
      }
      case 'depth.subscribe':
        return this.subscribeDepth(s, p, reply);
      case 'depth.unsubscribe': {
        const keys = this.marketKeys(s, p.market_list, true);
        for (const [k, sub] of [...s.depth]) {
          if (keys.length === 0 || keys.includes(k)) {
            s.depth.delete(k);
            this.unref(sub.key);
          }
        }
        return reply(0, 'OK');
      }
      case 'deals.subscribe': {
        const keys = this.marketKeys(s, p.market_list, true);
        s.deals = addTo(s.deals, keys);
        reply(0, 'OK');
        return () => this.initialDeals(s, keys);
      }
      case 'deals.unsubscribe':
        s.deals = removeFrom(s.deals, this.marketKeys(s, p.market_list, true));
        return reply(0, 'OK');
      case 'state.subscribe': {
        const keys = this.marketKeys(s, p.market_list, true);
        s.state = addTo(s.state, keys);
        reply(0, 'OK');
        return () => this.pushState(s, keys.length === 0 ? this.env.catalog.markets(s.kind) : keys.map((k) => this.env.catalog.marketByPair(Math.floor(k / 65536), k % 65536)!));
      }
      case 'state.unsubscribe':
        s.state = removeFrom(s.state, this.marketKeys(s, p.market_list, true));
        return reply(0, 'OK');
      case 'bbo.subscribe': {
        const keys = this.marketKeys(s, p.market_list, false);
        for (const k of keys) s.bbo.add(k);
        reply(0, 'OK');
        return () => {
          for (const k of keys) this.pushBbo(s, this.env.catalog.marketByPair(Math.floor(k / 65536), k % 65536)!, true);
        };
      }
      case 'bbo.unsubscribe': {
        const keys = this.marketKeys(s, p.market_list, true);
        if (keys.length === 0) s.bbo.clear();
        for (const k of keys) s.bbo.delete(k);
        return reply(0, 'OK');
      }
      case 'order.subscribe':
      case 'user_deals.subscribe':
      case 'order.unsubscribe':
      case 'user_deals.unsubscribe': {
        if (s.kind === 'futures') return reply(WsCode.METHOD_UNAVAILABLE, 'method unavailable: futures orders and deals are not available on this server');
        if (!this.authorized(s, reply)) return;
        const keys = this.marketKeys(s, p.market_list, true);
        const topic = method.startsWith('order.') ? 'orders' : 'userDeals';
        s[topic] = method.endsWith('.subscribe') ? addTo(s[topic], keys) : removeFrom(s[topic], keys);
        return reply(0, 'OK');
      }
      case 'balance.subscribe':
      case 'balance.unsubscribe': {
        if (!this.authorized(s, reply)) return;
        const list = p.ccy_list ?? [];
        if (!Array.isArray(list) || list.some((c) => typeof c !== 'string')) return reply(WsCode.INVALID_ARGUMENT, 'invalid argument: ccy_list must be a list of currencies');
        // Unknown currencies are ignored: a client may list every currency it knows of.
        const codes = (list as string[]).map((c) => this.env.catalog.assetByCcy(c)?.code).filter((c): c is number => c !== undefined);
        const all = list.length === 0;
        if (method === 'balance.subscribe') s.balances = all ? 'all' : codes.length === 0 ? s.balances : addTo(s.balances, codes);
        else s.balances = removeFrom(s.balances, all ? [] : codes);
        return reply(0, 'OK');
      }
      default:
        return reply(WsCode.METHOD_UNAVAILABLE, `method unavailable: ${JSON.stringify(method.slice(0, 64))}`);
    }
  }

  private authorized(s: Session, reply: (code: number, message: string) => void): boolean {
    if (s.principal === undefined) {
      reply(WsCode.AUTH_REQUIRED, 'authentication required: call server.sign first');
      return false;
    }
    if (!s.principal.permissions.includes('read')) {
      reply(WsCode.AUTH_REQUIRED, 'API permission is not allowed: this key lacks the read permission');
      return false;
    }
    return true;
  }

  /** Market keys of a market_list of names (entries may be [name, …] for depth). Empty = all. */
  private marketKeys(s: Session, list: unknown, allowEmpty: boolean): number[] {
    if (list === undefined || list === null) list = [];
    if (!Array.isArray(list)) throw new CoinexError(WsCode.INVALID_ARGUMENT, 'invalid argument: market_list must be a list');
    if (list.length === 0 && !allowEmpty) throw new CoinexError(WsCode.INVALID_ARGUMENT, 'invalid argument: market_list must not be empty');
    return list.map((entry) => {
      const name = Array.isArray(entry) ? entry[0] : entry;
      const m = typeof name === 'string' ? this.env.catalog.market(s.kind, name) : undefined;
      if (m === undefined) throw new CoinexError(WsCode.INVALID_ARGUMENT, `invalid argument: unknown ${s.kind} market ${JSON.stringify(name)}`);
      return m.key;
    });
  }

  // ---------------------------------------------------------------- depth

  private subscribeDepth(s: Session, p: Record<string, unknown>, reply: (code: number, message: string) => void): (() => void) | void {
    const list = p.market_list;
    if (!Array.isArray(list) || list.length === 0) return reply(WsCode.INVALID_ARGUMENT, 'invalid argument: market_list of [market, limit, interval, if_full] is required');
    const subs: DepthSub[] = [];
    for (const entry of list) {
      if (!Array.isArray(entry) || entry.length < 3 || entry.length > 4) {
        return reply(WsCode.INVALID_ARGUMENT, 'invalid argument: each market_list entry is [market, limit, interval, if_full]');
      }
      const [name, limit, interval, full = false] = entry as unknown[];
      const m = typeof name === 'string' ? this.env.catalog.market(s.kind, name) : undefined;
      if (m === undefined) return reply(WsCode.INVALID_ARGUMENT, `invalid argument: unknown ${s.kind} market ${JSON.stringify(name)}`);
      if (typeof limit !== 'number' || ![5, 10, 20, 50].includes(limit)) return reply(WsCode.INVALID_ARGUMENT, 'invalid argument: limit is one of 5, 10, 20, 50');
      if (typeof interval !== 'string') return reply(WsCode.INVALID_ARGUMENT, 'invalid argument: interval must be a string');
      if (typeof full !== 'boolean') return reply(WsCode.INVALID_ARGUMENT, 'invalid argument: if_full must be a boolean');
      let iv: number;
      try {
        iv = mergeInterval(interval, m);
      } catch (e) {
        return reply(WsCode.INVALID_ARGUMENT, (e as Error).message);
      }
      subs.push({ key: `${m.key}|${limit}|${iv}`, market: m, limit, interval: iv, full });
    }
    for (const sub of subs) {
      const old = s.depth.get(sub.market.key);
      if (old !== undefined) this.unref(old.key);
      s.depth.set(sub.market.key, sub);
      this.ref(sub);
    }
    reply(0, 'OK');
    return () => {
      for (const sub of subs) this.pushDepth(s, sub, this.depthCache.get(sub.key)!.view, undefined);
    };
  }

  private ref(sub: DepthSub): void {
    const c = this.depthCache.get(sub.key);
    if (c !== undefined) c.refs++;
    else this.depthCache.set(sub.key, { view: render.depthLevels(this.env.ctx.engine, sub.market, sub.limit, sub.interval), refs: 1 });
  }

  private unref(key: string): void {
    const c = this.depthCache.get(key);
    if (c !== undefined && --c.refs <= 0) this.depthCache.delete(key);
  }

  private pushDepth(s: Session, sub: DepthSub, view: render.DepthView, prev: render.DepthView | undefined): void {
    const m = sub.market;
    const { engine } = this.env.ctx;
    const t = engine.ticker(m.config.base, m.config.counter);
    const updated = this.env.rm.bookUpdated(m.config.base, m.config.counter) || Math.floor(engine.now / 1000);
    const incremental = prev !== undefined && !sub.full;
    const body = render.depthBody(m, incremental ? depthDiff(prev, view) : view, !incremental, render.priceStr(m, t?.last ?? null), updated, view);
    this.send(s, { method: 'depth.update', data: body, id: null });
  }

  // ---------------------------------------------------------------- public pushes

  private initialDeals(s: Session, keys: number[]): void {
    const markets = keys.length === 0 ? this.env.catalog.markets(s.kind) : keys.map((k) => this.env.catalog.marketByPair(Math.floor(k / 65536), k % 65536)!);
    for (const m of markets) {
      const deals = this.env.rm.publicDeals(m.config.base, m.config.counter).slice(0, 100);
      if (deals.length > 0) this.send(s, { method: 'deals.update', data: { market: m.name, deal_list: deals.map((d) => render.deal(m, d)) }, id: null });
    }
  }

  private pushState(s: Session, markets: CxMarket[]): void {
    if (markets.length === 0) return;
    const { ctx, rm, catalog } = this.env;
    const list = markets.map((m) => render.ticker(ctx.engine, rm, catalog, m));
    this.send(s, { method: 'state.update', data: { state_list: list }, id: null });
  }

  private bbo(m: CxMarket): Record<string, unknown> {
    const { engine } = this.env.ctx;
    const d = engine.depth(m.config.base, m.config.counter, 1) ?? { bids: [], asks: [] };
    const bid = d.bids[0];
    const ask = d.asks[0];
    return {
      market: m.name,
      updated_at: this.env.rm.bookUpdated(m.config.base, m.config.counter) || Math.floor(engine.now / 1000),
      best_bid_price: bid === undefined ? '0' : render.priceStr(m, bid[0]),
      best_bid_size: bid === undefined ? '0' : render.amountStr(m, bid[1]),
      best_ask_price: ask === undefined ? '0' : render.priceStr(m, ask[0]),
      best_ask_size: ask === undefined ? '0' : render.amountStr(m, ask[1]),
    };
  }

  private pushBbo(s: Session, m: CxMarket, _initial: boolean): void {
    this.send(s, { method: 'bbo.update', data: this.bbo(m), id: null });
  }

  // ---------------------------------------------------------------- the feed

  /** Pushes what one applied command changed to every interested session. */
  onChanges(ch: Changes): void {
    if (this.sessions.size === 0) {
      this.depthCache.clear();
      return;
    }
    const { ctx, catalog, rm } = this.env;
    if (ch.revokedKeys.length > 0) {
      for (const s of this.sessions) {
        if (s.principal !== undefined && ch.revokedKeys.includes(s.principal.accessId)) {
          s.principal = undefined;
          s.clearPrivate();
        }
      }
    }

    // Depth: one recomputation per subscription key of a touched market.
    for (const key of ch.books) {
      const prefix = `${key}|`;
      for (const [k, c] of this.depthCache) {
        if (!k.startsWith(prefix)) continue;
        const [, limit, interval] = k.split('|').map(Number) as [number, number, number];
        const m = catalog.marketByPair(Math.floor(key / 65536), key % 65536);
        if (m === undefined) continue;
        const view = render.depthLevels(ctx.engine, m, limit, interval);
        if (sameLevels(view, c.view)) continue;
        const prev = c.view;
        c.view = view;
        for (const s of this.sessions) {
          const sub = s.depth.get(key);
          if (sub !== undefined && sub.key === k) this.pushDepth(s, sub, view, prev);
        }
      }
      const m = catalog.marketByPair(Math.floor(key / 65536), key % 65536);
      if (m !== undefined) {
        const bbo = this.bbo(m);
        const text = JSON.stringify({ ...bbo, updated_at: 0 });
        if (this.bboCache.get(key) !== text) {
          this.bboCache.set(key, text);
          const frame = encodeFrame({ method: 'bbo.update', data: bbo, id: null });
          for (const s of this.sessions) if (s.kind === m.kind && s.bbo.has(key)) this.sendFrame(s, frame);
        }
      }
    }

    for (const [key, deals] of ch.deals) {
      const m = catalog.marketByPair(Math.floor(key / 65536), key % 65536);
      if (m === undefined) continue;
      const frame = encodeFrame({ method: 'deals.update', data: { market: m.name, deal_list: [...deals].reverse().map((d) => render.deal(m, d)) }, id: null });
      for (const s of this.sessions) if (s.kind === m.kind && matches(s.deals, key)) this.sendFrame(s, frame);
    }

    if (ch.tickers.size > 0) {
      const tickers = new Map<number, Record<string, unknown>>();
      for (const key of ch.tickers) {
        const m = catalog.marketByPair(Math.floor(key / 65536), key % 65536);
        if (m !== undefined) tickers.set(key, render.ticker(ctx.engine, rm, catalog, m));
      }
      for (const s of this.sessions) {
        if (s.state === null) continue;
        const list: Record<string, unknown>[] = [];
        for (const [key, t] of tickers) {
          if (catalog.marketByPair(Math.floor(key / 65536), key % 65536)!.kind === s.kind && matches(s.state, key)) list.push(t);
        }
        if (list.length > 0) this.send(s, { method: 'state.update', data: { state_list: list }, id: null });
      }
    }

    // Private pushes.
    for (const { event, rec } of ch.orders) {
      const m = catalog.marketByPair(rec.base, rec.counter);
      if (m === undefined || m.kind !== 'spot') continue;
      let frame: Buffer | undefined;
      for (const s of this.sessions) {
        if (s.principal?.userId !== rec.userId || s.kind !== 'spot' || !matches(s.orders, m.key)) continue;
        frame ??= encodeFrame({ method: 'order.update', data: { event, order: render.order(ctx.engine, m, rec, true) }, id: null });
        this.sendFrame(s, frame);
      }
    }
    for (const d of ch.userDeals) {
      const m = catalog.marketByPair(d.base, d.counter);
      if (m === undefined || m.kind !== 'spot') continue;
      let frame: Buffer | undefined;
      for (const s of this.sessions) {
        if (s.principal?.userId !== d.userId || s.kind !== 'spot' || !matches(s.userDeals, m.key)) continue;
        frame ??= encodeFrame({ method: 'user_deals.update', data: render.userDeal(m, d, catalog), id: null });
        this.sendFrame(s, frame);
      }
    }
    if (ch.balances.length > 0) {
      // Latest state per (user, asset) within this command, in first-change order.
      const latest = new Map<string, (typeof ch.balances)[number]>();
      for (const b of ch.balances) {
        const k = `${b.userId}:${b.asset}`;
        latest.delete(k);
        latest.set(k, b);
      }
      for (const s of this.sessions) {
        if (s.principal === undefined || s.balances === null) continue;
        const list: Record<string, unknown>[] = [];
        for (const b of latest.values()) {
          if (b.userId !== s.principal.userId || !matches(s.balances, b.asset)) continue;
          const a = catalog.asset(b.asset);
          if (a === undefined) continue;
          const view = { asset: b.asset, available: b.available, reserved: b.reserved };
          if (s.kind === 'spot' && catalog.isSpotAsset(b.asset)) list.push({ ...render.spotBalance(a, view), updated_at: b.time });
          if (s.kind === 'futures' && catalog.isFuturesAsset(b.asset)) list.push(render.futuresBalance(a, view));
        }
        if (list.length > 0) this.send(s, { method: 'balance.update', data: { balance_list: list }, id: null });
      }
    }
  }
}
