/**
 * When a client is online, on the virtual clock (seconds from the start of the run): always, in the windows of a
 * trace (optionally repeating with a period), or in the on/off periods of a seeded alternating renewal process.
 * Windows are half-open, [start, end): a task that ends exactly when its window does still completes.
 */
import { Rng } from '../../util/rng.js';

export interface Availability {
  /** Whether the client is online at t. */
  onlineAt(t: number): boolean;
  /** The end of the online window holding t (the client must be online at t; Infinity: it never goes offline). */
  windowEnd(t: number): number;
  /** The earliest time ≥ t at which the client is online (t itself when online; Infinity: never again). */
  nextOnline(t: number): number;
}

export const ALWAYS_ONLINE: Availability = { onlineAt: () => true, windowEnd: () => Infinity, nextOnline: (t) => t };

/** Index of the last window starting at or before t (−1 when none). */
function lastStartingBy(w: readonly (readonly [number, number])[], t: number): number {
  let lo = 0, hi = w.length - 1, ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (w[mid]![0] <= t) { ans = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return ans;
}

/** Sorted, disjoint windows, repeated every `period` seconds when one is given (windows then lie in [0, period]). */
export class WindowAvailability implements Availability {
  constructor(private readonly windows: readonly (readonly [number, number])[], private readonly period: number | null = null) {}

  private split(t: number): { base: number; local: number } {
    if (this.period === null) return { base: 0, local: t };
    const k = Math.floor(t / this.period);
    return { base: k * this.period, local: t - k * this.period };
  }

  onlineAt(t: number): boolean {
    const { local } = this.split(t);
    const i = lastStartingBy(this.windows, local);
    return i >= 0 && local < this.windows[i]![1];
  }

  windowEnd(t: number): number {
    const { base, local } = this.split(t);
    const i = lastStartingBy(this.windows, local);
    if (i < 0 || local >= this.windows[i]![1]) return t;
    const end = this.windows[i]![1];
    const p = this.period;
    if (p === null || end < p) return base + end;
    // A window reaching the end of the period continues into the next one when that starts online.
    const first = this.windows[0]!;
    if (first[0] > 0) return base + end;
    if (this.windows.length === 1) return Infinity;
    return base + p + first[1];
  }

  nextOnline(t: number): number {
    if (this.onlineAt(t)) return t;
    const { base, local } = this.split(t);
    const i = lastStartingBy(this.windows, local) + 1;
    if (i < this.windows.length) return base + this.windows[i]![0];
    if (this.period === null || this.windows.length === 0) return Infinity;
    return base + this.period + this.windows[0]![0];
  }
}

/**
 * Alternating on/off periods with exponential lengths, means (1 − f)·T online and f·T offline, started in the
 * stationary state (offline with probability f), so a fraction f of the clients is offline at any moment on
 * average. Windows are generated lazily from the client's own random stream as time advances; windows that ended
 * before the latest query are forgotten, so queries must not go back more than one window.
 */
export class RenewalAvailability implements Availability {
  private readonly windows: [number, number][] = [];
  /** Where generation stands: the next window starts after `cursor`. */
  private cursor = 0;
  /** Windows ending before this were dropped. */
  private forgotten = -Infinity;

  constructor(private readonly rng: Rng, private readonly offlineFraction: number, private readonly cycleSeconds: number) {
    const startsOnline = rng.uniform() >= offlineFraction;
    if (!startsOnline) this.cursor = this.draw(offlineFraction);
  }

  private draw(fraction: number): number {
    return -fraction * this.cycleSeconds * Math.log(1 - this.rng.uniform());
  }

  /** Generates windows until one ends after t. */
  private cover(t: number): void {
    if (t < this.forgotten) throw new Error(`availability queried at ${t}, before windows already forgotten (${this.forgotten})`);
    while (this.windows.length === 0 || this.windows[this.windows.length - 1]![1] <= t) {
      const start = this.cursor;
      const end = start + this.draw(1 - this.offlineFraction);
      const last = this.windows[this.windows.length - 1];
      if (last && last[1] === start) last[1] = end; // an off period of length 0 joins two windows
      else this.windows.push([start, end]);
      this.cursor = end + this.draw(this.offlineFraction);
    }
    while (this.windows.length > 1 && this.windows[0]![1] <= t && this.windows[1]![1] <= t) this.forgotten = this.windows.shift()![1];
  }

  private find(t: number): [number, number] | null {
    this.cover(t);
    for (const w of this.windows) if (w[0] <= t && t < w[1]) return w;
    return null;
  }

  onlineAt(t: number): boolean {
    return this.find(t) !== null;
  }

  windowEnd(t: number): number {
    return this.find(t)?.[1] ?? t;
  }

  nextOnline(t: number): number {
    this.cover(t);
    for (const w of this.windows) if (t < w[1]) return Math.max(t, w[0]);
    return t; // unreachable: cover(t) leaves a window ending after t
  }
}
