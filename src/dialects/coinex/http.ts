// CoinEx v2 HTTP API under /v2 (docs/coinex.md, "HTTP endpoints").
//
// Every answer is the unified envelope {code, data, message} (plus pagination on lists). API-level
// failures answer HTTP 200 with CoinEx's code, as CoinEx does (its docs: a non-200 status comes
// from its gateway); routing failures answer 404 / 405 / 413 and unexpected ones 500, each still
// with an envelope and a code.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyPermission } from '../../core/types.js';
import { httpShared } from '../http-common.js';
import { authenticateHttp, checkTimestamp, type Principal } from './auth.js';
import { CoinexError, HttpCode, futuresTradingUnavailable, orderNotFound, paramError } from './errors.js';
import type { CxMarket, MarketKind } from './names.js';
import {
  cancelOrder,
  findOrder,
  limitOrderRate,
  modifyOrder,
  openOrders,
  parseOrderRequest,
  parsePrice,
  placeOrder,
  type Env,
} from './orders.js';
import { Params, page, paginate } from './params.js';
import { PERIODS } from './readmodel.js';
import * as render from './render.js';
import { errorEnvelope, okEnvelope, type Pagination } from './wire.js';
import { parseScaled } from './decimal.js';

type Auth = 'public' | ApiKeyPermission;

interface Call {
  p: Params;
  principal: Principal | undefined;
}

interface Answer {
  data: unknown;
  pagination?: Pagination;
}

interface Route {
  method: 'GET' | 'POST';
  path: string;
  auth: Auth;
  handler: (c: Call) => Promise<Answer> | Answer;
}

const DEPTH_LIMITS = [5, 10, 20, 50];
const DEPTH_INTERVALS = new Set([
  '0',
  '0.00000000001',
  '0.000000000001',
  '0.0000000001',
  '0.000000001',
  '0.00000001',
  '0.0000001',
  '0.000001',
  '0.00001',
  '0.0001',
  '0.001',
  '0.01',
  '0.1',
  '1',
  '10',
  '100',
  '1000',
]);

/** A depth merge interval in price units; 0 when none, or when finer than the price scale (a no-op). */
export function mergeInterval(text: string | undefined, m: CxMarket): number {
  const s = text ?? '0';
  if (!DEPTH_INTERVALS.has(s)) throw paramError(`invalid interval: one of ${[...DEPTH_INTERVALS].join(', ')}`);
  if (s === '0') return 0;
  try {
    return parseScaled(s, m.priceDecimals, 'interval');
  } catch {
    return 0;
  }
}

function uid(c: Call): number {
  return c.principal!.userId;
}

export function registerHttp(app: FastifyInstance, env: Env): Promise<void> {
  const { ctx, catalog, rm } = env;

  /** Waits until the read model has seen everything the engine applied (and it is durable). */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      await ctx.whenDurable();
      if (rm.lastSeq >= ctx.engine.lastSeq) return;
    }
  };

  const records = (userId: number): void => {
    if (!httpShared(ctx).records.allow(`u:${userId}`, Date.now())) {
      throw new CoinexError(HttpCode.RATE_LIMIT, 'The request is too frequent, please try again later.');
    }
  };

  const routes: Route[] = [];
  const get = (path: string, auth: Auth, handler: Route['handler']): void => void routes.push({ method: 'GET', path, auth, handler });
  const post = (path: string, auth: Auth, handler: Route['handler']): void => void routes.push({ method: 'POST', path, auth, handler });

  // ------------------------------------------------------------ common

  get('/time', 'public', () => ({ data: { timestamp: Date.now() } }));
  get('/ping', 'public', () => ({ data: { result: 'pong' } }));
  get('/maintain/info', 'public', () => ({ data: [] }));
  const currency = (ccy: string): Record<string, unknown> => ({
    asset: { ccy, deposit_enabled: false, withdraw_enabled: false, inter_transfer_enabled: false, is_st: false },
    chains: [],
  });
  get('/assets/all-deposit-withdraw-config', 'public', () => ({ data: catalog.assets().map((a) => currency(a.ccy)) }));
  get('/assets/deposit-withdraw-config', 'public', ({ p }) => {
    const ccy = p.requiredStr('ccy');
    if (catalog.assetByCcy(ccy) === undefined) throw paramError(`invalid ccy: ${JSON.stringify(ccy)}`);
    return { data: currency(ccy) };
  });

  // ------------------------------------------------------------ market data (spot and futures)

  for (const kind of ['spot', 'futures'] as MarketKind[]) {
    const oiByAsset = (): Map<number, number> => {
      const out = new Map<number, number>();
      for (const u of ctx.engine.users()) {
        for (const pos of ctx.engine.positions(u.id)) {
          if (pos.position > 0 && catalog.isFuturesAsset(pos.asset)) out.set(pos.asset, (out.get(pos.asset) ?? 0) + pos.position);
        }
      }
      return out;
    };
    get(`/${kind}/market`, 'public', async ({ p }) => {
      const list = p.marketList(catalog, kind);
      await settle();
      if (kind === 'spot') return { data: list.map((m) => render.spotMarket(ctx.engine, m)) };
      const oi = oiByAsset();
      return { data: list.map((m) => render.futuresMarket(ctx.engine, m, oi.get(m.config.base) ?? 0)) };
    });
    get(`/${kind}/ticker`, 'public', async ({ p }) => {
      const list = p.marketList(catalog, kind);
      await settle();
      const oi = kind === 'futures' ? oiByAsset() : undefined;
      return { data: list.map((m) => render.ticker(ctx.engine, rm, catalog, m, oi?.get(m.config.base) ?? 0)) };
    });
    get(`/${kind}/depth`, 'public', async ({ p }) => {
      const m = p.market(catalog, kind);
      const limit = p.requiredInt('limit', 1, 50);
      if (!DEPTH_LIMITS.includes(limit)) throw paramError(`invalid limit: one of ${DEPTH_LIMITS.join(', ')}`);
      const interval = mergeInterval(p.str('interval'), m);
      await settle();
      const view = render.depthLevels(ctx.engine, m, limit, interval);
      const t = ctx.engine.ticker(m.config.base, m.config.counter);
      const updated = rm.bookUpdated(m.config.base, m.config.counter) || Math.floor(ctx.engine.now / 1000);
      return { data: render.depthBody(m, view, true, render.priceStr(m, t?.last ?? null), updated) };
    });
    get(`/${kind}/deals`, 'public', async ({ p }) => {
      const m = p.market(catalog, kind);
      const limit = p.int('limit', 1, 1000, 100)!;
      const lastId = p.int('last_id', 0, Number.MAX_SAFE_INTEGER, 0)!;
      await settle();
      let deals = rm.publicDeals(m.config.base, m.config.counter);
      if (lastId > 0) deals = deals.filter((d) => d.id < lastId);
      return { data: deals.slice(0, limit).map((d) => render.deal(m, d)) };
    });
    get(`/${kind}/kline`, 'public', async ({ p }) => {
      const m = p.market(catalog, kind);
      const period = p.requiredStr('period');
      const seconds = PERIODS[period];
      if (seconds === undefined) throw paramError(`invalid period: one of ${Object.keys(PERIODS).join(', ')}`);
      const limit = p.int('limit', 1, 1000, 100)!;
      const priceType = p.str('price_type');
      if (priceType !== undefined && priceType !== 'latest_price') throw paramError('invalid price_type: only latest_price is available');
      await settle();
      const candles = rm.candles(m.config.base, m.config.counter, seconds);
      return { data: candles.slice(Math.max(0, candles.length - limit)).map((c) => render.kline(m, c)) };
    });
  }

  // ------------------------------------------------------------ spot account and orders

  get('/assets/spot/balance', 'read', async (c) => {
    await settle();
    const out: unknown[] = [];
    for (const b of ctx.engine.balances(uid(c))) {
      const a = catalog.asset(b.asset);
      if (a === undefined || !catalog.isSpotAsset(b.asset) || b.available + b.reserved === 0) continue;
      out.push(render.spotBalance(a, b));
    }
    return { data: out };
  });

  const orderJson = (m: CxMarket, r: Parameters<typeof render.order>[2]): Record<string, unknown> => render.order(ctx.engine, m, r);

  post('/spot/order', 'trade', async (c) => {
    const m = c.p.market(catalog, 'spot');
    const req = parseOrderRequest(c.p, m);
    limitOrderRate(ctx, uid(c));
    const rec = await placeOrder(env, uid(c), req);
    return { data: orderJson(m, rec) };
  });

  post('/spot/batch-order', 'trade', async (c) => {
    const top = c.p.market(catalog, 'spot');
    const items = c.p.raw('orders');
    if (!Array.isArray(items) || items.length === 0 || items.length > 20) throw paramError('invalid orders: 1 to 20 orders are required');
    const out: unknown[] = [];
    for (const item of items) {
      try {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) throw paramError('invalid order: an object is required');
        const ip = new Params(item as Record<string, unknown>);
        const m = ip.has('market') ? ip.market(catalog, 'spot') : top;
        if (m !== top) throw paramError('invalid market: every order must be in the request market');
        const req = parseOrderRequest(ip, m);
        limitOrderRate(ctx, uid(c));
        out.push(orderJson(m, await placeOrder(env, uid(c), req)));
      } catch (e) {
        if (!(e instanceof CoinexError)) throw e;
        out.push({ code: e.code, data: null, message: e.message });
      }
    }
    return { data: out };
  });

  post('/spot/modify-order', 'trade', async (c) => {
    const m = c.p.market(catalog, 'spot');
    c.p.marketType('spot');
    const id = c.p.requiredInt('order_id', 1, Number.MAX_SAFE_INTEGER);
    const amount = c.p.has('amount') ? c.p.positiveDecimal('amount', m.base.decimals) : undefined;
    const price = c.p.has('price') ? parsePrice(c.p, m) : undefined;
    if (amount === undefined && price === undefined) throw paramError('amount or price is required');
    limitOrderRate(ctx, uid(c));
    await settle();
    return { data: orderJson(m, await modifyOrder(env, uid(c), m, id, amount, price)) };
  });

  post('/spot/cancel-order', 'trade', async (c) => {
    const m = c.p.market(catalog, 'spot');
    c.p.marketType('spot');
    const id = c.p.requiredInt('order_id', 1, Number.MAX_SAFE_INTEGER);
    limitOrderRate(ctx, uid(c));
    await settle();
    return { data: orderJson(m, await cancelOrder(env, uid(c), m, id)) };
  });

  /** Cancels each order, reporting each outcome as {code, data, message}. */
  const cancelEach = async (c: Call, m: CxMarket, ids: number[]): Promise<unknown[]> => {
    const out: unknown[] = [];
    for (const id of ids) {
      try {
        limitOrderRate(ctx, uid(c));
        out.push({ code: 0, data: orderJson(m, await cancelOrder(env, uid(c), m, id)), message: 'OK' });
      } catch (e) {
        if (!(e instanceof CoinexError)) throw e;
        out.push({ code: e.code, data: null, message: e.message });
      }
    }
    return out;
  };

  post('/spot/cancel-order-by-client-id', 'trade', async (c) => {
    const m = c.p.market(catalog, 'spot');
    c.p.marketType('spot');
    const clientId = c.p.requiredStr('client_id');
    await settle();
    const ids = openOrders(env, uid(c), m)
      .filter((r) => r.clientId === clientId)
      .map((r) => r.id);
    if (ids.length === 0) throw orderNotFound();
    return { data: await cancelEach(c, m, ids) };
  });

  post('/spot/cancel-batch-order', 'trade', async (c) => {
    const m = c.p.market(catalog, 'spot');
    c.p.marketType('spot');
    const ids = c.p.idList('order_ids', 100);
    await settle();
    return { data: await cancelEach(c, m, ids) };
  });

  post('/spot/cancel-all-order', 'trade', async (c) => {
    const m = c.p.market(catalog, 'spot');
    c.p.marketType('spot');
    const side = c.p.side(false);
    await settle();
    // Engine CancelAllOrders would cancel every market; CoinEx cancels one market (and side).
    for (const r of openOrders(env, uid(c), m)) {
      if (side !== undefined && r.side !== side) continue;
      try {
        limitOrderRate(ctx, uid(c));
        await cancelOrder(env, uid(c), m, r.id);
      } catch (e) {
        // An order that closed meanwhile is simply no longer there to cancel.
        if (!(e instanceof CoinexError) || e.code !== HttpCode.ORDER_NOT_FOUND) throw e;
      }
    }
    return { data: {} };
  });

  get('/spot/order-status', 'read', async (c) => {
    const m = c.p.market(catalog, 'spot');
    const id = c.p.requiredInt('order_id', 1, Number.MAX_SAFE_INTEGER);
    await settle();
    const rec = findOrder(env, uid(c), m, id);
    if (rec === undefined) throw orderNotFound();
    return { data: orderJson(m, rec) };
  });

  get('/spot/batch-order-status', 'read', async (c) => {
    const m = c.p.market(catalog, 'spot');
    const ids = c.p.idList('order_ids', 100);
    await settle();
    return {
      data: ids.map((id) => {
        const rec = findOrder(env, uid(c), m, id);
        return rec === undefined ? { code: HttpCode.ORDER_NOT_FOUND, data: null, message: 'Order not found' } : { code: 0, data: orderJson(m, rec), message: 'OK' };
      }),
    };
  });

  get('/spot/pending-order', 'read', async (c) => {
    const m = c.p.optionalMarket(catalog, 'spot');
    c.p.marketType('spot');
    const side = c.p.side(false);
    const clientId = c.p.str('client_id');
    const pg = page(c.p, 10, 1000);
    await settle();
    const rows = openOrders(env, uid(c), m).filter((r) => (side === undefined || r.side === side) && (clientId === undefined || r.clientId === clientId));
    const { rows: pageRows, hasNext } = paginate(rows, pg);
    return { data: pageRows.map((r) => orderJson(catalog.marketByPair(r.base, r.counter)!, r)), pagination: { total: rows.length, has_next: hasNext } };
  });

  get('/spot/finished-order', 'read', async (c) => {
    const m = c.p.optionalMarket(catalog, 'spot');
    c.p.marketType('spot');
    const side = c.p.side(false);
    const pg = page(c.p, 10, 1000);
    records(uid(c));
    await settle();
    const rows = rm.finishedOrders(uid(c)).filter((r) => {
      const rm2 = catalog.marketByPair(r.base, r.counter);
      return rm2 !== undefined && rm2.kind === 'spot' && (m === undefined || rm2 === m) && (side === undefined || r.side === side);
    });
    const { rows: pageRows, hasNext } = paginate(rows, pg);
    return { data: pageRows.map((r) => orderJson(catalog.marketByPair(r.base, r.counter)!, r)), pagination: { has_next: hasNext } };
  });

  const dealsQuery = async (c: Call, orderId?: number): Promise<Answer> => {
    const m = c.p.market(catalog, 'spot');
    c.p.marketType('spot');
    const side = c.p.side(false);
    const start = c.p.int('start_time', 0, Number.MAX_SAFE_INTEGER);
    const end = c.p.int('end_time', 0, Number.MAX_SAFE_INTEGER);
    const pg = page(c.p, 10, 1000);
    records(uid(c));
    await settle();
    const rows = rm
      .dealsOfUser(uid(c))
      .filter(
        (d) =>
          d.base === m.config.base &&
          d.counter === m.config.counter &&
          (orderId === undefined || d.orderId === orderId) &&
          (side === undefined || d.side === side) &&
          (start === undefined || d.time >= start) &&
          (end === undefined || d.time <= end),
      );
    const { rows: pageRows, hasNext } = paginate(rows, pg);
    return { data: pageRows.map((d) => render.userDeal(m, d, catalog)), pagination: { has_next: hasNext } };
  };
  get('/spot/user-deals', 'read', (c) => dealsQuery(c));
  get('/spot/order-deals', 'read', (c) => dealsQuery(c, c.p.requiredInt('order_id', 1, Number.MAX_SAFE_INTEGER)));

  // Stop (trigger) orders do not exist in the engine: none are pending or finished, none can be placed.
  for (const path of ['/spot/pending-stop-order', '/spot/finished-stop-order']) get(path, 'read', () => ({ data: [], pagination: { total: 0, has_next: false } }));
  for (const path of [
    '/spot/stop-order',
    '/spot/batch-stop-order',
    '/spot/modify-stop-order',
    '/spot/cancel-stop-order',
    '/spot/cancel-batch-stop-order',
    '/spot/cancel-stop-order-by-client-id',
    '/spot/batch-modify-order',
  ]) {
    post(path, 'trade', () => {
      throw new CoinexError(HttpCode.PARAMETER, 'Stop orders and batch modification are not available on this server');
    });
  }

  // ------------------------------------------------------------ futures account (read-only)

  get('/assets/futures/balance', 'read', async (c) => {
    await settle();
    const out: unknown[] = [];
    for (const b of ctx.engine.balances(uid(c))) {
      const a = catalog.asset(b.asset);
      if (a === undefined || !catalog.isFuturesAsset(b.asset) || b.available + b.reserved === 0) continue;
      out.push(render.futuresBalance(a, b));
    }
    return { data: out };
  });

  get('/futures/pending-position', 'read', async (c) => {
    const filter = c.p.optionalMarket(catalog, 'futures');
    c.p.marketType('futures');
    await settle();
    const out: unknown[] = [];
    for (const pos of ctx.engine.positions(uid(c))) {
      if (pos.position === 0) continue;
      const m = catalog.futuresMarketOfBase(pos.asset);
      if (m === undefined || (filter !== undefined && filter !== m)) continue;
      const amount = render.amountStr(m, Math.abs(pos.position));
      const t = Math.floor(pos.through / 1000);
      out.push({
        position_id: pos.asset,
        market: m.name,
        market_type: 'FUTURES',
        side: pos.position > 0 ? 'long' : 'short',
        margin_mode: 'cross',
        open_interest: amount,
        close_avbl: amount,
        ath_position_amount: amount,
        leverage: '1',
        unrealized_pnl: '0',
        realized_pnl: '0',
        created_at: t,
        updated_at: t,
      });
    }
    return { data: out, pagination: { has_next: false } };
  });

  for (const path of [
    '/futures/order-status',
    '/futures/batch-order-status',
    '/futures/pending-order',
    '/futures/finished-order',
    '/futures/pending-stop-order',
    '/futures/finished-stop-order',
    '/futures/user-deals',
    '/futures/order-deals',
    '/futures/finished-position',
    '/futures/position-margin-history',
    '/futures/position-funding-history',
    '/futures/position-adl-history',
    '/futures/position-settle-history',
    '/account/futures-market-settings',
  ]) {
    get(path, 'read', () => {
      throw futuresTradingUnavailable();
    });
  }
  for (const path of [
    '/futures/order',
    '/futures/stop-order',
    '/futures/batch-order',
    '/futures/batch-stop-order',
    '/futures/modify-order',
    '/futures/modify-stop-order',
    '/futures/batch-modify-order',
    '/futures/cancel-all-order',
    '/futures/cancel-order',
    '/futures/cancel-stop-order',
    '/futures/cancel-batch-order',
    '/futures/cancel-batch-stop-order',
    '/futures/cancel-order-by-client-id',
    '/futures/cancel-stop-order-by-client-id',
    '/futures/close-position',
    '/futures/adjust-position-margin',
    '/futures/adjust-position-leverage',
    '/futures/set-position-stop-loss',
    '/futures/set-position-take-profit',
    '/futures/modify-position-stop-loss',
    '/futures/modify-position-take-profit',
    '/futures/cancel-position-stop-loss',
    '/futures/cancel-position-take-profit',
    '/account/futures-market-settings',
  ]) {
    post(path, 'trade', () => {
      throw futuresTradingUnavailable();
    });
  }

  return mount(app, env, routes);
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('Content-Type', 'application/json').send(JSON.stringify(body));
}

async function mount(app: FastifyInstance, env: Env, routes: Route[]): Promise<void> {
  const { ctx } = env;
  const methodsByPath = new Map<string, Set<string>>();
  for (const r of routes) {
    let s = methodsByPath.get(r.path);
    if (s === undefined) methodsByPath.set(r.path, (s = new Set()));
    s.add(r.method);
  }

  const fail = (reply: FastifyReply, e: unknown, req: FastifyRequest): FastifyReply => {
    if (e instanceof CoinexError) return send(reply, e.status, errorEnvelope(e));
    req.log.error({ err: e, url: req.url.split('?')[0] }, 'coinex: request failed');
    return send(reply, 500, errorEnvelope(new CoinexError(HttpCode.INTERNAL, 'Internal error, please contact customer service for help.', 500)));
  };

  await app.register(
    async (scope) => {
      // The signature covers the body bytes as sent: keep them as text and parse JSON ourselves.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

      scope.setErrorHandler((err: FastifyError, req, reply) => {
        if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return fail(reply, new CoinexError(HttpCode.PARAMETER, 'Request body too large', 413), req);
        if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
          return fail(reply, new CoinexError(HttpCode.PARAMETER, `Parameter error: ${err.message}`, err.statusCode), req);
        }
        return fail(reply, err, req);
      });

      scope.setNotFoundHandler((req, reply) => {
        const path = req.url.split('?')[0]!.replace(/^\/v2/, '');
        const allowed = methodsByPath.get(path);
        if (allowed !== undefined) {
          reply.header('Allow', [...allowed].join(', '));
          return fail(reply, new CoinexError(HttpCode.METHOD, `Abnormal request method: use ${[...allowed].join(' or ')}`, 405), req);
        }
        return fail(reply, new CoinexError(HttpCode.METHOD, `Unknown endpoint ${JSON.stringify(path.slice(0, 80))}`, 404), req);
      });

      for (const r of routes) {
        scope.route({
          method: r.method,
          url: r.path,
          handler: async (req, reply) => {
            try {
              const body = typeof req.body === 'string' ? req.body : '';
              const nowMs = Date.now();
              let principal: Principal | undefined;
              if (r.auth === 'public') checkTimestamp(req.headers, nowMs, false);
              else principal = authenticateHttp(ctx, { method: req.method, url: req.url, body, headers: req.headers }, r.auth, nowMs);
              const p = r.method === 'GET' ? Params.fromQuery(req.query) : Params.fromBody(body);
              const answer = await r.handler({ p, principal });
              return send(reply, 200, okEnvelope(answer.data, answer.pagination));
            } catch (e) {
              return fail(reply, e, req);
            }
          },
        });
      }
    },
    { prefix: '/v2' },
  );
}
