/**
 * Cost of exact aggregation: a round's running sums over `clients` updates of a cnn-mnist-sized model (573,578
 * float32 parameters) with the float64 Accumulator against the exact one, alternated A/B over `repeats` rounds
 * (medians); plus the async buffer's case, float64 deltas with fractional staleness weights. Sample counts as
 * weights, as FedAvg sends them. Run on its own: `npx tsx bench/aggregation.ts`.
 */
import { Accumulator } from '../src/fl/strategy.js';
import { ExactSum } from '../src/util/exact-sum.js';
import { Rng } from '../src/util/rng.js';

export interface AggregationBench {
  paramCount: number; clients: number; repeats: number;
  /** ms per added update (median over rounds): float64, exact, exact with float64 deltas × staleness weights. */
  float64Ms: number; exactMs: number; exactStaleMs: number;
  /** Coordinates whose float64 sum differed from the exact one, over all rounds. */
  inexactCoordinates: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function benchAggregation(opts: { paramCount?: number; clients?: number; repeats?: number } = {}): AggregationBench {
  const n = opts.paramCount ?? 573_578, clients = opts.clients ?? 10, repeats = opts.repeats ?? 5;
  const rng = new Rng(1);
  // Client models near a common global model, as after a round of local training.
  const global = Float32Array.from({ length: n }, () => rng.normal(0, 0.05));
  const updates = Array.from({ length: clients }, () => ({ v: Float32Array.from(global, (g) => g + rng.normal(0, 2e-3)), w: 300 + rng.int(600) }));
  const deltas = updates.map((u) => Float64Array.from(u.v, (x, i) => x - global[i]!));
  const f64: number[] = [], exact: number[] = [], stale: number[] = [];
  let inexact = 0;
  for (let r = 0; r < repeats; r++) {
    const runs: [string, () => unknown][] = [
      ['f64', () => { const a = new Accumulator(n); for (const u of updates) a.add('params', u.v, u.w); return a.sum('params'); }],
      ['exact', () => { const a = new Accumulator(n, { exact: true }); for (const u of updates) a.add('params', u.v, u.w); return a.sum('params'); }],
      ['stale', () => { const s = new ExactSum(n); deltas.forEach((d, k) => s.addVector(d, updates[k]!.w * (1 + (k % 4)) ** -0.5)); return s.round(); }],
    ];
    // Alternate the order every round so that neither side always runs first.
    if (r % 2) runs.reverse();
    const out: Record<string, Float64Array> = {};
    for (const [name, fn] of runs) {
      const t0 = performance.now();
      out[name] = fn() as Float64Array;
      const ms = (performance.now() - t0) / clients;
      (name === 'f64' ? f64 : name === 'exact' ? exact : stale).push(ms);
    }
    for (let i = 0; i < n; i++) if (!Object.is(out.f64![i], out.exact![i])) inexact++;
  }
  return { paramCount: n, clients, repeats, float64Ms: median(f64), exactMs: median(exact), exactStaleMs: median(stale), inexactCoordinates: inexact };
}

export function aggregationMarkdown(b: AggregationBench): string {
  const f = (x: number) => x.toFixed(1);
  return `## Exact aggregation sums (issue 15)

A round's running sums of ${b.clients} updates of a cnn-mnist-sized model (${b.paramCount.toLocaleString('en')} float32 parameters, sample counts as
weights), float64 against the exact superaccumulator (\`src/util/exact-sum.ts\`) that rounds now use, alternated over
${b.repeats} rounds (medians; \`npx tsx bench/aggregation.ts\`). The async buffer's case adds float64 deltas with fractional
staleness weights. Coordinates whose float64 sum differed from the exact one: ${b.inexactCoordinates}.

| | ms per update | vs float64 |
|---|---|---|
| float64 running sums (the former default) | ${f(b.float64Ms)} | 1.0× |
| exact sums, float32 values × integer weights | ${f(b.exactMs)} | ${(b.exactMs / b.float64Ms).toFixed(1)}× |
| exact sums, float64 deltas × staleness weights (async) | ${f(b.exactStaleMs)} | ${(b.exactStaleMs / b.float64Ms).toFixed(1)}× |
`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(aggregationMarkdown(benchAggregation({ repeats: 7 })));
