// Journal record encoding (format version 2): every command type round-trips, binary records
// decode to exactly what the JSON round trip gives, anything the binary layouts cannot hold
// exactly falls back to JSON, and version-1 segments written by the previous release still read.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { defaultEngineConfig } from '../../src/core/default-config.js';
import { Engine } from '../../src/core/engine.js';
import type { Command, EngineEvent, UnstampedCommand } from '../../src/core/types.js';
import { decodeCommand, openStore, verify } from '../../src/journal/index.js';
import { openStoreWith } from '../../src/journal/store.js';
import { JSON_KIND, MAX_BINARY_KIND, decodeBinary, encodeCommand } from '../../src/journal/record.js';
import { listSegments, scanSegment } from '../../src/journal/segment.js';
import { decodeSegmentHeader } from '../../src/journal/format.js';
import { FAKE_CONFIG, deposit, fakeKind, segmentFiles, silent, tmpDir } from './helpers.js';

const SEQ = 123_456;
const TIME = 1_795_000_000_123_456;

/** What the JSON round trip of the stamped command gives (the version-1 meaning of a record). */
function viaJson(cmd: object): Command {
  const stamped = { seq: 0, time: 0, ...cmd } as Command;
  stamped.seq = SEQ;
  stamped.time = TIME;
  return JSON.parse(JSON.stringify(stamped)) as Command;
}

function encode(cmd: object): { buf: Buffer; end: number } {
  const buf = Buffer.allocUnsafeSlow(1 << 17);
  const end = encodeCommand(cmd, SEQ, TIME, buf, new DataView(buf.buffer), 3);
  return { buf, end };
}

const key = { publicKey: Buffer.alloc(57, 4).toString('base64'), cookie: Buffer.alloc(15, 7).toString('base64') };

/** One or more examples of every command type. */
const EXAMPLES: UnstampedCommand[] = [
  { type: 'PlaceOrder', userId: 1, sessionId: 2 ** 40 + 3, base: 0xf800, counter: 0xff03, quantity: 300, price: 400_000_000, persist: true, clientOrderId: 'cid-1' },
  { type: 'PlaceOrder', userId: 1, sessionId: 5, tonce: null, base: 0xf800, counter: 0xff03, quantity: -100, price: 1, persist: false, postOnly: true },
  { type: 'PlaceOrder', userId: 2, sessionId: 5, tonce: 7, base: 1, counter: 2, total: 123_456_789, persist: 'fill_or_kill', postOnly: false, clientOrderId: '' },
  { type: 'PlaceOrder', userId: 2, sessionId: 5, base: 1, counter: 2, quantity: 0.5 },
  { type: 'PlaceOrder', userId: 3, sessionId: 4, base: 1, counter: 2, quantity: -7, price: 9 },
  { type: 'PlaceOrder', userId: 3, sessionId: 4, tonce: 11, base: 1, counter: 2, quantity: 7, price: 9 },
  { type: 'PlaceOrder', userId: 2, sessionId: 5, base: 1, counter: 2, quantity: 1, clientOrderId: 'x'.repeat(300) },
  { type: 'ModifyOrder', userId: 1, id: 9, tonce: 3, quantityDelta: -5, price: 77, postOnly: true },
  { type: 'ModifyOrder', userId: 1 },
  { type: 'CancelOrder', userId: 1, id: 9 },
  { type: 'CancelOrder', userId: 1, tonce: 4 },
  { type: 'CancelOrder', userId: 1, id: 1, tonce: 2 },
  { type: 'CancelAllOrders', userId: 3 },
  { type: 'Disconnect', sessionId: 2 ** 30 },
  { type: 'ServerStarted' },
  { type: 'Tick' },
  { type: 'CreateUser', ...key },
  { type: 'Deposit', userId: 1, asset: 0xff03, amount: Number.MAX_SAFE_INTEGER },
  { type: 'Withdraw', userId: 1, asset: 0xff03, amount: 5, address: 'bc1qexample' },
  { type: 'AddWithdrawalAddress', userId: 1, asset: 0xf800, address: 'addr' },
  { type: 'AddAsset', asset: { code: 0xf900, symbol: 'ETH', scale: 8 } as never },
  { type: 'AddMarket', market: { base: 0xf900, counter: 0xff03, tick: 100 } as never },
  { type: 'CreateApiKey', userId: 1, accessId: 'ak', secretKey: 'sk'.repeat(10), permissions: ['read', 'trade'] },
  { type: 'RevokeApiKey', accessId: 'ak' },
];

const JSON_TYPES = new Set(['AddAsset', 'AddMarket', 'CreateApiKey']);

describe('record encoding', () => {
  it('round-trips every command type (binary where a layout exists, JSON otherwise)', () => {
    for (const cmd of EXAMPLES) {
      const { buf, end } = encode(cmd);
      if (JSON_TYPES.has(cmd.type)) {
        assert.equal(end, -1, cmd.type);
        continue;
      }
      assert.ok(end > 3, `${cmd.type} has a binary layout`);
      assert.ok(buf[3]! >= 1 && buf[3]! <= MAX_BINARY_KIND);
      const back = decodeCommand(buf, 3, end);
      assert.deepEqual(back, viaJson(cmd), cmd.type);
      assert.deepEqual(Object.keys(back).slice(0, 3), ['seq', 'time', 'type']);
      // The hand-written decoders agree with the table-driven one, key order included.
      const generic = decodeBinary(buf, 3, end, false);
      assert.deepEqual(Object.keys(generic), Object.keys(back));
      assert.deepEqual(generic, back);
    }
  });

  it('decodes a malformed record of a common shape with the same error as the table-driven decoder', () => {
    const shapes: UnstampedCommand[] = [
      { type: 'PlaceOrder', userId: 3, sessionId: 4, base: 1, counter: 2, quantity: -7, price: 9 },
      { type: 'PlaceOrder', userId: 3, sessionId: 4, tonce: 11, base: 1, counter: 2, quantity: 7, price: 9 },
      { type: 'PlaceOrder', userId: 2, sessionId: 5, base: 1, counter: 2, quantity: 0.5 },
      { type: 'CancelOrder', userId: 1, id: 9 },
      { type: 'CancelOrder', userId: 1, id: 1, tonce: 2 },
    ];
    const errorOf = (f: () => unknown): string => {
      try {
        f();
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      }
    };
    for (const cmd of shapes) {
      const { buf, end } = encode(cmd);
      for (const e of [end - 9, end - 1, end + 1, end + 8]) {
        const fast = errorOf(() => decodeBinary(buf, 3, e));
        assert.notEqual(fast, 'no error', `${cmd.type} cut to ${e - 3} bytes`);
        if (cmd.type === 'PlaceOrder') assert.equal(fast, errorOf(() => decodeBinary(buf, 3, e, false)), `${cmd.type} cut to ${e - 3} bytes`);
      }
    }
  });

  it('decodes from views at different offsets of one ArrayBuffer, alternately (the decoder keeps a view per buffer)', () => {
    const { buf, end } = encode(EXAMPLES[0]!);
    const record = buf.subarray(3, end);
    const shared = new ArrayBuffer(2 * record.length + 13);
    const first = Buffer.from(shared, 5, record.length);
    const second = Buffer.from(shared, 5 + record.length + 3, record.length);
    record.copy(first);
    record.copy(second);
    second.writeDoubleLE(SEQ + 1, 5); // the stamped seq of the second copy differs
    const expected = viaJson(EXAMPLES[0]!);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(decodeCommand(first, 0, first.length), expected);
      assert.deepEqual(decodeCommand(second, 0, second.length), { ...expected, seq: SEQ + 1 });
      assert.deepEqual(decodeCommand(buf, 3, end), expected);
    }
  });

  it('reads JSON payloads (version-1 records and the fallback)', () => {
    const b = Buffer.from(JSON.stringify({ seq: 1, time: 2, type: 'Tick' }));
    assert.equal(b[0], JSON_KIND);
    assert.deepEqual(decodeCommand(b, 0, b.length), { seq: 1, time: 2, type: 'Tick' });
    assert.throws(() => decodeCommand(Buffer.from('{"seq":'), 0, 7), /not valid JSON/);
    assert.throws(() => decodeCommand(Buffer.from([200, 0, 0]), 0, 3), /unknown record kind 200/);
  });

  it('falls back to JSON for anything a binary layout would not give back exactly', () => {
    const place = { type: 'PlaceOrder', userId: 1, sessionId: 2, base: 3, counter: 4, quantity: 5, price: 6 };
    const cases: object[] = [
      { ...place, note: 'extra member' },
      { ...place, quantity: Number.NaN },
      { ...place, price: Infinity },
      { ...place, quantity: -0 },
      { ...place, persist: 'yes' },
      { ...place, postOnly: 1 },
      { ...place, clientOrderId: 'ünïcode' },
      { ...place, clientOrderId: 7 },
      { ...place, userId: '1' },
      { ...place, base: { n: 3 } },
      { type: 'CancelOrder', userId: 1, tonce: null },
      { type: 'Deposit', userId: 1, asset: 1, amount: 5, toJSON: () => 'x' },
      { type: 'Withdraw', userId: 1, asset: 1, amount: 5, address: 'a'.repeat(70_000) },
      Object.assign(Object.create({ inherited: 1 }) as object, { type: 'Tick' }),
      { type: 'NoSuchCommand' },
    ];
    for (const c of cases) assert.equal(encode(c).end, -1, JSON.stringify(c));
    // Members that are undefined are dropped, as JSON drops them.
    const { buf, end } = encode({ ...place, total: undefined, clientOrderId: undefined });
    assert.ok(end > 0);
    assert.deepEqual(decodeCommand(buf, 3, end), viaJson(place));
  });

  it('encode → decode equals the JSON round trip whenever it encodes (property)', () => {
    const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2));
    const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq: 3 });
    const place = fc.record(
      {
        type: fc.constant('PlaceOrder'),
        userId: num,
        sessionId: num,
        tonce: opt(fc.oneof(num, fc.constant(null))),
        base: num,
        counter: num,
        quantity: opt(num),
        price: opt(num),
        total: opt(num),
        persist: opt(fc.oneof(fc.boolean(), fc.constant('fill_or_kill'), fc.string())),
        postOnly: opt(fc.oneof(fc.boolean(), fc.integer())),
        clientOrderId: opt(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.integer())),
        seq: opt(num),
        extra: opt(fc.anything()),
      },
      { requiredKeys: ['type'] },
    );
    const cancel = fc.record({ type: fc.constant('CancelOrder'), userId: opt(num), id: opt(num), tonce: opt(fc.oneof(num, fc.constant(null))) }, { requiredKeys: ['type'] });
    const other = fc.record(
      {
        type: fc.constantFrom('ModifyOrder', 'CancelAllOrders', 'Disconnect', 'ServerStarted', 'Tick', 'CreateUser', 'Deposit', 'Withdraw', 'AddWithdrawalAddress', 'RevokeApiKey'),
        userId: opt(num),
        sessionId: opt(num),
        id: opt(num),
        tonce: opt(num),
        quantityDelta: opt(num),
        price: opt(num),
        postOnly: opt(fc.boolean()),
        asset: opt(num),
        amount: opt(num),
        address: opt(fc.string()),
        accessId: opt(fc.string()),
        publicKey: opt(fc.base64String()),
        cookie: opt(fc.base64String()),
      },
      { requiredKeys: ['type'] },
    );
    fc.assert(
      fc.property(fc.oneof(place, cancel, other), (cmd) => {
        let expected: Command;
        try {
          expected = viaJson(cmd);
        } catch {
          return; // not JSON-serialisable: the sequencer rejects it
        }
        const { buf, end } = encode(cmd);
        if (end < 0) return;
        const back = decodeCommand(buf, 3, end);
        assert.deepEqual(back, expected);
        assert.deepEqual(decodeBinary(buf, 3, end, false), back);
        // Decoding any truncation of the record fails instead of inventing data.
        for (const cut of [3, 4, 24, end - 1]) if (cut > 3 && cut < end) assert.throws(() => decodeCommand(buf, 3, cut));
      }),
      { numRuns: 2000 },
    );
  });
});

const CONFIG = defaultEngineConfig('coinflex', Date.UTC(2026, 0, 1));
const FIXTURE_V1 = fileURLToPath(new URL('../../../test/journal/fixtures/v1', import.meta.url));

describe('segment format versions', () => {
  it('reads a version-1 journal written by the previous release, then continues in a version-2 segment', async (t) => {
    const dir = tmpDir(t);
    fs.cpSync(FIXTURE_V1, dir, { recursive: true });
    const [v1] = segmentFiles(dir);
    assert.equal((decodeSegmentHeader(fs.readFileSync(v1!)) as { version: number }).version, 1);

    // The records as the previous release wrote them: JSON, applied to a fresh engine.
    const expected = new Engine(CONFIG);
    const seen: Command[] = [];
    scanSegment(fs.readFileSync(v1!), 'v1', false, 1, (_seq, b, s, e) => seen.push(JSON.parse(b.toString('utf8', s, e)) as Command));
    assert.equal(seen.length, 20);
    const out: EngineEvent[] = [];
    for (const c of seen) expected.apply(c, out);
    assert.ok(seen.some((c) => c.type === 'PlaceOrder' && c.clientOrderId === 'ünï'));

    for (const recordEncoding of ['binary', 'json'] as const) {
      const d = `${dir}-${recordEncoding}`;
      fs.cpSync(dir, d, { recursive: true });
      t.after(() => fs.rmSync(d, { recursive: true, force: true }));
      const s = await openStore({ dataDir: d, fsync: 'always', recordEncoding }, CONFIG, silent);
      assert.equal(s.recovery.replayed, 20);
      assert.equal(s.engine.stateHash(), expected.stateHash());
      const a = await s.sequencer.submit({ type: 'PlaceOrder', userId: 1, sessionId: 3, base: 0xf800, counter: 0xff03, quantity: 100, price: 39_000 * 10_000, persist: true, clientOrderId: 'after' });
      assert.equal(a.seq, 21);
      const live = s.engine.stateHash();
      await s.sequencer.whenDurable();
      const files = segmentFiles(d);
      assert.equal(files.length, 2, 'the version-1 segment is left as it is; new records go to a new segment');
      assert.equal(fs.readFileSync(files[0]!).equals(fs.readFileSync(v1!)), true);
      assert.equal((decodeSegmentHeader(fs.readFileSync(files[1]!)) as { version: number }).version, 2);
      const v = await verify(d);
      assert.equal(v.ok, true, v.message);
      assert.equal(v.hash, live);
      await s.sequencer.close();
      const r = await openStore({ dataDir: d, fsync: 'always', recordEncoding }, CONFIG, silent);
      assert.equal(r.engine.stateHash(), live);
      await r.sequencer.close();
      // Both segments decode with decodeCommand (what history rebuilds use).
      const cmds: Command[] = [];
      for (const seg of await listSegments(d)) {
        const b = fs.readFileSync(seg.file);
        scanSegment(b, seg.rel, true, seg.firstSeq, (_q, bb, st, en) => cmds.push(decodeCommand(bb, st, en)));
      }
      assert.deepEqual(cmds.slice(0, 20), seen);
      assert.deepEqual(cmds[20], { ...a.command, seq: 21, time: a.time });
    }
  });
});

describe('sequencer with binary records', () => {
  it('gives the engine exactly what a replay reads back, for binary and JSON-fallback records alike', async (t) => {
    const dir = tmpDir(t);
    const open = () => openStoreWith(fakeKind, { dataDir: dir, fsync: 'always', recordEncoding: 'binary', onFatal: (e) => assert.fail(e) }, FAKE_CONFIG, silent);
    const { engine, sequencer } = await open();
    const live: Command[] = [];
    sequencer.onApplied((a) => live.push(a.command as Command));
    const inputs: object[] = [
      deposit(1, 10),
      { ...deposit(1, 1), seq: 999, time: 5, note: undefined, x: Number.NaN },
      { type: 'PlaceOrder', userId: 1, sessionId: 2, base: 3, counter: 4, quantity: 5, price: 6, clientOrderId: 'abc', seq: 77 },
      { type: 'PlaceOrder', userId: 1, sessionId: 2, base: 3, counter: 4, quantity: -0, clientOrderId: 'ü' },
      { type: 'CancelOrder', userId: 1, id: 3 },
      { type: 'CreateApiKey', userId: 1, accessId: 'a', secretKey: 's', permissions: ['read'] },
      { type: 'Withdraw', userId: 1, asset: 1, amount: 3, address: 'x' },
    ];
    const applied = await Promise.all(inputs.map((c) => sequencer.submit(c as UnstampedCommand)));
    assert.deepEqual(applied.map((a) => a.seq), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal((applied[1]!.command as unknown as { x: unknown }).x, null);
    assert.equal(Object.is((applied[3]!.command as { quantity?: number }).quantity, 0), true);
    assert.deepEqual(Object.keys(applied[2]!.command), ['seq', 'time', 'type', 'userId', 'sessionId', 'base', 'counter', 'quantity', 'price', 'clientOrderId']);
    const hash = engine.stateHash();
    await sequencer.close();
    // The first segment holds binary records (kind byte < '{') for the layout types.
    const seg = fs.readFileSync(segmentFiles(dir)[0]!);
    const kinds: number[] = [];
    const replayed: Command[] = [];
    scanSegment(seg, 'x', false, 1, (_q, b, s, e) => {
      kinds.push(b[s]!);
      replayed.push(decodeCommand(b, s, e));
    });
    assert.deepEqual(kinds.map((k) => k === JSON_KIND), [false, true, false, true, false, true, false]);
    assert.deepEqual(replayed, live);
    fs.rmSync(path.join(dir, 'snapshots'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'snapshots'));
    const r = await open();
    assert.equal(r.recovery.replayed, 7);
    assert.equal(r.engine.stateHash(), hash);
    await r.sequencer.close();
    assert.equal(createHash('sha256').update(JSON.stringify(replayed)).digest('hex'), createHash('sha256').update(JSON.stringify(live)).digest('hex'));
  });
});
