// V8 settings of openfloor's processes. Import this module first in an entry point (the CLI, the
// benchmarks): it sets the flags as it is evaluated, before any code is hot enough to optimise.
//
// Inlining budget. TurboFan stops inlining into a function once the callees it has inlined total
// 920 bytes of bytecode (`--max-inlined-bytecode-size-cumulative`, capped by `-absolute`, 4,600).
// The engine's hot path is many small methods (the order pool's accessors, the ledger's, the
// book's), so the budget runs out inside PlaceOrder and every call after that is a real call.
// With these two flags the engine workload of bench/engine.ts runs 19 % fewer instructions
// (callgrind, 100,000 commands after warm-up: 703M → 571M) and replay (applyQuiet) 22 % fewer
// (575M → 449M); raising the per-callee limit (`--max-inlined-bytecode-size`) made it worse.
// Set at run time rather than on the command line because V8 reads them at each compilation,
// so one module serves every entry point (`node --v8-options` lists them).
//
// The young generation's size cannot be changed once the heap exists: that stays on the node
// command line (package.json scripts, the CLI's shebang; see README, Configuration).
import { setFlagsFromString } from 'node:v8';

export const V8_FLAGS: readonly string[] = ['--max-inlined-bytecode-size-cumulative=10000', '--max-inlined-bytecode-size-absolute=20000'];

for (const flag of V8_FLAGS) setFlagsFromString(flag);
