/**
 * Opening a federation's state directory: lock it, check that its config is the one the state was made with,
 * build the artifacts once (reused on restart), load the trainer and the evaluation data, and read the last
 * checkpoint (or start from the initial model).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ZOO } from '../../../models/index.js';
import { loadDataset } from '../../data/registry.js';
import type { Dataset } from '../../data/dataset.js';
import { Rng } from '../../util/rng.js';
import { createStrategy } from '../../fl/index.js';
import { DiskStateStore } from '../../fl/client-state.js';
import { SAMPLING_STREAM } from '../../fl/round/index.js';
import type { Strategy } from '../../fl/strategy.js';
import type { ArtifactFile } from '../../protocol/index.js';
import { Trainer } from '../../runtime/trainer.js';
import { createArtifacts, readManifest } from '../../training/artifacts.js';
import { MANIFEST_FILE, type ArtifactManifest } from '../../training/manifest.js';
import { FedmanError } from '../../util/errors.js';
import { renameFraction, serverConfigDiffs, validateServerConfig, type ServerConfig } from '../../config/index.js';
import { StateDir, type ClientRecord } from '../state.js';
import { sha256hex } from './clients.js';
import type { Committed } from './round-state.js';

async function exists(p: string): Promise<boolean> {
  try { await fs.access(p); return true; } catch { return false; }
}

/** Everything a federation is built from. */
export interface FederationParts {
  config: ServerConfig;
  state: StateDir;
  strategy: Strategy;
  manifest: ArtifactManifest;
  /** The artifacts served to clients: their directory, content id and files. */
  artifacts: { dir: string; id: string; files: ArtifactFile[] };
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
    let manifest: ArtifactManifest;
    if (await exists(path.join(artDir, MANIFEST_FILE))) {
      manifest = await readManifest(artDir);
    } else {
      log.info({ model: config.model }, 'building artifacts');
      manifest = await createArtifacts(config.model, artDir, {
        ...strategy.artifactOptions, optimizer: 'sgd', manLayers: config.manLayers, seed: config.modelSeed ?? config.seed,
        loss: config.loss, classAxis: config.classAxis ?? undefined,
        numClasses: ZOO[config.model] ? config.numClasses ?? undefined : undefined,
      });
    }
    const files: ArtifactFile[] = [];
    for (const name of [MANIFEST_FILE, manifest.files.trainStep, manifest.files.eval, manifest.files.forward]) {
      const bytes = await fs.readFile(path.join(artDir, name));
      files.push({ name, size: bytes.byteLength, sha256: sha256hex(bytes) });
    }
    const artifactsId = sha256hex(files.map((f) => `${f.name}:${f.sha256}`).join('\n')).slice(0, 16);
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
      config, state: sd, strategy, manifest, artifacts: { dir: artDir, id: artifactsId, files }, trainer, evalData, rng, store,
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
