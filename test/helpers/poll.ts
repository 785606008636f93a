/**
 * The one time-bounded wait of the tests. Rounds open, aggregations finish and files disappear asynchronously, and how
 * long that takes depends on how busy the machine is; so every wait polls against a generous bound, and when the bound
 * runs out it throws an error that names what was awaited and the last value seen, instead of letting a later
 * assertion fail without saying why.
 */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface PollOptions {
  /** Give up after this many milliseconds (default 15 s). */
  ms?: number;
  /** Pause between probes (default 25 ms). */
  everyMs?: number;
}

/** Probes until `ok` holds and returns the value that satisfied it; throws `<what>: not reached within <ms> ms`. */
export async function pollUntil<T>(what: string, probe: () => T | Promise<T>, ok: (value: T) => boolean, options: PollOptions = {}): Promise<T> {
  const { ms = 15_000, everyMs = 25 } = options;
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > end) throw new Error(`${what}: not reached within ${ms} ms (last seen: ${describe(value)})`);
    await sleep(everyMs);
  }
}

/** A federation status is large; the round and phase say where it got stuck. */
function describe(value: unknown): string {
  if (value && typeof value === 'object' && 'phase' in value) {
    const s = value as Record<string, any>;
    value = { phase: s.phase, round: s.round?.round ?? null, accepted: s.round?.accepted ?? null, completedRounds: s.completedRounds, failure: s.failure ?? null };
  }
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
