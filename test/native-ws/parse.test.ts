// Unit tests of the native WebSocket command parser: every method, every rejection, and a
// fast-check fuzz proving that nothing a client sends makes it throw or accept malformed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FIELDS, firstNonIntegerLiteral, isIntegerLiteral, parseCommon, parseMessage, parseStrict, type NativeCommand } from '../../src/dialects/native-ws/parse.js';
import { METHOD_NAMES } from '../../src/client/types.js';

const NONCE = '8IyYyvH9gujOqYJdv/BP0A==';
const SIG: [string, string] = ['P7d6nXtbKmggnnb2hyB4xXkTQNWYmFSto6tzXg==', 'NLhDQS8YqRDxin1M4dNZeGDmNFsiv3iUz2d4Cg=='];

function ok(text: string): { tag: number; cmd: NativeCommand } {
  const r = parseMessage(text);
  assert.ok(r.ok, `expected success for ${text}: ${r.ok ? '' : r.message}`);
  return { tag: r.tag, cmd: r.cmd };
}

function bad(text: string, re: RegExp, tag = 0): void {
  const r = parseMessage(text);
  assert.equal(r.ok, false, `expected failure for ${text}`);
  if (!r.ok) {
    assert.match(r.message, re);
    assert.equal(r.tag, tag);
  }
}

test('parses every method with its documented fields', () => {
  assert.deepEqual(
    ok(JSON.stringify({ tag: 1, method: 'Authenticate', user_id: 1, cookie: 'HGREqcILTz8blHa/jsUTVTNBJlg=', nonce: NONCE, signature: SIG })),
    {
      tag: 1,
      cmd: {
        method: 'Authenticate',
        userId: 1,
        cookie: 'HGREqcILTz8blHa/jsUTVTNBJlg=',
        nonce: Buffer.from('f08c98caf1fd82e8cea9825dbff04fd0', 'hex'),
        signature: SIG,
      },
    },
  );
  for (const m of ['GetBalances', 'GetOrders', 'CancelAllOrders'] as const) {
    assert.deepEqual(ok(JSON.stringify({ method: m })), { tag: 0, cmd: { method: m } });
  }
  assert.deepEqual(ok('{"method":"EstimateMarketOrder","base":63488,"counter":65283,"quantity":-5}').cmd, {
    method: 'EstimateMarketOrder',
    base: 63488,
    counter: 65283,
    quantity: -5,
  });
  assert.deepEqual(
    ok('{"tag":7,"method":"PlaceOrder","tonce":3,"base":63488,"counter":65283,"quantity":100,"price":4000000,"persist":"fill_or_kill","post_only":true}'),
    {
      tag: 7,
      cmd: { method: 'PlaceOrder', tonce: 3, base: 63488, counter: 65283, quantity: 100, price: 4000000, persist: 'fill_or_kill', postOnly: true },
    },
  );
  assert.deepEqual(ok('{"method":"PlaceOrder","base":1,"counter":2,"total":-100,"persist":false}').cmd, {
    method: 'PlaceOrder',
    base: 1,
    counter: 2,
    total: -100,
    persist: false,
  });
  assert.deepEqual(ok('{"method":"ModifyOrder","id":5,"quantity_delta":-2,"price":9,"post_only":false}').cmd, {
    method: 'ModifyOrder',
    id: 5,
    quantityDelta: -2,
    price: 9,
    postOnly: false,
  });
  assert.deepEqual(ok('{"method":"CancelOrder","tonce":9}').cmd, { method: 'CancelOrder', tonce: 9 });
  assert.deepEqual(ok('{"method":"GetTradeVolume","asset":65283}').cmd, { method: 'GetTradeVolume', asset: 65283 });
  assert.deepEqual(ok('{"method":"WatchOrders","base":1,"counter":2,"watch":true}').cmd, { method: 'WatchOrders', base: 1, counter: 2, watch: true });
  assert.deepEqual(ok('{"method":"WatchTicker","base":1,"counter":2,"watch":false}').cmd, { method: 'WatchTicker', base: 1, counter: 2, watch: false });
});

test('tag: echoed iff a non-zero integer; null and 0 mean none; a bad tag is an error without echo', () => {
  assert.equal(ok('{"tag":0,"method":"GetOrders"}').tag, 0);
  assert.equal(ok('{"tag":null,"method":"GetOrders"}').tag, 0);
  assert.equal(ok('{"tag":-0,"method":"GetOrders"}').tag, 0);
  assert.equal(ok('{"tag":-12,"method":"GetOrders"}').tag, -12);
  assert.equal(ok('{"tag":9007199254740991,"method":"GetOrders"}').tag, 9007199254740991);
  bad('{"tag":"1","method":"GetOrders"}', /Field 'tag' must be an integer/);
  bad('{"tag":1.5,"method":"GetOrders"}', /Field 'tag' must be an integer/);
  bad('{"tag":9007199254740992,"method":"GetOrders"}', /Field 'tag'/);
  // Errors after the tag was read echo it.
  bad('{"tag":5,"method":"Nope"}', /Unknown method "Nope"/, 5);
});

test('rejects non-JSON, non-objects, missing or unknown methods', () => {
  bad('', /Invalid JSON/);
  bad('{', /Invalid JSON/);
  bad('{"method":"GetOrders"} x', /Invalid JSON/);
  bad('[]', /must be a JSON object, got an array/);
  bad('null', /must be a JSON object, got null/);
  bad('42', /must be a JSON object, got number 42/);
  bad('"GetOrders"', /must be a JSON object, got string/);
  bad('{}', /Missing field 'method'/);
  bad('{"method":5}', /Field 'method' must be a string, got number 5/);
  bad('{"method":"getorders"}', /Unknown method "getorders"; expected one of: Authenticate, /);
  bad('{"method":"__proto__"}', /Unknown method/);
  bad('{"method":"toString"}', /Unknown method/);
});

test('rejects extra fields, missing required fields and wrong types', () => {
  bad('{"method":"GetOrders","x":1}', /Unexpected field 'x' for method GetOrders \(it takes no fields besides tag\)/);
  bad('{"method":"CancelOrder","id":1,"price":3}', /Unexpected field 'price' for method CancelOrder \(allowed: id, tonce\)/);
  bad('{"method":"GetOrders","__proto__":1}', /Unexpected field '__proto__'/);
  bad('{"method":"PlaceOrder","counter":2,"quantity":1}', /Missing field 'base' for method PlaceOrder/);
  bad('{"method":"PlaceOrder","base":null,"counter":2,"quantity":1}', /Field 'base' must be an integer, got null/);
  bad('{"method":"PlaceOrder","base":"1","counter":2,"quantity":1}', /Field 'base' must be an integer, got string "1"/);
  bad('{"method":"PlaceOrder","base":1,"counter":2,"quantity":true}', /Field 'quantity' must be an integer, got true/);
  bad('{"method":"PlaceOrder","base":1,"counter":2,"quantity":1.5}', /Field 'quantity' must be an integer, got number 1.5/);
  bad('{"method":"PlaceOrder","base":1,"counter":2,"quantity":[1]}', /Field 'quantity' must be an integer, got an array/);
  bad('{"method":"PlaceOrder","base":1,"counter":2,"quantity":{}}', /Field 'quantity' must be an integer, got an object/);
  bad('{"method":"PlaceOrder","base":1,"counter":2,"quantity":1,"persist":"yes"}', /Field 'persist' must be true, false or "fill_or_kill"/);
  bad('{"method":"PlaceOrder","base":1,"counter":2,"quantity":1,"post_only":1}', /Field 'post_only' must be a boolean, got number 1/);
  bad('{"method":"WatchOrders","base":1,"counter":2}', /Missing field 'watch'/);
  bad('{"method":"WatchOrders","base":1,"counter":2,"watch":"true"}', /Field 'watch' must be a boolean/);
  bad('{"method":"GetTradeVolume"}', /Missing field 'asset'/);
  bad(`{"method":"Authenticate","user_id":1,"cookie":5,"nonce":"${NONCE}","signature":["a","b"]}`, /Field 'cookie' must be a string/);
  bad(`{"method":"Authenticate","user_id":1,"cookie":"c","nonce":"${NONCE}","signature":["a"]}`, /Field 'signature' must be an array of two base64 strings/);
  bad(`{"method":"Authenticate","user_id":1,"cookie":"c","nonce":"${NONCE}","signature":"ab"}`, /Field 'signature'/);
  bad('{"method":"Authenticate","user_id":1,"cookie":"c","nonce":"AAAA","signature":["a","b"]}', /Field 'nonce' must be the base64 encoding of 16 random bytes/);
  bad('{"method":"Authenticate","user_id":1,"cookie":"c","nonce":"8IyYyvH9gujOqYJdv/BP0A=","signature":["a","b"]}', /Field 'nonce'/);
  // Long names and values are truncated in messages.
  const r = parseMessage(JSON.stringify({ method: 'GetOrders', ['k'.repeat(1000)]: 1 }));
  assert.ok(!r.ok && r.message.length < 200);
});

test('optional fields given as null count as omitted', () => {
  assert.deepEqual(ok('{"method":"PlaceOrder","tonce":null,"base":1,"counter":2,"quantity":3,"price":null,"total":null,"persist":null,"post_only":null}').cmd, {
    method: 'PlaceOrder',
    base: 1,
    counter: 2,
    quantity: 3,
  });
});

test('numbers: safe integers only, exactly integral literals only', () => {
  assert.equal((ok('{"method":"GetTradeVolume","asset":1e3}').cmd as { asset: number }).asset, 1000);
  assert.equal((ok('{"method":"GetTradeVolume","asset":5.000}').cmd as { asset: number }).asset, 5);
  assert.equal((ok('{"method":"GetTradeVolume","asset":-0}').cmd as { asset: number }).asset, 0);
  assert.ok(Object.is((ok('{"method":"GetTradeVolume","asset":-0}').cmd as { asset: number }).asset, 0));
  bad('{"method":"GetTradeVolume","asset":9007199254740992}', /Field 'asset' is out of range/);
  bad('{"method":"GetTradeVolume","asset":-9007199254740993}', /out of range/);
  bad('{"method":"GetTradeVolume","asset":1e400}', /Field 'asset' must be an integer, got number Infinity/);
  bad('{"method":"GetTradeVolume","asset":0.99999999999999999}', /Number 0.99999999999999999 is not an integer/);
  bad('{"method":"GetTradeVolume","asset":9007199254740990.9}', /Number 9007199254740990.9 is not an integer/);
  bad('{"method":"GetTradeVolume","asset":1e-400}', /not an integer/);
  assert.equal(isIntegerLiteral('1'), true);
  assert.equal(isIntegerLiteral('-120e-1'), true);
  assert.equal(isIntegerLiteral('1.25e2'), true);
  assert.equal(isIntegerLiteral('1.25e1'), false);
  assert.equal(isIntegerLiteral('0e-99999999999999999999'), true);
  assert.equal(isIntegerLiteral('1e-99999999999999999999'), false);
  assert.equal(isIntegerLiteral('5E+0'), true);
  assert.equal(firstNonIntegerLiteral('{"a":"1.5","b":[2.0,3e0],"c":"\\"4.5"}'), undefined);
  assert.equal(firstNonIntegerLiteral('{"a":"x","b":-0.5}'), '-0.5');
});

test('FIELDS covers exactly the documented methods', () => {
  assert.deepEqual(Object.keys(FIELDS).sort(), [...METHOD_NAMES].sort());
});

// ---------------------------------------------------------------- fuzzing

const anyJson = fc.jsonValue({ maxDepth: 3 });
const fieldValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.bigInt().map((b) => Number(b)),
  fc.boolean(),
  fc.constant(null),
  fc.string(),
  fc.constant('fill_or_kill'),
  fc.array(fc.string(), { maxLength: 3 }),
  anyJson,
);
const knownKeys = [...new Set(Object.values(FIELDS).flatMap((f) => Object.keys(f)))];

/** A command-like object: a real or random method, and fields from the known ones or random. */
const commandLike = fc.record(
  {
    tag: fieldValue,
    method: fc.oneof(fc.constantFrom(...METHOD_NAMES), fc.string()),
    fields: fc.dictionary(fc.oneof(fc.constantFrom(...knownKeys), fc.string({ maxLength: 8 })), fieldValue, { maxKeys: 6 }),
  },
  { requiredKeys: ['method', 'fields'] },
).map(({ tag, method, fields }) => ({ ...(tag === undefined ? {} : { tag }), method, ...fields }));

/** Validates a successful parse against the spec independently of the parser's own code. */
function checkAccepted(input: Record<string, unknown>, cmd: NativeCommand, tag: number): void {
  const spec = FIELDS[cmd.method];
  assert.equal(input.method, cmd.method);
  for (const k of Object.keys(input)) {
    assert.ok(k === 'tag' || k === 'method' || Object.hasOwn(spec, k), `accepted unknown field ${k}`);
  }
  for (const [k, fs] of Object.entries(spec)) {
    const v = input[k];
    if (v === undefined || v === null) {
      assert.ok(!fs.required, `accepted missing ${k}`);
      continue;
    }
    if (fs.kind === 'int') assert.ok(Number.isSafeInteger(v), `accepted non-integer ${k}=${String(v)}`);
    if (fs.kind === 'bool') assert.equal(typeof v, 'boolean');
    if (fs.kind === 'string') assert.equal(typeof v, 'string');
    if (fs.kind === 'persist') assert.ok(typeof v === 'boolean' || v === 'fill_or_kill');
  }
  const t = input.tag;
  assert.equal(tag, typeof t === 'number' ? t : 0);
}

test('fuzz: arbitrary strings never throw', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      const r = parseMessage(s);
      if (!r.ok) assert.equal(typeof r.message, 'string');
    }),
    { numRuns: 3000 },
  );
});

test('fuzz: arbitrary JSON values never throw and are accepted only when well-formed', () => {
  fc.assert(
    fc.property(anyJson, (v) => {
      const text = JSON.stringify(v);
      const r = parseMessage(text);
      if (r.ok) checkAccepted(JSON.parse(text) as Record<string, unknown>, r.cmd, r.tag);
    }),
    { numRuns: 2000 },
  );
});

test('fuzz: command-like objects are accepted exactly when they satisfy the spec', () => {
  fc.assert(
    fc.property(commandLike, (raw) => {
      const text = JSON.stringify(raw);
      const o = JSON.parse(text) as Record<string, unknown>; // what the server sees (NaN → null, -0 → 0)
      const r = parseMessage(text);
      if (r.ok) {
        checkAccepted(o, r.cmd, r.tag);
      } else {
        assert.ok(r.message.length > 0 && r.message.length < 400, r.message);
        // A rejection must have a reason: re-derive whether the input was well-formed.
        const wellFormed = (() => {
          if (typeof o.method !== 'string' || !(METHOD_NAMES as readonly string[]).includes(o.method)) return false;
          if (o.tag !== undefined && o.tag !== null && !Number.isSafeInteger(o.tag)) return false;
          const spec = FIELDS[o.method as keyof typeof FIELDS];
          for (const k of Object.keys(o)) if (k !== 'tag' && k !== 'method' && !Object.hasOwn(spec, k)) return false;
          for (const [k, fs] of Object.entries(spec)) {
            const v = (o as Record<string, unknown>)[k];
            if (v === undefined || v === null) {
              if (fs.required) return false;
              continue;
            }
            if (fs.kind === 'int' && !Number.isSafeInteger(v)) return false;
            if (fs.kind === 'bool' && typeof v !== 'boolean') return false;
            if (fs.kind === 'string' && typeof v !== 'string') return false;
            if (fs.kind === 'persist' && typeof v !== 'boolean' && v !== 'fill_or_kill') return false;
            if (fs.kind === 'signature' && !(Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'string'))) return false;
          }
          if (o.method === 'Authenticate') return false; // random nonces are not 16-byte base64
          return firstNonIntegerLiteral(text) === undefined ? 'unexpected' : false;
        })();
        assert.equal(wellFormed, false, `rejected a well-formed command ${text}: ${r.message}`);
      }
    }),
    { numRuns: 5000 },
  );
});

test('fuzz: well-formed PlaceOrder commands round-trip', () => {
  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const safe = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
  fc.assert(
    fc.property(
      fc.record({
        tag: opt(safe),
        tonce: opt(safe),
        base: safe,
        counter: safe,
        quantity: opt(safe),
        price: opt(safe),
        total: opt(safe),
        persist: opt(fc.constantFrom<boolean | 'fill_or_kill'>(true, false, 'fill_or_kill')),
        post_only: opt(fc.boolean()),
      }),
      (p) => {
        const r = parseMessage(JSON.stringify({ method: 'PlaceOrder', ...p }));
        assert.ok(r.ok);
        if (!r.ok || r.cmd.method !== 'PlaceOrder') return;
        assert.equal(r.tag, p.tag ?? 0);
        const c = r.cmd;
        assert.deepEqual(
          [c.tonce, c.base, c.counter, c.quantity, c.price, c.total, c.persist, c.postOnly],
          [p.tonce, p.base, p.counter, p.quantity, p.price, p.total, p.persist, p.post_only].map((x) => (x === 0 ? 0 : x)),
        );
      },
    ),
    { numRuns: 2000 },
  );
});

test('parseCommon: takes the common PlaceOrder/CancelOrder frames, with exactly the result of parseStrict', () => {
  const common = [
    '{"tag":1,"method":"PlaceOrder","base":63488,"counter":65283,"quantity":100,"price":399990000}',
    '{"method":"PlaceOrder","base":63488,"counter":65283,"total":-5,"tonce":0}',
    '{"tag":-0,"method":"PlaceOrder","counter":-0,"base":1,"quantity":999999999999999,"price":-999999999999999}',
    '{"tag":7,"method":"CancelOrder","id":5678}',
    '{"tag":7,"method":"CancelOrder","tonce":12,"id":0}',
    '{"method":"CancelOrder"}',
    '{"tag":0,"method":"CancelOrder","id":-3}',
  ];
  for (const text of common) {
    const fast = parseCommon(text);
    assert.ok(fast !== undefined, text);
    assert.deepEqual(fast, parseStrict(text), text);
    assert.deepEqual(parseMessage(text), parseStrict(text), text);
    assert.deepEqual(Object.keys((fast as { cmd: object }).cmd), Object.keys((parseStrict(text) as { cmd: object }).cmd), text);
  }
  // Everything else is left to parseStrict (and its exact messages).
  const other = [
    '{"tag":1,"method":"PlaceOrder","base":63488}', // missing counter
    '{"tag":1,"method":"PlaceOrder","base":1,"counter":2,"base":3}', // duplicate
    '{"tag":1,"method":"PlaceOrder","base":1,"counter":2,"id":3}', // unknown field
    '{"tag":1,"method":"PlaceOrder","base":1,"counter":2,"quantity":1e2}',
    '{"tag":1,"method":"PlaceOrder","base":1,"counter":2,"quantity":1.5}',
    '{"tag":1,"method":"PlaceOrder","base":1,"counter":2,"quantity":01}',
    '{"tag":1,"method":"PlaceOrder","base":1,"counter":2,"quantity":9007199254740993}',
    '{"tag":1,"method":"PlaceOrder","base":1,"counter":2,"persist":false}',
    '{"tag":1,"method":"PlaceOrder","base":1,"counter":2,"price":null}',
    '{"tag":1, "method":"PlaceOrder","base":1,"counter":2}',
    '{"tag":1,"method":"PlaceOrder","base":1,"counter":2} ',
    '{"tag":1,"method":"PlaceOrder","base":1,"counter":2}}',
    '{"tag":1,"method":"PlaceOrder","base":1,"counter":2,}',
    '{"tag":1,"method":"PlaceOrder","b\\u0061se":1,"counter":2}',
    '{"tag":1.5,"method":"CancelOrder","id":1}',
    '{"tag":1,"tag":2,"method":"CancelOrder","id":1}',
    '{"tag":1,"method":"CancelOrder","id":"1"}',
    '{"tag":1,"method":"CancelOrders","id":1}',
    '{"tag":1,"method":"GetOrders"}',
    '{"method":"CancelOrder","tag":1}',
    '{"tag":1,"method":"CancelOrder","id":-}',
    '{"tag":1,"method":"CancelOrder","id":1',
  ];
  for (const text of other) {
    assert.equal(parseCommon(text), undefined, text);
    assert.deepEqual(parseMessage(text), parseStrict(text), text);
  }
});

test('parseMessage equals parseStrict on near-common frames (fuzz)', () => {
  const key = fc.constantFrom('tag', 'method', 'base', 'counter', 'quantity', 'price', 'total', 'tonce', 'id', 'persist', 'post_only', 'x', 'b\\u0061se');
  const num = fc.oneof(
    fc.integer(),
    fc.integer({ min: -1e15, max: 1e15 }).map(String),
    fc.constantFrom('0', '-0', '00', '01', '1e3', '5.0', '1.5', '-', '9007199254740991', '9007199254740992', '1E2', '-1e-1', 'true', 'null', '"7"', '[]'),
  ).map(String);
  const pair = fc.tuple(key, num).map(([k, v]) => `"${k}":${v}`);
  const method = fc.constantFrom('"PlaceOrder"', '"CancelOrder"', '"GetOrders"', '"Placeorder"', '1');
  const frame = fc
    .tuple(fc.option(num, { nil: undefined }), method, fc.array(pair, { maxLength: 8 }), fc.constantFrom('', ' ', ',', '}'))
    .map(([tag, m, pairs, tail]) => `{${tag !== undefined ? `"tag":${tag},` : ''}"method":${m}${pairs.map((p) => ',' + p).join('')}}${tail}`);
  fc.assert(
    fc.property(frame, (text) => {
      assert.deepEqual(parseMessage(text), parseStrict(text), text);
    }),
    { numRuns: 20_000, seed: 7 },
  );
});
