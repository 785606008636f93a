/**
 * The federated simulation engine: N virtual clients over a partition of the training set, a strategy (fl/), and
 * an executor (worker threads, each with its own Trainer, or the main thread). The main thread holds the global
 * model, the strategy's server state and the client-state store.
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
import type { TrainTask } from '../fl/local-training.js';
import {
  aggregateRound, baseHypers, clientContext, clientPlan, clientRoundSeed, expectedClientsPerRound, roundInfo, sampleParticipants,
  SAMPLING_STREAM, type ClientOutcome,
} from '../fl/round/index.js';
import { FedmanError } from '../util/errors.js';
import type { SimConfig } from '../config/index.js';
import { resultFieldDiffs, simPerRound } from '../config/index.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { autoWorkers, InProcessExecutor, type ClientExecutor, type ExecutorSetup } from './executor.js';
import { WorkerPool } from './pool.js';
import { measureFlatness } from '../flatness/index.js';
import { finalSummary, writeOutputs, type RoundMetrics, type SimReport } from './report.js';

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
    ? config.device === 'webgpu' ? 0 : autoWorkers(expectedClientsPerRound(config.clients, config.participation, config.clientsPerRound))
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

  // Artifacts with the strategy's client terms (reused when resuming).
  const artDir = path.join(out, ARTIFACTS_DIR);
  const modelSeed = cfg.modelSeed ?? cfg.seed;
  let manifest: ArtifactManifest;
  if (ckpt && (await exists(path.join(artDir, 'manifest.json')))) {
    manifest = await readManifest(artDir);
  } else {
    manifest = await buildArtifactsDir(cfg.model, artDir, {
      ...strategy.artifactOptions, optimizer: 'sgd', manLayers: cfg.manLayers, seed: modelSeed,
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
    if (global.length !== n) throw new FedmanError(`checkpoint model has ${global.length} parameters; the artifacts have ${n}`);
    let server: ServerState = ckpt ? ckpt.server : strategy.initServer(global, cfg.clients);
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

    const saveCheckpoint = async (round: number) => {
      const c: Checkpoint = {
        round, config: cfg, global, server, rng: rng.getState(), metrics, runs,
        elapsed: elapsedBefore + (performance.now() - started) / 1000,
        clients: store instanceof MemoryStateStore ? store.snapshot(round) : undefined,
      };
      await writeCheckpoint(out, c);
      await store?.commit(round);
    };

    const startRound = (ckpt?.round ?? 0) + 1;
    for (let round = startRound; round <= cfg.rounds; round++) {
      const t0 = performance.now();
      const participants = sampleParticipants(rng, cfg.clients, cfg.participation, cfg.clientsPerRound);
      const info = roundInfo(cfg, round, cfg.clients, participants);
      const base = baseHypers(cfg, info.lr);
      await exec.setGlobal(global);
      const roundGlobal = global;
      const roundServer = server;

      const launch = async (c: number): Promise<ClientOutcome> => {
        const ctx = await clientContext(info, c, clientIdx[c]!.length, roundGlobal, roundServer, store);
        const { hypers, inputs } = clientPlan(strategy, ctx, base);
        const task: TrainTask = {
          clientId: c, round, indices: clientIdx[c]!, hypers, inputs,
          epochs: cfg.localEpochs, steps: cfg.localSteps, batchSize: cfg.batchSize,
          shuffleSeed: cfg.shuffle ? clientRoundSeed(cfg.seed, round, c) : null,
        };
        return { ctx, result: await exec.train(task) };
      };

      const agg = await aggregateRound(strategy, defense, info, roundGlobal, roundServer, store, inIdOrder(participants, launch, 2 * exec.parallelism));
      ({ global, server } = agg);

      const m: RoundMetrics = { round, lr: info.lr, participants, ...agg.train, seconds: 0 };
      if (agg.defended.dpEpsilon !== undefined) m.dpEpsilon = agg.defended.dpEpsilon;
      const evalRound = round % cfg.evalEvery === 0 || round === cfg.rounds;
      if (evalRound) {
        const te = performance.now();
        Object.assign(m, await evaluate(global));
        m.evalSeconds = (performance.now() - te) / 1000;
      }
      m.seconds = (performance.now() - t0) / 1000;
      metrics.push(m);
      await saveCheckpoint(round);
      await writeOutputs(out, report(), evalRound);
      log(roundLine(m, cfg.rounds));
      if (!Number.isFinite(m.trainLoss)) log(`warning: the training loss is ${m.trainLoss} in round ${round} (diverged? try a lower --lr or --clip-norm)`);
      await opts.onRound?.(m);
    }

    // A run resumed at its last round may lack the final evaluation.
    const last = metrics[metrics.length - 1];
    if (last && last.testAccuracy === undefined) {
      Object.assign(last, await evaluate(global));
      await saveCheckpoint(last.round);
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

/**
 * The participants' outcomes in id order, with at most `window` clients training at once: memory O(model × window),
 * results independent of scheduling (robust rules other than the mean still hold every participant's parameters).
 */
async function* inIdOrder(participants: readonly number[], launch: (c: number) => Promise<ClientOutcome>, window: number): AsyncGenerator<ClientOutcome> {
  const pending = new Map<number, Promise<ClientOutcome>>();
  let next = 0;
  try {
    for (let i = 0; i < participants.length; i++) {
      while (next < participants.length && next < i + Math.max(1, window)) {
        const p = launch(participants[next]!);
        p.catch(() => undefined); // awaited in order below; avoid an unhandled rejection meanwhile
        pending.set(next++, p);
      }
      const outcome = await pending.get(i)!;
      pending.delete(i);
      yield outcome;
    }
  } finally {
    await Promise.allSettled(pending.values());
  }
}

function roundLine(m: RoundMetrics, rounds: number): string {
  const test = m.testAccuracy !== undefined ? `  test acc ${(100 * m.testAccuracy).toFixed(2)}% loss ${m.testLoss!.toFixed(4)}` : '';
  const dp = m.dpEpsilon !== undefined ? `  ε ${m.dpEpsilon.toFixed(3)}` : '';
  return `round ${m.round}/${rounds}: ${m.participants.length} client${m.participants.length === 1 ? '' : 's'}, lr ${m.lr.toPrecision(4)}, `
    + `loss ${m.trainLoss.toFixed(4)} (ce ${m.trainCe.toFixed(4)}, man ${m.trainMan.toFixed(5)})${test}${dp}  ${m.seconds.toFixed(2)}s`;
}
