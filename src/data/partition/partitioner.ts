/**
 * What a federated partitioner is, and the input checks the schemes share.
 *
 * Every partitioner is seeded (same labels + options + seed ⇒ same partition) and returns the parameters it
 * actually used (defaults resolved) so runs can record them. Guarantees common to all schemes:
 *
 * - every sample index is assigned to **at most one** client (clients are disjoint);
 * - some samples may be left unassigned (e.g. the remainder when `n` is not divisible by the number of clients,
 *   or classes no client was given); `params.unassigned` says how many.
 */
import { FedmanError } from '../../util/errors.js';

/** The partition schemes (one file each in this directory). */
export const PARTITION_SCHEMES = ['iid', 'dirichlet-equal', 'dirichlet', 'classes', 'shards'] as const;
export type PartitionScheme = (typeof PARTITION_SCHEMES)[number];

/** Result of a partitioner. */
export interface Partition {
  /** Scheme name: iid, dirichlet-equal, dirichlet, classes or shards. */
  scheme: string;
  /** `clients[i]` = sample indices of client i. Disjoint across clients. */
  clients: number[][];
  /** Parameters used, defaults resolved, plus `seed`, `numClients`, `n` and `unassigned`. */
  params: Record<string, number | string | boolean>;
  /** Scheme-specific extras, e.g. the per-client class priors drawn by the Dirichlet schemes. */
  details?: { classPriors?: number[][]; clientClasses?: number[][] };
}

/** Options shared by all partitioners. */
export interface PartitionBase {
  numClients: number;
  seed: number;
}

export function checkInt(v: number, field: string, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new FedmanError(`partition: ${field} must be an integer ≥ ${min}, got ${v}`);
}

export function checkBase(opts: PartitionBase, n: number): void {
  checkInt(opts.numClients, 'numClients', 1);
  if (!Number.isFinite(opts.seed)) throw new FedmanError(`partition: seed must be a finite number, got ${opts.seed}`);
  if (opts.numClients > n) throw new FedmanError(`partition: numClients (${opts.numClients}) exceeds the number of samples (${n})`);
}

export function checkAlpha(alpha: number): void {
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new FedmanError(`partition: Dirichlet alpha (δ) must be a positive number, got ${alpha}`);
}

/** `per` samples for each client (default ⌊n / numClients⌋), checked against the `n` available. */
export function samplesPerClient(opts: PartitionBase & { samplesPerClient?: number }, n: number): number {
  const per = opts.samplesPerClient ?? Math.floor(n / opts.numClients);
  checkInt(per, 'samplesPerClient', 1);
  if (per * opts.numClients > n) throw new FedmanError(`partition: ${opts.numClients} clients × ${per} samples exceeds the ${n} samples available`);
  return per;
}

/** Sample indices per class, in `order` (default: index order); labels are range-checked. */
export function indicesByClass(labels: ArrayLike<number>, numClasses: number, order?: ArrayLike<number>): number[][] {
  checkInt(numClasses, 'numClasses', 1);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  const n = labels.length;
  for (let t = 0; t < n; t++) {
    const i = order ? order[t] : t;
    const c = labels[i];
    if (!(c >= 0 && c < numClasses) || !Number.isInteger(c)) throw new FedmanError(`partition: label ${c} at index ${i} is outside [0, ${numClasses})`);
    byClass[c].push(i);
  }
  return byClass;
}

export function assignedCount(clients: number[][]): number {
  return clients.reduce((a, c) => a + c.length, 0);
}
