/**
 * Running the grid. Each run is one `simulate` with its checkpoint, artifacts and global.onnx in a scratch directory
 * (runs/reproduce/<scale>/<dataset>/<partition>/<variant>/seed<k>/, git-ignored) and its small outputs copied to
 * docs/results/<dataset>/<partition>/<variant>/seed<k>/: report.json (with the partition's index lists replaced by
 * the client sizes), metrics.csv, accuracy.svg, loss.svg and flatness.json. Runs are done one after the other,
 * seed-major (a complete one-seed table exists after a third of the time); finished runs are skipped, interrupted
 * ones resume from their last completed round (kill it any time). After each run RESULTS.md is regenerated.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCheckpoint } from '../../src/sim/checkpoint.js';
import { resultFieldDiffs } from '../../src/config/index.js';
import { simulate } from '../../src/sim/engine.js';
import type { RoundMetrics, SimReport } from '../../src/sim/report.js';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import { FedmanError } from '../../src/util/errors.js';
import { specCost } from './cost.js';
import { exists, readJsonIf } from './files.js';
import { flatnessLoadError, loadFlatness, measureRunFlatness, wantsFlatness } from './flatness.js';
import { fmtDuration } from './format.js';
import { detectScale, runConfig, runGrid, type RunSpec } from './grid.js';
import type { Options } from './options.js';
import { publish } from './publish.js';
import { REPO } from './repo.js';
import { writeResultsMd } from './results.js';

export type RunState = 'done' | 'needs-flatness' | 'partial' | 'todo' | 'conflict';

export interface RunStatus { state: RunState; completedRounds: number; detail?: string }

/** Where a run stands: finished (with or without its flatness), resumable, not started, or of another config. */
export async function runStatus(o: Options, spec: RunSpec): Promise<RunStatus> {
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

export async function runAll(o: Options): Promise<number> {
  const specs = runGrid(o);
  const log = (s: string) => { if (!o.quiet || !s.startsWith('round ')) console.log(s); };
  console.log(`reproduce: scale '${o.scale.name}' (${o.scale.summary}); ${specs.length} runs; results in ${path.relative(REPO, o.results) || '.'}, scratch in ${path.relative(REPO, o.scratch)}`);
  let failures = 0;
  const t0 = performance.now();
  let costDone = 0;
  const costOf = (s: RunSpec) => specCost(o.scale, s);
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
