// CoinEx spot order operations onto engine commands (docs/coinex.md, "Orders").
//
//  type        engine PlaceOrder
//  limit       quantity ±amount, price, persist true (good till cancelled)
//  maker_only  the same with postOnly: true (engine refuses it if it would match: 3622)
//  ioc         persist 'fill_or_kill' (what matches at once trades, the rest is cancelled)
//  fok         liquidity check, then as ioc; refused with 3621 unless the book can fill it all
//  market      buy: total = amount (quote spent); sell: quantity = -amount (base sold)
//
// FOK is all-or-nothing because the check and the placement are one synchronous step: the
// sequencer applies a command to the engine inside submit() (src/server/sequencer.ts), so no
// other command can run between the depth check and the match. One engine rule can still leave
// a sliver unfilled: a bid whose owner cannot pay the taker fee from the available balance pays
// it from the order's reservation and buys slightly less (IMPL-GUIDE.md, "How Fees Affect Trade
// Quantities"); such an order ends cancelled with its fills, as an ioc would.
import type { Applied, ServerContext } from '../../server/context.js';
import type { PlaceOrder, UnstampedCommand } from '../../core/types.js';
import { httpShared } from '../http-common.js';
import { CoinexError, HttpCode, fromEngineFailure, orderNotFound, paramError } from './errors.js';
import type { Catalog, CxMarket } from './names.js';
import { MARKET_ORDER_ID_BASE, openOrderRec, type OrderRec, type OrderType, type ReadModel, type Side } from './readmodel.js';
import type { Params } from './params.js';
import { formatScaled } from './decimal.js';

export interface Env {
  ctx: ServerContext;
  catalog: Catalog;
  rm: ReadModel;
}

const ORDER_TYPES: readonly OrderType[] = ['limit', 'market', 'maker_only', 'ioc', 'fok'];
const CLIENT_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface OrderRequest {
  m: CxMarket;
  side: Side;
  type: OrderType;
  /** Base units; quote units for a market buy. */
  amount: number;
  price?: number;
  clientId: string;
}

export function parsePrice(p: Params, m: CxMarket, name = 'price'): number {
  const price = p.positiveDecimal(name, m.priceDecimals);
  if (price % m.config.tick !== 0) {
    throw paramError(`invalid ${name}: must be a multiple of the tick size ${formatScaled(m.config.tick, m.priceDecimals)}`);
  }
  return price;
}

export function parseOrderRequest(p: Params, m: CxMarket): OrderRequest {
  p.marketType('spot');
  const side = p.side(true)!;
  const t = p.requiredStr('type');
  if (!(ORDER_TYPES as readonly string[]).includes(t)) throw paramError(`invalid type: one of ${ORDER_TYPES.join(', ')}`);
  const type = t as OrderType;
  const clientId = p.str('client_id') ?? '';
  if (clientId !== '' && !CLIENT_ID.test(clientId)) throw paramError('invalid client_id: 1 to 32 letters, digits, "-" or "_"');
  if (p.has('stp_mode')) throw paramError('invalid stp_mode: self-trade prevention is not available');
  if (p.has('trigger_price')) throw paramError('invalid trigger_price: use the stop-order endpoints (not available)');
  if (type === 'market') {
    const decimals = side === 'buy' ? m.counter.decimals : m.base.decimals;
    return { m, side, type, amount: p.positiveDecimal('amount', decimals), clientId };
  }
  return { m, side, type, amount: p.positiveDecimal('amount', m.base.decimals), price: parsePrice(p, m), clientId };
}

/** Counts one order operation against the user's REST order budget (shared with REST and BIST). */
export function limitOrderRate(ctx: ServerContext, userId: number): void {
  if (!httpShared(ctx).orders.allow(`u:${userId}`, Date.now())) {
    throw new CoinexError(HttpCode.RATE_LIMIT, 'The request is too frequent, please try again later.');
  }
}

async function submit(env: Env, cmd: UnstampedCommand): Promise<Applied> {
  try {
    return await env.ctx.submit(cmd);
  } catch (err) {
    env.ctx.log.warn({ err }, 'coinex: command submission failed');
    throw new CoinexError(HttpCode.SERVICE_UNAVAILABLE, 'Service unavailable, please try again later.', 503);
  }
}

/** Whether the book can fill `amount` of a limit order at `price` right now. */
function fillable(env: Env, m: CxMarket, isBid: boolean, price: number, amount: number): boolean {
  for (let levels = 64; ; levels *= 4) {
    const d = env.ctx.engine.depth(m.config.base, m.config.counter, levels);
    if (d === undefined) return false;
    const side = isBid ? d.asks : d.bids;
    let sum = 0;
    for (const [p, q] of side) {
      if (isBid ? p > price : p < price) return false;
      sum += q;
      if (sum >= amount) return true;
    }
    if (side.length < levels) return false;
  }
}

/** Places one order; returns its record (with fills made at placement). */
export async function placeOrder(env: Env, userId: number, req: OrderRequest): Promise<OrderRec> {
  const { ctx, rm } = env;
  const { m, side, type, amount } = req;
  const isBid = side === 'buy';
  const cmd: Omit<PlaceOrder, 'seq' | 'time'> = {
    type: 'PlaceOrder',
    userId,
    sessionId: 0,
    base: m.config.base,
    counter: m.config.counter,
  };
  if (type === 'market') {
    const d = ctx.engine.depth(m.config.base, m.config.counter, 1);
    if (d === undefined || (isBid ? d.asks : d.bids).length === 0) {
      throw new CoinexError(HttpCode.INSUFFICIENT_DEPTH, 'Market order submission is temporarily unavailable due to insufficient depth in the current market');
    }
    const asset = isBid ? m.config.counter : m.config.base;
    const bal = ctx.engine.balances(userId).find((b) => b.asset === asset);
    if (bal === undefined || bal.available < amount) throw new CoinexError(HttpCode.BALANCE_NOT_ENOUGH, 'balance not enough');
    if (isBid) cmd.total = amount;
    else cmd.quantity = -amount;
  } else {
    cmd.quantity = isBid ? amount : -amount;
    cmd.price = req.price!;
    cmd.persist = type === 'ioc' || type === 'fok' ? 'fill_or_kill' : true;
    if (type === 'maker_only') cmd.postOnly = true;
    if (type === 'fok' && !fillable(env, m, isBid, req.price!, amount)) {
      throw new CoinexError(HttpCode.FOK_NOT_FILLED, "This order can't be completely executed and has been canceled.");
    }
  }
  // The client id and a fok's type travel in the journaled command (readmodel.ts), so a restart
  // reports them again.
  if (req.clientId !== '') cmd.clientOrderId = req.clientId;
  if (type === 'fok') cmd.dialectOrderType = 'fok';
  cmd.sessionId = ctx.newSessionId();
  const applied = await submit(env, cmd as UnstampedCommand);
  if (!applied.result.ok) throw fromEngineFailure(applied.result);
  const r = applied.result as { id?: number };
  const id = type === 'market' ? MARKET_ORDER_ID_BASE + applied.seq : r.id!;
  const rec = rm.order(id);
  if (rec === undefined) throw new CoinexError(HttpCode.INTERNAL, 'Internal error: the order was placed but is not known');
  return rec;
}

/**
 * The user's order `id` in market `m`: from the read model, or adopted from the engine if it was
 * open before the oldest point the journal replay reaches (readmodel.ts). Undefined if it is not theirs, not in `m`, or unknown.
 */
export function findOrder(env: Env, userId: number, m: CxMarket, id: number): OrderRec | undefined {
  let rec = env.rm.order(id);
  if (rec === undefined) {
    const o = env.ctx.engine.openOrder(userId, id);
    if (o === undefined) return undefined;
    rec = env.rm.adopt(openOrderRec(o.id, userId, o.base, o.counter, o.quantity >= 0 ? 'buy' : 'sell', Math.abs(o.quantity), o.price, Math.floor(o.time / 1000)));
  }
  if (rec.userId !== userId || rec.base !== m.config.base || rec.counter !== m.config.counter) return undefined;
  return rec;
}

/** The user's open orders (engine truth), as read-model records, newest first. */
export function openOrders(env: Env, userId: number, m?: CxMarket): OrderRec[] {
  const out: OrderRec[] = [];
  for (const o of env.ctx.engine.openOrders(userId)) {
    if (m !== undefined && (o.base !== m.config.base || o.counter !== m.config.counter)) continue;
    const cm = env.catalog.marketByPair(o.base, o.counter);
    if (cm === undefined || cm.kind !== 'spot') continue;
    const rec = findOrder(env, userId, cm, o.id);
    if (rec !== undefined) out.push(rec);
  }
  return out.sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
}

export async function cancelOrder(env: Env, userId: number, m: CxMarket, id: number): Promise<OrderRec> {
  const rec = findOrder(env, userId, m, id);
  if (rec === undefined || rec.finished) throw orderNotFound();
  const applied = await submit(env, { type: 'CancelOrder', userId, id });
  if (!applied.result.ok) throw fromEngineFailure(applied.result);
  return env.rm.order(id) ?? rec;
}

/**
 * Modify: `amount` is the order's new total amount (filled part included), `price` its new price.
 * The engine takes a delta of the remaining quantity: new remaining − current remaining.
 */
export async function modifyOrder(env: Env, userId: number, m: CxMarket, id: number, amount: number | undefined, price: number | undefined): Promise<OrderRec> {
  const rec = findOrder(env, userId, m, id);
  if (rec === undefined || rec.finished) throw orderNotFound();
  if (rec.type === 'market') throw paramError('a market order cannot be modified');
  let delta: number | undefined;
  if (amount !== undefined) {
    if (amount <= rec.filledAmount) {
      throw paramError(`invalid amount: must exceed the filled amount ${formatScaled(rec.filledAmount, m.base.decimals)}`);
    }
    const d = amount - rec.filledAmount - rec.unfilled;
    if (d !== 0) delta = d;
  }
  const newPrice = price !== undefined && price !== rec.price ? price : undefined;
  if (delta === undefined && newPrice === undefined) {
    if (amount === undefined && price === undefined) throw paramError('amount or price is required');
    return rec; // nothing changes
  }
  const cmd: UnstampedCommand = { type: 'ModifyOrder', userId, id };
  if (delta !== undefined) cmd.quantityDelta = rec.side === 'buy' ? delta : -delta;
  if (newPrice !== undefined) cmd.price = newPrice;
  if (rec.type === 'maker_only') cmd.postOnly = true;
  const applied = await submit(env, cmd);
  if (!applied.result.ok) throw fromEngineFailure(applied.result);
  return env.rm.order(id) ?? rec;
}
