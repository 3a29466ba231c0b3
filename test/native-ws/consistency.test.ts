// End to end: several clients trade randomly (pipelined, concurrently, with modifications,
// cancellations, market orders, fill-or-kill, post-only and a disconnecting session) while
// watchers keep LocalBooks by the IMPL-GUIDE rules. After every round each view must equal the
// server's book exactly: same orders, quantities, prices, times and queue order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, LocalBook, type NativeClient } from '../../src/client/index.js';
import type { BookOrderView } from '../../src/core/types.js';
import { TICK, USDT, XBT, connect, fundedUser, login, startTestServer, type TestServer } from './helpers.js';
import { seededUniform } from '../../src/core/prng.js';

const P = 40_000 * TICK;


class Trader {
  readonly ids: number[] = [];
  private tonce = 0;
  constructor(
    readonly c: NativeClient,
    private readonly rnd: () => number,
  ) {}

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }

  /** One of the trader's recent orders (older ones are mostly gone). */
  private pick(): number | undefined {
    const n = this.ids.length;
    return n ? this.ids[this.int(Math.max(0, n - 10), n - 1)] : undefined;
  }

  /** A non-persistent order away from the touch, so that it rests until its session ends. */
  restNonPersistent(): Promise<unknown> {
    const bid = this.rnd() < 0.5;
    const price = P + (bid ? -1 : 1) * this.int(25, 30) * TICK;
    return this.c.placeOrder({ base: XBT, counter: USDT, quantity: (bid ? 1 : -1) * 100, price, persist: false });
  }

  /** One random command, not awaited. Spec-level rejections (ApiError) are part of the game. */
  step(): Promise<unknown> {
    const r = this.rnd();
    const bid = this.rnd() < 0.5;
    const qty = this.int(1, 6) * 100 * (bid ? 1 : -1);
    let p: Promise<unknown>;
    if (r < 0.45) {
      const price = P + (bid ? -this.int(-3, 20) : this.int(-3, 20)) * TICK;
      const persist = this.rnd() < 0.1 ? 'fill_or_kill' : this.rnd() < 0.2 ? false : true;
      const withTonce = this.rnd() < 0.5;
      p = this.c
        .placeOrder({
          ...(withTonce ? { tonce: ++this.tonce } : {}),
          base: XBT,
          counter: USDT,
          quantity: qty,
          price,
          persist,
          ...(this.rnd() < 0.1 ? { post_only: true } : {}),
        })
        .then((x) => x.id !== undefined && this.ids.push(x.id));
    } else if (r < 0.55) {
      p = this.c.placeOrder(this.rnd() < 0.5 ? { base: XBT, counter: USDT, quantity: qty } : { base: XBT, counter: USDT, total: (qty * P) / 10_000 });
    } else if (r < 0.72) {
      const id = this.pick();
      const delta = this.int(-3, 3) * 100;
      const price = this.rnd() < 0.5 ? P + this.int(-20, 20) * TICK : undefined;
      p = this.c.modifyOrder({
        id: id ?? 1,
        ...(delta !== 0 || price === undefined ? { quantity_delta: delta || 100 } : {}),
        ...(price !== undefined ? { price } : {}),
      });
    } else if (r < 0.92) {
      const id = this.pick();
      p = this.rnd() < 0.2 ? this.c.cancelOrder({ tonce: this.int(1, this.tonce + 1) }) : this.c.cancelOrder({ id: id ?? 1 });
    } else if (r < 0.95) {
      p = this.c.cancelAllOrders();
    } else {
      p = this.c.estimateMarketOrder({ base: XBT, counter: USDT, quantity: qty });
    }
    return p.catch((e: unknown) => {
      if (!(e instanceof ApiError) || e.code === 6 || e.code === 7) throw e;
    });
  }
}

function serverBook(t: TestServer): BookOrderView[] {
  return t.ctx.engine.bookOrders(XBT, USDT, Number.MAX_SAFE_INTEGER)!;
}

/** After this resolves, every notice of every command applied so far has reached `c`. */
async function barrier(c: NativeClient): Promise<void> {
  await c.estimateMarketOrder({ base: XBT, counter: USDT, quantity: 1 });
}

test('LocalBooks kept from WatchOrders + notices equal the server book exactly, throughout random trading', { timeout: 60_000 }, async () => {
  const t = await startTestServer({ limits: { wsOrdersPerSecond: 1_000_000 } });
  try {
    const rnd = seededUniform(20240607);
    const users = await Promise.all(Array.from({ length: 4 }, () => fundedUser(t.ctx)));
    const traders = await Promise.all(users.map(async (u) => new Trader(await login(t.url, u), rnd)));
    // A session that places non-persistent orders (and trades) and disconnects mid-way.
    const fleeting = new Trader(await login(t.url, await fundedUser(t.ctx)), rnd);

    const seen = new Map<string, number>();
    const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);
    const stop = t.ctx.onApplied((a) => {
      for (const e of a.events) {
        count(e.type);
        if (e.type === 'OrderClosed') count(`closed:${e.reason}`);
        if (e.type === 'OrdersMatched' && (e.bid === null || e.ask === null)) count('market');
      }
    });

    const early = await connect(t.url);
    const earlyBook = await LocalBook.watch(early, XBT, USDT);
    let lateBook: LocalBook | undefined;
    let late: NativeClient | undefined;
    // A trader that also watches: its own notices come as the owner version.
    const ownerBook = await LocalBook.watch(traders[1]!.c, XBT, USDT);

    const check = async (label: string) => {
      const watchers: [NativeClient, LocalBook][] = [[early, earlyBook]];
      if (late && lateBook) watchers.push([late, lateBook]);
      for (const [c] of watchers) await barrier(c);
      await barrier(traders[1]!.c);
      const truth = serverBook(t);
      for (const [, b] of watchers) assert.deepEqual(b.orders(), truth, `${label}: view differs from the server book`);
      // The owner-watcher's content is exact (its queue order may differ only within a level).
      const byId = (xs: BookOrderView[]) => [...xs].sort((a, b) => a.id - b.id);
      assert.deepEqual(byId(ownerBook.orders()), byId(truth), `${label}: owner-watcher view differs`);
      return truth.length;
    };

    let maxSize = 0;
    for (let round = 0; round < 30; round++) {
      const inflight: Promise<unknown>[] = [];
      for (let i = 0; i < 15; i++) for (const tr of traders) inflight.push(tr.step());
      if (round < 10) for (let i = 0; i < 5; i++) inflight.push(round % 3 === 1 ? fleeting.step() : fleeting.restNonPersistent());
      if (round === 10) inflight.push(fleeting.c.close());
      if (round === 12) {
        // Subscribe while a burst is in flight: early notices must be buffered and replayed.
        late = await connect(t.url);
        const lc = late;
        inflight.push(LocalBook.watch(lc, XBT, USDT).then((b) => (lateBook = b)));
      }
      await Promise.all(inflight);
      maxSize = Math.max(maxSize, await check(`round ${round}`));
    }
    assert.ok(maxSize > 20, `the book should have been busy (max ${maxSize} orders)`);
    stop();
    // Every kind of book change happened.
    for (const k of ['OrderOpened', 'OrderModified', 'OrdersMatched', 'market', 'closed:filled', 'closed:cancelled', 'closed:killed', 'closed:disconnected']) {
      assert.ok((seen.get(k) ?? 0) > 0, `no ${k} in the run: ${JSON.stringify([...seen])}`);
    }
    // Unwatching stops the updates.
    await earlyBook.unwatch();
    const frozen = earlyBook.orders();
    await traders[0]!.c.placeOrder({ base: XBT, counter: USDT, quantity: 100, price: P - 50 * TICK });
    await barrier(early);
    assert.deepEqual(earlyBook.orders(), frozen);

    await Promise.all([...traders.map((tr) => tr.c.close()), early.close(), late?.close()]);
  } finally {
    await t.close();
  }
});
