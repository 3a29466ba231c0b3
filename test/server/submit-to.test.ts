// ServerContext.submitTo: the promise-free submit of the hot paths. Its sink hears about each
// command exactly once, after the command is durable and its Applied was published to every
// listener; a sink that throws does not keep the others from being told; after close it fails.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Applied, AppliedSink } from '../../src/server/context.js';
import { startServer } from '../../src/server/server.js';

test('submitTo: sinks are told after publication, in seq order, once durable; a throwing sink harms no other; closed fails', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfloor-submitto-'));
  try {
    const s = await startServer({ dataDir: dir, fsync: 'always', logLevel: 'silent', dialects: [] });
    const submitTo = s.ctx.submitTo;
    const order: string[] = [];
    const off = s.ctx.onApplied((a) => order.push(`publish ${a.seq}`));
    const done: Promise<Applied>[] = [];
    const sink = (throws: boolean): { sink: AppliedSink; done: Promise<Applied> } => {
      let resolve!: (a: Applied) => void;
      let reject!: (e: Error) => void;
      const p = new Promise<Applied>((res, rej) => ((resolve = res), (reject = rej)));
      return {
        done: p,
        sink: {
          applied(a) {
            order.push(`applied ${a.seq}`);
            assert.ok(s.journalStats().durableSeq >= a.seq, 'durable before the sink hears of it');
            resolve(a);
            if (throws) throw new Error('sink bug');
          },
          failed: reject,
        },
      };
    };
    // Submitted in one synchronous run: one group commit.
    for (const throws of [false, true, false]) {
      const x = sink(throws);
      submitTo.call(s.ctx, { type: 'Tick' }, x.sink);
      done.push(x.done);
    }
    const applied = await Promise.all(done);
    const seqs = applied.map((a) => a.seq);
    assert.deepEqual(seqs, [seqs[0]!, seqs[0]! + 1, seqs[0]! + 2]);
    for (const a of applied) assert.equal(a.result.ok, true);
    assert.deepEqual(order, [...seqs.map((q) => `publish ${q}`), ...seqs.map((q) => `applied ${q}`)]);
    off();
    // The promise API still works alongside.
    const a = await s.ctx.submit({ type: 'Tick' });
    assert.equal(a.seq, seqs[2]! + 1);
    await s.close();
    let failure: Error | undefined;
    submitTo.call(s.ctx, { type: 'Tick' }, { applied: () => assert.fail('applied after close'), failed: (e) => (failure = e) });
    assert.match(String(failure?.message), /closed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
