// Exact conversion between CoinEx decimal strings and the engine's scaled integers.
//
// CoinEx sends amounts and prices as decimal strings ("0.0001", "61000"). The engine works in
// integers with an implicit power-of-ten scale. A value with more decimal places than the scale
// holds (other than trailing zeros) is an error, never rounded; so are exponents, signs, hex,
// blanks and anything outside the safe-integer range once scaled.
import { paramError } from './errors.js';

/** Number of decimal places of a power-of-ten scale, or undefined if `scale` is not one. */
export function decimalsOf(scale: number): number | undefined {
  if (!Number.isSafeInteger(scale) || scale <= 0) return undefined;
  let d = 0;
  let x = scale;
  while (x >= 10 && x % 10 === 0) {
    x /= 10;
    d++;
  }
  return x === 1 ? d : undefined;
}

const UNSIGNED_DECIMAL = /^([0-9]+)(?:\.([0-9]+))?$/;

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  // JSON numbers are tolerated when their shortest form is a plain decimal ("0.5", not "1e-7").
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Parses a non-negative decimal at `decimals` places into a scaled integer. Throws a CoinEx
 * parameter error naming `name` for anything that is not exactly representable.
 */
export function parseScaled(value: unknown, decimals: number, name: string): number {
  const s = text(value);
  if (s === undefined || s === '') throw paramError(`invalid ${name}: a decimal string is required`);
  if (s.length > 64) throw paramError(`invalid ${name}: too long`);
  const m = UNSIGNED_DECIMAL.exec(s);
  if (m === null) throw paramError(`invalid ${name}: ${JSON.stringify(s)} is not a plain decimal number`);
  const whole = m[1]!;
  const frac = m[2] ?? '';
  const kept = frac.slice(0, decimals);
  if (/[^0]/.test(frac.slice(decimals))) {
    throw paramError(`invalid ${name}: ${JSON.stringify(s)} has more than ${decimals} decimal places`);
  }
  const digits = (whole + kept.padEnd(decimals, '0')).replace(/^0+(?=.)/, '');
  if (digits.length > 16 || BigInt(digits) > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw paramError(`invalid ${name}: ${JSON.stringify(s)} is too large`);
  }
  return Number(digits);
}

/** Like parseScaled, and the result must be positive. */
export function parsePositiveScaled(value: unknown, decimals: number, name: string): number {
  const n = parseScaled(value, decimals, name);
  if (n === 0) throw paramError(`invalid ${name}: must be greater than zero`);
  return n;
}

/**
 * Scaled integer → shortest exact decimal string: 15000 at 4 places → "1.5", 610000000 → "61000",
 * 0 → "0". Integers beyond 2^53 (sums) are formatted exactly from their BigInt.
 */
export function formatScaled(value: number | bigint, decimals: number): string {
  const big = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
  const neg = big < 0n;
  let digits = (neg ? -big : big).toString();
  if (decimals > 0) {
    digits = digits.padStart(decimals + 1, '0');
    const whole = digits.slice(0, digits.length - decimals);
    const frac = digits.slice(digits.length - decimals).replace(/0+$/, '');
    digits = frac === '' ? whole : `${whole}.${frac}`;
  }
  return neg && digits !== '0' ? `-${digits}` : digits;
}

/** Number of decimal places of the shortest form of value / 10^decimals (e.g. a tick of 2500 at 4 → 2). */
export function significantDecimals(value: number, decimals: number): number {
  const s = formatScaled(value, decimals);
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

const UNSIGNED_INTEGER = /^[0-9]{1,16}$/;

/** A non-negative safe integer from a query string or JSON value; undefined when absent. */
export function parseInteger(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const s = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof s !== 'string' || !UNSIGNED_INTEGER.test(s)) throw paramError(`invalid ${name}: an integer is required`);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw paramError(`invalid ${name}: must be between ${min} and ${max}`);
  return n;
}
