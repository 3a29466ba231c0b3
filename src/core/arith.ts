// Exact integer arithmetic for money. Amounts are JS numbers holding safe integers; a product
// that may pass 2^53 falls back to BigInt so no result is ever silently inexact.

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export interface QuotRem {
  q: number;
  r: number;
}

const scratch: QuotRem = { q: 0, r: 0 };

/**
 * floor(a * b / c) and the remainder, for non-negative safe integers a, b and positive c.
 * Returns a shared scratch object (read it before the next call). q is Infinity when the
 * quotient is not a safe integer.
 */
export function mulDivRem(a: number, b: number, c: number): QuotRem {
  const p = a * b;
  if (p <= MAX_SAFE) {
    // p is exact (a product at most 2^53 is representable); fix the floating division's last bit.
    let q = Math.floor(p / c);
    let r = p - q * c;
    if (r < 0) {
      q -= 1;
      r += c;
    } else if (r >= c) {
      q += 1;
      r -= c;
    }
    scratch.q = q;
    scratch.r = r;
    return scratch;
  }
  const big = BigInt(a) * BigInt(b);
  const bc = BigInt(c);
  const q = big / bc;
  scratch.q = q > BigInt(MAX_SAFE) ? Infinity : Number(q);
  scratch.r = Number(big % bc);
  return scratch;
}

/** floor(a * b / c); Infinity when it does not fit a safe integer. */
export function mulDivFloor(a: number, b: number, c: number): number {
  return mulDivRem(a, b, c).q;
}

/** ceil(a * b / c); Infinity when it does not fit a safe integer. */
export function mulDivCeil(a: number, b: number, c: number): number {
  const qr = mulDivRem(a, b, c);
  return qr.r === 0 ? qr.q : qr.q + 1;
}

export function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

export function isSafeNonNegative(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}
