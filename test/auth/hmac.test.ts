import { test } from 'node:test';
import assert from 'node:assert/strict';
import ccxt from 'ccxt';
import {
  coinexCcxtSign,
  coinexSign,
  coinexTimestampFresh,
  coinexVerify,
  coinexWsSign,
  coinexWsVerify,
  signaturesEqual,
} from '../../src/auth/hmac.js';

const SECRET = '0123456789ABCDEF0123456789ABCDEF';
const TS = 1700490703564;
const GUIDE_PATH = '/v2/spot/pending-order?market=BTCUSDT&market_type=SPOT&side=buy&page=1&limit=10';
const GUIDE_BODY = '{"market": "BTCUSDT", "type": "buy", "amount": "0.001", "price": "10000"}';

// Expected values computed independently with the guide's own Python pseudocode:
//   hmac.new(bytes(secret,'latin-1'), msg=bytes(prepared_str,'latin-1'), digestmod=hashlib.sha256).hexdigest().lower()
// and, for ccxt's form, hashlib.sha256(bytes(prepared_str + secret, 'latin-1')).hexdigest().
test('guide worked example: GET with query string, no body', () => {
  const sig = coinexSign('GET', GUIDE_PATH, '', TS, SECRET);
  assert.equal(sig, 'ae53ac1c03694bcf97b1d83877b01e3f6daaf062cc5f838d159653b5618f1fc8');
  assert.match(sig, /^[0-9a-f]{64}$/);
  assert.equal(coinexSign('get', GUIDE_PATH, '', String(TS), SECRET), sig); // method uppercased, ts as string
  assert.equal(coinexCcxtSign('GET', GUIDE_PATH, '', TS, SECRET), 'b80ac6513abe2401fb59256a7ba055c793341b09292c1d7e00bd6d0cf7c27ba7');
});

test('guide worked example: POST with the example body; WebSocket signs the timestamp alone', () => {
  assert.equal(coinexSign('POST', '/v2/spot/order', GUIDE_BODY, TS, SECRET), 'b9b5a9d7262396dda2e16124566fd8d5ae979479c431b48643ec685a4b89dd11');
  assert.equal(coinexSign('POST', '/v2/spot/order', Buffer.from(GUIDE_BODY), TS, SECRET), 'b9b5a9d7262396dda2e16124566fd8d5ae979479c431b48643ec685a4b89dd11');
  assert.equal(coinexWsSign(TS, SECRET), '408461581ba73f2f75f56baefe6f8060357f56076edda73e41180fb81bef0078');
});

interface CcxtSignResult {
  url: string;
  body?: string;
  headers: Record<string, string>;
}

function ccxtRest(): { sign: (path: string, api: string[], method: string, params: Record<string, unknown>) => CcxtSignResult } {
  const ex = new ccxt.coinex({ apiKey: 'KEY', secret: SECRET });
  ex.nonce = () => TS;
  return ex as unknown as { sign: (path: string, api: string[], method: string, params: Record<string, unknown>) => CcxtSignResult };
}

test("ccxt's coinex REST signer: our verifier accepts its GET and POST requests", () => {
  const ex = ccxtRest();
  const get = ex.sign('spot/pending-order', ['v2', 'private'], 'GET', { market: 'BTCUSDT', market_type: 'SPOT', side: 'buy', page: 1, limit: 10 });
  const url = new URL(get.url);
  const target = url.pathname + url.search; // what the server sees as the request target
  assert.equal(target, '/v2/spot/pending-order?limit=10&market=BTCUSDT&market_type=SPOT&page=1&side=buy'); // ccxt sorts keys
  assert.equal(get.headers['X-COINEX-TIMESTAMP'], String(TS));
  const sig = get.headers['X-COINEX-SIGN'];
  // ccxt sends SHA-256(prehash + secret), not the guide's HMAC (see src/auth/hmac.ts).
  assert.equal(sig, coinexCcxtSign('GET', target, '', get.headers['X-COINEX-TIMESTAMP'], SECRET));
  assert.notEqual(sig, coinexSign('GET', target, '', TS, SECRET));
  assert.equal(coinexVerify('GET', target, '', get.headers['X-COINEX-TIMESTAMP'], SECRET, sig), true);
  assert.equal(coinexVerify('GET', target, '', TS, SECRET, sig, { acceptCcxtForm: false }), false);
  assert.equal(coinexVerify('GET', target, '', TS, 'other secret', sig), false);

  const post = ex.sign('spot/order', ['v2', 'private'], 'POST', { market: 'BTCUSDT', market_type: 'SPOT', side: 'buy', type: 'limit', amount: '0.001', price: '10000', client_id: 'abc' });
  assert.equal(new URL(post.url).search, '');
  assert.ok(post.body !== undefined);
  assert.equal(coinexVerify('POST', '/v2/spot/order', post.body, TS, SECRET, post.headers['X-COINEX-SIGN']), true);
  assert.equal(coinexVerify('POST', '/v2/spot/order', post.body + ' ', TS, SECRET, post.headers['X-COINEX-SIGN']), false);
  assert.equal(coinexVerify('POST', '/v2/spot/order', post.body, TS + 1, SECRET, post.headers['X-COINEX-SIGN']), false);
});

test("ccxt pro's coinex server.sign: our WebSocket verifier accepts it", () => {
  const ex = new ccxt.pro.coinex({ apiKey: 'KEY', secret: SECRET });
  const hooks = ex as unknown as {
    milliseconds: () => number;
    watch: (url: string, hash: string, request: unknown) => Promise<unknown>;
    authenticate: (type: string) => Promise<unknown>;
  };
  hooks.milliseconds = () => TS;
  let request: { method: string; params: { access_id: string; signed_str: string; timestamp: number } } | undefined;
  // Capture the message instead of opening a socket; authenticate() builds it synchronously.
  hooks.watch = (_url, _hash, req) => {
    request = req as typeof request;
    return new Promise(() => {});
  };
  hooks.authenticate('spot').catch(() => {});
  assert.ok(request);
  assert.equal(request.method, 'server.sign');
  assert.equal(request.params.timestamp, TS);
  assert.equal(request.params.signed_str, coinexWsSign(TS, SECRET));
  assert.equal(coinexWsVerify(request.params.timestamp, SECRET, request.params.signed_str), true);
  assert.equal(coinexWsVerify(TS + 1, SECRET, request.params.signed_str), false);
});

test('verification: uppercase hex accepted; garbage refused without throwing', () => {
  const sig = coinexSign('GET', GUIDE_PATH, '', TS, SECRET);
  assert.equal(coinexVerify('GET', GUIDE_PATH, '', TS, SECRET, sig.toUpperCase()), true);
  for (const bad of [undefined, null, 1, {}, '', sig.slice(1), sig + '0', 'İ'.repeat(64), sig.replace(/.$/, 'g')]) {
    assert.equal(coinexVerify('GET', GUIDE_PATH, '', TS, SECRET, bad), false);
    assert.equal(coinexWsVerify(TS, SECRET, bad), false);
    assert.equal(signaturesEqual(bad, sig), false);
  }
  assert.equal(coinexVerify('POST', GUIDE_PATH, '', TS, SECRET, sig), false);
  assert.equal(coinexVerify('GET', GUIDE_PATH.replace('page=1', 'page=2'), '', TS, SECRET, sig), false);
});

test('coinexTimestampFresh: 5000 ms default window, X-COINEX-WINDOWTIME overrides, garbage refused', () => {
  assert.equal(coinexTimestampFresh(String(TS), undefined, TS + 5000), true);
  assert.equal(coinexTimestampFresh(String(TS), undefined, TS + 5001), false);
  assert.equal(coinexTimestampFresh(TS, '', TS - 5000), true); // slightly in the future: clock skew
  assert.equal(coinexTimestampFresh(TS, undefined, TS - 5001), false);
  assert.equal(coinexTimestampFresh(String(TS), '60000', TS + 60_000), true);
  assert.equal(coinexTimestampFresh(String(TS), '60000', TS + 60_001), false);
  for (const bad of [undefined, null, '', 'abc', '-1', '1.5', '1e12', ' 1700490703564', '99999999999999999', {}]) {
    assert.equal(coinexTimestampFresh(bad, undefined, TS), false);
  }
  assert.equal(coinexTimestampFresh(String(TS), 'x', TS), false);
});
