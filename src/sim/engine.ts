/**
 * The federated simulation engine: N virtual clients over a partition of the training set, a strategy (fl/), and
 * an executor (worker threads, each with its own Trainer, or the main thread). The main thread holds the global
 * model, the strategy's server state and the client-state store. It sets a run up and hands it to one of two
 * drivers: synchronous rounds (sync-loop.ts) or asynchronous buffered aggregation (async-loop.ts), both optionally
 * on a fleet's virtual clock (fleet/).
 *
 * Determinism: participants come from one seeded RNG (saved in checkpoints); each client's local order is seeded
 * by (seed, round, client); each task fully resets its Trainer; client messages are summed in client-id order in
 * float64. So results do not depend on the number of workers or on scheduling (with the same intra-op threads).
 *
 * Resumable: after each round the checkpoint (global model, server state, RNG state, metrics) is written
 * atomically; running again with the same output directory continues after the last completed round and ends
 * with the same model as an uninterrupted run.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadDataset } from '../data/registry.js';
import { partition as makePartition, type PartitionSpec } from '../data/partition/index.js';
import { Rng } from '../util/rng.js';
import { buildArtifacts, readManifest, resolveModel, writeArtifacts, type ArtifactOptions, type BuiltArtifacts } from '../training/artifacts.js';
import { ZOO } from '../../models/index.js';
import type { ArtifactManifest } from '../training/manifest.js';
import { createStrategy } from '../fl/index.js';
import type { ServerState } from '../fl/strategy.js';
import { Defense, samplingRateOf } from '../fl/defense/aggregator.js';
import { checkDefense } from '../fl/defense/config.js';
import { DiskStateStore, MemoryStateStore, type ClientStateStore } from '../fl/client-state.js';
import { expectedClientsPerRound, SAMPLING_STREAM } from '../fl/round/index.js';
import { FedmanError } from '../util/errors.js';
import type { SimConfig } from '../config/index.js';
import { resultFieldDiffs, simPerRound } from '../config/index.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { autoWorkers, InProcessExecutor, type ClientExecutor, type ExecutorSetup } from './executor.js';
import { WorkerPool } from './pool.js';
import { measureFlatness } from '../flatness/index.js';
import { finalSummary, writeOutputs, type RoundMetrics, type SimReport } from './report.js';
import { DEFAULT_FLEET } from '../config/fleet.js';
import { Fleet } from './fleet/fleet.js';
import { readTrace } from './fleet/trace.js';
import { roundLine, type RunContext } from './run-context.js';
import { runSyncRounds } from './sync-loop.js';
import { runAsyncVersions } from './async-loop.js';

export interface SimulateOptions {
  /** Output directory; a checkpoint already there is resumed. */
  out: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Called after each round, once its checkpoint is on disk. */
  onRound?: (m: RoundMetrics) => void | Promise<void>;
}

export interface SimulationResult {
  out: string;
  report: SimReport;
  /** The final global model. */
  global: Float32Array;
  /** First round run by this call (rounds before it came from a checkpoint). */
  startRound: number;
}

export const ARTIFACTS_DIR = 'artifacts';
export const CLIENT_STATE_DIR = 'client-state';
export const GLOBAL_MODEL_FILE = 'global.onnx';

/** Built artifacts of zoo models, by build options: repeated simulations in one process build them once. */
const builtCache = new Map<string, Promise<BuiltArtifacts>>();

async function buildArtifactsDir(source: string, dir: string, opts: ArtifactOptions): Promise<ArtifactManifest> {
  const build = async () => {
    const { model, name } = await resolveModel(source, opts);
    return buildArtifacts(model, name, opts);
  };
  let built: BuiltArtifacts;
  if (ZOO[source]) {
    // Zoo models are built deterministically from their options (a file on disk could change between runs).
    const key = JSON.stringify({ source, ...opts, clientTerms: (opts.clientTerms ?? []).map((t) => t.name) });
    let p = builtCache.get(key);
    if (!p) {
      p = build();
      builtCache.set(key, p);
      p.catch(() => builtCache.delete(key));
      while (builtCache.size > 2) builtCache.delete(builtCache.keys().next().value!);
    }
    built = await p;
  } else {
    built = await build();
  }
  await writeArtifacts(dir, built);
  return built.manifest;
}

async function exists(p: string): Promise<boolean> {
  try { await fs.access(p); return true; } catch { return false; }
}

/** Runs (or resumes) a simulation. `config` must be validated (see validateConfig / mergeConfig). */
export async function simulate(config: SimConfig, opts: SimulateOptions): Promise<SimulationResult> {
  const log = opts.log ?? (() => {});
  const out = path.resolve(opts.out);
  await fs.mkdir(out, { recursive: true });
  const strategy = createStrategy(config.algorithm, config.algorithmOptions);
  // One GPU trains one client at a time: on 'webgpu', 'auto' trains in the main thread.
  const workers = config.workers === 'auto'
    ? config.device === 'webgpu' ? 0 : autoWorkers(config.aggregation.mode === 'async' ? config.aggregation.concurrency : expectedClientsPerRound(config.clients, config.participation, config.clientsPerRound))
    : config.workers;
  // Concurrent WebGPU sessions in several worker threads break onnxruntime-node 1.30's WebGPU device (device
  // errors, then a crash; one thread is fine).
  if (config.device === 'webgpu' && workers > 1) throw new FedmanError(`device 'webgpu' trains in one thread: workers must be 0 or 1, got ${workers}`);
  const cfg: SimConfig = { ...config, algorithmOptions: { ...strategy.options }, workers };
  // Robust aggregation / norm bounding / DP on the clients' parameters (a pass-through with the defaults).
  checkDefense(cfg.robust, cfg.dp, strategy, { clients: cfg.clients, perRound: simPerRound(cfg) });
  const defense = new Defense(strategy, {
    robust: cfg.robust, dp: cfg.dp, seed: cfg.seed, samplingRate: samplingRateOf(cfg.clients, cfg.clientsPerRound, cfg.participation),
  });

  const ckpt = await readCheckpoint(out);
  if (ckpt) {
    const diffs = resultFieldDiffs(cfg, ckpt.config);
    if (diffs.length) {
      throw new FedmanError(`'${out}' holds a checkpoint of a different run (config differs in: ${diffs.join(', ')}); use another --out, or delete the directory to start over`);
    }
    if (ckpt.round > cfg.rounds) {
      throw new FedmanError(`'${out}' already holds ${ckpt.round} completed rounds, more than the ${cfg.rounds} asked for; use --rounds ${ckpt.round} or more, or another --out`);
    }
    log(`resuming from the checkpoint after round ${ckpt.round}`);
  }

  // Data and partition.
  const data = await loadDataset(cfg.data, { limit: cfg.limit ?? undefined, testLimit: cfg.testLimit ?? undefined, normalize: cfg.normalize });
  const part = makePartition({ ...cfg.partition, numClients: cfg.clients, seed: cfg.seed } as PartitionSpec, data.train.y, data.train.numClasses);
  const clientIdx = part.clients.map((c) => Int32Array.from(c));

  // The virtual clock: a fleet when configured (async runs without one get equal, always-online clients).
  const trace = cfg.fleet?.trace ? await readTrace(cfg.fleet.trace, cfg.clients) : null;
  if (ckpt && ckpt.traceSha256 !== undefined && (trace?.sha256 ?? null) !== ckpt.traceSha256) {
    throw new FedmanError(`'${out}' holds a checkpoint of a run that followed another fleet trace (the file '${cfg.fleet?.trace}' changed); use another --out`);
  }
  const fleetCfg = cfg.fleet ?? (cfg.aggregation.mode === 'async' ? DEFAULT_FLEET : null);
  const fleet = fleetCfg ? Fleet.create(fleetCfg, cfg.clients, cfg.seed, trace) : null;

  // Artifacts with the strategy's client terms (reused when resuming).
  const artDir = path.join(out, ARTIFACTS_DIR);
  const modelSeed = cfg.modelSeed ?? cfg.seed;
  let manifest: ArtifactManifest;
  if (ckpt && (await exists(path.join(artDir, 'manifest.json')))) {
    manifest = await readManifest(artDir);
  } else {
    manifest = await buildArtifactsDir(cfg.model, artDir, {
      ...strategy.artifactOptions, optimizer: 'sgd', manLayers: cfg.manLayers, seed: modelSeed, loss: cfg.loss, classAxis: cfg.classAxis ?? undefined,
      numClasses: ZOO[cfg.model] ? data.train.numClasses : undefined, webgpu: cfg.device === 'webgpu',
    });
  }
  const n = manifest.paramCount;

  const setup: ExecutorSetup = { artifactsDir: artDir, threads: cfg.threads, device: cfg.device, train: data.train, test: data.test, evalBatchSize: cfg.evalBatchSize };
  log(`${strategy.name}${cfg.man > 0 ? ` + MAN (ζ = ${cfg.man})` : ''}: ${cfg.clients} clients, ${manifest.model} (${n} parameters), ${workers === 0 ? 'in the main thread' : `${workers} worker${workers > 1 ? 's' : ''}`}`);
  const exec: ClientExecutor = workers === 0 ? await InProcessExecutor.create(setup) : await WorkerPool.create(setup, workers);
  const started = performance.now();
  try {
    let global = ckpt ? ckpt.global : await exec.initialParams();
    if (ckpt && cfg.aggregation.mode === 'async' && ckpt.round > 0 && !ckpt.versions) throw new FedmanError(`'${out}': the checkpoint lacks the versions of the clients in flight`);
    if (global.length !== n) throw new FedmanError(`checkpoint model has ${global.length} parameters; the artifacts have ${n}`);
    const server: ServerState = ckpt ? ckpt.server : strategy.initServer(global, cfg.clients);
    const rng = new Rng(cfg.seed, SAMPLING_STREAM);
    if (ckpt) rng.setState(ckpt.rng);
    const metrics: RoundMetrics[] = ckpt ? [...ckpt.metrics] : [];
    const runs = [...(ckpt?.runs ?? []), { startedAt: new Date().toISOString(), fromRound: (ckpt?.round ?? 0) + 1 }];
    const elapsedBefore = ckpt?.elapsed ?? 0;

    let store: ClientStateStore | null = null;
    if (strategy.clientStateKeys.length) {
      if (cfg.clientState === 'memory') {
        const m = new MemoryStateStore(strategy.clientStateKeys, n);
        if (ckpt?.clients) m.restore(ckpt.clients);
        store = m;
      } else {
        const dir = path.join(out, CLIENT_STATE_DIR);
        if (!ckpt) await fs.rm(dir, { recursive: true, force: true });
        store = new DiskStateStore(dir, strategy.clientStateKeys, n);
      }
      await store.open(ckpt?.round ?? 0);
    }

    const report = (): SimReport => ({
      format: 'fedman-sim-report',
      version: 1,
      config: cfg,
      strategy: {
        name: strategy.name, options: { ...strategy.options },
        clientTerms: (strategy.artifactOptions.clientTerms ?? []).map((t) => t.name), clientStateKeys: [...strategy.clientStateKeys],
      },
      data: {
        kind: data.kind, source: data.source, trainSamples: data.train.n, testSamples: data.test.n, numClasses: data.train.numClasses,
        sampleShape: data.train.sampleShape, normalization: data.normalization ?? null,
      },
      model: { source: cfg.model, name: manifest.model, paramCount: n, manLayers: manifest.manLayers, artifacts: ARTIFACTS_DIR },
      partition: { scheme: part.scheme, params: part.params, clients: part.clients },
      status: { completedRounds: metrics.length ? metrics[metrics.length - 1]!.round : 0, finished: (metrics[metrics.length - 1]?.round ?? 0) >= cfg.rounds, runs },
      rounds: metrics,
      final: finalSummary(metrics),
      wallSeconds: elapsedBefore + (performance.now() - started) / 1000,
    });

    const evaluate = async (params: Float32Array) => {
      await exec.setGlobal(params);
      const chunk = cfg.evalBatchSize;
      const jobs: Promise<{ lossSum: number; correct: number; samples: number }>[] = [];
      for (let s = 0; s < data.test.n; s += chunk) jobs.push(exec.evalRange(s, Math.min(data.test.n, s + chunk)));
      let lossSum = 0, correct = 0, samples = 0;
      for (const r of await Promise.all(jobs)) { lossSum += r.lossSum; correct += r.correct; samples += r.samples; }
      const d = Math.max(samples, 1);
      return { testLoss: lossSum / d, testAccuracy: correct / d };
    };

    const saveCheckpoint = async (round: number, versions?: Map<number, Float32Array>) => {
      const c: Checkpoint = {
        round, config: cfg, global: run.state.global, server: run.state.server, rng: rng.getState(), metrics, runs,
        elapsed: elapsedBefore + (performance.now() - started) / 1000,
        clients: store instanceof MemoryStateStore ? store.snapshot(round) : undefined,
        versions, traceSha256: trace?.sha256 ?? null,
      };
      await writeCheckpoint(out, c);
      await store?.commit(round);
    };

    const unit = cfg.aggregation.mode === 'async' ? 'version' : 'round';
    const run: RunContext = {
      cfg, strategy, defense, exec, store, clientIdx, paramCount: n, fleet, ckpt, state: { global, server }, rng, metrics, evaluate,
      async complete(m, t0, versions) {
        const evalRound = m.round % cfg.evalEvery === 0 || m.round === cfg.rounds;
        if (evalRound) {
          const te = performance.now();
          Object.assign(m, await evaluate(run.state.global));
          m.evalSeconds = (performance.now() - te) / 1000;
        }
        m.seconds = (performance.now() - t0) / 1000;
        metrics.push(m);
        await saveCheckpoint(m.round, versions);
        await writeOutputs(out, report(), evalRound);
        log(roundLine(m, cfg.rounds, unit));
        if (!Number.isFinite(m.trainLoss)) log(`warning: the training loss is ${m.trainLoss} in ${unit} ${m.round} (diverged? try a lower --lr or --clip-norm)`);
        await opts.onRound?.(m);
      },
    };
    await (cfg.aggregation.mode === 'async' ? runAsyncVersions(run) : runSyncRounds(run));
    const startRound = (ckpt?.round ?? 0) + 1;
    global = run.state.global;

    // A run resumed at its last round may lack the final evaluation.
    const last = metrics[metrics.length - 1];
    if (last && last.testAccuracy === undefined) {
      Object.assign(last, await evaluate(global));
      await saveCheckpoint(last.round, ckpt?.round === last.round ? ckpt.versions : undefined);
    }
    await exec.setGlobal(global);
    const tmp = path.join(out, `.${GLOBAL_MODEL_FILE}.${process.pid}.tmp`);
    await exec.exportModel(tmp);
    await fs.rename(tmp, path.join(out, GLOBAL_MODEL_FILE));
    const final = report();
    if (cfg.flatnessSamples > 0) {
      log(`measuring flatness of the final global model (${cfg.flatnessSamples} training samples)...`);
      final.flatness = await measureFlatness(path.join(out, GLOBAL_MODEL_FILE), data.train, {
        samples: cfg.flatnessSamples, trace: cfg.flatnessTrace, seed: cfg.seed, threads: Math.max(cfg.threads, 1), device: cfg.device,
      });
      const f = final.flatness;
      log(`top Hessian eigenvalue ${f.topEigenvalue.eigenvalue.toFixed(4)}${f.trace ? `, trace ${f.trace.trace.toFixed(2)} ± ${f.trace.stderr.toFixed(2)}` : ''}`);
    }
    await writeOutputs(out, final, true);
    return { out, report: final, global, startRound };
  } finally {
    await exec.close();
  }
}
