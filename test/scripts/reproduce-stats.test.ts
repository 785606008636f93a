import t from 'tap';
import type { LoadedRun } from '../../scripts/reproduce/runs.js';
import { changeCell, count } from '../../scripts/reproduce/format.js';
import { median, pairedChange, pairedRatio, std } from '../../scripts/reproduce/stats.js';

/** A run of a seed carrying one number (its value for f below). */
const run = (seed: number, v: number | null) => ({ spec: { seed }, v }) as unknown as LoadedRun & { v: number | null };
const f = (r: LoadedRun) => (r as LoadedRun & { v: number | null }).v;

t.test('pairedChange: MAN − base per seed that has both', async (t) => {
  const base = [run(0, 0.5), run(1, 0.6), run(2, 0.7)];
  const man = [run(2, 0.75), run(0, 0.5), run(3, 0.9)];
  t.same(pairedChange({ base, man }, f), [0.75 - 0.7, 0], 'in MAN-run order; seed 1 has no MAN run, seed 3 no base run');
  t.same(pairedChange({ base: [run(0, null)], man: [run(0, 0.5)] }, f), [], 'a missing value pairs with nothing');
});

t.test('pairedRatio: MAN / base only between positive values', async (t) => {
  const base = [run(0, 2), run(1, -1), run(2, 4)];
  const man = [run(0, 1), run(1, 3), run(2, 0)];
  t.same(pairedRatio({ base, man }, f), [0.5]);
});

t.test('spread and counts', async (t) => {
  t.equal(std([1]), 0);
  t.equal(std([1, 3]), Math.SQRT2);
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.equal(count(1, 'seed'), '1 seed');
  t.equal(count(0, 'finished run'), '0 finished runs');
  t.equal(changeCell([]), '—');
  t.equal(changeCell([0.01]), '+1.00 (1/1)');
  t.equal(changeCell([0.01, -0.03]), '-1.00 ± 2.83 (1/2)');
});
