// The journal, snapshots and recovery, driven with a small stand-in state machine (the file
// format and the recovery rules do not depend on the engine; engine.test.ts covers the real one).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { Applied } from '../../src/server/context.js';
import { SEGMENT_HEADER_BYTES, encodeRecord, seqName } from '../../src/journal/format.js';
import { MicroClock } from '../../src/journal/clock.js';
import { openStoreWith, verifyWith } from '../../src/journal/store.js';
import type { StoreOptions } from '../../src/journal/options.js';
import { FAKE_CONFIG, captureLog, crashCopy, deposit, fakeKind, flipByte, segmentFiles, silent, snapshotFiles, tmpDir } from './helpers.js';

function opts(dataDir: string, more: Partial<StoreOptions> = {}): StoreOptions {
  return { dataDir, fsync: 'always', onFatal: () => undefined, ...more };
}

async function open(dataDir: string, more: Partial<StoreOptions> = {}, log = silent) {
  return openStoreWith(fakeKind, opts(dataDir, more), FAKE_CONFIG, log);
}

describe('sequencer', () => {
  it('stamps seq and time, applies in arrival order, publishes in seq order, then resolves', async (t) => {
    const dir = tmpDir(t);
    const { engine, sequencer, recovery } = await open(dir);
    assert.deepEqual({ ...recovery, ms: 0 }, { snapshotSeq: 0, replayed: 0, truncatedBytes: 0, ms: 0 });
    const seen: number[] = [];
    const order: string[] = [];
    const off = sequencer.onApplied((a) => {
      seen.push(a.seq);
      order.push(`publish ${a.seq}`);
    });
    const ps = [deposit(1, 10), deposit(1, 5), { type: 'Withdraw' as const, userId: 1, asset: 1, amount: 12, address: 'a' }, { type: 'Withdraw' as const, userId: 1, asset: 1, amount: 12, address: 'a' }].map(
      (c) => sequencer.submit(c).then((a) => (order.push(`resolve ${a.seq}`), a)),
    );
    // Applied at once: the engine already saw all four.
    assert.equal(engine.lastSeq, 4);
    const applied = await Promise.all(ps);
    assert.deepEqual(applied.map((a) => a.seq), [1, 2, 3, 4]);
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.deepEqual(order.slice(0, 4), ['publish 1', 'publish 2', 'publish 3', 'publish 4']);
    assert.equal(applied[2]!.result.ok, true);
    assert.equal(applied[3]!.result.ok, false); // 15 - 12 leaves 3 < 12
    assert.deepEqual(applied[0]!.events, [{ type: 'BalanceChanged', userId: 1, asset: 1, available: 10, reserved: 0 }]);
    for (let i = 1; i < applied.length; i++) assert.ok(applied[i]!.time >= applied[i - 1]!.time);
    assert.ok(Math.abs(applied[0]!.time - Date.now() * 1000) < 60_000_000, 'time is wall-clock µs');
    const st = sequencer.stats();
    assert.equal(st.commands, 4);
    assert.ok(st.appends >= 1 && st.appends <= 4 && st.fsyncs === st.appends);
    off();
    await sequencer.submit(deposit(2, 1));
    assert.equal(seen.length, 4, 'unsubscribed');
    await sequencer.whenDurable();
    await sequencer.close();
    await assert.rejects(sequencer.submit(deposit(1, 1)), /closed/);
  });

  it('writes a burst in one group commit', async (t) => {
    const dir = tmpDir(t);
    const { sequencer } = await open(dir);
    await Promise.all(Array.from({ length: 500 }, (_, i) => sequencer.submit(deposit(i, 1))));
    const st = sequencer.stats();
    assert.equal(st.commands, 500);
    assert.ok(st.appends < 10, `500 commands took ${st.appends} appends`);
    assert.equal(st.maxBatch >= 100, true);
    await sequencer.close();
  });

  it('fdatasyncs a lone command on the event loop and a large batch in the thread pool, each before publishing', async (t) => {
    const dir = tmpDir(t);
    const { sequencer } = await open(dir);
    const published: number[] = [];
    sequencer.onApplied((a) => published.push(a.seq));
    const first = sequencer.submit(deposit(1, 1));
    assert.deepEqual(published, [], 'not published before its fdatasync');
    await first;
    let st = sequencer.stats();
    assert.deepEqual([st.fsyncs, st.loopFsyncs, st.durableSeq], [1, 1, 1], 'a lone command: synced on the loop');
    // 300 at once: one batch, too large to block the loop for (its sync overlaps further commands).
    const burst = Array.from({ length: 300 }, (_, i) => sequencer.submit(deposit(2 + i, 1)));
    assert.equal(published.length, 1);
    await Promise.all(burst);
    st = sequencer.stats();
    assert.equal(st.loopFsyncs, 1, 'the batch of 300 went through the thread pool');
    assert.equal(st.fsyncs, st.appends);
    assert.deepEqual(published, Array.from({ length: 301 }, (_, i) => i + 1));
    await sequencer.close();
    // Both paths made it durable: a fresh open reads all 301 back.
    const again = await open(dir);
    assert.equal(again.engine.lastSeq, 301);
    await again.sequencer.close();
  });

  it('does not let a stray seq/time on the input override the stamp, and gives the engine what a replay reads', async (t) => {
    const dir = tmpDir(t);
    const { sequencer } = await open(dir);
    const a = await sequencer.submit({ ...deposit(1, 1), seq: 999, time: 5, note: undefined, x: Number.NaN } as never);
    assert.equal(a.seq, 1);
    assert.notEqual(a.time, 5);
    assert.deepEqual(Object.keys(a.command), ['seq', 'time', 'type', 'userId', 'asset', 'amount', 'x']);
    assert.equal((a.command as unknown as { x: unknown }).x, null);
    await assert.rejects(sequencer.submit({ ...deposit(1, 1), big: 10n } as never), /cannot be journaled/);
    assert.equal(sequencer.lastSeq, 1, 'a rejected command consumes no seq');
    await sequencer.close();
  });

  it('issues session ids unique across restarts', async (t) => {
    let dir = tmpDir(t);
    const ids = new Set<number>();
    for (let boot = 0; boot < 4; boot++) {
      const { sequencer } = await open(dir);
      for (let i = 0; i < 100; i++) ids.add(sequencer.newSessionId());
      if (boot === 1) {
        // A crash (no close): the directory as it is now is what the next boot finds. The boot
        // counter was persisted at open, so the next boot cannot reuse this boot's ids.
        const copy = crashCopy(dir, `${dir}-crash`);
        t.after(() => fs.rmSync(copy, { recursive: true, force: true }));
        await sequencer.close();
        dir = copy;
      } else {
        await sequencer.close();
      }
    }
    assert.equal(ids.size, 400);
    for (const id of ids) assert.ok(Number.isSafeInteger(id) && id > 0);
  });

  it('keeps time non-decreasing when the wall clock steps back', (t) => {
    let wall = 1_700_000_000_000;
    t.mock.method(Date, 'now', () => wall);
    const clock = new MicroClock();
    const a = clock.next();
    wall -= 5000; // NTP steps the clock back 5 s
    const b = clock.next();
    const c = clock.next();
    assert.ok(b >= a && c >= b);
    wall += 60_000; // and far forward
    const d = clock.next();
    assert.ok(d >= wall * 1000 - 1000, 'follows a forward step');
    const floor = new MicroClock(Number.MAX_SAFE_INTEGER - 10);
    assert.equal(floor.next(), Number.MAX_SAFE_INTEGER - 10, 'never below the previous run');
  });

  it('fails fatally when the journal cannot be written, rejecting what is pending', async (t) => {
    const dir = tmpDir(t);
    const fatal: Error[] = [];
    const { log, lines } = captureLog();
    const { sequencer } = await openStoreWith(fakeKind, opts(dir, { segmentBytes: 1, onFatal: (e) => fatal.push(e) }), FAKE_CONFIG, log);
    await sequencer.submit(deposit(1, 1));
    // segmentBytes 1: the next batch rolls over to segment 2; make that file impossible to create.
    fs.mkdirSync(path.join(dir, 'journal', seqName(2, '.seg')));
    const p = sequencer.submit(deposit(1, 2));
    let published = 0;
    sequencer.onApplied(() => published++);
    await assert.rejects(p, /EEXIST|EISDIR/);
    assert.equal(published, 0, 'nothing about the command left the sequencer');
    assert.equal(fatal.length, 1);
    assert.ok(lines.some((l) => l.level === 60), 'logged at fatal level');
    await assert.rejects(sequencer.submit(deposit(1, 3)), /sequencer failed/);
    await assert.rejects(sequencer.whenDurable(), /sequencer failed/);
  });

  it('treats an engine that throws as fatal and journals nothing of that command', async (t) => {
    const dir = tmpDir(t);
    const fatal: Error[] = [];
    const { sequencer } = await open(dir, { onFatal: (e) => fatal.push(e) });
    await sequencer.submit(deposit(1, 1));
    await assert.rejects(sequencer.submit({ type: 'Withdraw', userId: 1, asset: 1, amount: 1, address: 'boom' }), /engine.apply threw on seq 2/);
    assert.equal(fatal.length, 1);
    await sequencer.close(); // after a failure: releases the file and the lock only
    const again = await open(dir);
    assert.equal(again.engine.lastSeq, 1);
    await again.sequencer.close();
  });

  it("policy 'interval' and 'off' journal too", async (t) => {
    for (const fsync of ['interval', 'off'] as const) {
      const dir = tmpDir(t);
      const { sequencer, engine } = await open(dir, { fsync, fsyncIntervalMs: 5 });
      await Promise.all(Array.from({ length: 50 }, (_, i) => sequencer.submit(deposit(i % 3, i))));
      const h = engine.stateHash();
      const copy = crashCopy(dir, `${dir}-c`);
      t.after(() => fs.rmSync(copy, { recursive: true, force: true }));
      await sequencer.close();
      if (fsync === 'interval') assert.ok(sequencer.stats().fsyncs >= 1, 'close syncs what the interval has not');
      else assert.equal(sequencer.stats().fsyncs, 0);
      const r = await open(copy, { fsync });
      assert.equal(r.engine.stateHash(), h);
      assert.equal(r.recovery.replayed, 50);
      await r.sequencer.close();
    }
  });

  it('refuses a data directory that is open elsewhere', async (t) => {
    const dir = tmpDir(t);
    const { sequencer } = await open(dir);
    await assert.rejects(open(dir), /already open in this process/);
    await sequencer.close();
    fs.writeFileSync(path.join(dir, 'LOCK'), '999999999\n'); // a dead process
    const again = await open(dir);
    await again.sequencer.close();
  });
});

describe('recovery', () => {
  /** n commands; one at a time (one append each) when `sequential`, else as one burst. */
  async function fill(dir: string, n: number, more: Partial<StoreOptions> = {}, sequential = false) {
    const s = await open(dir, more);
    if (sequential) for (let i = 0; i < n; i++) await s.sequencer.submit(deposit(i % 5, i + 1));
    else await Promise.all(Array.from({ length: n }, (_, i) => s.sequencer.submit(deposit(i % 5, i + 1))));
    return s;
  }

  it('replays the journal after a crash and continues the same segment', async (t) => {
    const dir = tmpDir(t);
    const s = await fill(dir, 30);
    const h = s.engine.stateHash();
    const crash = crashCopy(dir, `${dir}-crash`);
    t.after(() => fs.rmSync(crash, { recursive: true, force: true }));
    await s.sequencer.close();
    const r = await open(crash);
    assert.equal(r.engine.stateHash(), h);
    assert.deepEqual([r.recovery.snapshotSeq, r.recovery.replayed, r.recovery.truncatedBytes], [0, 30, 0]);
    const a = await r.sequencer.submit(deposit(1, 1));
    assert.equal(a.seq, 31);
    assert.equal(segmentFiles(crash).length, 1);
    await r.sequencer.close();
  });

  it('round-trips state → snapshot → state', async (t) => {
    const dir = tmpDir(t);
    const s = await fill(dir, 40);
    const snap = await s.sequencer.snapshot();
    assert.equal(snap.seq, 40);
    assert.ok(fs.existsSync(snap.file));
    const h = s.engine.stateHash();
    await s.sequencer.close();
    const r = await open(dir);
    assert.equal(r.recovery.snapshotSeq, 40);
    assert.equal(r.recovery.replayed, 0);
    assert.equal(r.engine.stateHash(), h);
    await r.sequencer.close();
  });

  it('takes snapshots every N commands while commands keep arriving, each consistent with its seq', async (t) => {
    const dir = tmpDir(t);
    const s = await open(dir, { snapshotEveryCommands: 25, retention: 'keep' });
    const hashes = new Map<number, string>();
    s.sequencer.onApplied((a: Applied) => void a);
    for (let i = 0; i < 200; i++) {
      await s.sequencer.submit(deposit(i % 4, i));
      hashes.set(i + 1, s.engine.stateHash());
    }
    await s.sequencer.close();
    const snaps = snapshotFiles(dir);
    assert.ok(snaps.length >= 4, `${snaps.length} snapshots`);
    const res = await verifyWith(fakeKind, dir);
    assert.equal(res.ok, true, res.message);
    assert.equal(res.hash, hashes.get(200));
    assert.match(res.message, /snapshot hash\(es\) matched/);
  });

  it('cuts a torn final record off, reports it, and keeps every complete one', async (t) => {
    const cases: [string, (seg: string) => void][] = [
      ['short length', (seg) => fs.appendFileSync(seg, Buffer.from([0x30, 0x00, 0x00]))],
      ['short payload', (seg) => fs.appendFileSync(seg, encodeRecord('{"seq":21,"type":"Tick","time":1}').subarray(0, 20))],
      ['bad CRC at the end', (seg) => {
        const r = encodeRecord('{"seq":21,"type":"Tick","time":1}');
        r[r.length - 3] ^= 1;
        fs.appendFileSync(seg, r);
      }],
      ['zero-filled tail', (seg) => fs.appendFileSync(seg, Buffer.alloc(100))],
    ];
    for (const [name, damage] of cases) {
      const dir = tmpDir(t);
      const s = await fill(dir, 20);
      const h = s.engine.stateHash();
      const crash = crashCopy(dir, `${dir}-crash`);
      t.after(() => fs.rmSync(crash, { recursive: true, force: true }));
      await s.sequencer.close();
      const seg = segmentFiles(crash)[0]!;
      const goodSize = fs.statSync(seg).size;
      damage(seg);
      const added = fs.statSync(seg).size - goodSize;
      const before = await verifyWith(fakeKind, crash);
      assert.equal(before.ok, true, `${name}: ${before.message}`);
      assert.match(before.message, /torn tail/);
      const { log, lines } = captureLog();
      const r = await openStoreWith(fakeKind, opts(crash), FAKE_CONFIG, log);
      assert.equal(r.recovery.truncatedBytes, added, name);
      assert.equal(r.recovery.replayed, 20, name);
      assert.equal(r.engine.stateHash(), h, name);
      assert.equal(fs.statSync(seg).size, goodSize, name);
      assert.ok(lines.some((l) => /torn record/.test(l.msg) && l.offset === goodSize), `${name}: logged with offset`);
      assert.equal((await r.sequencer.submit(deposit(1, 1))).seq, 21);
      await r.sequencer.close();
      const again = await open(crash);
      assert.equal(again.engine.lastSeq, 21);
      await again.sequencer.close();
    }
  });

  it('removes a segment whose header was torn while being created', async (t) => {
    const dir = tmpDir(t);
    const s = await fill(dir, 5, { segmentBytes: 1, retention: 'keep' });
    const h = s.engine.stateHash();
    await s.sequencer.close();
    const segs = segmentFiles(dir);
    const next = path.join(dir, 'journal', seqName(6, '.seg'));
    fs.writeFileSync(next, Buffer.from('OFLRJR'));
    const r = await open(dir, { segmentBytes: 1, retention: 'keep' });
    assert.equal(r.recovery.truncatedBytes, 6);
    assert.equal(r.engine.stateHash(), h);
    assert.equal(fs.existsSync(next), false);
    assert.equal((await r.sequencer.submit(deposit(1, 1))).seq, 6);
    await r.sequencer.close();
    assert.equal(segmentFiles(dir).length, segs.length + 1);
  });

  it('stops on a flipped byte in the middle of a segment, naming file and offset, changing nothing', async (t) => {
    const dir = tmpDir(t);
    const s = await fill(dir, 20);
    await s.sequencer.close();
    const seg = segmentFiles(dir)[0]!;
    const buf = fs.readFileSync(seg);
    // Find the 10th record's offset.
    let o = SEGMENT_HEADER_BYTES;
    for (let i = 0; i < 9; i++) o += 8 + buf.readUInt32LE(o);
    flipByte(seg, o + 8 + 5);
    const rel = path.join('journal', path.basename(seg));
    const expected = `${rel}: record CRC mismatch (seq 10) at byte offset ${o}`;
    await assert.rejects(open(dir), (e: Error) => e.message === expected);
    assert.equal(fs.statSync(seg).size, buf.length, 'nothing truncated');
    assert.equal(fs.existsSync(path.join(dir, 'LOCK')), false, 'lock released after a failed open');
    const v = await verifyWith(fakeKind, dir);
    assert.equal(v.ok, false);
    assert.ok(v.message.includes(expected), v.message);
  });

  it('stops on damage in an older segment even when the newest is fine', async (t) => {
    const dir = tmpDir(t);
    const live = tmpDir(t);
    const s = await fill(live, 20, { segmentBytes: 200, retention: 'keep' }, true);
    fs.rmSync(dir, { recursive: true });
    crashCopy(live, dir); // no final snapshot: recovery has to read every segment
    await s.sequencer.close();
    const segs = segmentFiles(dir);
    assert.ok(segs.length > 2);
    const size = fs.statSync(segs[0]!).size;
    fs.truncateSync(segs[0]!, size - 3); // a torn record in a segment that is not the newest
    await assert.rejects(open(dir, { segmentBytes: 200 }), new RegExp(`${path.basename(segs[0]!)}: short record payload .* at byte offset`));
    assert.match((await verifyWith(fakeKind, dir)).message, /short record payload/);
  });

  it('stops on a missing segment in the middle', async (t) => {
    const dir = tmpDir(t);
    const live = tmpDir(t);
    const s = await fill(live, 20, { segmentBytes: 200, retention: 'keep' }, true);
    fs.rmSync(dir, { recursive: true });
    crashCopy(live, dir);
    await s.sequencer.close();
    const segs = segmentFiles(dir);
    assert.ok(segs.length > 2);
    fs.rmSync(segs[1]!);
    await assert.rejects(open(dir), /commands \d+\.\.\d+ are missing/);
    assert.equal((await verifyWith(fakeKind, dir)).ok, false);
  });

  it('falls back to an older snapshot when the newest is damaged and the journal covers it, and says so', async (t) => {
    const dir = tmpDir(t);
    const s = await fill(dir, 10);
    await s.sequencer.snapshot();
    await Promise.all(Array.from({ length: 10 }, () => s.sequencer.submit(deposit(9, 1))));
    await s.sequencer.snapshot();
    await s.sequencer.submit(deposit(9, 1));
    const h = s.engine.stateHash();
    await s.sequencer.close(); // final snapshot at 21; keepSnapshots 2 → snapshots 20 and 21
    const snaps = snapshotFiles(dir);
    assert.deepEqual(snaps.map((f) => path.basename(f)), [seqName(20, '.snap'), seqName(21, '.snap')]);
    const newest = snaps[1]!;
    const size = fs.statSync(newest).size;
    flipByte(newest, Math.floor(size / 2));
    const v = await verifyWith(fakeKind, dir);
    assert.equal(v.ok, false);
    assert.match(v.message, new RegExp(`snapshots/${seqName(21, '.snap')}: record CRC mismatch .*at byte offset \\d+`));
    const { log, lines } = captureLog();
    const r = await openStoreWith(fakeKind, opts(dir), FAKE_CONFIG, log);
    assert.equal(r.recovery.snapshotSeq, 20);
    assert.equal(r.recovery.replayed, 1);
    assert.equal(r.engine.stateHash(), h);
    const warned = lines.find((l) => /newest snapshot is damaged/.test(l.msg));
    assert.ok(warned, 'the fallback is logged');
    assert.match(warned.msg, /byte offset \d+/);
    await r.sequencer.close();
  });

  it('refuses to start when a damaged snapshot cannot be replaced by snapshot + journal', async (t) => {
    const dir = tmpDir(t);
    const s = await fill(dir, 30, { segmentBytes: 200, keepSnapshots: 1, retention: 'delete' }, true);
    await s.sequencer.close(); // snapshot at 30, covered segments deleted
    assert.ok(segmentFiles(dir)[0]!.endsWith(seqName(1, '.seg')) === false, 'old segments deleted');
    const [snap] = snapshotFiles(dir);
    flipByte(snap!, 20);
    await assert.rejects(open(dir), (e: Error) => /snapshots\/0+30\.snap: .* at byte offset \d+/.test(e.message) && /cannot be recovered/.test(e.message));
    const v = await verifyWith(fakeKind, dir);
    assert.equal(v.ok, false);
  });
});

describe('retention', () => {
  async function run(dir: string, retention: 'keep' | 'delete' | 'archive') {
    const s = await open(dir, { segmentBytes: 300, snapshotEveryCommands: 20, retention });
    for (let i = 0; i < 100; i++) await s.sequencer.submit(deposit(i % 3, i + 1));
    const h = s.engine.stateHash();
    await s.sequencer.close();
    return h;
  }

  it("'archive' moves covered segments to journal/archive/ and verify still replays from zero", async (t) => {
    const dir = tmpDir(t);
    const h = await run(dir, 'archive');
    assert.ok(segmentFiles(dir, true).length > 0, 'segments archived');
    assert.equal(snapshotFiles(dir).length, 2);
    const v = await verifyWith(fakeKind, dir);
    assert.equal(v.ok, true, v.message);
    assert.equal(v.commands, 100);
    assert.equal(v.hash, h);
    assert.match(v.message, /genesis/);
    // Every retired segment is covered by the oldest retained snapshot.
    const oldestSnap = Number(path.basename(snapshotFiles(dir)[0]!, '.snap'));
    const live = segmentFiles(dir).map((f) => Number(path.basename(f, '.seg')));
    assert.ok(live[0]! <= oldestSnap + 1);
    const r = await open(dir);
    assert.equal(r.engine.stateHash(), h);
    await r.sequencer.close();
  });

  it("'delete' deletes them and verify says it can only check from the oldest snapshot", async (t) => {
    const dir = tmpDir(t);
    const h = await run(dir, 'delete');
    assert.equal(segmentFiles(dir, true).length, 0);
    assert.ok(!segmentFiles(dir)[0]!.endsWith(seqName(1, '.seg')));
    const v = await verifyWith(fakeKind, dir);
    assert.equal(v.ok, true, v.message);
    assert.equal(v.hash, h);
    assert.match(v.message, /were deleted/);
  });

  it("'keep' keeps every segment and snapshot", async (t) => {
    const dir = tmpDir(t);
    await run(dir, 'keep');
    assert.equal(segmentFiles(dir, true).length, 0);
    assert.ok(segmentFiles(dir)[0]!.endsWith(seqName(1, '.seg')));
    assert.ok(snapshotFiles(dir).length >= 5);
    assert.equal((await verifyWith(fakeKind, dir)).ok, true);
  });
});
