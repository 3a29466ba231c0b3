// The Event Stream's memory of recent events, for Last-Event-ID resumption.
//
// Event ids are "<seq>.<i>": the sequence number of the applied command and the event's index
// among that command's events, so they increase strictly and survive restarts (the journal's
// seq). A bare "<seq>" means "everything through command <seq>" (the id of a Reset event).
//
// The ring keeps the most recent `capacity` events, evicting whole commands at a time, and knows
// `droppedThrough`: no event of a command at or below it can be served. A client that asks to
// resume from before that point gets a Reset, never a silent gap.
import type { EngineEvent } from '../../core/types.js';

export interface StreamEvent {
  seq: number;
  idx: number;
  id: string;
  ev: EngineEvent;
  /** Frame for viewers who do not own the event (undefined: nothing public to show). Filled lazily. */
  publicFrame?: string | null;
}

export interface EventPosition {
  seq: number;
  /** Index within the command; undefined means all of the command's events were seen. */
  idx?: number;
}

/** Parses a Last-Event-ID value; undefined when it is not one of ours. */
export function parseEventId(text: string): EventPosition | undefined {
  const m = /^([0-9]{1,16})(?:\.([0-9]{1,9}))?$/.exec(text.trim());
  if (m === null) return undefined;
  const seq = Number(m[1]);
  if (!Number.isSafeInteger(seq)) return undefined;
  return m[2] === undefined ? { seq } : { seq, idx: Number(m[2]) };
}

export type ResumeResult = { ok: true; events: StreamEvent[] } | { ok: false; reason: string };

export class EventRing {
  private items: (StreamEvent | undefined)[] = [];
  private head = 0;
  private lastSeqSeen: number;
  private dropped: number;

  /**
   * @param capacity most events kept (a single command with more events is kept whole)
   * @param startSeq the last command applied before the stream started listening: none of its
   *   events, nor any earlier, are in the ring
   */
  constructor(
    readonly capacity: number,
    startSeq: number,
  ) {
    this.lastSeqSeen = startSeq;
    this.dropped = startSeq;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** The newest command seen (with or without events). */
  get lastSeq(): number {
    return this.lastSeqSeen;
  }

  /** No event of a command at or below this sequence number can be served any more. */
  get droppedThrough(): number {
    return this.dropped;
  }

  /** Oldest event still held. */
  get oldest(): StreamEvent | undefined {
    return this.items[this.head];
  }

  /** Appends the events of one applied command (possibly none). */
  push(seq: number, events: StreamEvent[]): void {
    if (seq > this.lastSeqSeen) this.lastSeqSeen = seq;
    if (events.length === 0) return;
    while (this.size > 0 && this.size + events.length > this.capacity) this.evictCommand();
    for (const e of events) this.items.push(e);
  }

  private evictCommand(): void {
    const first = this.items[this.head]!;
    const seq = first.seq;
    while (this.head < this.items.length && this.items[this.head]!.seq === seq) {
      this.items[this.head] = undefined;
      this.head++;
    }
    if (seq > this.dropped) this.dropped = seq;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Events strictly after `pos`, or why they cannot all be served. */
  resumeAfter(pos: EventPosition): ResumeResult {
    if (pos.seq > this.lastSeqSeen) {
      return { ok: false, reason: `Event ${pos.seq} is newer than this server's stream (last ${this.lastSeqSeen}).` };
    }
    const complete = pos.seq > this.dropped || (pos.seq === this.dropped && pos.idx === undefined);
    if (!complete) {
      return {
        ok: false,
        reason: `Events after ${pos.seq}${pos.idx === undefined ? '' : '.' + pos.idx} are no longer available; this server keeps events after command ${this.dropped} (about the last ${this.capacity} events).`,
      };
    }
    // Binary search for the first event after (seq, idx).
    const idx = pos.idx ?? Number.MAX_SAFE_INTEGER;
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.items[mid]!;
      if (e.seq < pos.seq || (e.seq === pos.seq && e.idx <= idx)) lo = mid + 1;
      else hi = mid;
    }
    return { ok: true, events: this.items.slice(lo) as StreamEvent[] };
  }
}
