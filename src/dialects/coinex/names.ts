// How engine assets and markets are named to CoinEx clients (docs/coinex.md, "Names").
//
// - A currency ("ccy") is the engine asset name, except that the prefix XBT reads BTC (XBT → BTC,
//   XBTJUN → BTCJUN), as CoinEx and its clients spell bitcoin. The alias is skipped when its
//   result is itself an engine asset name, so two assets never share a ccy.
// - A market is base ccy + quote ccy (XBT:USDT → BTCUSDT). Spot and futures markets live in
//   separate namespaces (/v2/spot/*, /v2/futures/*), as on CoinEx. Should two markets of one kind
//   produce the same name, the later one (engine order) is not offered and a warning is logged.
// - Amount precision is the base asset's scale; price precision is the number of decimal places
//   of the market's tick (a tick of 1 USDT → 0, of 0.25 → 2), so a client that rounds prices to
//   the advertised precision lands on the tick when the tick is a power of ten.
// Only power-of-ten scales have an exact decimal form; a market with any other scale is skipped.
import type { EngineApi, MarketConfig } from '../../core/types.js';
import { decimalsOf, significantDecimals } from './decimal.js';

export type MarketKind = 'spot' | 'futures';

export interface CxAsset {
  code: number;
  /** Engine name, e.g. XBT. */
  name: string;
  /** CoinEx name, e.g. BTC. */
  ccy: string;
  scale: number;
  decimals: number;
}

export interface CxMarket {
  /** base * 65536 + counter. */
  key: number;
  /** CoinEx name, e.g. BTCUSDT. */
  name: string;
  kind: MarketKind;
  config: MarketConfig;
  base: CxAsset;
  counter: CxAsset;
  /** Decimal places of prices (the market's price scale). */
  priceDecimals: number;
  /** Decimal places of the tick, advertised as quote_ccy_precision. */
  tickDecimals: number;
}

const ALIASES: readonly [string, string][] = [['XBT', 'BTC']];

export function pairKey(base: number, counter: number): number {
  return base * 65536 + counter;
}

/** The CoinEx name of an engine asset name, given the set of all engine asset names. */
export function ccyOf(name: string, allNames: ReadonlySet<string>): string {
  for (const [from, to] of ALIASES) {
    if (name.startsWith(from)) {
      const aliased = to + name.slice(from.length);
      if (!allNames.has(aliased)) return aliased;
    }
  }
  return name;
}

export class Catalog {
  private assetsByCode = new Map<number, CxAsset>();
  private assetsByCcy = new Map<string, CxAsset>();
  private marketsByKey = new Map<number, CxMarket>();
  private marketsByName: Record<MarketKind, Map<string, CxMarket>> = { spot: new Map(), futures: new Map() };
  /** Assets that are the base or counter of a futures market (their balances are "futures" balances). */
  private futuresAssets = new Set<number>();

  constructor(
    private readonly engine: EngineApi,
    private readonly warn: (message: string) => void = () => {},
  ) {
    this.rebuild();
  }

  /** Re-reads assets and markets from the engine (after AddAsset / AddMarket). */
  rebuild(): void {
    const assets = this.engine.assets();
    const names = new Set(assets.map((a) => a.name));
    const byCode = new Map<number, CxAsset>();
    const byCcy = new Map<string, CxAsset>();
    for (const a of assets) {
      const decimals = decimalsOf(a.scale);
      if (decimals === undefined) {
        this.warn(`coinex: asset ${a.name} has scale ${a.scale}, not a power of ten; it is not offered`);
        continue;
      }
      const cx: CxAsset = { code: a.code, name: a.name, ccy: ccyOf(a.name, names), scale: a.scale, decimals };
      byCode.set(a.code, cx);
      byCcy.set(cx.ccy, cx);
    }
    const byKey = new Map<number, CxMarket>();
    const byName: Record<MarketKind, Map<string, CxMarket>> = { spot: new Map(), futures: new Map() };
    const futuresAssets = new Set<number>();
    for (const m of this.engine.markets()) {
      const base = byCode.get(m.base);
      const counter = byCode.get(m.counter);
      const priceDecimals = decimalsOf(m.priceScale);
      if (base === undefined || counter === undefined || priceDecimals === undefined) {
        this.warn(`coinex: market ${m.base}:${m.counter} has a scale that is not a power of ten; it is not offered`);
        continue;
      }
      const name = base.ccy + counter.ccy;
      const kind: MarketKind = m.kind === 'futures' ? 'futures' : 'spot';
      if (byName[kind].has(name)) {
        this.warn(`coinex: ${kind} market ${base.name}:${counter.name} would also be named ${name}; it is not offered`);
        continue;
      }
      const cx: CxMarket = {
        key: pairKey(m.base, m.counter),
        name,
        kind,
        config: m,
        base,
        counter,
        priceDecimals,
        tickDecimals: significantDecimals(m.tick, priceDecimals),
      };
      byKey.set(cx.key, cx);
      byName[kind].set(name, cx);
      if (kind === 'futures') {
        futuresAssets.add(m.base);
        futuresAssets.add(m.counter);
      }
    }
    this.assetsByCode = byCode;
    this.assetsByCcy = byCcy;
    this.marketsByKey = byKey;
    this.marketsByName = byName;
    this.futuresAssets = futuresAssets;
  }

  asset(code: number): CxAsset | undefined {
    return this.assetsByCode.get(code);
  }

  assetByCcy(ccy: string): CxAsset | undefined {
    return this.assetsByCcy.get(ccy);
  }

  assets(): CxAsset[] {
    return [...this.assetsByCode.values()];
  }

  /** Whether an asset's balance is reported as a futures balance (it is traded in a futures market). */
  isFuturesAsset(code: number): boolean {
    return this.futuresAssets.has(code);
  }

  /** Whether an asset's balance is reported as a spot balance (every asset not only traded as futures). */
  isSpotAsset(code: number): boolean {
    if (!this.futuresAssets.has(code)) return true;
    for (const m of this.marketsByName.spot.values()) if (m.config.base === code || m.config.counter === code) return true;
    return false;
  }

  market(kind: MarketKind, name: string): CxMarket | undefined {
    return this.marketsByName[kind].get(name);
  }

  marketByPair(base: number, counter: number): CxMarket | undefined {
    return this.marketsByKey.get(pairKey(base, counter));
  }

  markets(kind: MarketKind): CxMarket[] {
    return [...this.marketsByName[kind].values()];
  }

  /** The futures market whose base is `asset` (a futures position), if any. */
  futuresMarketOfBase(asset: number): CxMarket | undefined {
    for (const m of this.marketsByName.futures.values()) if (m.config.base === asset) return m;
    return undefined;
  }

  /** The spot market named by a futures market's spotName ("XBT:USDT"), if it exists. */
  underlying(m: CxMarket): CxMarket | undefined {
    const spotName = m.config.spotName;
    if (spotName === undefined) return undefined;
    const i = spotName.indexOf(':');
    if (i < 0) return undefined;
    const base = this.engine.assetByName(spotName.slice(0, i));
    const counter = this.engine.assetByName(spotName.slice(i + 1));
    if (base === undefined || counter === undefined) return undefined;
    const u = this.marketByPair(base.code, counter.code);
    return u !== undefined && u.kind === 'spot' ? u : undefined;
  }
}

