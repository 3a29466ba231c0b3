// The CoinEx v2 dialect: HTTP under /v2 and WebSocket at /v2/spot and /v2/futures, for
// unmodified CoinEx clients such as ccxt's `coinex` class. Mapping: docs/coinex.md.
import type { FastifyInstance } from 'fastify';
import type { Applied, ServerContext } from '../../server/context.js';
import type { Dialect, JournalReplay, WebSocketEndpoint } from '../../server/dialect.js';
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
  let model: { rm: ReadModel; log: ServerContext['log'] } | undefined;
  /** Live Applieds held back while the read model is rebuilt from the journal. */
  let held: Applied[] | undefined;
  let feed: (applied: Applied) => void = () => {};
  return {
    name: 'coinex',
    async register(app: FastifyInstance, ctx: ServerContext): Promise<WebSocketEndpoint[]> {
      const catalog = new Catalog(ctx.engine, (message) => ctx.log.warn(message));
      const rm = new ReadModel();
      rm.lastSeq = ctx.engine.lastSeq;
      const env: Env = { ctx, catalog, rm };
      const wsHub = new WsHub(env);
      hub = wsHub;
      model = { rm, log: ctx.log };
      feed = (applied) => {
        if (applied.seq <= rm.lastSeq) return; // already seen in the journal replay
        const changes = rm.apply(applied);
        if (changes.catalogChanged) catalog.rebuild();
        wsHub.onChanges(changes);
      };
      unsubscribe = ctx.onApplied((applied) => {
        if (held !== undefined) held.push(applied);
        else feed(applied);
      });
      await registerHttp(app, env);
      return [wsHub.endpoint('spot'), wsHub.endpoint('futures')];
    },
    /**
     * Rebuilds the read model from every command the journal holds (docs/coinex.md, "Read
     * model"). Live commands applied meanwhile are held and fed afterwards; a command both
     * replayed and published live is applied once (by seq).
     */
    async rebuild(replay: JournalReplay): Promise<void> {
      if (model === undefined) return;
      const { rm, log } = model;
      held = [];
      try {
        rm.reset();
        let n = 0;
        for await (const a of replay(0)) {
          if (a.seq > rm.lastSeq) rm.apply(a);
          if (++n % 5000 === 0) await new Promise<void>((resolve) => setImmediate(resolve)); // let the server breathe
        }
        log.info({ to: rm.lastSeq, commands: n }, 'coinex: read model rebuilt from the journal');
      } finally {
        const queued = held;
        held = undefined;
        for (const a of queued) feed(a);
      }
    },
    close(): void {
      unsubscribe?.();
      hub?.closeAll();
    },
  };
}
