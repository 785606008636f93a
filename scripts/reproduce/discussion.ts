/** The "Discussion" list of RESULTS.md: what the numbers of the tables say, one finding a line. */
import { finalAcc, pick, type ReportContext } from './context.js';
import { count, pct, signedPercent, signedPoints } from './format.js';
import { ALGORITHMS, FEDAVG_ZETAS, PAPER_ZETA, PARTITIONS } from './grid.js';
import { ALGO_LABEL, DATASET_LABEL, PARTITION_LABEL, variantLabel } from './labels.js';
import { prose } from './prose.js';
import { sentences } from './template.js';
import { accuracyFacts, flatnessFacts, mean, std, wallTimes, type AccuracyFact } from './stats.js';

export function discussion(ctx: ReportContext): string[] {
  const L: string[] = [];
  if (ctx.scaleName === 'smoke') L.push(prose.block('discussion-smoke'));
  const facts = accuracyFacts(ctx);
  if (!facts.length) L.push(prose.block('discussion-no-pairs'));
  else L.push(...accuracyFindings(ctx, facts));
  L.push(...sweepFindings(ctx), flatnessFinding(ctx), ...overheadFinding(ctx));
  return L;
}

function accuracyFindings(ctx: ReportContext, facts: AccuracyFact[]): string[] {
  const L: string[] = [];
  const change = (f: AccuracyFact) => mean(f.delta);
  const name = (f: AccuracyFact) => `${ALGO_LABEL[f.algorithm]}, ${DATASET_LABEL[f.dataset]} ${PARTITION_LABEL[f.partition]}`;
  const d = facts.map(change);
  const consistent = facts.filter((f) => f.delta.length > 1 && f.delta.every((x) => x > 0));
  const hurt = facts.filter((f) => f.delta.length > 1 && f.delta.every((x) => x < 0));
  const unchanged = facts.filter((f) => change(f) === 0).length;
  const overall = {
    zeta: PAPER_ZETA,
    helped: facts.filter((f) => change(f) > 0).length,
    settings: facts.length,
    unchanged: unchanged ? prose.block('discussion-unchanged', { count: unchanged }) : '',
    change: signedPoints(mean(d)),
    min: signedPoints(Math.min(...d)),
    max: signedPoints(Math.max(...d)),
  };
  L.push(facts.some((f) => f.delta.length > 1)
    ? prose.block('discussion-man', {
      ...overall,
      consistent: consistent.length,
      worse: hurt.length ? prose.block('discussion-worse-some', { count: hurt.length, settings: hurt.map(name).join('; ') }) : prose.block('discussion-worse-none'),
    })
    : prose.block('discussion-man-one-seed', overall));
  const best = facts.reduce((a, b) => (change(b) > change(a) ? b : a));
  const worst = facts.reduce((a, b) => (change(b) < change(a) ? b : a));
  L.push(prose.block('discussion-extremes', {
    best: name(best), bestChange: signedPoints(change(best)), bestBase: pct(mean(best.base)), bestMan: pct(mean(best.man)),
    worst: name(worst), worstChange: signedPoints(change(worst)),
  }));
  for (const a of ALGORITHMS) {
    const fa = facts.filter((f) => f.algorithm === a);
    if (!fa.length) continue;
    L.push(prose.block('discussion-algorithm', { algorithm: ALGO_LABEL[a]!, changes: fa.map((f) => `${DATASET_LABEL[f.dataset]} ${PARTITION_LABEL[f.partition]} ${signedPoints(change(f))}`).join(', ') }));
  }
  for (const ds of ctx.datasets) {
    const fd = facts.filter((f) => f.dataset === ds);
    if (!fd.length) continue;
    const byPart = PARTITIONS.map((p) => fd.filter((f) => f.partition === p)).filter((x) => x.length);
    L.push(prose.block('discussion-dataset', { dataset: DATASET_LABEL[ds]!, changes: byPart.map((x) => `${PARTITION_LABEL[x[0]!.partition]} ${signedPoints(mean(x.map(change)))}`).join(', ') }));
  }
  const fewest = Math.min(...facts.map((f) => f.delta.length)), most = Math.max(...facts.map((f) => f.delta.length));
  if (most < 3) L.push(prose.block('discussion-few-seeds', { seeds: fewest === most ? count(most, 'seed') : `${fewest} to ${count(most, 'seed')}` }));
  const spread: string[] = [];
  for (const ds of ctx.datasets) for (const a of ALGORITHMS) for (const p of PARTITIONS) for (const z of [0, PAPER_ZETA]) {
    const acc = finalAcc(pick(ctx, ds, p, a, z));
    if (acc.length > 1 && 100 * std(acc) > 5) spread.push(`${variantLabel(a, z)} ${DATASET_LABEL[ds]} ${PARTITION_LABEL[p]} (± ${(100 * std(acc)).toFixed(1)})`);
  }
  if (spread.length) L.push(prose.block('discussion-spread', { variants: spread.join(', '), rounds: ctx.scale.rounds }));
  L.push(prose.block('discussion-paper-scale'));
  return L;
}

/** The best ζ per setting where FedAvg has at least three of them finished. */
function sweepFindings(ctx: ReportContext): string[] {
  const best: string[] = [];
  for (const ds of ctx.datasets) for (const p of PARTITIONS) {
    const accs = FEDAVG_ZETAS.map((z) => ({ z, a: finalAcc(pick(ctx, ds, p, 'fedavg', z)) })).filter((x) => x.a.length);
    if (accs.length < 3) continue;
    const top = accs.reduce((x, y) => (mean(y.a) > mean(x.a) ? y : x));
    best.push(`${DATASET_LABEL[ds]} ${PARTITION_LABEL[p]}: ζ = ${top.z}`);
  }
  return best.length ? [prose.block('discussion-best-zeta', { settings: best.join('; ') })] : [];
}

function flatnessFinding(ctx: ReportContext): string {
  const facts = flatnessFacts(ctx);
  if (!facts.length) return prose.block('discussion-flatness-none');
  const ratios = facts.map((f) => f.ratio);
  const sharper = facts.filter((f) => f.ratio >= 1).map((f) => `${ALGO_LABEL[f.algorithm]} ${DATASET_LABEL[f.dataset]} ${PARTITION_LABEL[f.partition]} ×${f.ratio.toFixed(2)}`);
  return prose.block('discussion-flatness', {
    lower: facts.length - sharper.length,
    settings: facts.length,
    min: Math.min(...ratios).toFixed(2),
    max: Math.max(...ratios).toFixed(2),
    higher: sharper.length ? prose.block('discussion-flatness-higher', { settings: sharper.join(', ') }) : '',
  });
}

function overheadFinding(ctx: ReportContext): string[] {
  const overheads = wallTimes(ctx).filter((t): t is typeof t & { overhead: number } => t.overhead !== null);
  if (!overheads.length) return [];
  return [sentences(
    prose.block('discussion-overhead', { overheads: overheads.map((t) => `${ALGO_LABEL[t.algorithm]} ${signedPercent(t.overhead)}`).join(', ') }),
    prose.block(overheads.some((t) => t.overhead < 0) ? 'discussion-overhead-negative' : 'discussion-overhead-expected'),
  )];
}
