// CoinFLEX REST API (coinflex-api/REST.md): integers with implicit scales, HTTP Basic
// authentication, JSON bodies as `application/json; charset=US-ASCII`.
//
// Statuses beyond the document's: 400 (plain-text explanation) for malformed parameters, 401 with
// WWW-Authenticate for missing or wrong credentials, 405 with Allow for a wrong method, 413 for a
// body over limits.maxMessageBytes, 415 for a body that is not form-encoded (or JSON), 429 for
// the LIMITS.md rates (orders 300 per 10 s, records 30 per minute, failed logins 1,000 per hour,
// all per user), 409 for an order the account state refuses (funds, open-order cap), 503 when
// the history store is not open or the server is shutting down. Engine failures carry the
// native message (WEBSOCKET-README.md tables) as the body.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Dialect } from '../../server/dialect.js';
import type { ServerContext } from '../../server/context.js';
import type { CommandResult, EngineEvent, Failure, OrderRecord, PlaceOrder, PlaceOrderOk } from '../../core/types.js';
import { ErrorMessage } from '../../core/types.js';
import { historyFor, MICROS_PER_DAY, type History } from '../../history/index.js';
import {
  asciiJson,
  badRequest,
  collectParams,
  failureError,
  HttpError,
  limitOrders,
  limitRecords,
  catalog,
  notFoundEmpty,
  optionalInteger,
  parseInteger,
  parseNumericPair,
  registerScope,
  requireUser,
  routes,
  sendJson,
  sendJsonText,
  slashVariants,
  submit,
  type Params,
} from '../http-common.js';
import {
  accountValues,
  futuresToSpot,
  renderAsset,
  renderBalance,
  renderMarket,
  renderOrder,
  renderPosition,
  renderTicker,
  renderTrade,
  type RestOrder,
} from './render.js';

/** REST.md: "the top 20 price levels on each side". */
export const DEPTH_LEVELS = 20;
/** Most trade records in one response (REST.md allows fewer than `limit`, never none when some exist). */
export const MAX_TRADES = 1000;

const ASSET_CODE_MAX = 0xffff;

type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

function isFailure(r: CommandResult): r is Failure {
  return !r.ok;
}

function pairParam(req: FastifyRequest): { base: number; counter: number } {
  const text = (req.params as { pair: string }).pair;
  const pair = parseNumericPair(text);
  if (pair === undefined) throw badRequest(`Expected <base>:<counter> with numeric asset codes, got ${JSON.stringify(text.slice(0, 40))}.`);
  return pair;
}

function idParam(req: FastifyRequest, name: string): number {
  return parseInteger((req.params as Record<string, string>)[name], name, 0);
}

function query(req: FastifyRequest): Params {
  return collectParams(req.query);
}

function history(ctx: ServerContext): History {
  const h = historyFor(ctx);
  if (h === undefined) throw new HttpError(503, 'Trade history is not available on this server.');
  h.flushForRead();
  return h;
}

/** The active-only asset filter: an asset is expired when every market it trades in is an expired futures market. */
function activeAssetCodes(ctx: ServerContext): Set<number> {
  const nowMs = Date.now();
  const live = new Set<number>();
  const seen = new Set<number>();
  for (const { config: m } of catalog(ctx).markets) {
    const alive = !(m.kind === 'futures' && m.expires !== undefined && m.expires <= nowMs);
    for (const a of [m.base, m.counter]) {
      seen.add(a);
      if (alive) live.add(a);
    }
  }
  for (const a of catalog(ctx).assets) if (!seen.has(a.code)) live.add(a.code);
  return live;
}

export function registerRest(scope: FastifyInstance, ctx: ServerContext, sessionId: number): void {
  const bodyLimit = ctx.limits.maxMessageBytes;
  const on = (url: string, handlers: Partial<Record<'GET' | 'POST' | 'DELETE', Handler>>) =>
    routes(scope, slashVariants(url), handlers, bodyLimit);

  // ------------------------------------------------------------ public market data

  on('/assets/', {
    GET: async (req, reply) => {
      const q = query(req);
      const flag = q.activeOnly;
      if (flag !== undefined && flag !== 'true' && flag !== 'false') throw badRequest('Parameter activeOnly must be true or false.');
      await ctx.whenDurable();
      const cat = catalog(ctx);
      const assets = cat.assets;
      const spotOf = futuresToSpot(assets, cat.markets.map((m) => m.config));
      const active = flag === 'false' ? undefined : activeAssetCodes(ctx);
      const out = assets.filter((a) => active === undefined || active.has(a.code)).map((a) => renderAsset(a, spotOf.get(a.code)));
      return sendJson(reply, 200, out);
    },
  });

  on('/markets/', {
    GET: async (_req, reply) => {
      await ctx.whenDurable();
      const out = catalog(ctx).markets.map((m) => renderMarket(m.config, m.name, m.spotName));
      return sendJson(reply, 200, out);
    },
  });

  // Every ticker is a function of the engine state, which only changes with a command: render
  // the whole list once per sequence number rather than once per request.
  let tickers: { seq: number; body: string } | undefined;
  on('/tickers/', {
    GET: async (_req, reply) => {
      await ctx.whenDurable();
      const seq = ctx.engine.lastSeq;
      if (tickers?.seq !== seq) {
        const cat = catalog(ctx);
        const out = ctx.engine.tickers().map((t) => {
          const m = cat.market(t.base, t.counter);
          const name = m?.name ?? `${t.base}:${t.counter}`;
          return renderTicker(t, name, m?.spotName ?? name);
        });
        tickers = { seq, body: asciiJson(out) };
      }
      return sendJsonText(reply, 200, tickers.body);
    },
  });

  on('/tickers/:pair', {
    GET: async (req, reply) => {
      const { base, counter } = pairParam(req);
      await ctx.whenDurable();
      const m = catalog(ctx).market(base, counter);
      const t = m === undefined ? undefined : ctx.engine.ticker(base, counter);
      if (m === undefined || t === undefined) throw notFoundEmpty();
      return sendJson(reply, 200, renderTicker(t, m.name, m.spotName));
    },
  });

  on('/depth/:pair', {
    GET: async (req, reply) => {
      const { base, counter } = pairParam(req);
      await ctx.whenDurable();
      const d = ctx.engine.depth(base, counter, DEPTH_LEVELS);
      if (d === undefined) throw notFoundEmpty();
      return sendJson(reply, 200, { bids: d.bids, asks: d.asks });
    },
  });

  // ------------------------------------------------------------ balances, positions, value

  on('/balances/', {
    GET: async (req, reply) => {
      const userId = requireUser(ctx, req);
      await ctx.whenDurable();
      return sendJson(reply, 200, ctx.engine.balances(userId).map(renderBalance));
    },
  });

  on('/balances/:id', {
    GET: async (req, reply) => {
      const userId = requireUser(ctx, req);
      const asset = idParam(req, 'id');
      await ctx.whenDurable();
      if (!catalog(ctx).assetByCode.has(asset)) throw notFoundEmpty();
      const b = ctx.engine.balances(userId).find((x) => x.asset === asset) ?? { asset, available: 0, reserved: 0 };
      return sendJson(reply, 200, renderBalance(b));
    },
  });

  on('/positions/', {
    GET: async (req, reply) => {
      const userId = requireUser(ctx, req);
      await ctx.whenDurable();
      return sendJson(reply, 200, ctx.engine.positions(userId).map(renderPosition));
    },
  });

  on('/account_value/', {
    GET: async (req, reply) => {
      const userId = requireUser(ctx, req);
      await ctx.whenDurable();
      const h = history(ctx);
      const today = Math.floor((Date.now() * 1000) / MICROS_PER_DAY);
      const start = h.store.balancesAtStartOfDay(userId, today);
      const cat = catalog(ctx);
      const spotOf = futuresToSpot(cat.assets, cat.markets.map((m) => m.config));
      return sendJson(reply, 200, accountValues(ctx.engine.balances(userId), start, spotOf));
    },
  });

  // ------------------------------------------------------------ orders

  on('/orders/', {
    GET: async (req, reply) => {
      const userId = requireUser(ctx, req);
      await ctx.whenDurable();
      return sendJson(reply, 200, ctx.engine.openOrders(userId).map(renderOrder));
    },
    POST: async (req, reply) => {
      const userId = requireUser(ctx, req);
      const p = collectParams(req.body);
      const cmd = parsePlaceOrder(p, userId, sessionId);
      // Checked here too, so an unknown market never reaches the journal.
      if (catalog(ctx).market(cmd.base, cmd.counter) === undefined) throw badRequest(ErrorMessage.INVALID_PAIR);
      limitOrders(ctx, `u:${userId}`);
      const applied = await submit(ctx, cmd);
      const r = applied.result as CommandResult & Partial<PlaceOrderOk>;
      if (isFailure(r)) throw failureError(r);
      if (cmd.price === undefined) return sendJson(reply, 200, { remaining: r.remaining ?? 0 });
      const id = r.id as number;
      const order = openedOrder(applied.events, id) ?? {
        id,
        base: cmd.base,
        counter: cmd.counter,
        quantity: cmd.quantity as number,
        price: cmd.price,
        time: r.time ?? applied.time,
      };
      reply.header('Location', String(id)).header('Content-Location', String(id));
      return sendJson(reply, 201, order);
    },
    DELETE: async (req, reply) => {
      const userId = requireUser(ctx, req);
      limitOrders(ctx, `u:${userId}`);
      const applied = await submit(ctx, { type: 'CancelAllOrders', userId });
      const r = applied.result as CommandResult & { orders?: OrderRecord[] };
      if (isFailure(r)) throw failureError(r);
      return sendJson(reply, 200, (r.orders ?? []).map(renderOrder));
    },
  });

  on('/orders/:id', {
    GET: async (req, reply) => {
      const userId = requireUser(ctx, req);
      const id = idParam(req, 'id');
      await ctx.whenDurable();
      const o = ctx.engine.openOrder(userId, id);
      if (o === undefined) throw notFoundEmpty();
      return sendJson(reply, 200, renderOrder(o));
    },
    DELETE: async (req, reply) => {
      const userId = requireUser(ctx, req);
      const id = idParam(req, 'id');
      limitOrders(ctx, `u:${userId}`);
      const applied = await submit(ctx, { type: 'CancelOrder', userId, id });
      const r = applied.result as CommandResult & { order?: OrderRecord };
      if (isFailure(r)) {
        if (r.message === ErrorMessage.ORDER_NOT_FOUND) throw notFoundEmpty();
        throw failureError(r);
      }
      return sendJson(reply, 200, renderOrder(r.order as OrderRecord));
    },
  });

  // ------------------------------------------------------------ trade records

  on('/trades/', {
    GET: async (req, reply) => {
      const userId = requireUser(ctx, req);
      const q = query(req);
      const since = optionalInteger(q.since, 'since', 0);
      const until = optionalInteger(q.until, 'until', 0);
      const sortText = q.sort;
      if (sortText !== undefined && sortText !== 'asc' && sortText !== 'desc') throw badRequest('Parameter sort must be asc or desc.');
      const sort = sortText ?? (since !== undefined ? 'asc' : 'desc');
      const limit = Math.min(MAX_TRADES, optionalInteger(q.limit, 'limit', 1) ?? MAX_TRADES);
      limitRecords(ctx, userId);
      await ctx.whenDurable();
      const trades = history(ctx).store.userTrades(userId, { since, until, sort, limit });
      return sendJson(reply, 200, trades.map(renderTrade));
    },
  });

  on('/trades/:time', {
    GET: async (req, reply) => {
      const userId = requireUser(ctx, req);
      const time = idParam(req, 'time');
      limitRecords(ctx, userId);
      await ctx.whenDurable();
      const t = history(ctx).store.userTradeAt(userId, time);
      if (t === undefined) throw notFoundEmpty();
      return sendJson(reply, 200, renderTrade(t));
    },
  });
}

/**
 * The order as the engine opened it (price rounded to the tick), from the command's events. An
 * order filled or killed at once never opens; the caller then reports it as requested.
 */
function openedOrder(events: readonly EngineEvent[], id: number): RestOrder | undefined {
  for (const ev of events) if (ev.type === 'OrderOpened' && ev.id === id) return renderOrder(ev);
  return undefined;
}

/**
 * POST /orders/ parameters (REST.md's table): quantity+price → limit order; quantity alone or
 * total alone → market order. Integers only; the engine judges zero values with its own messages.
 */
export function parsePlaceOrder(p: Params, userId: number, sessionId: number): Omit<PlaceOrder, 'seq' | 'time'> {
  const base = parseInteger(p.base, 'base', 0, ASSET_CODE_MAX);
  const counter = parseInteger(p.counter, 'counter', 0, ASSET_CODE_MAX);
  const price = optionalInteger(p.price, 'price', 0);
  const quantity = optionalInteger(p.quantity, 'quantity');
  const total = optionalInteger(p.total, 'total');
  if (quantity !== undefined && total !== undefined) throw badRequest('Parameter total is forbidden when quantity is supplied.');
  if (price !== undefined && total !== undefined) throw badRequest('Parameter total is forbidden when price is supplied; give quantity.');
  if (price !== undefined && quantity === undefined) throw badRequest('Parameter quantity is required when price is supplied.');
  if (quantity === undefined && total === undefined) throw new HttpError(400, ErrorMessage.QUANTITY_OR_TOTAL);
  const cmd: Omit<PlaceOrder, 'seq' | 'time'> = { type: 'PlaceOrder', userId, sessionId, tonce: null, base, counter, persist: true };
  if (quantity !== undefined) cmd.quantity = quantity;
  if (total !== undefined) cmd.total = total;
  if (price !== undefined) cmd.price = price;
  return cmd;
}

export function createDialect(): Dialect {
  return {
    name: 'rest',
    register(app: FastifyInstance, ctx: ServerContext) {
      // REST orders are persistent: the session only identifies the origin.
      const sessionId = ctx.newSessionId();
      registerScope(
        app,
        (reply, err) => {
          reply.code(err.status).header('Content-Type', 'text/plain; charset=US-ASCII').send(err.message.replace(/[^\x20-\x7e]/g, '?'));
        },
        (scope) => registerRest(scope, ctx, sessionId),
      );
      return [];
    },
  };
}
