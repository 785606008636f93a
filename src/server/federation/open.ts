/**
 * Opening a federation's state directory: lock it, check that its config is the one the state was made with,
 * build the artifacts once (reused on restart), load the trainer and the evaluation data, and read the last
 * checkpoint (or start from the initial model).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadDataset } from '../../data/registry.js';
import type { Dataset } from '../../data/dataset.js';
import { Rng } from '../../util/rng.js';
import { createStrategy } from '../../fl/index.js';
import { DiskStateStore } from '../../fl/client-state.js';
import { SAMPLING_STREAM } from '../../fl/round/index.js';
import type { Strategy } from '../../fl/strategy.js';
import { Trainer } from '../../runtime/trainer.js';
import type { ArtifactManifest } from '../../training/manifest.js';
import { FedmanError } from '../../util/errors.js';
import { renameFraction, serverConfigDiffs, validateServerConfig, type ServerConfig } from '../../config/index.js';
import { StateDir, type ClientRecord } from '../state.js';
import { sha256hex } from './clients.js';
import type { Committed } from './round-state.js';
import { serveArtifacts, type ServedArtifacts } from './artifacts.js';


/** Everything a federation is built from. */
export interface FederationParts {
  config: ServerConfig;
  state: StateDir;
  strategy: Strategy;
  manifest: ArtifactManifest;
  /** The artifacts served to clients: their directory, content id and files (fedman's, and ORT's training files). */
  artifacts: ServedArtifacts;
  trainer: Trainer;
  evalData: Dataset | null;
  committed: Committed;
  /** The sampling RNG, as of the last committed round. */
  rng: Rng;
  store: DiskStateStore | null;
  clients: ClientRecord[];
  hadCheckpoint: boolean;
}

/** Opens (or creates) the state directory; on failure the directory is unlocked again. */
export async function openParts(stateDir: string, config: ServerConfig, log: { info(o: object, msg: string): void }): Promise<FederationParts> {
  const sd = new StateDir(path.resolve(stateDir));
  await sd.lock();
  try {
    const stored = await sd.readConfig();
    if (stored) {
      // A state written by an older fedman lacks newer fields: their defaults are what it ran with.
      const where = `state '${sd.path('config')}'`;
      let resolved: ServerConfig;
      try { resolved = validateServerConfig(stored, where); } catch { resolved = renameFraction(stored as unknown as Record<string, unknown>, where) as unknown as ServerConfig; }
      const diffs = serverConfigDiffs(config, resolved);
      if (diffs.length) {
        throw new FedmanError(`state directory '${sd.dir}' belongs to a federation with a different config (differs in: ${diffs.join(', ')}); use another --state, or delete it to start over`);
      }
    }
    await sd.writeConfig(config);
    const strategy = createStrategy(config.algorithm, config.algorithmOptions);

    const artDir = sd.path('artifacts');
    const { manifest, served } = await serveArtifacts(artDir, config, strategy, log);
    const trainer = await Trainer.load(artDir, { threads: config.threads });

    let evalData: Dataset | null = null;
    if (config.evaluation) {
      const e = config.evaluation;
      evalData = (await loadDataset(e.data, { limit: e.limit ?? undefined, testLimit: e.testLimit ?? undefined, normalize: e.normalize })).test;
    }

    const ckpt = await sd.readCheckpoint();
    if (ckpt && ckpt.round > config.rounds) {
      throw new FedmanError(`state directory '${sd.dir}' already holds ${ckpt.round} completed rounds, more than the ${config.rounds} configured`);
    }
    const n = manifest.paramCount;
    const global = ckpt ? ckpt.global : trainer.getParams();
    if (global.length !== n) throw new FedmanError(`checkpoint model has ${global.length} parameters; the artifacts have ${n}`);
    const rng = new Rng(config.seed, SAMPLING_STREAM);
    if (ckpt) rng.setState(ckpt.rng);

    let store: DiskStateStore | null = null;
    if (strategy.clientStateKeys.length) {
      if (!ckpt) await fs.rm(sd.path('clientState'), { recursive: true, force: true });
      store = new DiskStateStore(sd.path('clientState'), strategy.clientStateKeys, n);
      await store.open(ckpt?.round ?? 0);
    }

    return {
      config, state: sd, strategy, manifest, artifacts: served, trainer, evalData, rng, store,
      committed: {
        completed: ckpt?.round ?? 0, global, server: ckpt ? ckpt.server : strategy.initServer(global, config.clients),
        records: ckpt?.records ?? [], initialEval: ckpt?.initialEval,
      },
      clients: await sd.readClients(),
      hadCheckpoint: ckpt !== null,
    };
  } catch (err) {
    await sd.unlock();
    throw err;
  }
}
