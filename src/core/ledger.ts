// Every user's balances, positions and volume-window ids in one Float64Array: user slot s,
// asset index a at data[s * stride + a * ACCT ..]. An array per user (a JS array object whose
// elements live in a second object) put two or three dependent cache misses between a user and
// a balance; with 1,000 users the users' own data was about a third of the engine's time. Here
// the User object holds the offset, and the balances are one load away.

/** Numbers per (user, asset): available, reserved, position, position's time, volume window. */
export const ACCT = 5;
export const A_AVAILABLE = 0;
export const A_RESERVED = 1;
export const A_POSITION = 2;
/** Time of the last position change (NO_POSITION: never traded). */
export const A_THROUGH = 3;
/** The (user, asset)'s 30-day volume window in the engine's VolumeStore (NO_WINDOW: none yet). */
export const A_WINDOW = 4;

/** A_THROUGH of an asset the user never traded (no position). */
export const NO_POSITION = -Infinity;
export const NO_WINDOW = -1;

export class Accounts {
  /** Replaced when users are added past capacity or assets are added: reread after addUser() / setAssets(). */
  data = new Float64Array(0);
  /** Numbers per user: assets * ACCT. */
  stride = 0;
  private assets = 0;
  /** Slots in use. */
  users = 0;
  private capacity = 0;

  /** A new user's slot, its accounts zero, no positions, no windows. */
  addUser(): number {
    if (this.users === this.capacity) this.resize(this.assets, Math.max(64, this.capacity * 2));
    const slot = this.users++;
    this.clear(slot, 0);
    return slot;
  }

  /** Widens every user's block to `assets` assets (the new ones zero); slots keep their numbers. */
  setAssets(assets: number): void {
    if (assets > this.assets) this.resize(assets, this.capacity);
  }

  private clear(slot: number, fromAsset: number): void {
    const d = this.data;
    for (let a = fromAsset; a < this.assets; a++) {
      const j = slot * this.stride + a * ACCT;
      d[j + A_AVAILABLE] = 0;
      d[j + A_RESERVED] = 0;
      d[j + A_POSITION] = 0;
      d[j + A_THROUGH] = NO_POSITION;
      d[j + A_WINDOW] = NO_WINDOW;
    }
  }

  private resize(assets: number, capacity: number): void {
    const stride = assets * ACCT;
    const data = new Float64Array(capacity * stride);
    const old = this.data;
    const oldStride = this.stride;
    for (let s = 0; s < this.users; s++) data.set(old.subarray(s * oldStride, (s + 1) * oldStride), s * stride);
    const oldAssets = this.assets;
    this.data = data;
    this.stride = stride;
    this.assets = assets;
    this.capacity = capacity;
    if (assets > oldAssets) for (let s = 0; s < this.users; s++) this.clear(s, oldAssets);
  }
}
