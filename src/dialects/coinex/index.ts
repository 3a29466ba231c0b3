// The CoinEx v2 dialect: HTTP under /v2 and WebSocket at /v2/spot and /v2/futures, for
// unmodified CoinEx clients such as ccxt's `coinex` class. Mapping: docs/coinex.md.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../../server/context.js';
import type { Dialect, WebSocketEndpoint } from '../../server/dialect.js';
import { registerHttp } from './http.js';
import { Catalog } from './names.js';
import type { Env } from './orders.js';
import { ReadModel } from './readmodel.js';
import { WsHub } from './ws.js';

export { Catalog, ccyOf } from './names.js';
export { ReadModel, MARKET_ORDER_ID_BASE } from './readmodel.js';
export { formatScaled, parseScaled } from './decimal.js';
export { encodeFrame, decodeFrame, depthChecksum, crc32 } from './wire.js';

export function createDialect(): Dialect {
  let hub: WsHub | undefined;
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'coinex',
    async register(app: FastifyInstance, ctx: ServerContext): Promise<WebSocketEndpoint[]> {
      const catalog = new Catalog(ctx.engine, (message) => ctx.log.warn(message));
      const rm = new ReadModel();
      rm.lastSeq = ctx.engine.lastSeq;
      const env: Env = { ctx, catalog, rm };
      const wsHub = new WsHub(env);
      hub = wsHub;
      unsubscribe = ctx.onApplied((applied) => {
        const changes = rm.apply(applied);
        if (changes.catalogChanged) catalog.rebuild();
        wsHub.onChanges(changes);
      });
      await registerHttp(app, env);
      return [wsHub.endpoint('spot'), wsHub.endpoint('futures')];
    },
    close(): void {
      unsubscribe?.();
      hub?.closeAll();
    },
  };
}
