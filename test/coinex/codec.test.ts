// Unit tests of the CoinEx codec: exact decimals, names, error mapping, request signatures
// (the guide's worked string), compressed frames and the depth checksum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Engine } from '../../src/core/engine.js';
import { defaultEngineConfig } from '../../src/core/default-config.js';
import { ErrorCode, ErrorMessage, type Command, type EngineEvent } from '../../src/core/types.js';
import { defaultLimits } from '../../src/server/config.js';
import type { ServerContext } from '../../src/server/context.js';
import { decimalsOf, formatScaled, parseInteger, parseScaled, significantDecimals } from '../../src/dialects/coinex/decimal.js';
import { Catalog, ccyOf } from '../../src/dialects/coinex/names.js';
import { CoinexError, HttpCode, fromEngineFailure } from '../../src/dialects/coinex/errors.js';
import { authenticateHttp, authenticateWs } from '../../src/dialects/coinex/auth.js';
import { clientFrameText, crc32, decodeFrame, depthChecksum, encodeFrame, errorEnvelope, okEnvelope } from '../../src/dialects/coinex/wire.js';
import { candleStart } from '../../src/dialects/coinex/readmodel.js';

function code(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CoinexError, `expected a CoinexError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected an error');
}

test('decimals: exact conversion at the scale, never rounded', () => {
  assert.equal(decimalsOf(10_000), 4);
  assert.equal(decimalsOf(1), 0);
  assert.equal(decimalsOf(100_000_000), 8);
  assert.equal(decimalsOf(2500), undefined);
  assert.equal(parseScaled('1.5', 4, 'amount'), 15_000);
  assert.equal(parseScaled('0.0001', 4, 'amount'), 1);
  assert.equal(parseScaled('61000', 4, 'price'), 610_000_000);
  assert.equal(parseScaled('1.50000000', 4, 'amount'), 15_000, 'trailing zeros beyond the scale are exact');
  assert.equal(parseScaled('000.1', 4, 'amount'), 1000);
  assert.equal(parseScaled(0.5, 4, 'amount'), 5000, 'a JSON number in plain form');
  for (const bad of ['0.00001', '1e-4', '1E3', '-1', '+1', ' 1', '1 ', '0x10', '.5', '5.', '', '1,5', 'NaN', 'Infinity', '١']) {
    assert.equal(code(() => parseScaled(bad, 4, 'amount')), HttpCode.PARAMETER, bad);
  }
  assert.equal(code(() => parseScaled(1e-7, 4, 'amount')), HttpCode.PARAMETER);
  assert.equal(code(() => parseScaled(null, 4, 'amount')), HttpCode.PARAMETER);
  assert.equal(code(() => parseScaled({}, 4, 'amount')), HttpCode.PARAMETER);
  assert.equal(parseScaled('900719925474.0991', 4, 'amount'), Number.MAX_SAFE_INTEGER);
  assert.equal(code(() => parseScaled('900719925474.0992', 4, 'amount')), HttpCode.PARAMETER, 'beyond 2^53 once scaled');
  assert.equal(code(() => parseScaled('1'.repeat(70), 0, 'amount')), HttpCode.PARAMETER);

  assert.equal(formatScaled(15_000, 4), '1.5');
  assert.equal(formatScaled(1, 4), '0.0001');
  assert.equal(formatScaled(0, 4), '0');
  assert.equal(formatScaled(610_000_000, 4), '61000');
  assert.equal(formatScaled(-25, 2), '-0.25');
  assert.equal(formatScaled(7, 0), '7');
  assert.equal(formatScaled(2n ** 60n, 4), '115292150460684.6976');
  for (const v of [0, 1, 9, 10, 12345, 100_000, 987_654_321, Number.MAX_SAFE_INTEGER]) {
    for (const d of [0, 2, 4, 8]) assert.equal(parseScaled(formatScaled(v, d), d, 'x'), v);
  }
  assert.equal(significantDecimals(10_000, 4), 0);
  assert.equal(significantDecimals(2_500, 4), 2);
  assert.equal(significantDecimals(5_000, 4), 1);
  assert.equal(significantDecimals(10, 4), 3);

  assert.equal(parseInteger('12', 'limit', 1, 100), 12);
  assert.equal(parseInteger(undefined, 'limit', 1, 100), undefined);
  for (const bad of ['0', '101', '-1', '1.0', '1e2', 'x']) assert.equal(code(() => parseInteger(bad, 'limit', 1, 100)), HttpCode.PARAMETER, bad);
});

test('names: XBT reads BTC, markets are base + quote, futures apart', () => {
  const names = new Set(['XBT', 'USDT', 'XBTJUN']);
  assert.equal(ccyOf('XBT', names), 'BTC');
  assert.equal(ccyOf('XBTJUN', names), 'BTCJUN');
  assert.equal(ccyOf('USDT', names), 'USDT');
  assert.equal(ccyOf('XBT', new Set(['XBT', 'BTC'])), 'XBT', 'no alias onto an existing asset name');

  const engine = new Engine(defaultEngineConfig());
  const c = new Catalog(engine);
  const btc = c.market('spot', 'BTCUSDT')!;
  assert.ok(btc);
  assert.equal(btc.base.ccy, 'BTC');
  assert.equal(btc.base.name, 'XBT');
  assert.equal(btc.base.decimals, 4);
  assert.equal(btc.priceDecimals, 4);
  assert.equal(btc.tickDecimals, 0, 'tick 1 USDT');
  assert.equal(c.market('spot', 'BCHUSDT')!.tickDecimals, 2, 'tick 0.25 USDT');
  assert.equal(c.market('spot', 'XBTUSDT'), undefined);
  assert.equal(c.assetByCcy('BTC')!.code, 0xf800);
  const fut = c.markets('futures');
  assert.ok(fut.length > 0);
  assert.ok(fut.every((m) => m.kind === 'futures' && c.market('spot', m.name) === undefined));
  const jun = fut.find((m) => m.base.name === 'XBTJUN')!;
  assert.equal(jun.name, 'BTCJUNUSDTJUN');
  assert.equal(c.underlying(jun), btc);
  assert.ok(c.isSpotAsset(0xf800) && !c.isFuturesAsset(0xf800));
  assert.ok(c.isFuturesAsset(jun.config.base) && !c.isSpotAsset(jun.config.base));
});

test('errors: engine failures map to the CoinEx codes clients know', () => {
  assert.equal(fromEngineFailure({ ok: false, code: ErrorCode.INSUFFICIENT_FUNDS, message: ErrorMessage.INSUFFICIENT_FUNDS }).code, 3109);
  assert.equal(fromEngineFailure({ ok: false, code: ErrorCode.POST_ONLY, message: ErrorMessage.POST_ONLY }).code, 3622);
  assert.equal(fromEngineFailure({ ok: false, code: ErrorCode.NOT_FOUND, message: ErrorMessage.ORDER_NOT_FOUND }).code, 3600);
  assert.equal(fromEngineFailure({ ok: false, code: ErrorCode.INVALID, message: ErrorMessage.TOTAL_OVERFLOW }).code, 4004);
  assert.equal(fromEngineFailure({ ok: false, code: ErrorCode.INVALID, message: ErrorMessage.TOTAL_OVERFLOW }).message, ErrorMessage.TOTAL_OVERFLOW);
  assert.equal(fromEngineFailure({ ok: false, code: ErrorCode.INVALID, message: 'The market is not open for trading.' }).code, 4117);
  assert.equal(fromEngineFailure({ ok: false, code: ErrorCode.RATE_LIMIT, message: '' }).code, 4213);
  const e = new CoinexError(3600, 'Order not found');
  assert.deepEqual(errorEnvelope(e), { code: 3600, data: {}, message: 'Order not found' });
  assert.deepEqual(okEnvelope([1]), { code: 0, data: [1], message: 'OK' });
  assert.deepEqual(okEnvelope([], { has_next: false }), { code: 0, data: [], pagination: { has_next: false }, message: 'OK' });
});

// ---------------------------------------------------------------- signatures

const GUIDE_PATH = '/v2/spot/pending-order?market=BTCUSDT&market_type=SPOT&side=buy&page=1&limit=10';
const GUIDE_TS = '1700490703564';
const SECRET = 'ABCDEF0123456789ABCDEF0123456789';
/** Known answers, computed independently (Python hmac / hashlib) for the guide's worked string. */
const GUIDE_HMAC = '99730aac5b320b2d51d8853520f6fdf204150378554b63c085ceb7b08db96082';
const GUIDE_CCXT = '84e883defb85352f90bd3de804dd94a2ece4619a8d54a62b54b9899345960051';
const GUIDE_WS = '4a90c7db121cfdeadbd8faf910a137c9675ce491f2244a92f5737aeb314ef379';

/** A real engine holding one user and API keys; the context around it is what auth reads. */
function engineWithKey(): { ctx: ServerContext; engine: Engine } {
  const engine = new Engine(defaultEngineConfig());
  let seq = 0;
  const apply = (c: Record<string, unknown>): void => {
    const out: EngineEvent[] = [];
    const r = engine.apply({ ...c, seq: ++seq, time: seq } as unknown as Command, out);
    assert.ok(r.ok, JSON.stringify(r));
  };
  apply({ type: 'CreateUser', publicKey: 'AAAA', cookie: 'BBBB' });
  apply({ type: 'CreateApiKey', userId: 1, accessId: 'GUIDEKEY', secretKey: SECRET, permissions: ['read'] });
  apply({ type: 'CreateApiKey', userId: 1, accessId: 'REVOKED', secretKey: SECRET, permissions: ['read', 'trade'] });
  apply({ type: 'RevokeApiKey', accessId: 'REVOKED' });
  const ctx = { engine, limits: defaultLimits() } as unknown as ServerContext;
  return { ctx, engine };
}

test("signatures: the guide's worked string, both signing forms, window and permission", () => {
  const prepared = 'GET' + GUIDE_PATH + GUIDE_TS;
  assert.equal(createHmac('sha256', SECRET).update(prepared).digest('hex'), GUIDE_HMAC);
  assert.equal(createHash('sha256').update(prepared + SECRET).digest('hex'), GUIDE_CCXT);
  const { ctx } = engineWithKey();
  const now = Number(GUIDE_TS) + 1000;
  const req = (sign: string, extra: Record<string, string> = {}, url = GUIDE_PATH) => ({
    method: 'GET',
    url,
    body: '',
    headers: { 'x-coinex-key': 'GUIDEKEY', 'x-coinex-sign': sign, 'x-coinex-timestamp': GUIDE_TS, ...extra },
  });
  assert.deepEqual(authenticateHttp(ctx, req(GUIDE_HMAC), 'read', now), { userId: 1, accessId: 'GUIDEKEY', permissions: ['read'] });
  assert.equal(authenticateHttp(ctx, req(GUIDE_CCXT), 'read', now).userId, 1, "ccxt's SHA-256(prehash + secret)");
  assert.equal(authenticateHttp(ctx, req(GUIDE_HMAC.toUpperCase()), 'read', now).userId, 1, 'hex case does not matter');

  const fails = (r: ReturnType<typeof req>, nowMs = now, need: 'read' | 'trade' = 'read') => code(() => authenticateHttp(ctx, r, need, nowMs));
  assert.equal(fails(req(GUIDE_HMAC.replace(/^9/, '8'))), 4006, 'one digit off');
  assert.equal(fails(req(GUIDE_HMAC, {}, GUIDE_PATH.replace('limit=10', 'limit=11'))), 4006, 'query changed');
  assert.equal(fails({ ...req(GUIDE_HMAC), method: 'POST' }), 4006, 'method changed');
  assert.equal(fails({ ...req(GUIDE_HMAC), body: '{}' }), 4006, 'body added');
  assert.equal(fails(req('zz')), 4008);
  assert.equal(fails(req(GUIDE_HMAC, { 'x-coinex-key': '' })), 4005);
  assert.equal(fails(req(GUIDE_HMAC, { 'x-coinex-key': 'NOSUCHKEY' })), 4005);
  assert.equal(fails(req(GUIDE_HMAC, { 'x-coinex-key': 'REVOKED' })), 4005);
  assert.equal(fails(req(GUIDE_HMAC, { 'x-coinex-timestamp': '' })), 4004);
  assert.equal(fails(req(GUIDE_HMAC, { 'x-coinex-timestamp': '17004907035.64' })), 4004);
  // Window: 5,000 ms by default, either direction; X-COINEX-WINDOWTIME widens or narrows it.
  assert.equal(authenticateHttp(ctx, req(GUIDE_HMAC), 'read', Number(GUIDE_TS) + 5000).userId, 1);
  assert.equal(fails(req(GUIDE_HMAC), Number(GUIDE_TS) + 5001), 4010);
  assert.equal(fails(req(GUIDE_HMAC), Number(GUIDE_TS) - 5001), 4010);
  assert.equal(authenticateHttp(ctx, req(GUIDE_HMAC, { 'x-coinex-windowtime': '20000' }), 'read', Number(GUIDE_TS) + 19_000).userId, 1);
  assert.equal(fails(req(GUIDE_HMAC, { 'x-coinex-windowtime': '100' }), Number(GUIDE_TS) + 101), 4010);
  assert.equal(fails(req(GUIDE_HMAC, { 'x-coinex-windowtime': 'abc' })), 4004);
  assert.equal(fails(req(GUIDE_HMAC, { 'x-coinex-windowtime': '3600000' })), 4004);
  // Permissions: GUIDEKEY may read, not trade.
  assert.equal(fails(req(GUIDE_HMAC), now, 'trade'), 4011);
});

test('signatures: WebSocket server.sign over the timestamp', () => {
  assert.equal(createHmac('sha256', SECRET).update(GUIDE_TS).digest('hex'), GUIDE_WS);
  const { ctx } = engineWithKey();
  const now = Number(GUIDE_TS) + 10;
  const ok = authenticateWs(ctx, { access_id: 'GUIDEKEY', signed_str: GUIDE_WS, timestamp: Number(GUIDE_TS) }, now);
  assert.deepEqual(ok, { ok: true, principal: { userId: 1, accessId: 'GUIDEKEY', permissions: ['read'] } });
  const bad = authenticateWs(ctx, { access_id: 'GUIDEKEY', signed_str: GUIDE_HMAC, timestamp: Number(GUIDE_TS) }, now);
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.code, 'signature');
  const stale = authenticateWs(ctx, { access_id: 'GUIDEKEY', signed_str: GUIDE_WS, timestamp: Number(GUIDE_TS) }, now + 10_000);
  assert.equal(!stale.ok && stale.code, 'signature');
  const revoked = authenticateWs(ctx, { access_id: 'REVOKED', signed_str: GUIDE_WS, timestamp: Number(GUIDE_TS) }, now);
  assert.equal(!revoked.ok && revoked.code, 'signature');
  const missing = authenticateWs(ctx, { access_id: 'GUIDEKEY' }, now);
  assert.equal(!missing.ok && missing.code, 'argument');
});

// ---------------------------------------------------------------- wire

test('frames: gzip-compressed binary, as CoinEx sends them; client frames read back', () => {
  const msg = { method: 'state.update', data: { state_list: [{ market: 'BTCUSDT', last: '1.5' }] }, id: null };
  const frame = encodeFrame(msg);
  assert.equal(frame[0], 0x1f);
  assert.equal(frame[1], 0x8b);
  assert.deepEqual(JSON.parse(gunzipSync(frame).toString('utf8')), msg);
  assert.deepEqual(decodeFrame(frame), msg);
  assert.equal(clientFrameText(Buffer.from('{"a":1}'), false, 1000), '{"a":1}');
  assert.equal(clientFrameText(frame, true, 10_000), JSON.stringify(msg));
  assert.equal(clientFrameText(Buffer.from([0x1f, 0x8b, 1, 2, 3]), true, 1000), undefined, 'corrupt gzip');
  assert.equal(clientFrameText(encodeFrame('x'.repeat(5000)), true, 100), undefined, 'inflates beyond the limit');
});

test('depth checksum: CRC-32 of bid and ask price:amount pairs', () => {
  assert.equal(crc32('123456789'), 0xcbf43926);
  assert.equal(crc32(''), 0);
  // Known answer (Python zlib.crc32) for the docs' top bid and top ask.
  assert.equal(depthChecksum([['30736', '0.04857373']], [['30740', '0.31763545']]), 3700543546);
  assert.equal(depthChecksum([], [['30740', '0.31763545']]), crc32('30740:0.31763545'));
});

test('klines: buckets align to the epoch, weeks to Monday 00:00 UTC', () => {
  const t = Date.UTC(2026, 10, 12, 13, 47, 31, 500); // a Thursday
  assert.equal(candleStart(t, 60), Date.UTC(2026, 10, 12, 13, 47));
  assert.equal(candleStart(t, 900), Date.UTC(2026, 10, 12, 13, 45));
  assert.equal(candleStart(t, 3600), Date.UTC(2026, 10, 12, 13));
  assert.equal(candleStart(t, 86400), Date.UTC(2026, 10, 12));
  assert.equal(candleStart(t, 604800), Date.UTC(2026, 10, 9), 'the Monday before');
  assert.equal(candleStart(Date.UTC(2026, 10, 9), 604800), Date.UTC(2026, 10, 9));
});
