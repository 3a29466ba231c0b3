// Built-in venue profiles: the assets, codes, scales and tick sizes of the reference SCALE.md
// files, so the documented examples reproduce as written.
//
// The two documents disagree on XBT (code 0xF800): CoinFLEX scales it by 10^4, Coinfloor's API
// v2 by 10^8. One engine has one scale per asset, hence two profiles:
// - 'coinflex' (default): CoinFLEX's assets, USDT-quoted spot markets and monthly futures, plus
//   Coinfloor's EUR and GBP with XBT:EUR and XBT:GBP at Coinfloor's price scale (with XBT at
//   10^4 these are Coinfloor's API v1 scales);
// - 'coinfloor': Coinfloor's API v2 scales (XBT 10^8) with XBT:EUR and XBT:GBP only.
import type { AssetConfig, EngineConfig, FeeTier, MarketConfig } from './types.js';

export type Profile = 'coinflex' | 'coinfloor';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
/** Futures month letters (industry convention): tenor codes are letter + two-digit year, e.g. Z26. */
const MONTH_LETTERS = 'FGHJKMNQUVXZ';

/** Maker/taker fees in ppm of the trade total, tiered on 30-day volume in whole counter units. */
function feeSchedule(counterScale: number): FeeTier[] {
  return [
    { minVolume: 0, makerPpm: 200, takerPpm: 400 },
    { minVolume: 1_000_000 * counterScale, makerPpm: 100, takerPpm: 300 },
    { minVolume: 10_000_000 * counterScale, makerPpm: 0, takerPpm: 200 },
  ];
}

/** Expiry of a monthly future: 08:00 UTC on the last Friday of the month. */
function lastFriday(year: number, month: number): number {
  const d = new Date(Date.UTC(year, month + 1, 0, 8));
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 2) % 7));
  return d.getTime();
}

const E4 = 10_000;
const DAY_MS = 86_400_000;

function coinflexAssets(): AssetConfig[] {
  const assets: AssetConfig[] = [
    { code: 0xf800, name: 'XBT', scale: E4 },
    { code: 0xf808, name: 'BCH', scale: E4 },
    { code: 0xf820, name: 'ETH', scale: E4 },
    { code: 0xff02, name: 'USDC', scale: E4 },
    { code: 0xff03, name: 'USDT', scale: E4 },
    { code: 0xff05, name: 'FLEX', scale: E4 },
    { code: 0xff07, name: 'DOTF', scale: E4 },
    { code: 0xff08, name: 'USDTDOT', scale: E4 },
    { code: 0xff0a, name: 'DFNF', scale: E4 },
    { code: 0xff0b, name: 'USDTDFN', scale: E4 },
    { code: 0xff0f, name: 'LIBF', scale: E4 },
    { code: 0xff10, name: 'USDTLIB', scale: E4 },
  ];
  MONTHS.forEach((mon, i) => {
    assets.push(
      { code: 0xc800 + i, name: `XBT${mon}`, scale: E4 },
      { code: 0xc814 + i, name: `BCH${mon}`, scale: E4 },
      { code: 0xc828 + i, name: `ETH${mon}`, scale: E4 },
      { code: 0xcaa8 + i, name: `USDT${mon}`, scale: E4 },
      { code: 0xca94 + i, name: `USDC${mon}`, scale: E4 },
    );
  });
  assets.push(
    { code: 10005, name: 'XBTJUN20', scale: E4 },
    { code: 10017, name: 'BCHJUN20', scale: E4 },
    { code: 10029, name: 'ETHJUN20', scale: E4 },
    { code: 10053, name: 'USDTJUN20', scale: E4 },
    { code: 10041, name: 'USDCJUN20', scale: E4 },
  );
  return assets;
}

function coinflexMarkets(referenceMs: number): MarketConfig[] {
  const spot = (base: number, counter: number, tick: number, spotName: string): MarketConfig => ({
    base,
    counter,
    priceScale: E4,
    tick,
    kind: 'spot',
    spotName,
    fees: feeSchedule(E4),
  });
  const markets: MarketConfig[] = [
    spot(0xf800, 0xff03, 10_000, 'XBT:USDT'),
    spot(0xf808, 0xff03, 2_500, 'BCH:USDT'),
    spot(0xf820, 0xff03, 1_000, 'ETH:USDT'),
    spot(0xff02, 0xff03, 10, 'USDC:USDT'),
    spot(0xff05, 0xff03, 50, 'FLEX:USDT'),
  ];
  // Perpetual-style contracts quoted in their own USDT assets: futures without expiry.
  for (const [base, counter, tick] of [
    [0xff07, 0xff08, 20_000],
    [0xff0a, 0xff0b, 500],
    [0xff0f, 0xff10, 100],
  ] as const) {
    markets.push({ base, counter, priceScale: E4, tick, kind: 'futures', fees: feeSchedule(E4) });
  }
  // Monthly futures: each month code names the next such month on or after the reference date.
  const ref = new Date(referenceMs);
  MONTHS.forEach((_mon, i) => {
    let year = ref.getUTCFullYear();
    if (i < ref.getUTCMonth() || (i === ref.getUTCMonth() && lastFriday(year, i) <= referenceMs)) year += 1;
    const expires = lastFriday(year, i);
    const tenor = `${MONTH_LETTERS[i]}${String(year % 100).padStart(2, '0')}`;
    const future = (base: number, counter: number, tick: number, spotName: string): MarketConfig => ({
      base,
      counter,
      priceScale: E4,
      tick,
      kind: 'futures',
      spotName,
      start: expires - 365 * DAY_MS,
      expires,
      tenor,
      fees: feeSchedule(E4),
    });
    markets.push(
      future(0xc800 + i, 0xcaa8 + i, 5_000, 'XBT:USDT'),
      future(0xc814 + i, 0xcaa8 + i, 2_500, 'BCH:USDT'),
      future(0xc828 + i, 0xcaa8 + i, 1_000, 'ETH:USDT'),
      future(0xca94 + i, 0xcaa8 + i, 10, 'USDC:USDT'),
    );
  });
  const jun20 = lastFriday(2020, 5);
  for (const [base, tick, spotName] of [
    [10005, 5_000, 'XBT:USDT'],
    [10017, 2_500, 'BCH:USDT'],
    [10029, 1_000, 'ETH:USDT'],
    [10041, 1, 'USDC:USDT'],
  ] as const) {
    markets.push({ base, counter: 10053, priceScale: E4, tick, kind: 'futures', spotName, start: jun20 - 365 * DAY_MS, expires: jun20, tenor: 'M20', fees: feeSchedule(E4) });
  }
  return markets;
}

function coinfloorFiat(): AssetConfig[] {
  return [
    { code: 0xfa00, name: 'EUR', scale: 100 },
    { code: 0xfa20, name: 'GBP', scale: 100 },
  ];
}

function coinfloorMarkets(): MarketConfig[] {
  return [0xfa00, 0xfa20].map((counter) => ({
    base: 0xf800,
    counter,
    priceScale: 100,
    tick: 1,
    kind: 'spot' as const,
    spotName: counter === 0xfa00 ? 'XBT:EUR' : 'XBT:GBP',
    fees: feeSchedule(100),
  }));
}

/**
 * The engine configuration of a profile. `referenceMs` (wall clock when the data directory is
 * created) fixes which year each monthly future refers to; the result is then part of the state.
 */
export function defaultEngineConfig(profile: Profile = 'coinflex', referenceMs = Date.UTC(2026, 10, 1)): EngineConfig {
  const base = { tonceRule: 'unique' as const, maxOpenOrders: 1000, seed: 0x0f100f };
  if (profile === 'coinfloor') {
    return { ...base, tonceRule: 'increasing', assets: [{ code: 0xf800, name: 'XBT', scale: 100_000_000 }, ...coinfloorFiat()], markets: coinfloorMarkets() };
  }
  return { ...base, assets: [...coinflexAssets(), ...coinfloorFiat()], markets: [...coinflexMarkets(referenceMs), ...coinfloorMarkets()] };
}

/** Market name as the REST API prints it: "XBT:USDT". */
export function marketName(assets: AssetConfig[], m: { base: number; counter: number }): string {
  const name = (code: number): string => assets.find((a) => a.code === code)?.name ?? String(code);
  return `${name(m.base)}:${name(m.counter)}`;
}
