// Strict reading of CoinEx request parameters (query string for GET, JSON body for POST).
import { parseInteger, parsePositiveScaled } from './decimal.js';
import { paramError } from './errors.js';
import type { Catalog, CxMarket, MarketKind } from './names.js';

export class Params {
  constructor(private readonly src: Record<string, unknown>) {}

  /** From a parsed query string: a parameter given twice is an error. */
  static fromQuery(query: unknown): Params {
    const out: Record<string, unknown> = {};
    if (query !== null && typeof query === 'object') {
      for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
        if (Array.isArray(v)) throw paramError(`invalid ${k}: given more than once`);
        out[k] = v;
      }
    }
    return new Params(out);
  }

  /** From a raw JSON body: must be an object ('' reads as {}). */
  static fromBody(body: string): Params {
    if (body.trim() === '') return new Params({});
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw paramError('invalid request body: not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw paramError('invalid request body: a JSON object is required');
    return new Params(parsed as Record<string, unknown>);
  }

  raw(name: string): unknown {
    return Object.prototype.hasOwnProperty.call(this.src, name) ? this.src[name] : undefined;
  }

  has(name: string): boolean {
    const v = this.raw(name);
    return v !== undefined && v !== null && v !== '';
  }

  str(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw paramError(`invalid ${name}: a string is required`);
    if (v.length > 256) throw paramError(`invalid ${name}: too long`);
    return v;
  }

  requiredStr(name: string): string {
    const v = this.str(name);
    if (v === undefined) throw paramError(`${name} is required`);
    return v;
  }

  int(name: string, min: number, max: number, fallback?: number): number | undefined {
    return parseInteger(this.raw(name), name, min, max) ?? fallback;
  }

  requiredInt(name: string, min: number, max: number): number {
    const v = this.int(name, min, max);
    if (v === undefined) throw paramError(`${name} is required`);
    return v;
  }

  positiveDecimal(name: string, decimals: number): number {
    const v = this.raw(name);
    if (v === undefined || v === null || v === '') throw paramError(`${name} is required`);
    return parsePositiveScaled(v, decimals, name);
  }

  /** A list of ids: a JSON array, or a comma-separated string (query). */
  idList(name: string, max: number): number[] {
    const v = this.raw(name);
    let items: unknown[];
    if (Array.isArray(v)) items = v;
    else if (typeof v === 'string' && v !== '') items = v.split(',');
    else throw paramError(`${name} is required`);
    if (items.length === 0 || items.length > max) throw paramError(`invalid ${name}: 1 to ${max} ids are required`);
    return items.map((x) => parseInteger(typeof x === 'string' ? x.trim() : x, name, 1, Number.MAX_SAFE_INTEGER)!);
  }

  /** The side filter or value: buy | sell. */
  side(required: boolean): 'buy' | 'sell' | undefined {
    const s = this.str('side');
    if (s === undefined) {
      if (required) throw paramError('side is required');
      return undefined;
    }
    if (s !== 'buy' && s !== 'sell') throw paramError('invalid side: buy or sell');
    return s;
  }

  /** market_type, where given, must name the endpoint's account (margin does not exist here). */
  marketType(kind: MarketKind): void {
    const t = this.str('market_type');
    if (t === undefined) return;
    const want = kind === 'spot' ? 'SPOT' : 'FUTURES';
    if (t.toUpperCase() !== want) throw paramError(`invalid market_type: only ${want} is available here`);
  }

  market(catalog: Catalog, kind: MarketKind): CxMarket {
    const name = this.requiredStr('market');
    const m = catalog.market(kind, name);
    if (m === undefined) throw paramError(`invalid market: ${JSON.stringify(name)} is not a ${kind} market`);
    return m;
  }

  optionalMarket(catalog: Catalog, kind: MarketKind): CxMarket | undefined {
    return this.has('market') ? this.market(catalog, kind) : undefined;
  }

  /** "A,B,C" (at most `max`) or absent / empty for all markets. */
  marketList(catalog: Catalog, kind: MarketKind, max = 1000): CxMarket[] {
    const s = this.str('market');
    if (s === undefined) return catalog.markets(kind);
    const names = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
    if (names.length > max) throw paramError(`invalid market: at most ${max} markets`);
    return names.map((n) => {
      const m = catalog.market(kind, n);
      if (m === undefined) throw paramError(`invalid market: ${JSON.stringify(n)} is not a ${kind} market`);
      return m;
    });
  }
}

/** Page and limit of a list endpoint. */
export function page(p: Params, defaultLimit: number, maxLimit: number): { page: number; limit: number } {
  return { page: p.int('page', 1, 1_000_000, 1)!, limit: p.int('limit', 1, maxLimit, defaultLimit)! };
}

export function paginate<T>(items: T[], pg: { page: number; limit: number }): { rows: T[]; hasNext: boolean } {
  const start = (pg.page - 1) * pg.limit;
  return { rows: items.slice(start, start + pg.limit), hasNext: items.length > start + pg.limit };
}
