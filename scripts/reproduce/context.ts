import { DATASETS } from './grid.js';
import type { Options } from './options.js';
import type { LoadedRun, Selection } from './runs.js';
import { SCALES, type Scale } from './scales.js';

/** What every part of RESULTS.md reads: the selected reports and the scale they were made at. */
export interface ReportContext {
  o: Options;
  sel: Selection;
  /** The selected reports, finished or not. */
  all: LoadedRun[];
  finished: LoadedRun[];
  scaleName: string;
  /** The reports' scale; the command line's for reports of an unknown protocol. */
  scale: Scale;
  /** "Rounds to reach" targets per dataset: the scale's, with --target on top. */
  targets: Record<string, number>;
  expectedSeeds: number;
  /** The grid's datasets that have reports, in grid order. */
  datasets: string[];
}

export function reportContext(o: Options, sel: Selection): ReportContext {
  const all = sel.runs;
  const scale = SCALES[sel.scaleName] ?? o.scale;
  return {
    o,
    sel,
    all,
    finished: all.filter((r) => r.finished),
    scaleName: sel.scaleName,
    scale,
    targets: { ...scale.targets, ...o.targets },
    expectedSeeds: scale.seeds.length,
    datasets: DATASETS.filter((d) => all.some((r) => r.spec.dataset === d)),
  };
}

/** The finished runs of one variant in one setting (one per seed). */
export function pick(ctx: ReportContext, dataset: string, partition: string, algorithm: string, zeta: number): LoadedRun[] {
  return ctx.finished.filter((r) => r.spec.dataset === dataset && r.spec.partition === partition && r.spec.algorithm === algorithm && r.spec.zeta === zeta);
}

export function finalAcc(rs: LoadedRun[]): number[] {
  return rs.map((r) => r.report.final?.testAccuracy).filter((v): v is number => typeof v === 'number');
}
