// A minimal Server-Sent Events client over node:http, for the tests: records every event and
// comment, and can be cut off mid-stream.
import { get, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: IncomingHttpHeaders = {};
  /** Body of a non-200 answer. */
  body = '';
  ended = false;
  private buf = '';
  private cut = false;
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private waiters: (() => void)[] = [];

  static connect(url: string, o: { auth?: string; lastEventId?: string } = {}): Promise<SseClient> {
    const c = new SseClient();
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (o.auth !== undefined) headers.authorization = o.auth;
      if (o.lastEventId !== undefined) headers['last-event-id'] = o.lastEventId;
      c.req = get(url, { headers }, (res) => {
        c.res = res;
        c.status = res.statusCode ?? 0;
        c.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (c.status !== 200) c.body += chunk;
          else c.feed(chunk);
        });
        const end = () => {
          c.ended = true;
          c.wake();
        };
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
        if (c.status !== 200) res.on('end', () => resolve(c));
        else resolve(c);
      });
      c.req.on('error', (err) => {
        c.ended = true;
        c.wake();
        if (c.status === 0) reject(err);
      });
    });
  }

  private feed(chunk: string): void {
    if (this.cut) return; // nothing arrives after the client hung up
    this.buf += chunk;
    let cut: number;
    while ((cut = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, cut);
      this.buf = this.buf.slice(cut + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      let isEvent = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') {
          data.push(value);
          isEvent = true;
        }
      }
      if (isEvent) this.events.push({ id, event, data: data.join('\n') });
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves with the first recorded event matching `pred`; rejects if the stream ends first. */
  async waitFor(pred: (e: SseEvent) => boolean, what = 'event'): Promise<SseEvent> {
    for (;;) {
      const hit = this.events.find(pred);
      if (hit !== undefined) return hit;
      if (this.ended) throw new Error(`stream ended before ${what}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Resolves once at least `n` events were recorded. */
  async waitForCount(n: number): Promise<void> {
    while (this.events.length < n) {
      if (this.ended) throw new Error(`stream ended after ${this.events.length} of ${n} events`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async waitForComment(pred: (c: string) => boolean): Promise<void> {
    while (!this.comments.some(pred)) {
      if (this.ended) throw new Error('stream ended before the comment');
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Stops reading (the socket's receive buffer fills, then the server's send buffer). */
  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  /** Resolves once the server ended the stream. */
  async waitForEnd(): Promise<void> {
    while (!this.ended) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Cuts the connection (as a client losing its network would). */
  close(): void {
    this.cut = true;
    this.req?.destroy();
    this.ended = true;
    this.wake();
  }
}

export function json(e: SseEvent): Record<string, unknown> {
  return JSON.parse(e.data) as Record<string, unknown>;
}
