/** Side-by-side comparison of simulation runs (`fedman compare`). */
import path from 'node:path';
import { readReport, runLabel, type SimReport } from './report.js';
import { lineChart } from './svg.js';

export interface RunSummary {
  dir: string;
  label: string;
  algorithm: string;
  man: number;
  rounds: number;
  completedRounds: number;
  finalAccuracy: number | null;
  bestAccuracy: number | null;
  bestRound: number | null;
  finalLoss: number | null;
  /** Mean wall time per round, in seconds. */
  secondsPerRound: number | null;
  meanParticipants: number | null;
  /** 'sync' rounds or 'async' versions. */
  mode: 'sync' | 'async';
  /** Simulated hours at the last round / version (runs on a fleet's virtual clock), else null. */
  simHours: number | null;
  /** With a target accuracy: the first evaluated round / version that reached it, and its simulated hours. */
  targetRound?: number | null;
  targetSimHours?: number | null;
}

export function summarize(dir: string, r: SimReport, target?: number): RunSummary {
  const rounds = r.rounds;
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const last = rounds[rounds.length - 1];
  const hit = target === undefined ? undefined : rounds.find((x) => x.testAccuracy !== undefined && x.testAccuracy >= target);
  const hours = (x: { simSeconds?: number } | undefined) => (x?.simSeconds === undefined ? null : x.simSeconds / 3600);
  return {
    mode: r.config.aggregation?.mode ?? 'sync',
    simHours: hours(last),
    ...(target === undefined ? {} : { targetRound: hit?.round ?? null, targetSimHours: hours(hit) }),
    dir,
    label: runLabel(r, dir),
    algorithm: r.strategy.name,
    man: r.config.man,
    rounds: r.config.rounds,
    completedRounds: r.status.completedRounds,
    finalAccuracy: r.final?.testAccuracy ?? null,
    bestAccuracy: r.final?.bestAccuracy ?? null,
    bestRound: r.final?.bestRound ?? null,
    finalLoss: r.final?.testLoss ?? null,
    secondsPerRound: mean(rounds.map((x) => x.seconds)),
    meanParticipants: mean(rounds.map((x) => x.participants.length)),
  };
}

export async function loadRuns(dirs: readonly string[], target?: number): Promise<{ summary: RunSummary; report: SimReport }[]> {
  const out: { summary: RunSummary; report: SimReport }[] = [];
  for (const d of dirs) {
    const report = await readReport(d);
    out.push({ summary: summarize(d, report, target), report });
  }
  return out;
}

const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(2)}%`);

const hrs = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(2));

/**
 * A plain-text table, one row per run; the mode when some run is asynchronous (its rounds are versions), simulated
 * hours when some run has a virtual clock, and rounds (versions) and
 * simulated hours to the target accuracy when one was given.
 */
export function compareTable(rows: readonly RunSummary[], target?: number): string {
  const clock = rows.some((r) => r.simHours !== null);
  const async = rows.some((r) => r.mode === 'async');
  const header = ['run', 'algorithm', 'ζ', 'rounds', 'final acc', 'best acc (round)', 'final loss', 's/round'];
  if (async) header.push('mode');
  if (clock) header.push('sim h');
  if (target !== undefined) header.push(`to ${pct(target)} (round)`, ...(clock ? [`to ${pct(target)} (sim h)`] : []));
  const body = rows.map((r) => {
    const cells = [
      r.label, r.algorithm, String(r.man), r.completedRounds === r.rounds ? String(r.rounds) : `${r.completedRounds}/${r.rounds}`,
      pct(r.finalAccuracy), r.bestAccuracy === null ? '—' : `${pct(r.bestAccuracy)} (${r.bestRound})`,
      r.finalLoss === null ? '—' : r.finalLoss.toFixed(4), r.secondsPerRound === null ? '—' : r.secondsPerRound.toFixed(2),
    ];
    if (async) cells.push(r.mode);
    if (clock) cells.push(hrs(r.simHours));
    if (target !== undefined) cells.push(r.targetRound === null || r.targetRound === undefined ? '—' : String(r.targetRound), ...(clock ? [hrs(r.targetSimHours)] : []));
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n') + '\n';
}

/**
 * One chart with every run's test-accuracy curve, against rounds (versions, for async runs) or against simulated
 * hours (runs without a virtual clock are left out of that one).
 */
export function compareSvg(runs: readonly { summary: RunSummary; report: SimReport }[], x: 'round' | 'simHours' = 'round'): string {
  const byHours = x === 'simHours';
  return lineChart({
    title: byHours ? 'Test accuracy against simulated time' : 'Test accuracy',
    xLabel: byHours ? 'simulated hours' : runs.every(({ summary }) => summary.mode === 'async') ? 'version' : 'round (async: version)',
    yLabel: 'test accuracy (%)',
    series: runs.filter(({ summary }) => !byHours || summary.simHours !== null).map(({ summary, report }) => ({
      name: summary.label || path.basename(summary.dir),
      points: report.rounds.filter((r) => r.testAccuracy !== undefined && (!byHours || r.simSeconds !== undefined))
        .map((r) => [byHours ? r.simSeconds! / 3600 : r.round, 100 * r.testAccuracy!] as const),
    })),
  });
}

/** Whether some run was on a virtual clock (then `fedman compare` also plots against simulated hours). */
export function hasClock(runs: readonly { summary: RunSummary }[]): boolean {
  return runs.some(({ summary }) => summary.simHours !== null);
}
