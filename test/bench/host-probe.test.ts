// The memory-latency probe must walk one cycle through all of its memory: a permutation with
// short cycles would stay in cache and read as a fast host whatever the host is doing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLatencyProbe } from '../../bench/host-probe.js';

test('the probe chain is a single cycle through every slot', () => {
  for (const seed of [1, 2, 0x5eed]) {
    const probe = new MemoryLatencyProbe(4096 * 4, seed);
    const n = probe.next.length;
    let i = 0;
    let steps = 0;
    do {
      i = probe.next[i]!;
      steps++;
    } while (i !== 0 && steps <= n);
    assert.equal(steps, n, `seed ${seed}: the cycle through 0 has ${steps} of ${n} slots`);
  }
});

test('measure() reports a positive, finite time per load', () => {
  const ns = new MemoryLatencyProbe(1 << 16).measure(3, 10_000);
  assert.ok(Number.isFinite(ns) && ns > 0, String(ns));
});
