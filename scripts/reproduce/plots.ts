/** The combined per-setting plots under docs/results/<dataset>/<partition>/ that RESULTS.md shows. */
import { lineChart, type Series } from '../../src/sim/svg.js';
import { ALGORITHMS, parseVariant } from './grid.js';
import { variantLabel } from './labels.js';
import type { LoadedRun } from './runs.js';
import { meanCurve } from './stats.js';

/** Mean test-accuracy curves of the variants `keep` selects, in grid order (algorithm, then ζ). */
export function settingSvg(runs: LoadedRun[], title: string, keep: (v: { algorithm: string; zeta: number }) => boolean): string {
  const groups = new Map<string, LoadedRun[]>();
  for (const r of runs) if (keep(r.spec)) {
    const g = groups.get(r.spec.variant) ?? [];
    g.push(r);
    groups.set(r.spec.variant, g);
  }
  const order = [...groups.keys()].sort((a, b) => {
    const pa = parseVariant(a), pb = parseVariant(b);
    const ia = ALGORITHMS.indexOf(pa.algorithm as typeof ALGORITHMS[number]), ib = ALGORITHMS.indexOf(pb.algorithm as typeof ALGORITHMS[number]);
    return ia !== ib ? ia - ib : pa.zeta - pb.zeta;
  });
  const series: Series[] = order.map((v) => {
    const p = parseVariant(v);
    const g = groups.get(v)!;
    return { name: `${variantLabel(p.algorithm, p.zeta)} (${g.length})`, dashed: p.zeta === 0, points: meanCurve(g) };
  });
  return lineChart({ title, xLabel: 'round', yLabel: 'test accuracy (%)', series, width: 820, height: 480 });
}
