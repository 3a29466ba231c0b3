// Recovery with the journal read on a worker thread (src/journal/read-ahead.ts) against recovery
// reading it itself, on a journal of several segments of several chunks each: the same state,
// the same torn-tail repair, the same error for damage (file and offset).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { crc32c } from '../../src/journal/crc32c.js';
import { SEGMENT_HEADER_BYTES } from '../../src/journal/format.js';
import type { StoreOptions } from '../../src/journal/options.js';
import { READ_AHEAD_CHUNK_BYTES } from '../../src/journal/read-ahead.js';
import { openStoreWith } from '../../src/journal/store.js';
import { FAKE_CONFIG, crashCopy, deposit, fakeKind, flipByte, segmentFiles, silent, tmpDir } from './helpers.js';

const COMMANDS = 60_000;
const SEGMENT_BYTES = 3 * READ_AHEAD_CHUNK_BYTES;

const THREAD: Partial<StoreOptions> = { readAheadMinBytes: Number.MAX_SAFE_INTEGER };
const WORKER: Partial<StoreOptions> = { readAheadMinBytes: 0 };

function open(dataDir: string, more: Partial<StoreOptions>) {
  return openStoreWith(fakeKind, { dataDir, fsync: 'off', segmentBytes: SEGMENT_BYTES, onFatal: () => undefined, ...more }, FAKE_CONFIG, silent);
}

/** A crash copy of a journal of COMMANDS deposits (no snapshot), and the live state's hash. */
async function journal(t: TestContext): Promise<{ dir: string; hash: string }> {
  const live = tmpDir(t);
  const s = await open(live, {});
  for (let i = 0; i < COMMANDS; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, (_, k) => s.sequencer.submit(deposit((i + k) % 7, i + k + 1))));
  }
  const hash = s.engine.stateHash();
  const dir = crashCopy(live, `${live}-crash`);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  await s.sequencer.close();
  return { dir, hash };
}

function copy(t: TestContext, dir: string, name: string): string {
  const c = crashCopy(dir, `${dir}-${name}`);
  t.after(() => fs.rmSync(c, { recursive: true, force: true }));
  return c;
}

/** Byte offset of the record of a segment whose payload covers byte `at` (or the last before it). */
function recordAround(file: string, at: number): number {
  const buf = fs.readFileSync(file);
  let o = SEGMENT_HEADER_BYTES;
  for (;;) {
    const next = o + 8 + buf.readUInt32LE(o);
    if (next > at || next >= buf.length) return o;
    o = next;
  }
}

describe('recovery reading the journal on a worker thread', () => {
  it('recovers the same state as reading it on the recovering thread', async (t) => {
    const { dir, hash } = await journal(t);
    const segs = segmentFiles(dir);
    assert.ok(segs.length >= 2, `${segs.length} segments`);
    assert.ok(fs.statSync(segs[0]!).size > 2 * READ_AHEAD_CHUNK_BYTES, 'a segment spans several chunks');
    for (const [name, more] of [['thread', THREAD], ['worker', WORKER]] as const) {
      const r = await open(copy(t, dir, name), more);
      assert.equal(r.recovery.replayed, COMMANDS, name);
      assert.equal(r.recovery.truncatedBytes, 0, name);
      assert.equal(r.engine.stateHash(), hash, name);
      assert.equal((await r.sequencer.submit(deposit(1, 1))).seq, COMMANDS + 1, name);
      await r.sequencer.close();
    }
  });

  it('cuts the same torn tail off', async (t) => {
    const { dir } = await journal(t);
    const results = [];
    for (const [name, more] of [['thread', THREAD], ['worker', WORKER]] as const) {
      const c = copy(t, dir, name);
      const last = segmentFiles(c).at(-1)!;
      fs.truncateSync(last, fs.statSync(last).size - 3);
      const r = await open(c, more);
      results.push({ replayed: r.recovery.replayed, truncated: r.recovery.truncatedBytes, hash: r.engine.stateHash(), size: fs.statSync(last).size });
      await r.sequencer.close();
    }
    assert.equal(results[0]!.replayed, COMMANDS - 1);
    assert.ok(results[0]!.truncated > 0);
    assert.deepEqual(results[1], results[0]);
  });

  it('stops with the same error, naming file and offset, on damage past a segment\'s first chunk', async (t) => {
    const { dir } = await journal(t);
    const errors: string[] = [];
    let expected = '';
    for (const [name, more] of [['thread', THREAD], ['worker', WORKER]] as const) {
      const c = copy(t, dir, name);
      const seg = segmentFiles(c)[0]!; // not the newest: damage there is never a torn tail
      const o = recordAround(seg, Math.floor(1.5 * READ_AHEAD_CHUNK_BYTES));
      flipByte(seg, o + 8 + 3);
      expected = `${path.join('journal', path.basename(seg))}: record CRC mismatch`;
      const size = fs.statSync(seg).size;
      const err = await open(c, more).then(
        () => assert.fail(`${name}: opened a damaged journal`),
        (e: Error) => e,
      );
      assert.ok(err.message.startsWith(expected), `${name}: ${err.message}`);
      assert.match(err.message, new RegExp(`at byte offset ${o}$`));
      assert.equal(err.name, 'CorruptionError', name);
      assert.equal(fs.statSync(seg).size, size, `${name}: nothing cut`);
      errors.push(err.message);
    }
    assert.equal(errors[1], errors[0]);
  });

  it('reports a record that checks out but does not decode as its seq at the same file and offset', async (t) => {
    const { dir } = await journal(t);
    const errors: string[] = [];
    for (const [name, more] of [['thread', THREAD], ['worker', WORKER]] as const) {
      const c = copy(t, dir, name);
      const seg = segmentFiles(c)[0]!;
      const o = recordAround(seg, Math.floor(2.5 * READ_AHEAD_CHUNK_BYTES));
      // Another seq in the binary record's header (payload bytes 5..12), with a CRC to match.
      const buf = fs.readFileSync(seg);
      const n = buf.readUInt32LE(o);
      const p = o + 8;
      assert.notEqual(buf[p], 0x7b, 'a binary record');
      const seq = buf.readDoubleLE(p + 5);
      buf.writeDoubleLE(seq + 1000, p + 5);
      buf.writeUInt32LE(crc32c(buf, 0, p, p + n), o + 4);
      fs.writeFileSync(seg, buf);
      const err = await open(c, more).then(
        () => assert.fail(`${name}: opened a damaged journal`),
        (e: Error) => e,
      );
      assert.equal(err.message, `${path.join('journal', path.basename(seg))}: record carries seq ${seq + 1000} where seq ${seq} belongs at byte offset ${o}`, name);
      errors.push(err.message);
    }
    assert.equal(errors[1], errors[0]);
  });
});
