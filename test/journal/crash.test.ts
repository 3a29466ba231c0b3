// SIGKILL crash tests against the real server process: every acknowledged command survives,
// nothing unsent appears, and the journal verifies after every kill (see crash-harness.ts).
// `node scripts/crash-trials.mjs` runs 100 trials.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCrashTrial } from './crash-harness.js';

describe('crash (SIGKILL) recovery of the real server', () => {
  for (let trial = 1; trial <= 5; trial++) {
    it(`trial ${trial}: acknowledged deposits survive SIGKILL, journal verifies`, { timeout: 120_000 }, async () => {
      const r = await runCrashTrial({ seed: 1000 + trial, cycles: 2 });
      assert.equal(r.ok, true, r.message);
      assert.ok(r.acked <= r.balance && r.balance <= r.sent);
    });
  }
});
