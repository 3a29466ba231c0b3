// The sequencer's micro-timestamp: wall-clock microseconds with sub-millisecond resolution
// from the monotonic clock, never going backwards (a wall-clock step back holds time still
// until the wall clock catches up; a step forward is followed at once).

export class MicroClock {
  private last: number;
  private offset: number;

  /** `floor`: the last time handed out before (e.g. by a previous run), never undercut. */
  constructor(floor = 0) {
    this.last = floor;
    this.offset = Date.now() * 1000 - Math.floor(performance.now() * 1000);
  }

  next(): number {
    const mono = Math.floor(performance.now() * 1000);
    let t = mono + this.offset;
    const wall = Date.now() * 1000;
    // Date.now() is floored to the millisecond: the true wall time is in [wall, wall + 1000).
    // Re-anchor when the monotonic estimate drifts more than a millisecond outside of that.
    if (t < wall - 1000 || t >= wall + 2000) {
      this.offset = wall - mono;
      t = wall;
    }
    if (t < this.last) t = this.last;
    this.last = t;
    return t;
  }

  get lastTime(): number {
    return this.last;
  }
}
