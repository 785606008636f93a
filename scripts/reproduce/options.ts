import path from 'node:path';
import { parseArgs } from 'node:util';
import { FedmanError } from '../../src/util/errors.js';
import { ALGORITHMS, DATASETS, PARTITIONS, SWEEP_ZETAS } from './grid.js';
import { REPO } from './repo.js';
import { SCALES, type Scale } from './scales.js';

export interface Options {
  scale: Scale;
  /** --scale given (or runs being made): RESULTS.md reports that scale; else the most common one among the reports. */
  scaleExplicit: boolean;
  results: string;
  resultsMd: string;
  scratch: string;
  seeds: number[];
  datasets: string[];
  partitions: string[];
  algorithms: string[];
  sweep: boolean;
  flatness: boolean;
  workers: number | 'auto';
  threads: number;
  overwrite: boolean;
  targets: Record<string, number>;
  quiet: boolean;
}

export const HELP = `usage: npm run reproduce -- [options]

  --scale <smoke|small|full-paper>   protocol scale (default small)
  --report-only                      only regenerate RESULTS.md from the existing reports
  --dry-run                          list the runs and their state, and the remaining work
  --datasets <list>                  subset of ${DATASETS.join(',')}
  --partitions <list>                subset of ${PARTITIONS.join(',')}
  --algorithms <list>                subset of ${ALGORITHMS.join(',')}
  --seeds <list>                     seeds (default: the scale's)
  --no-sweep                         skip FedAvg's ζ = ${SWEEP_ZETAS.join(', ')} runs
  --no-flatness                      do not measure the final models' Hessian eigenvalue / trace
  --workers <n|auto>                 worker threads per simulation (default: the scale's)
  --threads <n>                      ONNX Runtime threads per worker (default 1)
  --nice <n>                         lower this process's priority by n (default 10; 0 = leave it)
  --target <ds=acc,...>              accuracy targets for "rounds to reach", e.g. mnist=0.97,fashion-mnist=0.8
  --results <dir>                    per-run results (default docs/results)
  --results-md <file>                the generated report (default docs/RESULTS.md)
  --scratch <dir>                    checkpoints, artifacts, models (default runs/reproduce/<scale>)
  --overwrite                        replace results made with another scale or config (smoke results are always replaced)
  --quiet                            no per-round lines
`;

function list(v: string | undefined, all: readonly string[], flag: string): string[] {
  if (!v) return [...all];
  const xs = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const x of xs) if (!all.includes(x)) throw new FedmanError(`${flag}: unknown '${x}' (use ${all.join(', ')})`);
  return xs;
}

export function parseOptions(argv: string[]): { o: Options; reportOnly: boolean; dry: boolean; nice: number; help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'string' }, 'report-only': { type: 'boolean' }, 'dry-run': { type: 'boolean' },
      datasets: { type: 'string' }, partitions: { type: 'string' }, algorithms: { type: 'string' }, seeds: { type: 'string' },
      'no-sweep': { type: 'boolean' }, 'no-flatness': { type: 'boolean' }, workers: { type: 'string' }, threads: { type: 'string' },
      nice: { type: 'string' }, target: { type: 'string' }, results: { type: 'string' }, 'results-md': { type: 'string' },
      scratch: { type: 'string' }, overwrite: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const scaleName = values.scale ?? 'small';
  const scale = SCALES[scaleName];
  if (!scale) throw new FedmanError(`--scale: unknown '${scaleName}' (use ${Object.keys(SCALES).join(', ')})`);
  const int = (v: string, flag: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new FedmanError(`${flag}: expected a non-negative integer, got '${v}'`);
    return n;
  };
  const targets: Record<string, number> = {};
  for (const kv of (values.target ?? '').split(',').filter(Boolean)) {
    const [k, v] = kv.split('=');
    const x = Number(v);
    if (!k || !(DATASETS as readonly string[]).includes(k) || !(x > 0 && x <= 1)) throw new FedmanError(`--target: expected dataset=accuracy in (0, 1], got '${kv}'`);
    targets[k] = x;
  }
  const o: Options = {
    scale,
    scaleExplicit: values.scale !== undefined || !values['report-only'],
    results: path.resolve(REPO, values.results ?? 'docs/results'),
    resultsMd: path.resolve(REPO, values['results-md'] ?? 'docs/RESULTS.md'),
    scratch: path.resolve(REPO, values.scratch ?? path.join('runs', 'reproduce', scale.name)),
    seeds: values.seeds ? values.seeds.split(',').map((s) => int(s.trim(), '--seeds')) : [...scale.seeds],
    datasets: list(values.datasets, DATASETS, '--datasets'),
    partitions: list(values.partitions, PARTITIONS, '--partitions'),
    algorithms: list(values.algorithms, ALGORITHMS, '--algorithms'),
    sweep: !values['no-sweep'],
    flatness: !values['no-flatness'],
    workers: values.workers === undefined ? scale.workers : values.workers === 'auto' ? 'auto' : int(values.workers, '--workers'),
    threads: values.threads === undefined ? 1 : int(values.threads, '--threads'),
    overwrite: !!values.overwrite,
    targets,
    quiet: !!values.quiet,
  };
  return { o, reportOnly: !!values['report-only'], dry: !!values['dry-run'], nice: values.nice === undefined ? 10 : int(values.nice, '--nice'), help: !!values.help };
}
