/**
 * Federated partitioners: split a training set's sample indices among clients.
 *
 * Every partitioner is seeded (same labels + options + seed ⇒ same partition) and returns the parameters it
 * actually used (defaults resolved) so runs can record them. Guarantees common to all schemes:
 *
 * - every sample index is assigned to **at most one** client (clients are disjoint);
 * - some samples may be left unassigned (e.g. the remainder when `n` is not divisible by the number of clients,
 *   or classes no client was given); `params.unassigned` says how many.
 */
import { FedmanError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

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

/** Declarative description of a partition (for configs); see {@link partition}. */
export type PartitionSpec =
  | ({ scheme: 'iid' } & PartitionBase & { samplesPerClient?: number })
  | ({ scheme: 'dirichlet-equal' } & PartitionBase & { alpha: number; samplesPerClient?: number })
  | ({ scheme: 'dirichlet' } & PartitionBase & { alpha: number; minSize?: number; maxTries?: number; balance?: boolean })
  | ({ scheme: 'classes' } & PartitionBase & { classesPerClient: number })
  | ({ scheme: 'shards' } & PartitionBase & { numShards: number; shardsPerClient?: number });

/** Runs the partitioner named by `spec.scheme`. */
export function partition(spec: PartitionSpec, labels: ArrayLike<number>, numClasses: number): Partition {
  switch (spec.scheme) {
    case 'iid':
      return iidPartition(labels.length, spec);
    case 'dirichlet-equal':
      return dirichletEqualPartition(labels, numClasses, spec);
    case 'dirichlet':
      return dirichletPartition(labels, numClasses, spec);
    case 'classes':
      return classesPartition(labels, numClasses, spec);
    case 'shards':
      return shardsPartition(labels, spec);
    default:
      throw new FedmanError(`Unknown partition scheme '${(spec as { scheme: string }).scheme}' (use iid, dirichlet-equal, dirichlet, classes or shards)`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Validation helpers

function checkInt(v: number, field: string, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new FedmanError(`partition: ${field} must be an integer ≥ ${min}, got ${v}`);
}

function checkBase(opts: PartitionBase, n: number): void {
  checkInt(opts.numClients, 'numClients', 1);
  if (!Number.isFinite(opts.seed)) throw new FedmanError(`partition: seed must be a finite number, got ${opts.seed}`);
  if (opts.numClients > n) throw new FedmanError(`partition: numClients (${opts.numClients}) exceeds the number of samples (${n})`);
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new FedmanError(`partition: Dirichlet alpha (δ) must be a positive number, got ${alpha}`);
}

function indicesByClass(labels: ArrayLike<number>, numClasses: number, order?: ArrayLike<number>): number[][] {
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

function assignedCount(clients: number[][]): number {
  return clients.reduce((a, c) => a + c.length, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// IID

/**
 * IID: a seeded random permutation cut into equal parts of `samplesPerClient` (default ⌊n / numClients⌋);
 * the remainder is unassigned.
 */
export function iidPartition(n: number, opts: PartitionBase & { samplesPerClient?: number }): Partition {
  checkBase(opts, n);
  const per = opts.samplesPerClient ?? Math.floor(n / opts.numClients);
  checkInt(per, 'samplesPerClient', 1);
  if (per * opts.numClients > n) throw new FedmanError(`partition: ${opts.numClients} clients × ${per} samples exceeds the ${n} samples available`);
  const rng = new Rng(opts.seed, 0x11d);
  const perm = rng.permutation(n);
  const clients = Array.from({ length: opts.numClients }, (_, i) => perm.slice(i * per, (i + 1) * per));
  return {
    scheme: 'iid',
    clients,
    params: { scheme: 'iid', seed: opts.seed, numClients: opts.numClients, n, samplesPerClient: per, unassigned: n - per * opts.numClients },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Dirichlet label skew, equal client sizes (FedDyn / FedMAN reference scheme)

/**
 * Dirichlet label skew with equal client sizes, as in the FedDyn (and FedMAN) reference code, rule 'Dirichlet'
 * with `unbalanced_sgm = 0`:
 *
 * 1. every client gets `samplesPerClient = ⌊n / numClients⌋` slots and class priors `p_i ~ Dir(α·1)`;
 * 2. repeatedly pick a client uniformly among those not yet full, draw a class from its prior and give it a
 *    not-yet-used sample of that class (samples of a class are taken in a seeded random order);
 * 3. when the drawn class has run out, the draw is repeated among the classes that still have samples — the
 *    reference redraws from the same prior until it hits one, which is the prior renormalised over the remaining
 *    classes; here that renormalised draw is made directly (and, should all remaining classes have zero prior
 *    mass, a remaining class is picked uniformly, where the reference would loop forever).
 *
 * Clients therefore hold exactly `samplesPerClient` samples each; late-filled clients deviate from their prior
 * when popular classes run out. `details.classPriors` holds the priors.
 */
export function dirichletEqualPartition(
  labels: ArrayLike<number>,
  numClasses: number,
  opts: PartitionBase & { alpha: number; samplesPerClient?: number },
): Partition {
  const n = labels.length;
  checkBase(opts, n);
  checkAlpha(opts.alpha);
  const per = opts.samplesPerClient ?? Math.floor(n / opts.numClients);
  checkInt(per, 'samplesPerClient', 1);
  if (per * opts.numClients > n) throw new FedmanError(`partition: ${opts.numClients} clients × ${per} samples exceeds the ${n} samples available`);
  const rng = new Rng(opts.seed, 0xd1e);
  // The reference shuffles the training set first, then takes each class's samples from the end of its list.
  const byClass = indicesByClass(labels, numClasses, rng.permutation(n));
  const remaining = byClass.map((l) => l.length);
  const priors: number[][] = [];
  const cumPriors: Float64Array[] = [];
  for (let i = 0; i < opts.numClients; i++) {
    const p = rng.dirichlet(opts.alpha, numClasses);
    priors.push(p);
    const cum = new Float64Array(numClasses);
    let s = 0;
    for (let c = 0; c < numClasses; c++) cum[c] = s += p[c];
    cumPriors.push(cum);
  }
  const clients: number[][] = Array.from({ length: opts.numClients }, () => []);
  const open = Array.from({ length: opts.numClients }, (_, i) => i); // clients not yet full
  const weights = new Float64Array(numClasses);
  let total = per * opts.numClients;
  while (total > 0) {
    const slot = rng.int(open.length);
    const client = open[slot];
    // Inverse-CDF draw from the client's prior: the first class whose cumulative prior reaches u.
    const cum = cumPriors[client];
    const u = rng.uniform();
    let cls = -1;
    for (let c = 0; c < numClasses; c++) {
      if (u <= cum[c]) {
        cls = c;
        break;
      }
    }
    if (cls < 0 || remaining[cls] <= 0) {
      // Out of that class (or u above a cumulative sum that rounded below 1): prior renormalised over classes left.
      let mass = 0;
      for (let c = 0; c < numClasses; c++) {
        weights[c] = remaining[c] > 0 ? priors[client][c] : 0;
        mass += weights[c];
      }
      if (!(mass > 0)) for (let c = 0; c < numClasses; c++) weights[c] = remaining[c] > 0 ? 1 : 0;
      cls = rng.categorical(weights);
    }
    remaining[cls]--;
    clients[client].push(byClass[cls][remaining[cls]]);
    if (clients[client].length === per) {
      open[slot] = open[open.length - 1];
      open.pop();
    }
    total--;
  }
  return {
    scheme: 'dirichlet-equal',
    clients,
    params: {
      scheme: 'dirichlet-equal',
      seed: opts.seed,
      numClients: opts.numClients,
      n,
      alpha: opts.alpha,
      samplesPerClient: per,
      unassigned: n - per * opts.numClients,
    },
    details: { classPriors: priors },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Dirichlet label skew, natural sizes (NIID-Bench scheme)

/**
 * Dirichlet label skew with natural (unequal) client sizes, as in NIID-Bench (Li et al. 2022): for each class,
 * draw client shares `q ~ Dir(α·1)` and split the class's (shuffled) samples among clients by `q`. With
 * `balance` (default true), clients already holding ≥ n / numClients samples get no share of later classes.
 * The whole split is redrawn until every client holds at least `minSize` samples (default 10), at most
 * `maxTries` times (default 1000); `params.tries` records how many draws it took. All samples are assigned.
 */
export function dirichletPartition(
  labels: ArrayLike<number>,
  numClasses: number,
  opts: PartitionBase & { alpha: number; minSize?: number; maxTries?: number; balance?: boolean },
): Partition {
  const n = labels.length;
  checkBase(opts, n);
  checkAlpha(opts.alpha);
  const minSize = opts.minSize ?? 10;
  const maxTries = opts.maxTries ?? 1000;
  const balance = opts.balance ?? true;
  checkInt(minSize, 'minSize', 0);
  checkInt(maxTries, 'maxTries', 1);
  const N = opts.numClients;
  if (minSize * N > n) throw new FedmanError(`partition: minSize ${minSize} × ${N} clients exceeds the ${n} samples available`);
  const rng = new Rng(opts.seed, 0xd12);
  const byClass = indicesByClass(labels, numClasses);
  const cap = n / N;
  for (let attempt = 1; attempt <= maxTries; attempt++) {
    const clients: number[][] = Array.from({ length: N }, () => []);
    for (let c = 0; c < numClasses; c++) {
      const idx = rng.shuffle([...byClass[c]]);
      const q = rng.dirichlet(opts.alpha, N);
      let sum = 0;
      for (let j = 0; j < N; j++) {
        if (balance && clients[j].length >= cap) q[j] = 0;
        sum += q[j];
      }
      if (!(sum > 0)) {
        // All the mass fell on capped clients: spread this class over the uncapped ones instead.
        sum = 0;
        for (let j = 0; j < N; j++) sum += q[j] = clients[j].length < cap ? 1 : 0;
      }
      // Cut points floor(cumsum(q) · |class|), as np.split(idx, (cumsum(q)·len).astype(int)[:-1]).
      let acc = 0;
      let start = 0;
      for (let j = 0; j < N; j++) {
        acc += q[j] / sum;
        const end = j === N - 1 ? idx.length : Math.min(idx.length, Math.floor(acc * idx.length));
        for (let t = start; t < end; t++) clients[j].push(idx[t]);
        start = Math.max(start, end);
      }
    }
    const smallest = clients.reduce((a, c) => Math.min(a, c.length), Infinity);
    if (smallest >= minSize) {
      for (const c of clients) rng.shuffle(c);
      return {
        scheme: 'dirichlet',
        clients,
        params: { scheme: 'dirichlet', seed: opts.seed, numClients: N, n, alpha: opts.alpha, minSize, balance, tries: attempt, unassigned: n - assignedCount(clients) },
      };
    }
  }
  throw new FedmanError(
    `partition: Dirichlet(α=${opts.alpha}) split could not give all ${N} clients ≥ ${minSize} samples in ${maxTries} tries; ` +
      'raise alpha, lower minSize, use fewer clients or use the dirichlet-equal scheme',
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Pathological: k classes per client

/**
 * Pathological label skew: each client gets `classesPerClient` (k) shards of k distinct classes.
 *
 * The data are grouped by label (each class in seeded random order) and cut into `numClients · k` shards that
 * never straddle two classes; a class gets a number of shards proportional to its size (at most `numClients`, so
 * no client needs two shards of it). Shards are dealt so that each client holds k shards of k different classes —
 * starting from a round-robin deal, which guarantees distinctness, followed by random class-preserving swaps
 * between clients to randomise which classes go together. If there are fewer shards than classes, some
 * classes are left unassigned. `details.clientClasses` lists each client's classes.
 */
export function classesPartition(
  labels: ArrayLike<number>,
  numClasses: number,
  opts: PartitionBase & { classesPerClient: number },
): Partition {
  const n = labels.length;
  checkBase(opts, n);
  const k = opts.classesPerClient;
  checkInt(k, 'classesPerClient', 1);
  const N = opts.numClients;
  const rng = new Rng(opts.seed, 0xc1a);
  const byClass = indicesByClass(labels, numClasses).map((l) => rng.shuffle(l));
  const present = byClass.map((l, c) => (l.length > 0 ? c : -1)).filter((c) => c >= 0);
  if (k > present.length) {
    throw new FedmanError(`partition: classesPerClient (${k}) exceeds the number of classes with samples (${present.length})`);
  }
  const S = N * k;
  const capOf = (c: number) => Math.min(N, byClass[c].length);
  const capacity = present.reduce((a, c) => a + capOf(c), 0);
  if (S > capacity) {
    throw new FedmanError(`partition: cannot cut ${S} single-class shards (${N} clients × ${k}) from these labels; use fewer clients or classes per client`);
  }
  // Shards per class: proportional to class size (largest remainder), capped so no class needs > N shards.
  const shards = new Array<number>(numClasses).fill(0);
  const quota = new Array<number>(numClasses).fill(0);
  for (const c of present) {
    quota[c] = (S * byClass[c].length) / n;
    shards[c] = Math.min(capOf(c), Math.floor(quota[c]));
  }
  let left = S - shards.reduce((a, b) => a + b, 0);
  // Tie-break the remainder randomly (seeded) rather than by class index.
  const tieOrder = rng.permutation(numClasses);
  while (left > 0) {
    let best = -1;
    let bestGap = -Infinity;
    for (const c of tieOrder) {
      if (byClass[c].length === 0 || shards[c] >= capOf(c)) continue;
      const gap = quota[c] - shards[c];
      if (gap > bestGap) {
        bestGap = gap;
        best = c;
      }
    }
    shards[best]++;
    left--;
  }
  // Cut each class into its shards; list shards grouped by class in a random class order.
  const shardList: { cls: number; idx: number[] }[] = [];
  for (const c of rng.permutation(numClasses)) {
    const l = byClass[c];
    for (let s = 0; s < shards[c]; s++) {
      shardList.push({ cls: c, idx: l.slice(Math.floor((s * l.length) / shards[c]), Math.floor(((s + 1) * l.length) / shards[c])) });
    }
  }
  // Round-robin deal: a class's ≤ N consecutive shards land on distinct clients.
  const owned: number[][] = Array.from({ length: N }, () => []); // shard ids per client
  shardList.forEach((_, j) => owned[j % N].push(j));
  // Randomise with class-preserving swaps (keeps every client's classes distinct).
  const hasClass = (client: number, cls: number, except: number) => owned[client].some((sid, pos) => pos !== except && shardList[sid].cls === cls);
  const swaps = N > 1 ? 20 * S : 0;
  for (let t = 0; t < swaps; t++) {
    const a = rng.int(N);
    const b = rng.int(N);
    if (a === b) continue;
    const pa = rng.int(k);
    const pb = rng.int(k);
    const sa = owned[a][pa];
    const sb = owned[b][pb];
    const ca = shardList[sa].cls;
    const cb = shardList[sb].cls;
    if (ca === cb || hasClass(a, cb, pa) || hasClass(b, ca, pb)) continue;
    owned[a][pa] = sb;
    owned[b][pb] = sa;
  }
  const clients = owned.map((sids) => rng.shuffle(sids.flatMap((sid) => shardList[sid].idx)));
  const clientClasses = owned.map((sids) => sids.map((sid) => shardList[sid].cls).sort((x, y) => x - y));
  return {
    scheme: 'classes',
    clients,
    params: { scheme: 'classes', seed: opts.seed, numClients: N, n, classesPerClient: k, numShards: S, unassigned: n - assignedCount(clients) },
    details: { clientClasses },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Shards (McMahan et al. 2017)

/**
 * Shards (McMahan et al. 2017): sort the samples by label (stable), cut them into `numShards` equal contiguous
 * shards of ⌊n / numShards⌋ samples (the remainder is unassigned) and give each client `shardsPerClient`
 * (default ⌊numShards / numClients⌋) randomly chosen shards. A shard may straddle two classes.
 */
export function shardsPartition(labels: ArrayLike<number>, opts: PartitionBase & { numShards: number; shardsPerClient?: number }): Partition {
  const n = labels.length;
  checkBase(opts, n);
  checkInt(opts.numShards, 'numShards', 1);
  if (opts.numShards > n) throw new FedmanError(`partition: numShards (${opts.numShards}) exceeds the number of samples (${n})`);
  const N = opts.numClients;
  const spc = opts.shardsPerClient ?? Math.floor(opts.numShards / N);
  checkInt(spc, 'shardsPerClient', 1);
  if (spc * N > opts.numShards) throw new FedmanError(`partition: ${N} clients × ${spc} shards exceeds numShards (${opts.numShards})`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => labels[a] - labels[b] || a - b);
  const size = Math.floor(n / opts.numShards);
  const rng = new Rng(opts.seed, 0x5a4);
  const perm = rng.permutation(opts.numShards);
  const clients: number[][] = [];
  for (let i = 0; i < N; i++) {
    const idx: number[] = [];
    for (let s = 0; s < spc; s++) {
      const shard = perm[i * spc + s];
      for (let t = shard * size; t < (shard + 1) * size; t++) idx.push(order[t]);
    }
    clients.push(idx);
  }
  return {
    scheme: 'shards',
    clients,
    params: { scheme: 'shards', seed: opts.seed, numClients: N, n, numShards: opts.numShards, shardsPerClient: spc, shardSize: size, unassigned: n - assignedCount(clients) },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Analysis

/** Per-client label counts: `counts[client][class]`. */
export function labelDistribution(p: Partition | number[][], labels: ArrayLike<number>, numClasses: number): number[][] {
  const clients = Array.isArray(p) ? p : p.clients;
  return clients.map((idx) => {
    const row = new Array<number>(numClasses).fill(0);
    for (const i of idx) row[labels[i]]++;
    return row;
  });
}

/** Shannon entropy (bits) of a count vector's normalised distribution (0 for an empty vector). */
export function labelEntropy(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / total) * Math.log2(c / total);
  return h;
}

/** Mean per-client label entropy (bits): lower means more label skew. */
export function meanClientEntropy(dist: readonly (readonly number[])[]): number {
  if (dist.length === 0) return 0;
  return dist.reduce((a, row) => a + labelEntropy(row), 0) / dist.length;
}

/** Checks that clients are disjoint and indices valid; returns the number of distinct samples assigned. */
export function checkDisjoint(p: Partition | number[][], n: number): number {
  const clients = Array.isArray(p) ? p : p.clients;
  const seen = new Uint8Array(n);
  let count = 0;
  clients.forEach((idx, ci) => {
    for (const i of idx) {
      if (!(i >= 0 && i < n) || !Number.isInteger(i)) throw new Error(`client ${ci}: index ${i} out of range [0, ${n})`);
      if (seen[i]) throw new Error(`client ${ci}: sample ${i} assigned twice`);
      seen[i] = 1;
      count++;
    }
  });
  return count;
}

/** Options for {@link partitionSummary}. */
export interface SummaryOptions {
  /** At most this many client rows in the text table (default 20). */
  maxRows?: number;
  /** Class names for the legend (default: class indices). */
  classNames?: string[];
  /** SVG style: stacked bars of counts per client (default) or a client × class heat-map of proportions. */
  svgStyle?: 'bars' | 'heatmap';
}

/** Summary of a partition: statistics, a compact text table and an SVG chart of the label distribution. */
export interface PartitionSummary {
  counts: number[][];
  sizes: number[];
  meanEntropy: number;
  text: string;
  svg: string;
}

/** Summarises a partition's label distribution as text and SVG. */
export function partitionSummary(p: Partition, labels: ArrayLike<number>, numClasses: number, opts: SummaryOptions = {}): PartitionSummary {
  const counts = labelDistribution(p, labels, numClasses);
  const sizes = counts.map((r) => r.reduce((a, b) => a + b, 0));
  const entropies = counts.map(labelEntropy);
  const meanEntropy = meanClientEntropy(counts);
  const text = textTable(p, counts, sizes, entropies, meanEntropy, numClasses, labels.length, opts.maxRows ?? 20);
  const svg = (opts.svgStyle ?? 'bars') === 'heatmap' ? svgHeatmap(p, counts, sizes, numClasses, opts) : svgBars(p, counts, sizes, numClasses, opts);
  return { counts, sizes, meanEntropy, text, svg };
}

function paramsLine(p: Partition): string {
  return Object.entries(p.params)
    .filter(([k]) => k !== 'scheme')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function textTable(
  p: Partition,
  counts: number[][],
  sizes: number[],
  entropies: number[],
  meanEntropy: number,
  numClasses: number,
  n: number,
  maxRows: number,
): string {
  const lines: string[] = [];
  const assigned = sizes.reduce((a, b) => a + b, 0);
  const sorted = [...sizes].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : 0;
  lines.push(`partition ${p.scheme}: ${paramsLine(p)}`);
  lines.push(
    `clients=${counts.length} assigned=${assigned}/${n} size min/median/max=${sorted[0] ?? 0}/${median}/${sorted[sorted.length - 1] ?? 0} ` +
      `mean label entropy=${meanEntropy.toFixed(3)} bits (max ${Math.log2(numClasses).toFixed(3)})`,
  );
  const perClass = numClasses <= 20;
  let w = 4;
  for (const row of counts) for (const v of row) w = Math.max(w, String(v).length);
  const head = ['client', '  size', 'cls', 'top(%)   ', 'H(bits)'];
  if (perClass) for (let c = 0; c < numClasses; c++) head.push(String(c).padStart(w));
  lines.push(head.join(' '));
  const rows = Math.min(counts.length, maxRows);
  for (let i = 0; i < rows; i++) {
    const row = counts[i];
    let top = 0;
    for (let c = 1; c < numClasses; c++) if (row[c] > row[top]) top = c;
    const nz = row.filter((v) => v > 0).length;
    const pct = sizes[i] ? ((100 * row[top]) / sizes[i]).toFixed(0) : '0';
    const cells = [String(i).padStart(6), String(sizes[i]).padStart(6), String(nz).padStart(3), `${top}(${pct}%)`.padEnd(9), entropies[i].toFixed(3).padStart(7)];
    if (perClass) for (const v of row) cells.push(String(v).padStart(w));
    lines.push(cells.join(' '));
  }
  if (counts.length > rows) lines.push(`… ${counts.length - rows} more clients`);
  return lines.join('\n');
}

const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
];

function classColor(c: number, numClasses: number): string {
  if (numClasses <= PALETTE.length) return PALETTE[c];
  return `hsl(${((c * 137.508) % 360).toFixed(1)},65%,${c % 2 ? 45 : 62}%)`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function svgBars(p: Partition, counts: number[][], sizes: number[], numClasses: number, opts: SummaryOptions): string {
  const nc = counts.length;
  const plotW = Math.max(300, Math.min(1600, nc * 12));
  const plotH = 240;
  const left = 50;
  const top = 44;
  const legendRows = numClasses <= 20 ? Math.ceil(numClasses / 10) : 0;
  const width = left + plotW + 20;
  const height = top + plotH + 40 + legendRows * 18;
  const maxSize = sizes.reduce((a, b) => Math.max(a, b), 1);
  const bw = plotW / Math.max(1, nc);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<title>${esc(`${p.scheme} ${paramsLine(p)}`)}</title>`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${left}" y="16" font-size="13">${esc(`Label distribution per client — ${p.scheme}`)}</text>`);
  parts.push(`<text x="${left}" y="32" font-size="10" fill="#555">${esc(paramsLine(p))}</text>`);
  parts.push(`<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333"/>`);
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`);
  parts.push(`<text x="${left - 4}" y="${top + 4}" text-anchor="end">${maxSize}</text>`);
  parts.push(`<text x="${left - 4}" y="${top + plotH}" text-anchor="end">0</text>`);
  for (let i = 0; i < nc; i++) {
    let y = top + plotH;
    const x = left + i * bw;
    for (let c = 0; c < numClasses; c++) {
      const v = counts[i][c];
      if (v === 0) continue;
      const h = (v / maxSize) * plotH;
      y -= h;
      parts.push(`<rect x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(0.5, bw * 0.9).toFixed(2)}" height="${h.toFixed(2)}" fill="${classColor(c, numClasses)}"><title>client ${i}, class ${esc(opts.classNames?.[c] ?? String(c))}: ${v}</title></rect>`);
    }
  }
  parts.push(`<text x="${left + plotW / 2}" y="${top + plotH + 16}" text-anchor="middle">client (0…${nc - 1})</text>`);
  for (let c = 0; c < numClasses && legendRows > 0; c++) {
    const lx = left + (c % 10) * 70;
    const ly = top + plotH + 30 + Math.floor(c / 10) * 18;
    parts.push(`<rect x="${lx}" y="${ly}" width="10" height="10" fill="${classColor(c, numClasses)}"/>`);
    parts.push(`<text x="${lx + 14}" y="${ly + 9}">${esc(opts.classNames?.[c] ?? String(c))}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

function svgHeatmap(p: Partition, counts: number[][], sizes: number[], numClasses: number, opts: SummaryOptions): string {
  const nc = counts.length;
  const cell = Math.max(2, Math.min(16, Math.floor(1200 / Math.max(nc, numClasses))));
  const left = 50;
  const top = 44;
  const width = Math.max(300, left + nc * cell + 20);
  const height = top + numClasses * cell + 30;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<title>${esc(`${p.scheme} ${paramsLine(p)}`)}</title>`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${left}" y="16" font-size="13">${esc(`Class share per client — ${p.scheme}`)}</text>`);
  parts.push(`<text x="${left}" y="32" font-size="10" fill="#555">${esc(paramsLine(p))}</text>`);
  for (let i = 0; i < nc; i++) {
    for (let c = 0; c < numClasses; c++) {
      const frac = sizes[i] ? counts[i][c] / sizes[i] : 0;
      if (frac === 0) continue;
      const light = (97 - 67 * frac).toFixed(1);
      parts.push(`<rect x="${left + i * cell}" y="${top + c * cell}" width="${cell}" height="${cell}" fill="hsl(215,80%,${light}%)"><title>client ${i}, class ${esc(opts.classNames?.[c] ?? String(c))}: ${counts[i][c]} (${(100 * frac).toFixed(1)}%)</title></rect>`);
    }
  }
  parts.push(`<rect x="${left}" y="${top}" width="${nc * cell}" height="${numClasses * cell}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${left - 4}" y="${top + 9}" text-anchor="end">class 0</text>`);
  parts.push(`<text x="${left - 4}" y="${top + numClasses * cell}" text-anchor="end">${numClasses - 1}</text>`);
  parts.push(`<text x="${left}" y="${top + numClasses * cell + 16}">client 0…${nc - 1}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
