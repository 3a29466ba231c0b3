// End to end: persist=false orders die with their session (Disconnect), persistent ones stay;
// fill_or_kill never rests; shutdown cancels non-persistent orders too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UnstampedCommand } from '../../src/core/types.js';
import { TICK, USDT, XBT, connect, fundedUser, login, startTestServer } from './helpers.js';

const P = 40_000 * TICK;

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

test('closing a session cancels its non-persistent orders only; watchers see them close', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const u = await fundedUser(t.ctx);
    const a = await login(t.url, u);
    const b = await login(t.url, u); // same user, other session
    const kept = await a.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P });
    const dies = await a.placeOrder({ base: XBT, counter: USDT, quantity: 2, price: P, persist: false });
    const other = await b.placeOrder({ base: XBT, counter: USDT, quantity: 3, price: P, persist: false });
    const w = await connect(t.url);
    await w.watchOrders(XBT, USDT);
    const commands: UnstampedCommand[] = [];
    const stop = t.ctx.onApplied((x) => commands.push(x.command));
    const closedNotice = w.next('OrderClosed');
    const ownerNotice = b.next('OrderClosed');
    await a.close();
    const n = await closedNotice;
    assert.equal(n.id, dies.id);
    assert.equal(n.quantity, 2);
    assert.ok(!('tonce' in n));
    assert.equal((await ownerNotice).tonce, null, 'the owner, still connected elsewhere, gets the owner version');
    assert.deepEqual(
      t.ctx.engine.openOrders(u.userId).map((o) => o.id).sort((x, y) => x - y),
      [kept.id, other.id],
    );
    assert.equal(commands.filter((c) => c.type === 'Disconnect').length, 1);
    stop();
    await Promise.all([b.close(), w.close()]);
  } finally {
    await t.close();
  }
});

test('a session without non-persistent orders submits no Disconnect', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const u = await fundedUser(t.ctx);
    const commands: string[] = [];
    const stop = t.ctx.onApplied((x) => commands.push(x.command.type));
    const a = await login(t.url, u);
    await a.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P });
    await a.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P, persist: true });
    await a.close();
    await until(() => t.dialect.sessionCount === 0);
    await t.ctx.submit({ type: 'Deposit', userId: u.userId, asset: USDT, amount: 1 });
    assert.deepEqual(commands, ['PlaceOrder', 'PlaceOrder', 'Deposit']);
    stop();
  } finally {
    await t.close();
  }
});

test('fill_or_kill: what does not match at once is killed, never rests', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  try {
    const maker = await login(t.url, await fundedUser(t.ctx));
    const taker = await login(t.url, await fundedUser(t.ctx));
    await maker.placeOrder({ base: XBT, counter: USDT, quantity: -5, price: P });
    const closed = taker.next('OrderClosed');
    const r = await taker.placeOrder({ tonce: 3, base: XBT, counter: USDT, quantity: 8, price: P, persist: 'fill_or_kill' });
    const n = await closed;
    assert.equal(n.id, r.id);
    assert.equal(n.tonce, 3);
    assert.equal(n.quantity, 3, 'the unfilled rest');
    assert.deepEqual(await taker.getOrders(), []);
    await Promise.all([maker.close(), taker.close()]);
  } finally {
    await t.close();
  }
});

test('server shutdown cancels the non-persistent orders of open sessions', { timeout: 60_000 }, async () => {
  const t = await startTestServer();
  let closedByTest = false;
  try {
    const u = await fundedUser(t.ctx);
    const a = await login(t.url, u);
    const keep = await a.placeOrder({ base: XBT, counter: USDT, quantity: 1, price: P });
    await a.placeOrder({ base: XBT, counter: USDT, quantity: 2, price: P, persist: false });
    const engine = t.ctx.engine;
    const closed = a.closed;
    await t.close();
    closedByTest = true;
    assert.equal((await closed).code, 1001);
    assert.deepEqual(engine.openOrders(u.userId).map((o) => o.id), [keep.id]);
  } finally {
    if (!closedByTest) await t.close();
  }
});
