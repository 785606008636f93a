/**
 * The grid (the paper's protocol, /work/shared/docs/man-method.md): the paper CNN (zoo 'cnn-mnist') on
 * Fashion-MNIST and MNIST; label skew Dirichlet δ = 0.3, δ = 0.6 (equal client sizes) and IID; FedAvg, FedSAM
 * (ρ = 0.05), FedDyn (α = 0.01) and FedSpeed (ρ = 0.01, α = 0.01), each without and with MAN at the paper's
 * ζ = 0.15, plus ζ = 0.05 and 0.3 for FedAvg; seeds 0, 1, 2. SGD lr 0.1 × 0.998 per round, weight decay 1e-3,
 * clipping at 10, batch 50, no augmentation, no input normalisation.
 */
import { mergeConfig, resultFieldDiffs, type SimConfig } from '../../src/config/index.js';
import { FedmanError } from '../../src/util/errors.js';
import { PAPER, SCALES, type Scale } from './scales.js';

export const DATASETS = ['fashion-mnist', 'mnist'] as const;
export const PARTITIONS = ['dirichlet0.3', 'dirichlet0.6', 'iid'] as const;
export const ALGORITHMS = ['fedavg', 'fedsam', 'feddyn', 'fedspeed'] as const;
/** The paper's ζ. */
export const PAPER_ZETA = 0.15;
/** The ζ sweep, FedAvg only. */
export const SWEEP_ZETAS = [0.05, 0.3];
/** Every ζ FedAvg runs with, in increasing order (0: without MAN). */
export const FEDAVG_ZETAS = [0, ...[...SWEEP_ZETAS, PAPER_ZETA].sort((a, b) => a - b)];
export const MODEL = 'cnn-mnist';

export interface RunSpec {
  dataset: string;
  partition: string;
  algorithm: string;
  zeta: number;
  seed: number;
  /** 'fedavg' or 'fedavg-man0.15'. */
  variant: string;
  /** dataset/partition/variant/seed<k> */
  key: string;
}

export function variantName(algorithm: string, zeta: number): string {
  return zeta > 0 ? `${algorithm}-man${zeta}` : algorithm;
}

export function parseVariant(v: string): { algorithm: string; zeta: number } {
  const m = /^([a-z0-9]+)(?:-man([0-9.]+))?$/.exec(v);
  if (!m) throw new FedmanError(`not a variant directory name: '${v}'`);
  return { algorithm: m[1]!, zeta: m[2] ? Number(m[2]) : 0 };
}

function partitionConfig(p: string): Record<string, unknown> {
  if (p === 'iid') return { scheme: 'iid' };
  const m = /^dirichlet([0-9.]+)$/.exec(p);
  if (!m) throw new FedmanError(`unknown partition '${p}' (use ${PARTITIONS.join(', ')})`);
  // Equal client sizes with Dirichlet(δ) class proportions, as in the paper (FedDyn's code base).
  return { scheme: 'dirichlet-equal', alpha: Number(m[1]) };
}

/** The simulation config of one run at a scale (every default resolved). */
export function runConfig(scale: Scale, spec: RunSpec, workers: number | 'auto', threads: number): SimConfig {
  return mergeConfig({
    name: `${spec.key} [${scale.name}]`,
    data: spec.dataset,
    limit: scale.limit,
    testLimit: scale.testLimit,
    normalize: false,
    model: MODEL,
    modelSeed: null,
    manLayers: 'auto',
    clients: scale.clients,
    partition: partitionConfig(spec.partition),
    participation: scale.participation,
    clientsPerRound: null,
    rounds: scale.rounds,
    localEpochs: scale.localEpochs,
    localSteps: null,
    batchSize: scale.batchSize,
    lr: PAPER.lr,
    lrDecay: PAPER.lrDecay,
    weightDecay: PAPER.weightDecay,
    clipNorm: PAPER.clipNorm,
    momentum: 0,
    man: spec.zeta,
    algorithm: spec.algorithm,
    algorithmOptions: {},
    evalEvery: scale.evalEvery,
    seed: spec.seed,
    shuffle: true,
    workers,
    threads,
    clientState: 'disk',
  });
}

/** The runs, seed-major (then algorithm, dataset, partition, ζ), so artifacts are built once per (seed, algorithm). */
export function runGrid(sel: { seeds: number[]; datasets: string[]; partitions: string[]; algorithms: string[]; sweep: boolean }): RunSpec[] {
  const out: RunSpec[] = [];
  for (const seed of sel.seeds) {
    for (const algorithm of sel.algorithms) {
      const zetas = [0, PAPER_ZETA, ...(algorithm === 'fedavg' && sel.sweep ? SWEEP_ZETAS : [])];
      for (const dataset of sel.datasets) {
        for (const partition of sel.partitions) {
          for (const zeta of zetas) {
            const variant = variantName(algorithm, zeta);
            out.push({ dataset, partition, algorithm, zeta, seed, variant, key: `${dataset}/${partition}/${variant}/seed${seed}` });
          }
        }
      }
    }
  }
  return out;
}

/** The scale whose config a report was made with (null: none of them). */
export function detectScale(config: SimConfig, spec: RunSpec): string | null {
  for (const s of Object.values(SCALES)) {
    const want = runConfig(s, spec, 0, config.threads);
    if (resultFieldDiffs(config, want).length === 0 && config.rounds === want.rounds && config.evalEvery === want.evalEvery) return s.name;
  }
  return null;
}
