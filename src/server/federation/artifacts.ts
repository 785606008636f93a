/**
 * The artifacts a federation serves: fedman's graphs (train step, eval, forward, and their WebGPU lowering for
 * browsers), and ONNX Runtime's on-device-training files for clients built on ORT's training packages (1.17–1.19:
 * Python, Android, iOS, C#, web), when the federation's local training is what ORT's API can run: no client
 * terms, no SAM step, no BatchNormalization buffers, no momentum, a constant learning rate (baked into ORT's
 * optimizer model, which ORT's web API cannot change). Otherwise the reason is kept and an ORT-engine join is
 * refused with it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ZOO } from '../../../models/index.js';
import type { ArtifactFile, ArtifactFormat } from '../../protocol/index.js';
import type { Strategy } from '../../fl/strategy.js';
import type { ServerConfig } from '../../config/index.js';
import { createArtifacts, readManifest } from '../../training/artifacts.js';
import { MANIFEST_FILE, type ArtifactManifest } from '../../training/manifest.js';
import { FedmanError } from '../../util/errors.js';
import { sha256hex } from './clients.js';
import { FederationError } from './errors.js';

export interface ServedFiles { id: string; files: ArtifactFile[] }

export interface ServedArtifacts extends ServedFiles {
  dir: string;
  /** ORT's training files (`GET /v1/artifacts?format=ort-training`), or why this federation has none. */
  ortTraining: ServedFiles | { refused: string };
}

/** What keeps this federation's local training out of ORT's training API (empty: nothing). */
export function ortTrainingObstacles(config: ServerConfig, strategy: Strategy): string[] {
  const o: string[] = [];
  const terms = strategy.artifactOptions.clientTerms ?? [];
  if (terms.length) o.push(`${strategy.name} adds client terms to the local objective (${terms.map((t) => t.name).join(', ')})`);
  if (strategy.artifactOptions.sam) o.push(`${strategy.name} takes a two-pass sharpness-aware (SAM) step`);
  if (config.momentum > 0) o.push(`SGD momentum ${config.momentum} (ORT's SGDOptimizerV2 has none)`);
  if (config.lrDecay !== 1) o.push(`a learning-rate schedule (lrDecay ${config.lrDecay}): ORT's optimizer model bakes one learning rate`);
  if (config.loss !== 'cross-entropy') o.push(`the '${config.loss}' loss (ORT's training export is made for single-label cross-entropy)`);
  return o;
}

const refusal = (why: string) => `this federation cannot be trained with ONNX Runtime's training API (--engine ort-training): ${why}`;

async function listFiles(dir: string, names: readonly string[]): Promise<ServedFiles> {
  const files: ArtifactFile[] = [];
  for (const name of names) {
    const bytes = await fs.readFile(path.join(dir, name));
    files.push({ name, size: bytes.byteLength, sha256: sha256hex(bytes) });
  }
  return { id: sha256hex(files.map((f) => `${f.name}:${f.sha256}`).join('\n')).slice(0, 16), files };
}

async function exists(p: string): Promise<boolean> {
  try { await fs.access(p); return true; } catch { return false; }
}

/** Builds the artifacts into `dir` once (reused on restart) and lists what is served. */
export async function serveArtifacts(dir: string, config: ServerConfig, strategy: Strategy, log: { info(o: object, msg: string): void }): Promise<{ manifest: ArtifactManifest; served: ServedArtifacts }> {
  const obstacles = ortTrainingObstacles(config, strategy);
  let manifest: ArtifactManifest;
  let buildRefusal: string | null = null;
  if (await exists(path.join(dir, MANIFEST_FILE))) {
    manifest = await readManifest(dir);
  } else {
    log.info({ model: config.model }, 'building artifacts');
    const opts = {
      ...strategy.artifactOptions, optimizer: 'sgd', manLayers: config.manLayers, seed: config.modelSeed ?? config.seed,
      loss: config.loss, classAxis: config.classAxis ?? undefined,
      numClasses: ZOO[config.model] ? config.numClasses ?? undefined : undefined, webgpu: true,
    };
    manifest = obstacles.length ? await createArtifacts(config.model, dir, opts) : await createArtifacts(config.model, dir, { ...opts, format: 'ort-training', ortTraining: { lr: config.lr } })
      .catch(async (err: unknown) => {
        // The export refuses what it cannot express (BatchNormalization buffers, ...): serve fedman's graphs only.
        if (!(err instanceof FedmanError)) throw err;
        buildRefusal = err.message;
        return createArtifacts(config.model, dir, opts);
      });
  }
  const own = [MANIFEST_FILE, manifest.files.trainStep, manifest.files.eval, manifest.files.forward];
  if (manifest.webgpu) own.push(manifest.webgpu.trainStep, manifest.webgpu.eval);
  const ort = manifest.ortTraining;
  let ortTraining: ServedArtifacts['ortTraining'];
  if (obstacles.length) ortTraining = { refused: refusal(obstacles.join('; ')) };
  else if (!ort) ortTraining = { refused: refusal(buildRefusal ?? `the artifacts in '${dir}' were built without ORT training files`) };
  else ortTraining = await listFiles(dir, [MANIFEST_FILE, ...Object.values(ort.files).map((f) => `${ort.dir}/${f}`)]);
  return { manifest, served: { dir, ...(await listFiles(dir, own)), ortTraining } };
}

/** The files a client of this engine format downloads (a FederationError naming why, when there are none). */
export function filesFor(a: ServedArtifacts, format: ArtifactFormat = 'fedman'): ServedFiles {
  if (format === 'fedman') return { id: a.id, files: a.files };
  if ('refused' in a.ortTraining) throw new FederationError('conflict', a.ortTraining.refused);
  return a.ortTraining;
}

/** Any served file by name (fedman's or ORT's). */
export function servedFile(a: ServedArtifacts, name: string): ArtifactFile | undefined {
  return a.files.find((f) => f.name === name) ?? ('files' in a.ortTraining ? a.ortTraining.files.find((f) => f.name === name) : undefined);
}
