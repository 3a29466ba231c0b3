#!/usr/bin/env node
// 100 SIGKILL crash trials against the real server (build first: npx tsc -p tsconfig.json).
//   node scripts/crash-trials.mjs [trials=100] [cycles=3] [--fsync interval] [--keep]
// Each trial: start `node dist/src/cli/main.js serve` on a fresh data directory, hammer it with
// concurrent admin-API deposits, SIGKILL it at a random moment, verify the journal, restart,
// repeat `cycles` times; then recover in-process and check acked ≤ balance ≤ sent.
// Prints one JSON line per failed trial and a summary JSON line; exits 1 if any trial failed.
import { runCrashTrial } from '../dist/test/journal/crash-harness.js';

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const keep = args.includes('--keep');
if (keep) args.splice(args.indexOf('--keep'), 1);
const fsync = flag('--fsync') ?? 'always';
const trials = Number(args[0] ?? 100);
const cycles = Number(args[1] ?? 3);

const t0 = Date.now();
let failed = 0;
let torn = 0;
let sent = 0;
let acked = 0;
for (let i = 1; i <= trials; i++) {
  const r = await runCrashTrial({ seed: i, cycles, fsync, keep });
  sent += r.sent;
  acked += r.acked;
  if (r.truncatedBytes > 0) torn++;
  if (!r.ok) {
    failed++;
    console.log(JSON.stringify({ trial: i, ...r }));
  }
  if (process.stderr.isTTY) process.stderr.write(`\rtrial ${i}/${trials}, failed ${failed}`);
}
if (process.stderr.isTTY) process.stderr.write('\n');
console.log(JSON.stringify({ trials, cycles, fsync, failed, kills: trials * cycles, sent, acked, lastRecoveryTornTails: torn, seconds: (Date.now() - t0) / 1000 }));
process.exit(failed > 0 ? 1 : 0);
