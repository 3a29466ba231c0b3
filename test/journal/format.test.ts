import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { crc32c } from '../../src/journal/crc32c.js';
import { CorruptionError } from '../../src/journal/errors.js';
import { SEGMENT_HEADER_BYTES, encodeRecord, encodeSegmentHeader, parseSeqName, seqName } from '../../src/journal/format.js';
import { jsonPieces } from '../../src/journal/json-stream.js';
import { SCAN_CHUNK_RECORDS, SegmentReadBuffer, readSegment, scanSegment, type SegmentScan } from '../../src/journal/segment.js';
import { tmpDir } from './helpers.js';

describe('CRC-32C', () => {
  it('matches the standard check values', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
    // RFC 3720 (iSCSI) B.4 test vectors.
    assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  });

  it('is the same computed in pieces as in one go', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), (bytes, cut) => {
        const b = Buffer.from(bytes);
        const k = Math.min(cut, b.length);
        assert.equal(crc32c(b, crc32c(b, 0, 0, k), k), crc32c(b));
        // Bitwise reference implementation.
        let c = ~0;
        for (const x of b) {
          c ^= x;
          for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
        }
        assert.equal(crc32c(b), ~c >>> 0);
      }),
    );
  });
});

describe('incremental JSON', () => {
  it('joins to exactly JSON.stringify', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        assert.equal([...jsonPieces(v)].join(''), JSON.stringify(v));
      }),
      { numRuns: 300 },
    );
  });

  it('handles long flat arrays, undefined members and toJSON like JSON.stringify', () => {
    const v = {
      big: Array.from({ length: 10_000 }, (_, i) => (i % 7 === 0 ? null : i)),
      rows: Array.from({ length: 5000 }, (_, i) => [i, -i, 'x', i % 2 === 0]),
      skip: undefined,
      nested: { a: [undefined, { d: new Date(0) }], b: 'é"\\\u2028' },
    };
    assert.equal([...jsonPieces(v)].join(''), JSON.stringify(v));
  });
});

describe('incremental JSON of typed arrays', () => {
  const plain = (v: unknown): unknown =>
    JSON.parse(
      JSON.stringify(v, (_k, x: unknown) => (ArrayBuffer.isView(x) && !(x instanceof DataView) && !Buffer.isBuffer(x) ? Array.from(x as unknown as ArrayLike<number | bigint>, (e) => (typeof e === 'bigint' ? Number(e) : e)) : x)),
    );

  it('renders every typed array as a JSON array of its numbers, in pieces', () => {
    const n = 50_000;
    const f = new Float64Array(n).map((_, i) => (i % 3 === 0 ? -i / 7 : i * 1e-3));
    f[1] = Number.NaN;
    f[2] = -0;
    f[4] = Infinity;
    const state = {
      columns: { price: f, qty: new Int32Array(n).map((_, i) => i - 25_000), id: new Uint32Array([1, 2, 4294967295]) },
      small: new Uint8Array([0, 255]),
      rows: [new Int16Array([-1, 2]), { b: new BigInt64Array([-5n, 9007199254740993n]) }],
      f32: new Float32Array([0.1, 2.5]),
      empty: new Float64Array(0),
      buf: Buffer.from('hi'),
      list: [1, new Uint16Array(3), 'x'],
    };
    const pieces = [...jsonPieces(state)];
    const text = pieces.join('');
    const expected: Record<string, unknown> = { ...(plain(state) as Record<string, unknown>), buf: { type: 'Buffer', data: [104, 105] } };
    // 9007199254740993 is not a double: the text holds the exact integer.
    assert.match(text, /"b":\[-5,9007199254740993\]/);
    (expected.rows as [unknown, { b: unknown }])[1].b = [-5, 9007199254740993];
    assert.deepEqual(JSON.parse(text), expected);
    assert.equal(JSON.parse(text).columns.price[1], null);
    assert.equal(Object.is(JSON.parse(text).columns.price[2], 0), true);
    // Long typed arrays come in several pieces, none of them huge.
    assert.ok(pieces.length > 10);
    assert.ok(Math.max(...pieces.map((p) => p.length)) < 300_000);
  });
});

describe('segment format', () => {
  const segment = (payloads: string[]): Buffer => Buffer.concat([encodeSegmentHeader(5), ...payloads.map((p) => encodeRecord(p))]);
  const cmds = ['{"seq":5,"a":1}', '{"seq":6,"b":"ü"}', '{"seq":7}'];

  it('names files by seq', () => {
    assert.equal(seqName(42, '.seg'), '00000000000000000042.seg');
    assert.equal(parseSeqName('00000000000000000042.seg', '.seg'), 42);
    assert.equal(parseSeqName('42.seg', '.seg'), undefined);
    assert.equal(parseSeqName('00000000000000000042.snap', '.seg'), undefined);
  });

  it('visits every record with consecutive seqs', () => {
    const seen: [number, string][] = [];
    const scan = scanSegment(segment(cmds), 'j', false, 5, (seq, b, s, e) => seen.push([seq, b.toString('utf8', s, e)]));
    assert.deepEqual(seen, cmds.map((c, i) => [5 + i, c]));
    assert.equal(scan.count, 3);
    assert.equal(scan.torn, undefined);
  });

  it('reports a torn tail only at the end of the newest segment', () => {
    const whole = segment(cmds);
    const lastStart = whole.length - encodeRecord(cmds[2]!).length;
    for (const cut of [1, 7, 8, 9, encodeRecord(cmds[2]!).length - 1]) {
      const b = whole.subarray(0, lastStart + cut);
      const scan = scanSegment(b, 'j', true, 5);
      assert.equal(scan.count, 2);
      assert.deepEqual([scan.torn?.offset, scan.torn?.bytes], [lastStart, cut]);
      assert.throws(() => scanSegment(b, 'j', false, 5), (e: unknown) => e instanceof CorruptionError && e.offset === lastStart && e.message.includes(`byte offset ${lastStart}`));
    }
    // A whole record with a bad CRC at the very end.
    const badCrc = Buffer.from(whole);
    badCrc[whole.length - 2] ^= 1;
    assert.equal(scanSegment(badCrc, 'j', true, 5).torn?.offset, lastStart);
    // Zeros where the last append should be (delayed allocation after power loss).
    const zeros = Buffer.concat([whole.subarray(0, lastStart), Buffer.alloc(40)]);
    assert.equal(scanSegment(zeros, 'j', true, 5).torn?.reason.startsWith('zero-filled'), true);
    // Incomplete header of a segment created just before the crash.
    assert.equal(scanSegment(encodeSegmentHeader(9).subarray(0, 11), 'j', true, 9).torn?.wholeFile, true);
  });

  it('throws with file and offset on damage before the end', () => {
    const whole = segment(cmds);
    const secondStart = SEGMENT_HEADER_BYTES + encodeRecord(cmds[0]!).length;
    const b = Buffer.from(whole);
    b[secondStart + 10] ^= 0x40; // inside the second payload
    assert.throws(() => scanSegment(b, 'journal/x.seg', true, 5), {
      name: 'CorruptionError',
      message: `journal/x.seg: record CRC mismatch (seq 6) at byte offset ${secondStart}`,
    });
  });

  it('does not mistake a corrupted length field for a torn tail', () => {
    const whole = segment(cmds);
    const secondStart = SEGMENT_HEADER_BYTES + encodeRecord(cmds[0]!).length;
    const b = Buffer.from(whole);
    b.writeUInt32LE(1000, secondStart); // claims more bytes than the file has
    assert.throws(() => scanSegment(b, 'j', true, 5), (e: unknown) => e instanceof CorruptionError && e.offset === secondStart && /not a torn tail/.test(e.message));
  });

  it('rejects a header whose seq disagrees with the file name, or another format version', () => {
    assert.throws(() => scanSegment(segment(cmds), 'j', true, 6), /header says the first seq is 5/);
    const v3 = segment(cmds);
    v3.writeUInt32LE(3, 8);
    assert.throws(() => scanSegment(v3, 'j', true, 5), /header \(bytes 0-27\) CRC mismatch at byte offset 0/);
    v3.writeUInt32LE(crc32c(v3, 0, 0, 24), 24);
    assert.throws(() => scanSegment(v3, 'j', true, 5), /unsupported journal format version 3 .* at byte offset 8/);
    // Versions 1 (JSON records only) and 2 both read.
    for (const version of [1, 2]) assert.equal(scanSegment(Buffer.concat([encodeSegmentHeader(5, version), ...cmds.map((p) => encodeRecord(p))]), 'j', false, 5).version, version);
  });
});

describe('reading a segment file piecewise', () => {
  // Records of every size class: tiny, around the piece sizes below, and larger than a piece.
  const payload = (i: number): string => {
    const pad = [0, 3, 20, 60, 150, 700][i % 6]!;
    return JSON.stringify({ seq: 5 + i, p: 'x'.repeat(pad + (i % 5)) });
  };
  const build = (count: number): Buffer => Buffer.concat([encodeSegmentHeader(5), ...Array.from({ length: count }, (_, i) => encodeRecord(payload(i)))]);

  type Outcome = { scan: SegmentScan; seen: string[] } | { error: string; name: string; offset: unknown };
  const outcome = async (f: (visit: (seq: number, b: Buffer, s: number, e: number, off: number) => void) => SegmentScan | Promise<SegmentScan>): Promise<Outcome> => {
    const seen: string[] = [];
    try {
      const scan = await f((seq, b, s, e, off) => seen.push(`${seq}@${off}:${b.toString('utf8', s, e)}`));
      return { scan, seen };
    } catch (e) {
      return { error: (e as Error).message, name: (e as Error).name, offset: (e as { offset?: unknown }).offset };
    }
  };
  const compare = async (file: string, b: Buffer, torn: boolean, pieces: number[]): Promise<void> => {
    fs.writeFileSync(file, b);
    const expected = await outcome((v) => scanSegment(b, 'j', torn, 5, v));
    for (const piece of pieces) {
      const got = await outcome((v) => readSegment(file, 'j', torn, 5, v, new SegmentReadBuffer(piece)));
      assert.deepEqual(got, expected, `piece ${piece}, ${b.length} bytes, torn ${torn}`);
    }
  };

  it('visits, returns and throws exactly what scanSegment does on the whole file', async (t) => {
    const file = path.join(tmpDir(t), 'seg');
    const whole = build(14);
    const pieces = [16, 37, 64, 100, 1 << 20];
    for (const torn of [true, false]) {
      await compare(file, whole, torn, pieces);
      // Cuts (a torn tail, or an incomplete header): every byte near the start and the end, and
      // a stride through the middle.
      for (let cut = 0; cut < whole.length; cut += cut < 80 || cut > whole.length - 200 ? 1 : 13) {
        await compare(file, whole.subarray(0, cut), torn, torn ? [16, 100, 1 << 20] : [37]);
      }
      // Zeros where the last appends should be.
      await compare(file, Buffer.concat([whole, Buffer.alloc(70)]), torn, pieces);
    }
    // Damage anywhere: every byte flipped in turn (header, lengths, CRCs, payloads).
    for (let at = 0; at < whole.length; at += at < 60 ? 1 : 5) {
      const b = Buffer.from(whole);
      b[at] ^= 0x21;
      await compare(file, b, at % 2 === 0, [16, 64, 1 << 20]);
    }
  });

  it('gives the event loop a turn between pieces', async (t) => {
    const file = path.join(tmpDir(t), 'seg');
    fs.writeFileSync(file, build(30));
    let turns = 0;
    let done = false;
    const spin = (): void => {
      turns++;
      if (!done) setImmediate(spin);
    };
    setImmediate(spin);
    const scan = await readSegment(file, 'j', false, 5, undefined, new SegmentReadBuffer(256));
    done = true;
    assert.equal(scan.count, 30);
    assert.ok(turns >= 3, `${turns} turns`);
  });

  it('carries more records than one scan step, and records larger than a piece', async (t) => {
    const file = path.join(tmpDir(t), 'seg');
    const big = build(SCAN_CHUNK_RECORDS * 2 + 7);
    await compare(file, big, true, [64, 1000, 1 << 20]);
    const cut = big.subarray(0, big.length - 3);
    await compare(file, cut, true, [64, 1 << 20]);
    await compare(file, cut, false, [64]);
    const damaged = Buffer.from(big);
    damaged[Math.floor(big.length * 0.7)] ^= 1;
    await compare(file, damaged, true, [64, 1 << 20]);
    const huge = Buffer.concat([encodeSegmentHeader(5), encodeRecord(JSON.stringify({ seq: 5, p: 'y'.repeat(5000) })), encodeRecord('{"seq":6}')]);
    await compare(file, huge, true, [16, 1000]);
  });
});
