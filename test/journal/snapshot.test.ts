// Snapshot files on their own: format 2 (Float64Arrays as binary 'F' records) round-trips
// exactly, format 1 (all JSON) is still read, and damage anywhere is reported with file and
// offset, never read as different data.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { defaultEngineConfig } from '../../src/core/default-config.js';
import { Engine } from '../../src/core/engine.js';
import type { EngineEvent } from '../../src/core/types.js';
import { crc32c } from '../../src/journal/crc32c.js';
import { CorruptionError } from '../../src/journal/errors.js';
import { SNAPSHOT_DIR } from '../../src/journal/format.js';
import { SNAPSHOT_FORMAT_VERSION, readSnapshot, writeSnapshot } from '../../src/journal/snapshot.js';
import { tmpDir } from './helpers.js';

async function write(dir: string, state: unknown, seq = 7): Promise<string> {
  fs.mkdirSync(path.join(dir, SNAPSHOT_DIR), { recursive: true });
  return (await writeSnapshot({ dataDir: dir, seq, time: 1_700_000_000_000_000, state, sync: false })).file;
}

/** A format-1 file as the previous release wrote it: header, meta, JSON body, end. */
function writeV1(file: string, state: unknown, seq: number): void {
  const rec = (kind: number, data: Buffer): Buffer => {
    const b = Buffer.alloc(9 + data.length);
    b[8] = kind;
    data.copy(b, 9);
    b.writeUInt32LE(data.length + 1, 0);
    b.writeUInt32LE(crc32c(b, 0, 8, b.length), 4);
    return b;
  };
  const header = Buffer.alloc(16);
  header.write('OFLRSNAP', 0, 'latin1');
  header.writeUInt32LE(1, 8);
  const body = Buffer.from(JSON.stringify(state, (_k, v: unknown) => (v instanceof Float64Array ? Array.from(v) : v)));
  const meta = { format: 'openfloor-snapshot', version: 1, seq, time: 5, createdAt: new Date(0).toISOString() };
  const end = { seq, bodyBytes: body.length, chunks: 1, sha256: createHash('sha256').update(body).digest('hex') };
  fs.writeFileSync(file, Buffer.concat([header, rec(0x4d, Buffer.from(JSON.stringify(meta))), rec(0x42, body), rec(0x45, Buffer.from(JSON.stringify(end)))]));
}

describe('snapshot files', () => {
  it('writes format 2 and reads Float64Arrays back bit for bit, in place, other data as JSON', async (t) => {
    const dir = tmpDir(t);
    const big = new Float64Array(300_001); // past one 'F' record
    for (let i = 0; i < big.length; i++) big[i] = i % 3 === 0 ? -i * 1e6 - 0.5 : 2 ** 53 - i;
    const state = {
      markets: [
        { name: 'a', orders: { count: 2, stride: 3, data: new Float64Array([1, -2.5, 2 ** 53 - 1, Number.MAX_VALUE, 0, 4]) } },
        { name: 'b', orders: { count: 0, stride: 3, data: new Float64Array(0) } },
      ],
      big,
      ints: new Int32Array([1, -2, 3]),
      nested: [[{ x: 1 }, null, 'ü'], { deep: { f: new Float64Array([42]) } }],
    };
    const file = await write(dir, state);
    assert.equal(fs.readFileSync(file).readUInt32LE(8), SNAPSHOT_FORMAT_VERSION);
    assert.equal(SNAPSHOT_FORMAT_VERSION, 2);
    const back = (await readSnapshot(file, 'x.snap')).state as typeof state;
    assert.ok(back.markets[0]!.orders.data instanceof Float64Array);
    assert.deepEqual(Array.from(back.markets[0]!.orders.data), Array.from(state.markets[0]!.orders.data));
    assert.equal(back.markets[1]!.orders.data.length, 0);
    assert.ok(back.big instanceof Float64Array);
    assert.equal(Buffer.from(back.big.buffer, back.big.byteOffset, back.big.byteLength).equals(Buffer.from(big.buffer)), true);
    assert.deepEqual(back.ints, [1, -2, 3] as unknown);
    assert.deepEqual(back.nested[0], [{ x: 1 }, null, 'ü']);
    assert.deepEqual(Array.from((back.nested[1] as { deep: { f: Float64Array } }).deep.f), [42]);
    assert.deepEqual({ ...back.markets[0]!, orders: { ...back.markets[0]!.orders, data: null } }, { name: 'a', orders: { count: 2, stride: 3, data: null } });
  });

  it('restores an engine from a format-2 file and from the format-1 file an earlier release wrote, with the same state hash', async (t) => {
    const dir = tmpDir(t);
    const config = defaultEngineConfig('coinflex', Date.UTC(2026, 0, 1));
    const e = new Engine(config);
    const out: EngineEvent[] = [];
    let seq = 0;
    const run = (c: object) => e.apply({ seq: ++seq, time: 1_767_225_600_000_000 + seq, ...c } as Parameters<Engine['apply']>[0], out);
    for (let u = 0; u < 3; u++) run({ type: 'CreateUser', publicKey: `k${u}`, cookie: `c${u}` });
    for (let u = 1; u <= 3; u++) {
      run({ type: 'Deposit', userId: u, asset: 0xf800, amount: 10 ** 9 });
      run({ type: 'Deposit', userId: u, asset: 0xff03, amount: 10 ** 12 });
    }
    for (let i = 0; i < 500; i++) run({ type: 'PlaceOrder', userId: 1 + (i % 3), sessionId: 9, base: 0xf800, counter: 0xff03, quantity: i % 2 ? 100 + i : -100 - i, price: (i % 2 ? 39_000 - (i % 50) : 41_000 + (i % 50)) * 10_000, tonce: i + 1, persist: i % 5 !== 0 });
    const hash = e.stateHash();
    const v2 = await write(dir, e.serialize(), seq);
    assert.equal(Engine.restore((await readSnapshot(v2, 'v2.snap')).state).stateHash(), hash);
    const v1 = path.join(dir, 'v1.snap');
    writeV1(v1, e.serialize(), seq);
    const loaded = await readSnapshot(v1, 'v1.snap');
    assert.equal(loaded.meta.version, 1);
    assert.equal(Engine.restore(loaded.state).stateHash(), hash);
  });

  it('reports a flipped byte anywhere in a format-2 file with file and offset, and a cut file as incomplete', async (t) => {
    const dir = tmpDir(t);
    const data = new Float64Array(200_000).map((_, i) => i * 7);
    const file = await write(dir, { a: 1, orders: { data }, tail: 'z' });
    const good = fs.readFileSync(file);
    const copy = path.join(dir, 'copy.snap');
    // Offsets spread over the header, the meta, body and float records and the end record.
    const offsets = [0, 9, 12, 20, 40, 100, good.length >> 3, good.length >> 1, good.length - 4000, good.length - 60, good.length - 1];
    for (let i = 1; i < 40; i++) offsets.push(Math.floor((good.length * i) / 40));
    for (const at of offsets) {
      const bad = Buffer.from(good);
      bad[at] = bad[at]! ^ 0x10;
      fs.writeFileSync(copy, bad);
      await assert.rejects(readSnapshot(copy, 'snapshots/copy.snap'), (e: unknown) => {
        assert.ok(e instanceof CorruptionError, `flip at ${at}: ${String(e)}`);
        assert.match(e.message, /snapshots\/copy\.snap/);
        assert.ok(e.offset <= at, `flip at ${at} reported at ${e.offset}`);
        return true;
      });
    }
    for (const cut of [good.length - 1, good.length - 200, Math.floor(good.length / 2)]) {
      fs.writeFileSync(copy, good.subarray(0, cut));
      await assert.rejects(readSnapshot(copy, 'snapshots/copy.snap'), CorruptionError);
    }
  });
});
