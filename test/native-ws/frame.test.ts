// Pre-built server frames decode, with ws's own parser, to exactly the text they carry, for
// every length encoding (7-bit, 16-bit, 64-bit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Writable } from 'node:stream';
import * as wsModule from 'ws';
import { asciiFrames, concatFrames, framePayload, textFrame } from '../../src/dialects/native-ws/frame.js';

// ws's frame parser (exported at runtime, not in @types/ws).
const Receiver = (wsModule as unknown as { Receiver: new (o: { isServer: boolean }) => Writable }).Receiver;

function decode(frames: Buffer[]): string[] {
  const out: string[] = [];
  const r = new Receiver({ isServer: false });
  r.on('message', (data: Buffer, isBinary: boolean) => {
    assert.equal(isBinary, false);
    out.push(data.toString('utf8'));
  });
  r.on('error', (err: Error) => assert.fail(err));
  r.write(Buffer.concat(frames));
  return out;
}

test('textFrame: header forms and payloads round-trip through ws', () => {
  const texts = [
    '',
    '{"error_code":0}',
    'x'.repeat(125),
    'y'.repeat(126),
    'é'.repeat(40_000), // 80,000 bytes: 64-bit length
    'z'.repeat(65_535),
    'w'.repeat(65_536),
    '{"notice":"Welcome","nonce":"azRzAi5rm1ry/l0drnz1vw=="}',
  ];
  const frames = texts.map(textFrame);
  assert.deepEqual(decode(frames), texts);
  assert.deepEqual([...frames[1]!.subarray(0, 2)], [0x81, 16]);
  assert.deepEqual([...frames[3]!.subarray(0, 4)], [0x81, 126, 0, 126]);
  assert.equal(frames[4]![1], 127);
  for (const [i, f] of frames.entries()) assert.equal(framePayload(f).toString('utf8'), texts[i]);
});

test('concatFrames: texts framed in place and complete frames copied, in order, round-trip through ws', () => {
  const texts = ['', '{"error_code":0}', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(65_535), 'é'.repeat(40_000), 'ü€𝄞'];
  for (let shift = 0; shift < texts.length; shift++) {
    const order = [...texts.slice(shift), ...texts.slice(0, shift)];
    // Every other item as a pre-built frame (a shared notice), the rest as text.
    const items = order.map((t, i) => (i % 2 === 0 ? t : textFrame(t)));
    const buf = concatFrames(items);
    assert.deepEqual(decode([buf]), order);
    assert.equal(buf.length, order.reduce((n, t) => n + textFrame(t).length, 0));
  }
});

test('asciiFrames: the very bytes of concatFrames for ASCII texts; undefined for anything else', () => {
  const ascii = ['', '{"error_code":0}', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(255), 'v'.repeat(256), 'z'.repeat(65_535), '\u0000\u007f'];
  for (let n = 1; n <= ascii.length; n++) {
    const items = ascii.slice(0, n);
    const str = asciiFrames(items);
    assert.ok(str !== undefined);
    const bytes = Buffer.from(str, 'latin1');
    assert.deepEqual(bytes, concatFrames(items));
    assert.deepEqual(decode([bytes]), items);
    assert.equal(asciiFrames(items, false), str); // without the ASCII scan: the same for ASCII texts
  }
  assert.equal(asciiFrames(['{"error_code":0}', 'caf\u00e9']), undefined); // é: 2 bytes in UTF-8
  assert.equal(asciiFrames(['\u0080']), undefined);
  assert.equal(asciiFrames(['\u{1d11e}']), undefined);
  assert.equal(asciiFrames(['w'.repeat(65_536)]), undefined); // 64-bit length form
  assert.equal(asciiFrames([]), '');
});
