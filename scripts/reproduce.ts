/**
 * Reproduces the MAN paper's experiments with fedman (GitHub issue #8) and writes docs/RESULTS.md.
 *
 *     npm run reproduce -- --scale small                 # run (or resume) every run, then write docs/RESULTS.md
 *     npm run reproduce -- --scale smoke                 # plumbing check: the whole grid in a few minutes
 *     npm run reproduce -- --report-only                 # only regenerate docs/RESULTS.md from the reports there
 *     npm run reproduce -- --scale small --dry-run       # list the runs, what is done, the estimated cost
 *     nohup npm run reproduce -- --scale small > runs/reproduce-small.log 2>&1 &     # in the background
 *
 * The grid (the paper's protocol, /work/shared/docs/man-method.md): the paper CNN (zoo 'cnn-mnist') on
 * Fashion-MNIST and MNIST; label skew Dirichlet δ = 0.3, δ = 0.6 (equal client sizes) and IID; FedAvg, FedSAM
 * (ρ = 0.05), FedDyn (α = 0.01) and FedSpeed (ρ = 0.01, α = 0.01), each without and with MAN at the paper's
 * ζ = 0.15, plus ζ = 0.05 and 0.3 for FedAvg; seeds 0, 1, 2. SGD lr 0.1 × 0.998 per round, weight decay 1e-3,
 * clipping at 10, batch 50, no augmentation, no input normalisation.
 *
 * What --scale changes (SCALES below; RESULTS.md states it in a table next to the paper's values):
 *   smoke       4 clients, p 0.5, 2 rounds, 1 epoch, batch 25, first 200/100 train/test samples, 1 seed.
 *               Seconds per run: proves the plumbing, the numbers mean nothing.
 *   small       50 clients (200 samples each), p 0.1, 40 rounds, 2 local epochs, batch 50, first 10,000 train /
 *               2,000 test samples, 3 seeds. ~10 h of training + ~5 h of flatness on the shared 2-core machine
 *               (FedAvg ~3 s/round, FedSAM ~8 s/round; `--dry-run` prints the estimate).
 *   full-paper  the paper's protocol: 100 clients (600 each, all 60,000 samples), p 0.1, 500 rounds, 5 epochs,
 *               batch 50, full test set, 3 seeds. About two months on 2 cores (`--dry-run`); for a bigger machine.
 *
 * Each run is one `simulate` with its checkpoint, artifacts and global.onnx in a scratch directory
 * (runs/reproduce/<scale>/<dataset>/<partition>/<variant>/seed<k>/, git-ignored) and its small outputs copied to
 * docs/results/<dataset>/<partition>/<variant>/seed<k>/: report.json (with the partition's index lists replaced by
 * the client sizes), metrics.csv, accuracy.svg, loss.svg and flatness.json. Runs are done one after the other,
 * seed-major (a complete one-seed table exists after a third of the time); finished runs are skipped, interrupted
 * ones resume from their last completed round (kill it any time). After each run RESULTS.md is regenerated.
 *
 * Flatness: the top Hessian eigenvalue (power iteration, the paper's protocol) and the Hutchinson trace of the
 * training cross-entropy at each final global model, with src/flatness (measureFlatness). If that module cannot be
 * loaded the runs go on without it and RESULTS.md says so (FLATNESS HOOK below).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simulate } from '../src/sim/engine.js';
import { resultFieldDiffs } from '../src/sim/config.js';
import { readCheckpoint } from '../src/sim/checkpoint.js';
import { prettyJson, type RoundMetrics, type SimReport } from '../src/sim/report.js';
import { FedmanError } from '../src/util/errors.js';
import { runIfMain } from './script-main.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { exists, readJsonIf } from './reproduce/files.js';
import { flatnessLoadError, loadFlatness, measureRunFlatness, wantsFlatness } from './reproduce/flatness.js';
import { fmtDuration } from './reproduce/format.js';
import { detectScale, runConfig, runGrid, type RunSpec } from './reproduce/grid.js';
import { HELP, parseOptions, type Options } from './reproduce/options.js';
import { REPO } from './reproduce/repo.js';
import { writeResultsMd } from './reproduce/results.js';
import type { Scale } from './reproduce/scales.js';

/** Relative cost of a round (local passes per step): SAM-type steps take two forward-backward passes. */
const ALGO_COST: Record<string, number> = { fedavg: 1, fedsam: 2, feddyn: 1, fedspeed: 2 };

// ---------------------------------------------------------------------------------------------------------------
// Small helpers.

/** The report as stored under docs/results: the partition's index lists replaced by the client sizes. */
function compactReport(r: SimReport): unknown {
  const sizes = r.partition.clients.map((c) => c.length);
  return {
    ...r,
    partition: {
      scheme: r.partition.scheme,
      params: r.partition.params,
      clients: [],
      clientSizes: sizes,
      note: 'index lists omitted to keep docs/results small; the partition is a deterministic function of the config (seed), and the full report is in the scratch directory',
    },
  };
}

const SMALL_FILES = ['metrics.csv', 'accuracy.svg', 'loss.svg'];

async function publish(scratch: string, dest: string): Promise<SimReport | null> {
  const r = await readJsonIf<SimReport>(path.join(scratch, 'report.json'));
  if (!r) return null;
  await fs.mkdir(dest, { recursive: true });
  await writeFileAtomic(path.join(dest, 'report.json'), prettyJson(compactReport(r)) + '\n');
  for (const f of SMALL_FILES) {
    if (await exists(path.join(scratch, f))) await fs.copyFile(path.join(scratch, f), path.join(dest, f));
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------------------
// Running the grid.

type RunState = 'done' | 'needs-flatness' | 'partial' | 'todo' | 'conflict';

interface RunStatus { state: RunState; completedRounds: number; detail?: string }

async function runStatus(o: Options, spec: RunSpec): Promise<RunStatus> {
  const dest = path.join(o.results, spec.key);
  const scratch = path.join(o.scratch, spec.key);
  const want = runConfig(o.scale, spec, 0, o.threads);
  const existing = await readJsonIf<SimReport>(path.join(dest, 'report.json'));
  if (existing) {
    const diffs = resultFieldDiffs(existing.config, want);
    if (diffs.length || existing.config.rounds !== want.rounds || existing.config.evalEvery !== want.evalEvery) {
      const other = detectScale(existing.config, spec);
      return { state: 'conflict', completedRounds: 0, detail: `results from ${other ? `scale '${other}'` : 'a different config'} (differs in: ${[...diffs, ...(existing.config.rounds !== want.rounds ? ['rounds'] : [])].join(', ') || 'evalEvery'})` };
    }
    if (existing.status.finished) {
      const needs = wantsFlatness(o, spec) && !(await exists(path.join(dest, 'flatness.json'))) && (await exists(path.join(scratch, 'global.onnx')));
      return { state: needs ? 'needs-flatness' : 'done', completedRounds: existing.status.completedRounds };
    }
  }
  const ck = await readCheckpoint(scratch).catch(() => null);
  if (ck) return { state: 'partial', completedRounds: ck.round };
  return { state: 'todo', completedRounds: 0 };
}

/** Removes a run's results and scratch (results of another scale, or with --overwrite). */
async function clearRun(o: Options, spec: RunSpec): Promise<void> {
  await fs.rm(path.join(o.results, spec.key), { recursive: true, force: true });
  await fs.rm(path.join(o.scratch, spec.key), { recursive: true, force: true });
}

function resolvedWorkers(o: Options): number {
  if (o.workers !== 'auto') return o.workers;
  const perRound = Math.max(1, Math.round(o.scale.clients * o.scale.participation));
  return Math.max(1, Math.min(os.availableParallelism(), perRound));
}

async function executeRun(o: Options, spec: RunSpec, log: (s: string) => void): Promise<void> {
  const dest = path.join(o.results, spec.key);
  const scratch = path.join(o.scratch, spec.key);
  let st = await runStatus(o, spec);
  if (st.state === 'conflict') {
    const existing = await readJsonIf<SimReport>(path.join(dest, 'report.json'));
    const other = existing ? detectScale(existing.config, spec) : null;
    if (!o.overwrite && other !== 'smoke') {
      throw new FedmanError(`${dest} holds ${st.detail}; rerun with --overwrite to replace it, or use another --results directory`);
    }
    log(`replacing ${st.detail}`);
    await clearRun(o, spec);
    st = await runStatus(o, spec);
  }
  if (st.state !== 'done' && st.state !== 'needs-flatness') {
    const config = runConfig(o.scale, spec, o.workers, o.threads);
    let lastPublish = 0;
    const run = async () => simulate(config, {
      out: scratch,
      log: o.quiet ? undefined : (line) => log(line),
      onRound: async (m: RoundMetrics) => {
        // Keep the published copy fresh (every 5 rounds), and RESULTS.md in step with it, so it shows progress.
        if (m.round - lastPublish >= 5) { lastPublish = m.round; await publish(scratch, dest); await writeResultsMd(o); }
      },
    });
    try {
      await run();
    } catch (err) {
      // A checkpoint of another config in the scratch directory (an older code version or scale): start over
      // only when allowed.
      if (err instanceof FedmanError && /holds a checkpoint of a different run|completed rounds, more than/.test(err.message) && o.overwrite) {
        log(`scratch ${scratch} holds another run; starting over (--overwrite)`);
        await fs.rm(scratch, { recursive: true, force: true });
        await run();
      } else {
        throw err;
      }
    }
    await publish(scratch, dest);
  }
  if (wantsFlatness(o, spec) && !(await exists(path.join(dest, 'flatness.json')))) {
    const t0 = performance.now();
    const rec = await measureRunFlatness(o.scale, spec, scratch, resolvedWorkers(o));
    if (rec) {
      await writeFileAtomic(path.join(dest, 'flatness.json'), JSON.stringify(rec, null, 2) + '\n');
      log(`flatness: top eigenvalue ${rec.topEigenvalue.toPrecision(5)} (${rec.iterations} it.${rec.converged ? '' : ', not converged'}), trace ${rec.trace?.toPrecision(5) ?? '—'} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    } else if (!(await loadFlatness())) {
      log(`flatness: src/flatness not available (${flatnessLoadError() || 'no measureFlatness export'}); skipped`);
    }
  }
}

/** Estimated cost of a run in "sample-steps" (training samples × passes + evaluation forward passes / 3). */
function runCost(scale: Scale, spec: RunSpec, trainN: number, testN: number): number {
  const perRound = scale.clients * scale.participation * Math.floor(trainN / scale.clients) * scale.localEpochs * ALGO_COST[spec.algorithm]!;
  const evals = Math.ceil(scale.rounds / scale.evalEvery);
  return scale.rounds * perRound + (evals * testN) / 3;
}

const FULL_SIZES: Record<string, { train: number; test: number }> = { mnist: { train: 60000, test: 10000 }, 'fashion-mnist': { train: 60000, test: 10000 } };

export async function runAll(o: Options): Promise<number> {
  const specs = runGrid(o);
  const log = (s: string) => { if (!o.quiet || !s.startsWith('round ')) console.log(s); };
  console.log(`reproduce: scale '${o.scale.name}' (${o.scale.summary}); ${specs.length} runs; results in ${path.relative(REPO, o.results) || '.'}, scratch in ${path.relative(REPO, o.scratch)}`);
  let failures = 0;
  const t0 = performance.now();
  let costDone = 0;
  const costOf = (s: RunSpec) => runCost(o.scale, s, o.scale.limit ?? FULL_SIZES[s.dataset]!.train, o.scale.testLimit ?? FULL_SIZES[s.dataset]!.test);
  const totalCost = specs.reduce((a, s) => a + costOf(s), 0);
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const st = await runStatus(o, spec);
    const head = `[${i + 1}/${specs.length}] ${spec.key}`;
    if (st.state === 'done') { costDone += costOf(spec); continue; }
    const elapsed = (performance.now() - t0) / 1000;
    const eta = costDone > 0 && elapsed > 0 ? fmtDuration((elapsed / costDone) * (totalCost - costDone)) : '?';
    console.log(`${head}: ${st.state === 'partial' ? `resuming after round ${st.completedRounds}` : st.state === 'needs-flatness' ? 'flatness only' : st.state === 'conflict' ? st.detail : 'starting'} (ETA for the rest ${eta})`);
    const r0 = performance.now();
    try {
      await executeRun(o, spec, (s) => log(`  ${s}`));
      console.log(`${head}: done in ${fmtDuration((performance.now() - r0) / 1000)}`);
    } catch (err) {
      failures++;
      console.error(`${head}: FAILED: ${(err as Error).message}`);
    }
    costDone += costOf(spec);
    await writeResultsMd(o).catch((err: unknown) => console.error(`writing ${o.resultsMd} failed: ${(err as Error).message}`));
  }
  await writeResultsMd(o);
  console.log(`reproduce: ${specs.length - failures}/${specs.length} runs ok in ${fmtDuration((performance.now() - t0) / 1000)}; wrote ${path.relative(REPO, o.resultsMd)}`);
  return failures ? 1 : 0;
}

export async function dryRun(o: Options): Promise<void> {
  const specs = runGrid(o);
  const counts: Record<string, number> = {};
  let cost = 0, flatModels = 0;
  for (const s of specs) {
    const st = await runStatus(o, s);
    if (st.state !== 'done' && wantsFlatness(o, s)) flatModels++;
    counts[st.state] = (counts[st.state] ?? 0) + 1;
    const c = runCost(o.scale, s, o.scale.limit ?? FULL_SIZES[s.dataset]!.train, o.scale.testLimit ?? FULL_SIZES[s.dataset]!.test);
    if (st.state !== 'done') cost += st.state === 'partial' ? c * (1 - st.completedRounds / o.scale.rounds) : st.state === 'needs-flatness' ? 0 : c;
    console.log(`${st.state.padEnd(14)} ${s.key}${st.state === 'partial' ? ` (${st.completedRounds}/${o.scale.rounds} rounds)` : ''}${st.detail ? ` — ${st.detail}${/'smoke'/.test(st.detail) || o.overwrite ? ' (will be replaced)' : ' (needs --overwrite)'}` : ''}`);
  }
  console.log(`\n${specs.length} runs: ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}`);
  const f = o.scale.flatness;
  const flatSeconds = (flatModels * (Math.min(TYPICAL_POWER_HVPS, f.maxIter + 1) + f.trace) * f.samples * MS_PER_HVP_SAMPLE) / 1000;
  console.log(`remaining training work ≈ ${(cost / 1e6).toFixed(2)} M sample-passes ⇒ ~${fmtDuration((cost * MS_PER_SAMPLE_STEP) / 1000)} at ~${MS_PER_SAMPLE_STEP} ms each (measured on the shared 2-core machine)`);
  if (flatModels) console.log(`flatness of ${flatModels} final models (${f.samples} samples, ~${Math.min(TYPICAL_POWER_HVPS, f.maxIter + 1)} + ${f.trace} Hessian-vector products each) ⇒ ~${fmtDuration(flatSeconds)} more`);
}

/**
 * Measured on the 2-core development machine while it was shared (load average 6-8), `small` scale, Fashion-MNIST
 * δ = 0.3, 8 rounds: one training sample through the paper CNN's train step (forward + backward + update, batch
 * 50) took ~1.5 ms of wall time (FedAvg ± MAN, 1 or 2 workers alike on the busy machine: ~3 s per round of ~5
 * clients × 400 sample-steps); a SAM-type step about twice that or more (FedSAM + MAN ~8 s/round); evaluation
 * ~0.6 ms per test sample; one Hessian-vector product ~8 ms per sample. Used only for the --dry-run estimate.
 */
const MS_PER_SAMPLE_STEP = 1.5;
const MS_PER_HVP_SAMPLE = 8;
/**
 * Typical HVPs of one flatness measurement besides the trace's (power iteration + 1): on a FedAvg + MAN model after
 * 8 `small` rounds it converged in 6 iterations (500 samples, 4 s per HVP, 70 s in all with 10 trace vectors).
 */
const TYPICAL_POWER_HVPS = 16;

// ---------------------------------------------------------------------------------------------------------------
// Command line.

async function main(argv: string[]): Promise<number> {
  const { o, reportOnly, dry, nice, help } = parseOptions(argv);
  if (help) { process.stdout.write(HELP); return 0; }
  if (reportOnly) {
    await writeResultsMd(o);
    console.log(`wrote ${path.relative(REPO, o.resultsMd)} from ${path.relative(REPO, o.results)}`);
    return 0;
  }
  if (dry) { await dryRun(o); return 0; }
  if (nice > 0) {
    // A background job on a shared machine: yield the cores to interactive work (worker threads inherit it).
    try { os.setPriority(Math.min(19, os.getPriority() + nice)); } catch { /* not permitted: run at normal priority */ }
  }
  return runAll(o);
}

runIfMain(import.meta.url, 'reproduce', main);