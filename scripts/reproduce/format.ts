/** How RESULTS.md and the console write numbers. */
import { mean, std } from './stats.js';

/** A fraction as a percentage with two decimals. */
export const pct = (v: number) => (100 * v).toFixed(2);

/** " ± std" of the values times `scale` ('' for one value). */
function spread(values: readonly number[], digits: number, scale: number): string {
  return values.length > 1 ? ` ± ${(scale * std(values)).toFixed(digits)}` : '';
}

/** "1 seed", "3 seeds". */
export const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** "mean ± std" of percentages with the seed count when it is not the expected one. */
export function cell(values: number[], expected: number, digits = 2, scale = 100): string {
  if (!values.length) return '—';
  const m = (scale * mean(values)).toFixed(digits);
  const n = values.length !== expected ? ` (${count(values.length, 'seed')})` : '';
  return `${m}${spread(values, digits, scale)}${n}`;
}

/** A change of a fraction in percentage points, signed: "+1.23". */
export const signedPoints = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}`;

/** Paired changes: "+mean ± std (k/n)", k the seeds where it was positive. */
export function changeCell(deltas: readonly number[]): string {
  if (!deltas.length) return '—';
  const better = deltas.filter((x) => x > 0).length;
  return `${signedPoints(mean(deltas))}${spread(deltas, 2, 100)} (${better}/${deltas.length})`;
}

/** A percentage, signed: "+1.2%". */
export const signedPercent = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${s.toFixed(0)} s`;
  if (s < 5400) return `${(s / 60).toFixed(0)} min`;
  if (s < 2 * 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} days`;
}
