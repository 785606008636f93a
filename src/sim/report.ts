/** The simulation's outputs: report.json, metrics.csv and SVG curves. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FedmanError } from '../util/errors.js';
import type { SimConfig } from '../config/index.js';
import { lineChart } from './svg.js';
import type { FlatnessReport } from '../flatness/index.js';
import type { RoundMetrics } from '../fl/round/metrics.js';

export type { RoundMetrics } from '../fl/round/metrics.js';

export const REPORT_FILE = 'report.json';
export const REPORT_FORMAT = 'fedman-sim-report';

export interface SimReport {
  format: typeof REPORT_FORMAT;
  version: 1;
  /** The full config, every default filled in (workers resolved to a number). */
  config: SimConfig;
  strategy: { name: string; options: Record<string, number | string | boolean>; clientTerms: string[]; clientStateKeys: string[] };
  data: { kind: string; source: string; trainSamples: number; testSamples: number; numClasses: number; sampleShape: number[]; normalization: { mean: number[]; std: number[] } | null };
  model: { source: string; name: string; paramCount: number; manLayers: string[]; artifacts: string };
  partition: { scheme: string; params: Record<string, number | string | boolean>; clients: number[][] };
  status: { completedRounds: number; finished: boolean; runs: { startedAt: string; fromRound: number }[] };
  rounds: RoundMetrics[];
  final: { round: number; testAccuracy: number | null; testLoss: number | null; bestAccuracy: number | null; bestRound: number | null } | null;
  wallSeconds: number;
  /** Hessian top eigenvalue (and trace) of the final global model's training loss (CE), when requested. */
  flatness?: FlatnessReport | null;
}

export function finalSummary(rounds: readonly RoundMetrics[]): SimReport['final'] {
  if (!rounds.length) return null;
  const evaluated = rounds.filter((r) => r.testAccuracy !== undefined);
  const last = evaluated[evaluated.length - 1];
  let best: RoundMetrics | undefined;
  for (const r of evaluated) if (!best || r.testAccuracy! > best.testAccuracy!) best = r;
  return {
    round: rounds[rounds.length - 1]!.round,
    testAccuracy: last?.testAccuracy ?? null,
    testLoss: last?.testLoss ?? null,
    bestAccuracy: best?.testAccuracy ?? null,
    bestRound: best?.round ?? null,
  };
}

const CSV_COLUMNS = ['round', 'lr', 'participants', 'train_loss', 'train_ce', 'train_man', 'train_accuracy', 'samples', 'steps', 'test_loss', 'test_accuracy', 'seconds'] as const;

/** Columns appended to metrics.csv when some round has them (differential privacy, a virtual clock, async). */
const OPTIONAL_COLUMNS: readonly [string, keyof RoundMetrics][] = [
  ['dp_epsilon', 'dpEpsilon'], ['sim_seconds', 'simSeconds'], ['dropped', 'dropped'],
  ['mean_staleness', 'meanStaleness'], ['max_staleness', 'maxStaleness'], ['stale_dropped', 'staleDropped'],
];

/** metrics.csv; optional columns (`dp_epsilon`, `sim_seconds`, …) are appended when some round has them. */
export function metricsCsv(rounds: readonly RoundMetrics[]): string {
  const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '' : String(v));
  const extra = OPTIONAL_COLUMNS.filter(([, key]) => rounds.some((r) => r[key] !== undefined));
  const lines = [[...CSV_COLUMNS, ...extra.map(([col]) => col)].join(',')];
  for (const r of rounds) {
    lines.push([
      r.round, num(r.lr), r.participants.length, num(r.trainLoss), num(r.trainCe), num(r.trainMan), num(r.trainAccuracy),
      r.samples, r.steps, num(r.testLoss), num(r.testAccuracy), num(r.seconds), ...extra.map(([, key]) => num(r[key] as number | undefined)),
    ].join(','));
  }
  return lines.join('\n') + '\n';
}

export function accuracySvg(label: string, rounds: readonly RoundMetrics[]): string {
  return lineChart({
    title: `Test accuracy — ${label}`, xLabel: 'round', yLabel: 'test accuracy (%)',
    series: [
      { name: 'test accuracy', points: rounds.filter((r) => r.testAccuracy !== undefined).map((r) => [r.round, 100 * r.testAccuracy!] as const) },
      { name: 'train accuracy (local)', dashed: true, points: rounds.map((r) => [r.round, 100 * r.trainAccuracy] as const) },
    ],
  });
}

export function lossSvg(label: string, rounds: readonly RoundMetrics[]): string {
  return lineChart({
    title: `Loss — ${label}`, xLabel: 'round', yLabel: 'loss',
    series: [
      { name: 'test loss (CE)', points: rounds.filter((r) => r.testLoss !== undefined).map((r) => [r.round, r.testLoss!] as const) },
      { name: 'train loss (local, incl. MAN)', dashed: true, points: rounds.map((r) => [r.round, r.trainLoss] as const) },
      { name: 'train CE (local)', dashed: true, points: rounds.map((r) => [r.round, r.trainCe] as const) },
    ],
  });
}

/** Writes report.json, metrics.csv and (with `plots`) accuracy.svg and loss.svg, each atomically. */
export async function writeOutputs(out: string, report: SimReport, plots: boolean): Promise<void> {
  await writeFileAtomic(path.join(out, REPORT_FILE), prettyJson(report) + '\n');
  await writeFileAtomic(path.join(out, 'metrics.csv'), metricsCsv(report.rounds));
  if (plots) {
    const label = runLabel(report, out);
    await writeFileAtomic(path.join(out, 'accuracy.svg'), accuracySvg(label, report.rounds));
    await writeFileAtomic(path.join(out, 'loss.svg'), lossSvg(label, report.rounds));
  }
}

/** JSON with 2-space indentation, but arrays of numbers/strings on one line (partitions, participants). */
export function prettyJson(v: unknown, indent = ''): string {
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== 'object')) return JSON.stringify(v);
    const inner = indent + '  ';
    return `[\n${v.map((x) => inner + prettyJson(x, inner)).join(',\n')}\n${indent}]`;
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (!entries.length) return '{}';
    const inner = indent + '  ';
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${prettyJson(x, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function runLabel(report: Pick<SimReport, 'config'>, dir: string): string {
  return report.config.name || path.basename(path.resolve(dir));
}

export async function readReport(dir: string): Promise<SimReport> {
  const file = path.join(dir, REPORT_FILE);
  let text: string;
  try { text = await fs.readFile(file, 'utf8'); } catch {
    throw new FedmanError(`'${dir}' has no ${REPORT_FILE} (not a simulation output directory?)`);
  }
  let r: SimReport;
  try { r = JSON.parse(text) as SimReport; } catch (err) {
    throw new FedmanError(`'${file}' is not valid JSON: ${(err as Error).message}`);
  }
  if (r.format !== REPORT_FORMAT) throw new FedmanError(`'${file}' is not a fedman simulation report`);
  return r;
}
