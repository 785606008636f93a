/** The statistics RESULTS.md reports: means ± std over seeds, paired changes, rounds to target, time overhead. */
import type { RoundMetrics, SimReport } from '../../src/sim/report.js';
import { finalAcc, pick, type ReportContext } from './context.js';
import { ALGORITHMS, PAPER_ZETA, PARTITIONS } from './grid.js';
import type { LoadedRun } from './runs.js';

export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n − 1); 0 for one value. */
export const std = (xs: readonly number[]) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};
export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

export function trainSeconds(r: RoundMetrics): number {
  return r.seconds - (r.evalSeconds ?? 0);
}

/**
 * Training milliseconds per local step in a run's fastest round. Other jobs on a shared machine only ever slow a round
 * down, so the fastest round is the run's least disturbed measurement; per step, because rounds differ in how many
 * clients (and so steps) they have.
 */
export function fastestStepMs(report: SimReport): number | null {
  const perStep = report.rounds.filter((r) => r.steps > 0).map((r) => (1000 * trainSeconds(r)) / r.steps);
  return perStep.length ? Math.min(...perStep) : null;
}

export function roundsToTarget(report: SimReport, target: number): number | null {
  for (const r of report.rounds) if (r.testAccuracy !== undefined && r.testAccuracy >= target) return r.round;
  return null;
}

/** Mean test-accuracy curve over seeds (rounds evaluated in every seed). */
export function meanCurve(runs: LoadedRun[]): [number, number][] {
  const byRound = new Map<number, number[]>();
  for (const r of runs) for (const m of r.report.rounds) if (m.testAccuracy !== undefined) {
    const a = byRound.get(m.round) ?? [];
    a.push(m.testAccuracy);
    byRound.set(m.round, a);
  }
  return [...byRound.entries()].filter(([, v]) => v.length === runs.length).sort((a, b) => a[0] - b[0]).map(([k, v]) => [k, 100 * mean(v)]);
}

/** One setting's runs without and with MAN. */
export interface Group { base: LoadedRun[]; man: LoadedRun[] }

/** combine(MAN run, base run) for every seed that has both, where it gives a number. */
function pairedBySeed(g: Group, combine: (man: LoadedRun, base: LoadedRun) => number | null): number[] {
  const out: number[] = [];
  for (const m of g.man) {
    const b = g.base.find((x) => x.spec.seed === m.spec.seed);
    const v = b ? combine(m, b) : null;
    if (v !== null) out.push(v);
  }
  return out;
}

/** Paired (same seed) differences MAN − base of a per-run quantity. */
export function pairedChange(g: Group, f: (r: LoadedRun) => number | null | undefined): number[] {
  return pairedBySeed(g, (m, b) => {
    const vm = f(m), vb = f(b);
    return typeof vm === 'number' && typeof vb === 'number' ? vm - vb : null;
  });
}

/** Paired (same seed) ratios MAN / base of a per-run quantity. */
export function pairedRatio(g: Group, f: (r: LoadedRun) => number | null): number[] {
  return pairedBySeed(g, (m, b) => {
    const vm = f(m), vb = f(b);
    // Ratios only mean something between positive values (a trace estimate can come out negative).
    return vm !== null && vb !== null && vm > 0 && vb > 0 ? vm / vb : null;
  });
}

/** Paired changes of the final test accuracy with − without MAN at the paper's ζ, in one setting. */
export function accuracyChange(ctx: ReportContext, dataset: string, partition: string, algorithm: string): number[] {
  const g = { base: pick(ctx, dataset, partition, algorithm, 0), man: pick(ctx, dataset, partition, algorithm, PAPER_ZETA) };
  return pairedChange(g, (r) => r.report.final?.testAccuracy);
}

/** Paired ratios with / without MAN of a flatness measure, over the runs that have one, in one setting. */
export function flatnessRatio(ctx: ReportContext, dataset: string, partition: string, algorithm: string, f: (r: LoadedRun) => number | null): number[] {
  const g = { base: pick(ctx, dataset, partition, algorithm, 0).filter((r) => r.flat), man: pick(ctx, dataset, partition, algorithm, PAPER_ZETA).filter((r) => r.flat) };
  return pairedRatio(g, f);
}

/** A setting (algorithm × dataset × partition) where MAN's paired accuracy change is known. */
export interface AccuracyFact { dataset: string; partition: string; algorithm: string; delta: number[]; base: number[]; man: number[] }

export function accuracyFacts(ctx: ReportContext): AccuracyFact[] {
  const facts: AccuracyFact[] = [];
  for (const dataset of ctx.datasets) for (const algorithm of ALGORITHMS) for (const partition of PARTITIONS) {
    const delta = accuracyChange(ctx, dataset, partition, algorithm);
    if (!delta.length) continue;
    const base = finalAcc(pick(ctx, dataset, partition, algorithm, 0)), man = finalAcc(pick(ctx, dataset, partition, algorithm, PAPER_ZETA));
    facts.push({ dataset, partition, algorithm, delta, base, man });
  }
  return facts;
}

/** A setting's mean paired ratio of the top Hessian eigenvalue with / without MAN. */
export interface FlatnessFact { dataset: string; partition: string; algorithm: string; ratio: number }

export function flatnessFacts(ctx: ReportContext): FlatnessFact[] {
  const facts: FlatnessFact[] = [];
  for (const dataset of ctx.datasets) for (const algorithm of ALGORITHMS) for (const partition of PARTITIONS) {
    const ratios = flatnessRatio(ctx, dataset, partition, algorithm, (r) => r.flat!.topEigenvalue);
    if (ratios.length) facts.push({ dataset, partition, algorithm, ratio: mean(ratios) });
  }
  return facts;
}

/** An algorithm's training times without / with MAN over all its finished runs, and MAN's overhead. */
export interface WallTime {
  algorithm: string;
  /** Per run: mean training seconds per round. */
  perRound: { base: number[]; man: number[] };
  /** Per run: training ms per local step in its fastest round. */
  perStep: { base: number[]; man: number[] };
  /** Percent more time per step with MAN, from the medians over runs (null: a side has no runs). */
  overhead: number | null;
}

export function wallTimes(ctx: ReportContext): WallTime[] {
  const out: WallTime[] = [];
  for (const algorithm of ALGORITHMS) {
    const runsOf = (z: number) => ctx.finished.filter((r) => r.spec.algorithm === algorithm && r.spec.zeta === z);
    const perRound = (z: number) => runsOf(z).map((r) => mean(r.report.rounds.map(trainSeconds)));
    const perStep = (z: number) => runsOf(z).map((r) => fastestStepMs(r.report)).filter((v): v is number => v !== null);
    const t = { algorithm, perRound: { base: perRound(0), man: perRound(PAPER_ZETA) }, perStep: { base: perStep(0), man: perStep(PAPER_ZETA) } };
    if (!t.perRound.base.length && !t.perRound.man.length) continue;
    const { base, man } = t.perStep;
    out.push({ ...t, overhead: base.length && man.length ? 100 * (median(man) / median(base) - 1) : null });
  }
  return out;
}
