/** docs/RESULTS.md: the blocks of results.template.md with the tables and findings, in the document's order. */
import path from 'node:path';
import { renderCrosscheckSection, type CrosscheckRecord } from '../crosscheck-report.js';
import { reportContext, type ReportContext } from './context.js';
import { discussion } from './discussion.js';
import { flatnessLoadError } from './flatness.js';
import { count, pct } from './format.js';
import { ALGORITHMS, DATASETS, PAPER_ZETA, PARTITIONS, SWEEP_ZETAS, runGrid } from './grid.js';
import { DATASET_LABEL, PARTITION_LABEL } from './labels.js';
import type { Options } from './options.js';
import { prose } from './prose.js';
import { gitInfo } from './repo.js';
import type { Selection } from './runs.js';
import { PAPER, SCALES, type Scale } from './scales.js';
import { wallTimes } from './stats.js';
import { accuracyTables, flatnessTables, roundsTables, sweepTable, wallTimeTable } from './tables.js';
import { sentences } from './template.js';

const BANNERS = ['smoke', 'small', 'full-paper'];

/** The results directory as RESULTS.md links it (relative to the file, '/'-separated). */
function resultsLink(o: Options): string {
  return path.relative(path.dirname(o.resultsMd), o.results).split(path.sep).join('/') || '.';
}

const evalInterval = (s: Scale) => count(s.evalEvery, 'round');

export function renderResults(o: Options, sel: Selection, crosschecks: readonly CrosscheckRecord[] = []): string {
  const ctx = reportContext(o, sel);
  return [
    ...header(ctx), ...protocol(ctx), ...accuracy(ctx), ...roundsToTarget(ctx), ...wallTime(ctx), ...curves(ctx), ...flatness(ctx),
    prose.block('discussion'), '', ...discussion(ctx), '',
    ...renderCrosscheckSection(crosschecks),
    ...caveats(ctx),
    prose.block('how-to-reproduce'), '',
  ].join('\n');
}

function header({ o, sel, all, finished, scale, scaleName }: ReportContext): string[] {
  const L = [prose.block('title'), ''];
  if (!all.length) L.push(prose.block('no-results'), '');
  if (all.length) L.push(prose.block(BANNERS.includes(scaleName) ? `banner-${scaleName}` : 'banner-custom'));
  L.push('');
  if (sel.others.size) {
    const reports = [...sel.others].map(([k, n]) => `${count(n, 'report')} of ${k === 'custom' ? 'an unknown protocol' : `scale \`${k}\``}`).join(', ');
    L.push(prose.block('not-included', { reports, results: resultsLink(o) }), '');
  }
  const total = runGrid({ seeds: scale.seeds, datasets: [...DATASETS], partitions: [...PARTITIONS], algorithms: [...ALGORITHMS], sweep: true }).length;
  const running = all.length - finished.length;
  L.push(prose.block('status', {
    finished: count(finished.length, 'finished run'),
    inProgress: running > 0 ? prose.block('status-in-progress', { count: running }) : '',
    total,
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: gitInfo(),
  }), '');
  return L;
}

function protocol({ scale }: ReportContext): string[] {
  const first = (n: number | null, all: string) => (n === null ? all : `first ${n.toLocaleString('en-US')}`);
  return [prose.block('protocol', {
    scale: scale.name,
    data: `${first(scale.limit, 'all 60,000')} train / ${first(scale.testLimit, 'all 10,000')} test`,
    paperClients: PAPER.clients,
    clients: scale.clients,
    clientSamples: Math.floor((scale.limit ?? 60000) / scale.clients),
    paperParticipation: PAPER.participation,
    participation: scale.participation,
    clientsPerRound: (scale.clients * scale.participation).toFixed(1),
    paperRounds: PAPER.rounds,
    rounds: scale.rounds,
    paperLocalEpochs: PAPER.localEpochs,
    paperBatchSize: PAPER.batchSize,
    localEpochs: scale.localEpochs,
    batchSize: scale.batchSize,
    lr: PAPER.lr,
    lrDecay: PAPER.lrDecay,
    weightDecay: PAPER.weightDecay,
    clipNorm: PAPER.clipNorm,
    evalInterval: evalInterval(scale),
    seedCount: scale.seeds.length,
    seeds: scale.seeds.join(', '),
    scales: Object.values(SCALES).map((s) => `\`${s.name}\` (${s.summary})`).join('; '),
  }), ''];
}

function accuracy(ctx: ReportContext): string[] {
  const L = [prose.block('accuracy', { zeta: PAPER_ZETA }), '', ...accuracyTables(ctx)];
  if (ctx.finished.some((r) => r.spec.algorithm === 'fedavg' && SWEEP_ZETAS.includes(r.spec.zeta))) L.push(prose.block('zeta-sweep'), '', ...sweepTable(ctx));
  return L;
}

function roundsToTarget(ctx: ReportContext): string[] {
  const targets = ctx.datasets.map((d) => `${DATASET_LABEL[d]} ${pct(ctx.targets[d] ?? NaN)}%`).join(', ');
  return [prose.block('rounds-to-target', { targets, evalInterval: evalInterval(ctx.scale) }), '', ...roundsTables(ctx)];
}

/** "clients trained in the main thread", "with 2 worker threads", "with 1/2 worker threads". */
function workersPhrase(seen: readonly (number | 'auto')[]): string {
  if (seen.length === 1 && seen[0] === 0) return 'clients trained in the main thread';
  return `with ${seen.length ? seen.join('/') : '?'} worker thread${seen.length === 1 && seen[0] === 1 ? '' : 's'}`;
}

function wallTime(ctx: ReportContext): string[] {
  const workers = workersPhrase([...new Set(ctx.finished.map((r) => r.report.config.workers))]);
  return [prose.block('wall-time', { workers, threads: ctx.finished[0]?.report.config.threads ?? 1 }), '', ...wallTimeTable(wallTimes(ctx))];
}

function curves({ o, finished, datasets }: ReportContext): string[] {
  const L = [prose.block('curves'), ''];
  for (const d of datasets) {
    for (const p of PARTITIONS) {
      if (!finished.some((r) => r.spec.dataset === d && r.spec.partition === p)) continue;
      L.push(prose.block('curves-setting', { dataset: DATASET_LABEL[d]!, partition: PARTITION_LABEL[p]!, dir: `${resultsLink(o)}/${d}/${p}` }), '');
    }
  }
  return L;
}

function flatness(ctx: ReportContext): string[] {
  const L = [prose.block('flatness'), ''];
  const withFlat = ctx.finished.filter((r) => r.flat);
  if (!withFlat.length) {
    const error = flatnessLoadError();
    L.push(sentences(prose.block('flatness-not-measured'), error ? prose.block('flatness-load-error', { error }) : prose.block('flatness-rerun')), '');
    return L;
  }
  const f0 = withFlat[0]!.flat!;
  L.push(sentences(
    prose.block('flatness-measured', { samples: f0.samples, tol: f0.tol, maxIter: f0.maxIter, traceVectors: f0.traceVectors }),
    ctx.scale.flatness.runs === 'fedavg' && prose.block('flatness-fedavg-only'),
  ), '', ...flatnessTables(ctx));
  const notConverged = withFlat.filter((r) => !r.flat!.converged).length;
  if (notConverged) L.push(prose.block('flatness-not-converged', { count: notConverged, measured: withFlat.length }));
  L.push('');
  return L;
}

function caveats({ all, scale, scaleName }: ReportContext): string[] {
  const L = [prose.block('caveats'), ''];
  if (scaleName !== 'full-paper') L.push(prose.block('caveat-scaled-down', { scale: scale.name, rounds: scale.rounds }));
  L.push(prose.block('caveats-always'));
  const unfinished = all.filter((r) => !r.finished);
  if (unfinished.length) {
    const list = `${unfinished.slice(0, 8).map((r) => `${r.spec.key} (${r.report.status.completedRounds}/${r.report.config.rounds})`).join(', ')}${unfinished.length > 8 ? ', …' : ''}`;
    L.push(prose.block('caveat-unfinished', { runs: unfinished.length > 1 ? `${unfinished.length} runs are` : `${unfinished.length} run is`, list }));
  }
  L.push('');
  return L;
}
