// A reading of the host's memory latency, for bench:engine to take before each round.
//
// The development VM's engine figure moves by up to 2× between minutes with no change of code,
// while a loop over registers keeps its speed: what moves is the latency of memory beyond the
// caches, which the host's other tenants share. The engine's random reads (order rows, the id
// table, the users' balances, ~15 MB at 100,000 resting orders) are that kind of access. This
// probe follows a chain of dependent loads through a 16 MB random cycle, which the VM's caches
// do not hold (4 MB: ~20 ns per load; 16 MB: 66–175 ns over 2026-12-06), and reports ns per
// load. It describes the minute, not each round: that evening, rounds after readings over
// ~165 ns ran at 0.64–0.77M commands/s and rounds after readings under ~160 ns mostly at
// 0.9–1.13M, and in a later minute of 66–101 ns three rounds ran at 1.30M, yet two at 0.66M and
// 0.74M. Slow rounds under slow readings are the host; a whole run of slow rounds under fast
// readings is worth a look.
import { Sfc32 } from './workload.js';

export class MemoryLatencyProbe {
  /** next[i] is the index the chain visits after i: one cycle through every index. */
  readonly next: Int32Array;

  constructor(bytes = 16 << 20, seed = 0x5eed) {
    const n = bytes >>> 2;
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) next[i] = i;
    // Sattolo's shuffle: a uniformly random permutation with a single cycle, so the chain
    // visits every index (a plain shuffle leaves short cycles that stay in cache).
    const rng = new Sfc32(seed);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i);
      const t = next[i]!;
      next[i] = next[j]!;
      next[j] = t;
    }
    this.next = next;
  }

  /** Median over `samples` chains of `loads` dependent loads, in ns per load. */
  measure(samples = 5, loads = 100_000): number {
    const ns: number[] = [];
    let at = 0;
    for (let s = 0; s < samples; s++) {
      const t0 = process.hrtime.bigint();
      at = this.chase(at, loads);
      ns.push(Number(process.hrtime.bigint() - t0) / loads);
    }
    ns.sort((a, b) => a - b);
    return ns[ns.length >> 1]!;
  }

  private chase(from: number, loads: number): number {
    const next = this.next;
    let i = from;
    for (let k = 0; k < loads; k++) i = next[i]!;
    return i;
  }
}
