// Demo mode: a funded demo user whose credentials are printed and written to
// <dataDir>/demo-credentials.json, and a small market maker that keeps a few price levels on
// each demo market and trades now and then, so a newcomer sees a live book. Everything goes
// through ctx.submit: the demo is ordinary journaled commands, nothing more.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AssetConfig, MarketConfig, UnstampedCommand } from '../core/types.js';
import { AdminOps, type ApiKeyCreated, type OpsTarget } from './admin.js';
import { marketName, type DemoConfig } from './config.js';
import type { ServerContext } from './context.js';
import { seededUniform } from '../core/prng.js';

export const DEMO_CREDENTIALS_FILE = 'demo-credentials.json';
export const DEMO_MARKET_MAKER_FILE = 'demo-market-maker.json';

export interface DemoCredentials {
  userId: number;
  cookie: string;
  passphrase: string;
  /** CoinEx v2 API key (HMAC-SHA256). */
  apiKey: Pick<ApiKeyCreated, 'accessId' | 'secretKey' | 'permissions'>;
  /** What was deposited, in whole units per asset name. */
  funded: Record<string, string>;
  /** Markets the demo market maker quotes. */
  markets: string[];
  /** Where the file was written. */
  file: string;
}

/** Whole units deposited to the demo user, by asset name; other assets of demo markets get DEFAULT_FUNDING. */
const FUNDING: Record<string, string> = {
  XBT: '10',
  BCH: '100',
  ETH: '100',
  USDT: '1000000',
  USDC: '1000000',
  FLEX: '100000',
  EUR: '1000000',
  GBP: '1000000',
};
const DEFAULT_FUNDING = '10000';

/** Indicative mid prices in counter units per base unit, by "BASE:COUNTER" (fallback by base). */
const MIDS: Record<string, number> = {
  'XBT:USDT': 60000,
  'XBT:EUR': 55000,
  'XBT:GBP': 47000,
  'BCH:USDT': 400,
  'ETH:USDT': 3000,
  'USDC:USDT': 1,
  'FLEX:USDT': 2,
};

/** The markets the demo uses: every spot market of the engine. */
export function demoMarkets(ctx: { engine: ServerContext['engine'] }): MarketConfig[] {
  return ctx.engine.markets().filter((m) => m.kind === 'spot');
}

function demoAssets(ctx: { engine: ServerContext['engine'] }): AssetConfig[] {
  const codes = new Set<number>();
  for (const m of demoMarkets(ctx)) {
    codes.add(m.base);
    codes.add(m.counter);
  }
  return ctx.engine.assets().filter((a) => codes.has(a.code));
}

function writePrivate(file: string, data: unknown): void {
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Ensures the demo user exists: on a data directory without demo credentials it creates the
 * user, funds it and creates a CoinEx API key; otherwise it returns the stored credentials.
 */
export async function ensureDemo(ctx: OpsTarget, dataDir: string, log: Logger): Promise<DemoCredentials> {
  const file = join(dataDir, DEMO_CREDENTIALS_FILE);
  const existing = readJson<DemoCredentials>(file);
  if (existing && typeof existing.userId === 'number' && ctx.engine.user(existing.userId)?.cookie === existing.cookie) {
    log.info({ userId: existing.userId, file }, 'demo user present');
    return { ...existing, file };
  }
  const ops = new AdminOps(ctx);
  const user = await ops.createUser();
  const funded: Record<string, string> = {};
  for (const a of demoAssets(ctx)) {
    const amount = FUNDING[a.name] ?? DEFAULT_FUNDING;
    await ops.deposit(user.userId, a.code, amount);
    funded[a.name] = amount;
  }
  const key = await ops.createApiKey(user.userId, ['read', 'trade']);
  const creds: DemoCredentials = {
    userId: user.userId,
    cookie: user.cookie,
    passphrase: user.passphrase,
    apiKey: { accessId: key.accessId, secretKey: key.secretKey, permissions: key.permissions },
    funded,
    markets: demoMarkets(ctx).map((m) => marketName(ctx.engine.assets(), m)),
    file,
  };
  writePrivate(file, creds);
  log.info({ userId: user.userId, file }, 'demo user created; credentials written');
  return creds;
}

// ---------------------------------------------------------------- market maker


interface MakerState {
  market: MarketConfig;
  name: string;
  /** Mid price in scaled price units, a multiple of the tick. */
  mid: number;
  /** Quote size in base units. */
  size: number;
  step: number;
}

interface MakerFile {
  makerId: number;
  takerId: number;
}

function snap(price: number, tick: number): number {
  return Math.max(tick, Math.round(price / tick) * tick);
}

/**
 * Starts the demo market maker. A maker user quotes `levels` bids and asks around a drifting mid
 * on each spot market (one market refreshed per interval), and a taker user sends a small market
 * order now and then so trades print. Returns the stop function (cancels the maker's orders by
 * disconnecting its session).
 */
export async function startMarketMaker(ctx: ServerContext, dataDir: string, cfg: DemoConfig, log: Logger): Promise<() => Promise<void>> {
  const mlog = log.child({ component: 'demo-market-maker' });
  const ops = new AdminOps(ctx);
  const file = join(dataDir, DEMO_MARKET_MAKER_FILE);
  let ids = readJson<MakerFile>(file);
  if (!ids || !ctx.engine.user(ids.makerId) || !ctx.engine.user(ids.takerId)) {
    const maker = await ops.createUser();
    const taker = await ops.createUser();
    ids = { makerId: maker.userId, takerId: taker.userId };
    writePrivate(file, ids);
    mlog.info(ids, 'demo market maker users created');
  }
  const { makerId, takerId } = ids;
  const rand = seededUniform(cfg.seed);
  const assets = ctx.engine.assets();
  const states: MakerState[] = [];
  for (const market of demoMarkets(ctx)) {
    const name = marketName(assets, market);
    const base = ctx.engine.asset(market.base)!;
    const counter = ctx.engine.asset(market.counter)!;
    const ticker = ctx.engine.ticker(market.base, market.counter);
    const fallback = MIDS[name] ?? 100;
    const last = ticker?.last ?? null;
    const mid = snap(last ?? fallback * market.priceScale, market.tick);
    // Quote about 1,000 counter units of notional per level, at least one base unit.
    const notional = 1000;
    const sizeWhole = notional / (mid / market.priceScale);
    const size = Math.max(1, Math.round(sizeWhole * base.scale));
    // Level spacing: 0.05 % of mid, at least one tick.
    const step = Math.max(market.tick, snap(mid * 0.0005, market.tick));
    if (!Number.isSafeInteger(size * 4 * cfg.levels) || counter.scale <= 0) continue;
    states.push({ market, name, mid, size, step });
  }

  const makerSession = ctx.newSessionId();
  const takerSession = ctx.newSessionId();
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let index = 0;
  let rounds = 0;

  const submit = async (cmd: UnstampedCommand) => (await ctx.submit(cmd)).result;

  const topUp = async (userId: number) => {
    for (const a of demoAssets(ctx)) {
      const want = Number(FUNDING[a.name] ?? DEFAULT_FUNDING) * a.scale * 10;
      const bal = ctx.engine.balances(userId).find((b) => b.asset === a.code);
      const have = (bal?.available ?? 0) + (bal?.reserved ?? 0);
      if (have < want / 4 && Number.isSafeInteger(want)) await submit({ type: 'Deposit', userId, asset: a.code, amount: want - have });
    }
  };

  const refresh = async (s: MakerState) => {
    const { market } = s;
    // Random walk of at most ±2 steps.
    const drift = Math.round((rand() - 0.5) * 4) * s.step;
    s.mid = Math.max(s.step * (cfg.levels + 2), s.mid + drift);
    const half = s.step;
    const wanted = new Map<number, number>();
    for (let i = 0; i < cfg.levels; i++) {
      wanted.set(snap(s.mid - half - i * s.step, market.tick), s.size * (1 + (i % 3)));
      wanted.set(-snap(s.mid + half + i * s.step, market.tick), -s.size * (1 + (i % 3)));
    }
    // Cancel quotes no longer wanted, keep those still in place.
    const cancels: Promise<unknown>[] = [];
    for (const o of ctx.engine.openOrders(makerId)) {
      if (o.base !== market.base || o.counter !== market.counter) continue;
      const key = o.quantity > 0 ? o.price : -o.price;
      if (wanted.has(key)) wanted.delete(key);
      else cancels.push(submit({ type: 'CancelOrder', userId: makerId, id: o.id }));
    }
    await Promise.all(cancels);
    // Placed together so the journal commits them as one group.
    if (stopped) return;
    await Promise.all(
      [...wanted].map(([key, quantity]) =>
        submit({
          type: 'PlaceOrder',
          userId: makerId,
          sessionId: makerSession,
          base: market.base,
          counter: market.counter,
          quantity,
          price: Math.abs(key),
          persist: false,
          postOnly: true,
        }),
      ),
    );
    // Now and then, the taker crosses the spread with a small market order.
    if (!stopped && rand() < 0.3) {
      const side = rand() < 0.5 ? 1 : -1;
      const r = await submit({
        type: 'PlaceOrder',
        userId: takerId,
        sessionId: takerSession,
        base: market.base,
        counter: market.counter,
        quantity: side * Math.max(1, Math.round(s.size * (0.2 + rand() * 0.6))),
      });
      if (!r.ok) mlog.debug({ market: s.name, error: r.message }, 'demo taker order refused');
    }
  };

  const round = async () => {
    if (stopped || states.length === 0) return;
    if (rounds % 50 === 0) {
      await topUp(makerId);
      await topUp(takerId);
    }
    rounds++;
    if (rounds === 1) {
      // First round: quote every market at once so the books are never empty.
      for (const s of states) if (!stopped) await refresh(s);
      return;
    }
    const s = states[index++ % states.length]!;
    await refresh(s);
  };

  const tick = () => {
    running = running.then(round).catch((err: unknown) => mlog.error({ err }, 'demo market maker round failed'));
  };
  await running.then(round).catch((err: unknown) => mlog.error({ err }, 'demo market maker first round failed'));
  const timer = setInterval(tick, cfg.intervalMs);
  timer.unref();
  mlog.info({ makerId, takerId, markets: states.map((s) => s.name), levels: cfg.levels }, 'demo market maker running');

  return async () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    await running;
    // Non-persistent quotes hang on the session: disconnecting it cancels them, journaled.
    await submit({ type: 'Disconnect', sessionId: makerSession });
    await submit({ type: 'Disconnect', sessionId: takerSession });
  };
}
