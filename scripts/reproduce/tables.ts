/** The tables of RESULTS.md whose rows and columns follow the grid; each function returns its lines, a blank after each table. */
import { finalAcc, pick, type ReportContext } from './context.js';
import { cell, changeCell, pct, signedPercent } from './format.js';
import { ALGORITHMS, FEDAVG_ZETAS, PAPER_ZETA, PARTITIONS } from './grid.js';
import { ALGO_LABEL, DATASET_LABEL, PARTITION_LABEL, variantLabel } from './labels.js';
import { accuracyChange, flatnessRatio, mean, median, roundsToTarget, type WallTime } from './stats.js';

const PARTITION_COLUMNS = PARTITIONS.map((p) => PARTITION_LABEL[p]!);

const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
/** A header over left-aligned label columns and right-aligned number columns. */
const header = (labels: readonly string[], numbers: readonly string[]) =>
  [row([...labels, ...numbers]), `|${labels.map(() => '---').join('|')}|${numbers.map(() => '---:').join('|')}|`];

/** Final accuracy per dataset: each algorithm without / with MAN and the paired change, by partition. */
export function accuracyTables(ctx: ReportContext): string[] {
  const L: string[] = [];
  for (const d of ctx.datasets) {
    L.push(`### ${DATASET_LABEL[d] ?? d}`, '', ...header(['method'], PARTITION_COLUMNS));
    for (const a of ALGORITHMS) {
      const base = PARTITIONS.map((p) => finalAcc(pick(ctx, d, p, a, 0)));
      const man = PARTITIONS.map((p) => finalAcc(pick(ctx, d, p, a, PAPER_ZETA)));
      if (base.every((x) => !x.length) && man.every((x) => !x.length)) continue;
      L.push(row([ALGO_LABEL[a]!, ...base.map((v) => cell(v, ctx.expectedSeeds))]));
      L.push(row([`${ALGO_LABEL[a]} + MAN`, ...man.map((v) => cell(v, ctx.expectedSeeds))]));
      L.push(row(['*Δ MAN*', ...PARTITIONS.map((p) => `*${changeCell(accuracyChange(ctx, d, p, a))}*`)]));
    }
    L.push('');
  }
  return L;
}

/** FedAvg's final accuracy at every ζ. */
export function sweepTable(ctx: ReportContext): string[] {
  const L = header(['dataset', 'ζ'], PARTITION_COLUMNS);
  for (const d of ctx.datasets) {
    for (const z of FEDAVG_ZETAS) L.push(row([DATASET_LABEL[d]!, String(z), ...PARTITIONS.map((p) => cell(finalAcc(pick(ctx, d, p, 'fedavg', z)), ctx.expectedSeeds))]));
  }
  L.push('');
  return L;
}

/** Per dataset with a target: the mean round of reaching it over the seeds that did, and how many did. */
export function roundsTables(ctx: ReportContext): string[] {
  const L: string[] = [];
  for (const d of ctx.datasets) {
    const target = ctx.targets[d];
    if (target === undefined) continue;
    L.push(...header([`${DATASET_LABEL[d]}, ≥ ${pct(target)}%`], PARTITION_COLUMNS));
    for (const a of ALGORITHMS) {
      for (const z of [0, PAPER_ZETA]) {
        const cells = PARTITIONS.map((p) => {
          const rs = pick(ctx, d, p, a, z);
          if (!rs.length) return '—';
          const hit = rs.map((r) => roundsToTarget(r.report, target)).filter((v): v is number => v !== null);
          return hit.length ? `${mean(hit).toFixed(1)} (${hit.length}/${rs.length})` : `never (0/${rs.length})`;
        });
        if (cells.every((c) => c === '—')) continue;
        L.push(row([variantLabel(a, z), ...cells]));
      }
    }
    L.push('');
  }
  return L;
}

export function wallTimeTable(times: readonly WallTime[]): string[] {
  const L = header(['algorithm'], ['s/round without MAN', 's/round with MAN', 'ms/local step, fastest round, without MAN', 'with MAN', 'MAN overhead']);
  const medianOf = (v: number[], digits: number) => (v.length ? `${median(v).toFixed(digits)} (${v.length} runs)` : '—');
  for (const t of times) {
    L.push(row([
      ALGO_LABEL[t.algorithm]!, medianOf(t.perRound.base, 2), medianOf(t.perRound.man, 2), medianOf(t.perStep.base, 1), medianOf(t.perStep.man, 1),
      t.overhead === null ? '—' : signedPercent(t.overhead),
    ]));
  }
  L.push('');
  return L;
}

/** Per dataset: top eigenvalue and trace without / with MAN, and their paired ratios, by partition. */
export function flatnessTables(ctx: ReportContext): string[] {
  const L: string[] = [];
  for (const d of ctx.datasets) {
    L.push(...header([DATASET_LABEL[d]!], [...PARTITIONS.map((p) => `${PARTITION_LABEL[p]} λ_max`), ...PARTITIONS.map((p) => `${PARTITION_LABEL[p]} trace`)]));
    for (const a of ALGORITHMS) {
      const rows: string[] = [];
      for (const z of [0, PAPER_ZETA]) {
        const eig = PARTITIONS.map((p) => pick(ctx, d, p, a, z).filter((r) => r.flat).map((r) => r.flat!.topEigenvalue));
        const tr = PARTITIONS.map((p) => pick(ctx, d, p, a, z).filter((r) => r.flat && r.flat.trace !== null).map((r) => r.flat!.trace!));
        if (eig.every((x) => !x.length)) continue;
        rows.push(row([variantLabel(a, z), ...eig.map((v) => cell(v, ctx.expectedSeeds, 3, 1)), ...tr.map((v) => cell(v, ctx.expectedSeeds, 1, 1))]));
      }
      if (!rows.length) continue;
      L.push(...rows);
      const er = PARTITIONS.map((p) => flatnessRatio(ctx, d, p, a, (r) => r.flat!.topEigenvalue));
      const trr = PARTITIONS.map((p) => flatnessRatio(ctx, d, p, a, (r) => r.flat!.trace));
      const fmt = (x: number[]) => `*${x.length ? `×${mean(x).toFixed(2)}` : '—'}*`;
      L.push(row([`*Δ ${ALGO_LABEL[a]}*`, ...er.map(fmt), ...trr.map(fmt)]));
    }
    L.push('');
  }
  return L;
}
