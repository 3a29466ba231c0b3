// Seeded PRNG for stochastic rounding. xoshiro128** (Blackman & Vigna): small, fast, and its
// whole state is four 32-bit words that live in the engine state, so replay is exact.
// Written by hand because the engine must own and serialise the state; no package exposes that.

// The four words are kept as signed 32-bit integers (x | 0): the bit patterns are the same as
// unsigned, every operation is bitwise, and V8 then keeps them as small integers instead of
// boxed doubles. state() and nextU32() convert to unsigned (>>> 0) at the edge.
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | [number, number, number, number]) {
    if (Array.isArray(seed)) {
      [this.a, this.b, this.c, this.d] = seed.map((x) => x | 0) as [number, number, number, number];
      return;
    }
    // splitmix32 expands one seed into a well-mixed non-zero state.
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next() | 0;
    this.b = next() | 0;
    this.c = next() | 0;
    this.d = next() | 0;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  state(): [number, number, number, number] {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const b = this.b;
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    const c = this.c ^ this.a;
    const d = this.d ^ b;
    this.b = b ^ c;
    this.a ^= d;
    this.c = c ^ t;
    this.d = rotl(d, 11);
    return result;
  }

  /** Uniform integer in [0, n) for 1 <= n <= 2^53, unbiased (rejection sampling). */
  below(n: number): number {
    if (n <= 0x100000000) {
      // Floating-point % is a slow library call; for x <= 2^32, x % n is x - floor(x / n) * n
      // exactly (the division's rounding error is below 2^-21 / n, less than the distance 1 / n
      // of a non-integer quotient from the next integer). limit: the largest multiple of n not
      // above 2^32, i.e. 2^32 - 2^32 % n.
      const limit = Math.floor(0x100000000 / n) * n;
      for (;;) {
        const x = this.nextU32();
        if (x < limit) return x - Math.floor(x / n) * n;
      }
    }
    const TWO53 = 9007199254740992;
    const limit = TWO53 - (TWO53 % n);
    for (;;) {
      const x = (this.nextU32() >>> 11) * 0x100000000 + this.nextU32();
      if (x < limit) return x % n;
    }
  }
}

/** 32-bit rotate left; the result is signed (same bits). */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seeded uniform [0, 1) source for non-engine uses (demo market maker, tests): deterministic, not cryptographic. */
export function seededUniform(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.nextU32() / 0x100000000;
}
