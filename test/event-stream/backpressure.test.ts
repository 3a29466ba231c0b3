// Slow clients, with a stand-in socket whose buffer fill is under the test's control: the backlog
// waits for 'drain', a client too far behind is dropped, a caught-up one gets live events directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { EventStream, type StreamSink } from '../../src/dialects/event-stream/index.js';
import type { Applied, AppliedListener, ServerContext } from '../../src/server/context.js';
import type { EngineEvent } from '../../src/core/types.js';

class FakeSink extends EventEmitter {
  written: string[] = [];
  writableLength = 0;
  writableNeedDrain = false;
  destroyed = false;
  ended = false;
  write(text: string): boolean {
    this.written.push(text);
    return true;
  }
  end(): this {
    this.ended = true;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
  /** Ids of the events written so far. */
  get ids(): string[] {
    return [...this.written.join('').matchAll(/^id: (.*)$/gm)].map((m) => m[1]!);
  }
}

function fakeCtx(): { ctx: ServerContext; publish: (a: Applied) => void } {
  const listeners = new Set<AppliedListener>();
  const ctx = {
    engine: { lastSeq: 0, tickers: () => [] },
    limits: { maxBufferedBytes: 1000 },
    log: pino({ level: 'silent' }),
    onApplied(l: AppliedListener) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  } as unknown as ServerContext;
  return { ctx, publish: (a) => listeners.forEach((l) => l(a)) };
}

const balance = (n: number): EngineEvent => ({ type: 'BalanceChanged', userId: 1, asset: 1, available: n, reserved: 0 });
const applied = (seq: number, events: EngineEvent[]): Applied => ({ seq, time: seq, command: { type: 'Tick' }, result: { ok: true }, events });

test('backlog while the socket is full, flushed on drain, dropped when too far behind', () => {
  const { ctx, publish } = fakeCtx();
  const s = new EventStream(ctx, { ringSize: 10, heartbeatMs: 1_000_000, retryMs: 1000, paths: [] });
  s.start();
  const fast = new FakeSink();
  const slow = new FakeSink();
  s.attach(fast as unknown as StreamSink, 1, undefined);
  s.attach(slow as unknown as StreamSink, 1, undefined);
  publish(applied(1, [balance(1)]));
  assert.deepEqual(slow.ids, ['1.0']);

  // The slow socket is full: events wait in its backlog, the fast one gets them at once.
  slow.writableLength = 5000;
  slow.writableNeedDrain = true;
  publish(applied(2, [balance(2), balance(3)]));
  publish(applied(3, [balance(4)]));
  assert.deepEqual(fast.ids, ['1.0', '2.0', '2.1', '3.0']);
  assert.deepEqual(slow.ids, ['1.0']);
  // Drained: the backlog goes out in order, then live events go straight through again.
  slow.writableLength = 0;
  slow.writableNeedDrain = false;
  slow.emit('drain');
  assert.deepEqual(slow.ids, ['1.0', '2.0', '2.1', '3.0']);
  publish(applied(4, [balance(5)]));
  assert.deepEqual(slow.ids.at(-1), '4.0');

  // Full again and more than half the ring behind: dropped (and destroyed), the fast one stays.
  slow.writableLength = 5000;
  slow.writableNeedDrain = true;
  for (let seq = 5; seq <= 10; seq++) publish(applied(seq, [balance(seq)]));
  assert.equal(slow.destroyed, true);
  assert.equal(s.clientCount, 1);
  assert.equal(fast.ids.length, 11);

  // Resuming within the ring: the catch-up is written, in chunks, as the socket allows.
  const back = new FakeSink();
  back.writableLength = 5000;
  back.writableNeedDrain = true;
  s.attach(back as unknown as StreamSink, 1, '4.0');
  assert.deepEqual(back.ids, []);
  back.writableLength = 0;
  back.writableNeedDrain = false;
  back.emit('drain');
  assert.deepEqual(back.ids, ['5.0', '6.0', '7.0', '8.0', '9.0', '10.0']);
  s.close();
  assert.equal(fast.ended, true);
});
