/**
 * The pages' per-round charts. Their axes are fixed (rounds 0…N, accuracy 0–100 %, loss from 0) rather than fitted
 * to the data: before the first round a chart holds one point or none, and a fitted range around that would read
 * as rounds −1…1 and negative accuracy or loss.
 */
import { lineChart, niceTicks, type Series } from '../sim/svg.js';

export interface RoundChart {
  title: string;
  series: readonly Series[];
  /** The federation's rounds (0 when not known yet): the x axis spans 0…max(rounds, last round drawn, 1). */
  rounds: number;
  width: number;
  height: number;
}

/** The finite x (0) or y (1) values of a chart's points. */
const values = (c: RoundChart, axis: 0 | 1) => c.series.flatMap((s) => s.points.map((p) => p[axis])).filter(Number.isFinite);

function roundChart(c: RoundChart, yLabel: string, yMin: number, yMax: number): string {
  const last = Math.max(0, ...values(c, 0));
  return lineChart({
    title: c.title, xLabel: 'round', yLabel, series: c.series, width: c.width, height: c.height,
    xMin: 0, xMax: Math.max(c.rounds, last, 1), xWhole: true, yMin, yMax,
  });
}

/** Accuracy series hold fractions in [0, 1]; the chart shows percent. */
export function accuracyChart(c: RoundChart): string {
  const series = c.series.map((s) => ({ ...s, points: s.points.map(([x, y]) => [x, 100 * y] as const) }));
  return roundChart({ ...c, series }, 'accuracy (%)', 0, 100);
}

/** Loss from 0 to the first tick above the largest value, so the top of the axis is labelled. */
export function lossChart(c: RoundChart): string {
  const top = 1.05 * Math.max(0, ...values(c, 1));
  const ticks = niceTicks(0, top);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
  return roundChart(c, 'loss', 0, Math.max(step, Math.ceil(top / step) * step));
}
