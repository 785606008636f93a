/**
 * The protocol scales of the reproduction next to the paper's protocol.
 *
 * What --scale changes (RESULTS.md states it in a table next to the paper's values):
 *   smoke       4 clients, p 0.5, 2 rounds, 1 epoch, batch 25, first 200/100 train/test samples, 1 seed.
 *               Seconds per run: proves the plumbing, the numbers mean nothing.
 *   small       50 clients (200 samples each), p 0.1, 40 rounds, 2 local epochs, batch 50, first 10,000 train /
 *               2,000 test samples, 3 seeds. ~10 h of training + ~5 h of flatness on the shared 2-core machine
 *               (FedAvg ~3 s/round, FedSAM ~8 s/round; `--dry-run` prints the estimate).
 *   full-paper  the paper's protocol: 100 clients (600 each, all 60,000 samples), p 0.1, 500 rounds, 5 epochs,
 *               batch 50, full test set, 3 seeds. About two months on 2 cores (`--dry-run`); for a bigger machine.
 */

export interface FlatnessSettings {
  /** First N training samples of the run's training subset. */
  samples: number;
  batchSize: number;
  /** Power iteration: stop at relative change < tol or after maxIter iterations (paper: 1e-3, 100). */
  maxIter: number;
  tol: number;
  /** Hutchinson Rademacher vectors (0 = no trace). */
  trace: number;
  /** Which final models to measure: every run, or only FedAvg without / with MAN at the paper's ζ (cheap smoke). */
  runs: 'all' | 'fedavg';
}

export interface Scale {
  name: string;
  summary: string;
  limit: number | null;
  testLimit: number | null;
  clients: number;
  participation: number;
  rounds: number;
  localEpochs: number;
  batchSize: number;
  evalEvery: number;
  seeds: number[];
  /** Default worker threads ('auto' = min(cores, clients per round)). */
  workers: number | 'auto';
  flatness: FlatnessSettings;
  /** Test accuracy for "rounds to reach", per dataset. */
  targets: Record<string, number>;
}

export const PAPER = {
  clients: 100, participation: 0.1, rounds: 500, localEpochs: 5, batchSize: 50, lr: 0.1, lrDecay: 0.998, weightDecay: 1e-3, clipNorm: 10,
};

export const SCALES: Record<string, Scale> = {
  smoke: {
    name: 'smoke',
    summary: 'plumbing check only: tiny data, 2 rounds, 1 seed; the numbers mean nothing',
    limit: 200, testLimit: 100, clients: 4, participation: 0.5, rounds: 2, localEpochs: 1, batchSize: 25, evalEvery: 1,
    seeds: [0], workers: 0,
    flatness: { samples: 50, batchSize: 50, maxIter: 3, tol: 1e-3, trace: 2, runs: 'fedavg' },
    targets: { mnist: 0.25, 'fashion-mnist': 0.25 },
  },
  small: {
    name: 'small',
    summary: 'scaled down to fit a 2-core machine in about a day: a sixth of the data, 50 clients, 40 rounds, 2 local epochs',
    limit: 10_000, testLimit: 2_000, clients: 50, participation: 0.1, rounds: 40, localEpochs: 2, batchSize: 50, evalEvery: 2,
    seeds: [0, 1, 2], workers: 'auto',
    flatness: { samples: 500, batchSize: 100, maxIter: 100, tol: 1e-3, trace: 10, runs: 'all' },
    targets: { mnist: 0.92, 'fashion-mnist': 0.7 },
  },
  'full-paper': {
    name: 'full-paper',
    summary: "the paper's protocol (all data, 100 clients, p 0.1, 500 rounds, 5 local epochs)",
    limit: null, testLimit: null, clients: 100, participation: 0.1, rounds: 500, localEpochs: 5, batchSize: 50, evalEvery: 5,
    seeds: [0, 1, 2], workers: 'auto',
    flatness: { samples: 1000, batchSize: 100, maxIter: 100, tol: 1e-3, trace: 100, runs: 'all' },
    targets: { mnist: 0.98, 'fashion-mnist': 0.85 },
  },
};
