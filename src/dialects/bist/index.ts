// BIST, Coinfloor's Bitstamp v1 emulation, one endpoint per market:
//   version 1: /bist/<BASE>/<COUNTER>/<function>/      (coinfloor-api/BIST.md)
//   version 2: /v2/bist/<BASE>/<COUNTER>/<function>/   (coinfloor-api/BIST_v2.md)
// <BASE>/<COUNTER> are asset names ("XBT/GBP", any case). The versions differ as documented:
// v2's ticker has no vwap, v2's transactions/ is removed (410 Gone with the document's text), and
// v2 lists the market-order estimates among the public functions (credentials optional), v1
// among the private ones. Both use the engine's scales for decimals (SCALE.md's "API V1" 4-place
// XBT belongs to the old native API; a 4-place client still parses 8 places).
//
// Amounts and prices are decimal strings converted exactly; more places than the scale allows
// is a 400, never rounded. Errors are JSON {"error": "<message>"} with an HTTP status (400 bad
// parameters, 401 + WWW-Authenticate credentials, 404 unknown market, 405 wrong method, 409
// refused by account state, 413 body too large, 429 rate limits); cancel_order/ answers `true`
// (text/plain) or `false` as documented.
//
// Private functions are POST as documented; the read-only ones (balance, user_transactions,
// open_orders, estimates) also answer GET, as the document's curl example for balance/ implies.
// bitcoin_withdrawal/ follows BIST-Migration.md (address on file only, 204). Orders placed with
// `ttl` are non-persistent orders of this dialect's TTL session and are
// cancelled by a timer; a server restart cancels them early, which BIST.md allows.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Dialect } from '../../server/dialect.js';
import type { ServerContext } from '../../server/context.js';
import type { CommandResult, EngineEvent, Failure, PlaceOrder, PlaceOrderOk } from '../../core/types.js';
import { ErrorMessage } from '../../core/types.js';
import { historyFor, type History } from '../../history/index.js';
import {
  catalog,
  asciiJson,
  badRequest,
  collectParams,
  failureError,
  formatDecimal,
  HttpError,
  limitOrders,
  limitRecords,
  optionalInteger,
  optionalUser,
  parseDecimal,
  parseInteger,
  registerScope,
  requireUser,
  routes,
  sendJson,
  slashVariants,
  submit,
  type Params,
} from '../http-common.js';
import {
  renderBalance,
  renderBook,
  renderOrder,
  renderTicker,
  renderTransaction,
  renderUserTransaction,
  type BistMarket,
} from './format.js';

/** Price levels per side in order_book/ (the native snapshot's 1,000). */
export const BOOK_LEVELS = 1000;
/** Most rows of transactions/. */
export const MAX_TRANSACTIONS = 5000;
/** ttl upper bound: 24 hours. */
export const MAX_TTL_SECONDS = 86_400;

const V2_TRANSACTIONS_REMOVED =
  'This resource has been removed. Please refer to http://bitcoincharts.com/about/markets-api/ for an alternative.';

type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
type Version = 1 | 2;

function isFailure(r: CommandResult): r is Failure {
  return !r.ok;
}

function params(req: FastifyRequest): Params {
  return collectParams(req.query, req.body);
}

export interface BistOptions {
  /** Which versions to serve. Default both. */
  versions?: Version[];
}

class Bist {
  private readonly ttlTimers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly ctx: ServerContext,
    /** Session of persistent orders. */
    private readonly sessionId: number,
    /** Session of ttl orders: non-persistent, so a restart cancels them. */
    private readonly ttlSessionId: number,
  ) {}

  market(req: FastifyRequest): BistMarket {
    const p = req.params as { base: string; counter: string };
    const cat = catalog(this.ctx);
    const b = cat.assetByName(p.base);
    const c = cat.assetByName(p.counter);
    const m = b === undefined || c === undefined ? undefined : cat.market(b.code, c.code);
    if (m === undefined) throw new HttpError(404, ErrorMessage.INVALID_PAIR);
    return {
      base: m.base.code,
      counter: m.counter.code,
      baseName: m.base.name.toLowerCase(),
      counterName: m.counter.name.toLowerCase(),
      baseScale: m.base.scale,
      counterScale: m.counter.scale,
      priceScale: m.config.priceScale,
    };
  }

  history(): History {
    const h = historyFor(this.ctx);
    if (h === undefined) throw new HttpError(503, 'Trade history is not available on this server.');
    h.flushForRead();
    return h;
  }

  register(scope: FastifyInstance, version: Version): void {
    const ctx = this.ctx;
    const prefix = version === 1 ? '/bist/:base/:counter/' : '/v2/bist/:base/:counter/';
    const on = (fn: string, handlers: Partial<Record<'GET' | 'POST', Handler>>) =>
      routes(scope, slashVariants(`${prefix}${fn}/`), handlers, ctx.limits.maxMessageBytes);
    const both = (h: Handler) => ({ GET: h, POST: h });

    // ---------------------------------------------------------- public

    on('ticker', {
      GET: async (req, reply) => {
        const m = this.market(req);
        await ctx.whenDurable();
        const t = ctx.engine.ticker(m.base, m.counter);
        if (t === undefined) throw new HttpError(404, ErrorMessage.INVALID_PAIR);
        return sendJson(reply, 200, renderTicker(m, t, version === 1));
      },
    });

    on('order_book', {
      GET: async (req, reply) => {
        const m = this.market(req);
        await ctx.whenDurable();
        const d = ctx.engine.depth(m.base, m.counter, BOOK_LEVELS);
        if (d === undefined) throw new HttpError(404, ErrorMessage.INVALID_PAIR);
        return sendJson(reply, 200, renderBook(m, d));
      },
    });

    on('transactions', {
      GET: async (req, reply) => {
        const m = this.market(req);
        if (version === 2) throw new HttpError(410, V2_TRANSACTIONS_REMOVED);
        const time = params(req).time ?? 'hour';
        if (time !== 'minute' && time !== 'hour') throw badRequest('Parameter time must be minute or hour.');
        await ctx.whenDurable();
        const since = Date.now() * 1000 - (time === 'minute' ? 60 : 3600) * 1_000_000;
        const trades = this.history().store.marketTrades(m.base, m.counter, since, MAX_TRANSACTIONS);
        return sendJson(reply, 200, trades.map((t) => renderTransaction(m, t)));
      },
    });

    // ---------------------------------------------------------- estimates (v1 private, v2 public)

    const estimate = (side: 1 | -1): Handler => async (req, reply) => {
      const m = this.market(req);
      const userId = version === 1 ? requireUser(ctx, req) : optionalUser(ctx, req);
      const { quantity, total } = this.marketAmounts(m, params(req), side);
      limitOrders(ctx, userId === undefined ? `ip:${req.ip}` : `u:${userId}`);
      await ctx.whenDurable();
      const r = ctx.engine.estimateMarketOrder(m.base, m.counter, quantity, total);
      if (!r.ok) throw failureError(r);
      return sendJson(reply, 200, { quantity: formatDecimal(r.quantity, m.baseScale), total: formatDecimal(r.total, m.counterScale) });
    };
    on('estimate_buy_market', both(estimate(1)));
    on('estimate_sell_market', both(estimate(-1)));

    // ---------------------------------------------------------- private

    on(
      'balance',
      both(async (req, reply) => {
        const m = this.market(req);
        const userId = requireUser(ctx, req);
        await ctx.whenDurable();
        return sendJson(reply, 200, renderBalance(m, ctx.engine.balances(userId)));
      }),
    );

    on(
      'user_transactions',
      both(async (req, reply) => {
        const m = this.market(req);
        const userId = requireUser(ctx, req);
        const p = params(req);
        const offset = optionalInteger(p.offset, 'offset', 0) ?? 0;
        const limit = optionalInteger(p.limit, 'limit', 1, 1000) ?? 100;
        const sort = p.sort ?? 'desc';
        if (sort !== 'asc' && sort !== 'desc') throw badRequest('Parameter sort must be asc or desc.');
        limitRecords(ctx, userId);
        await ctx.whenDurable();
        const rows = this.history().store.userTransactions(userId, m.base, m.counter, { offset, limit, sort });
        return sendJson(reply, 200, rows.map((t) => renderUserTransaction(m, t)));
      }),
    );

    on(
      'open_orders',
      both(async (req, reply) => {
        const m = this.market(req);
        const userId = requireUser(ctx, req);
        await ctx.whenDurable();
        const orders = ctx.engine.openOrders(userId).filter((o) => o.base === m.base && o.counter === m.counter);
        return sendJson(reply, 200, orders.map((o) => renderOrder(m, o)));
      }),
    );

    on('cancel_order', {
      POST: async (req, reply) => {
        const m = this.market(req);
        const userId = requireUser(ctx, req);
        const id = parseInteger(params(req).id, 'id', 0);
        limitOrders(ctx, `u:${userId}`);
        await ctx.whenDurable();
        const o = ctx.engine.openOrder(userId, id);
        if (o === undefined || o.base !== m.base || o.counter !== m.counter) return sendJson(reply, 200, false);
        const applied = await submit(ctx, { type: 'CancelOrder', userId, id });
        if (isFailure(applied.result)) {
          if (applied.result.message === ErrorMessage.ORDER_NOT_FOUND) return sendJson(reply, 200, false);
          throw failureError(applied.result);
        }
        return reply.code(200).header('Content-Type', 'text/plain; charset=US-ASCII').send('true');
      },
    });

    // BIST-Migration.md "Bitcoin Withdrawal": the endpoint's base asset, only to the address on
    // file (registered by an operator); an `address` parameter is refused; 204 No Content.
    on('bitcoin_withdrawal', {
      POST: async (req, reply) => {
        const m = this.market(req);
        const userId = requireUser(ctx, req);
        const p = params(req);
        if (p.address !== undefined) throw badRequest('The address parameter is not supported: withdrawals go to the address on file.');
        const amount = parseDecimal(p.amount, m.baseScale, 'amount');
        limitOrders(ctx, `u:${userId}`);
        await ctx.whenDurable();
        const onFile = ctx.engine.withdrawalAddresses(userId).find((a) => a.asset === m.base);
        if (onFile === undefined) throw new HttpError(409, `There is no ${m.baseName.toUpperCase()} withdrawal address on file for this user.`);
        const applied = await submit(ctx, { type: 'Withdraw', userId, asset: m.base, amount, address: onFile.address });
        if (isFailure(applied.result)) throw failureError(applied.result);
        return reply.code(204).send();
      },
    });

    on('buy', { POST: (req, reply) => this.limitOrder(req, reply, 1) });
    on('sell', { POST: (req, reply) => this.limitOrder(req, reply, -1) });
    on('buy_market', { POST: (req, reply) => this.marketOrder(req, reply, 1) });
    on('sell_market', { POST: (req, reply) => this.marketOrder(req, reply, -1) });
  }

  /** Exactly one of quantity (base) and total (counter), signed by side. */
  private marketAmounts(m: BistMarket, p: Params, side: 1 | -1): { quantity?: number; total?: number } {
    const hasQ = p.quantity !== undefined && p.quantity !== '';
    const hasT = p.total !== undefined && p.total !== '';
    if (hasQ && hasT) throw badRequest('Give either quantity or total, not both.');
    if (!hasQ && !hasT) throw new HttpError(400, ErrorMessage.QUANTITY_OR_TOTAL);
    return hasQ ? { quantity: side * parseDecimal(p.quantity, m.baseScale, 'quantity') } : { total: side * parseDecimal(p.total, m.counterScale, 'total') };
  }

  private async limitOrder(req: FastifyRequest, reply: FastifyReply, side: 1 | -1): Promise<unknown> {
    const ctx = this.ctx;
    const m = this.market(req);
    const userId = requireUser(ctx, req);
    const p = params(req);
    const amount = parseDecimal(p.amount, m.baseScale, 'amount');
    const price = parseDecimal(p.price, m.priceScale, 'price');
    const nonce = optionalInteger(p.nonce, 'nonce', 1);
    const ttl = optionalInteger(p.ttl, 'ttl', 1, MAX_TTL_SECONDS);
    limitOrders(ctx, `u:${userId}`);
    const cmd: Omit<PlaceOrder, 'seq' | 'time'> = {
      type: 'PlaceOrder',
      userId,
      sessionId: ttl === undefined ? this.sessionId : this.ttlSessionId,
      tonce: nonce ?? null,
      base: m.base,
      counter: m.counter,
      quantity: side * amount,
      price,
      persist: ttl === undefined,
    };
    const applied = await submit(ctx, cmd);
    const r = applied.result as CommandResult & Partial<PlaceOrderOk>;
    if (isFailure(r)) throw failureError(r);
    const id = r.id as number;
    const opened = applied.events.find((e): e is Extract<EngineEvent, { type: 'OrderOpened' }> => e.type === 'OrderOpened' && e.id === id);
    if (ttl !== undefined && opened !== undefined) this.expireLater(userId, id, ttl);
    const order = opened ?? { id, quantity: side * amount, price, time: r.time ?? applied.time };
    return sendJson(reply, 200, renderOrder(m, order));
  }

  private async marketOrder(req: FastifyRequest, reply: FastifyReply, side: 1 | -1): Promise<unknown> {
    const ctx = this.ctx;
    const m = this.market(req);
    const userId = requireUser(ctx, req);
    const amounts = this.marketAmounts(m, params(req), side);
    limitOrders(ctx, `u:${userId}`);
    const applied = await submit(ctx, {
      type: 'PlaceOrder',
      userId,
      sessionId: this.sessionId,
      tonce: null,
      base: m.base,
      counter: m.counter,
      ...amounts,
      persist: true,
    });
    const r = applied.result as CommandResult & Partial<PlaceOrderOk>;
    if (isFailure(r)) throw failureError(r);
    const scale = amounts.quantity !== undefined ? m.baseScale : m.counterScale;
    return sendJson(reply, 200, { remaining: formatDecimal(Math.abs(r.remaining ?? 0), scale) });
  }

  private expireLater(userId: number, id: number, ttlSeconds: number): void {
    const timer = setTimeout(() => {
      this.ttlTimers.delete(timer);
      if (this.closed) return;
      this.ctx.submit({ type: 'CancelOrder', userId, id }).catch((err: unknown) => {
        this.ctx.log.warn({ err, userId, id }, 'BIST ttl cancellation failed');
      });
    }, ttlSeconds * 1000);
    timer.unref();
    this.ttlTimers.add(timer);
  }

  /** Number of ttl cancellations still pending. */
  get pendingTtls(): number {
    return this.ttlTimers.size;
  }

  close(): void {
    this.closed = true;
    for (const t of this.ttlTimers) clearTimeout(t);
    this.ttlTimers.clear();
  }
}

export function createDialect(options: BistOptions = {}): Dialect {
  const versions = options.versions ?? [1, 2];
  let bist: Bist | undefined;
  return {
    name: 'bist',
    register(app: FastifyInstance, ctx: ServerContext) {
      const b = new Bist(ctx, ctx.newSessionId(), ctx.newSessionId());
      bist = b;
      registerScope(
        app,
        (reply, err) => {
          reply.code(err.status).header('Content-Type', 'application/json; charset=US-ASCII').send(asciiJson({ error: err.message }));
        },
        (scope) => {
          scope.addHook('preClose', (done) => {
            b.close();
            done();
          });
          for (const v of versions) b.register(scope, v);
        },
      );
      return [];
    },
    close() {
      bist?.close();
    },
  };
}
