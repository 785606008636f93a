/** Resolves what `fedman flatness` and the simulation are asked to measure into a forward model and its preparation. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ModelProto } from '../onnx/proto.js';
import { loadModel } from '../onnx/model-io.js';
import { resolveModel, readManifest } from '../training/artifacts.js';
import { MANIFEST_FILE } from '../training/manifest.js';
import type { ManLayers } from '../training/man.js';
import { FedmanError } from '../util/errors.js';

/** A model to measure: a zoo name, a .onnx file, an artifacts directory, or a loaded ModelProto. */
export type ModelSource = string | ModelProto;

/** Reads the weights and preparation of a model source (artifacts directories keep their parameter set). */
export async function loadSource(source: ModelSource, opts: { modelSeed?: number; numClasses?: number }): Promise<{ model: ModelProto; name: string; manLayers?: ManLayers; logits?: string; keep?: Set<string> }> {
  if (typeof source !== 'string') return { model: source, name: source.graph?.name || 'model' };
  let isDir = false;
  try { isDir = (await fs.stat(source)).isDirectory(); } catch { /* not a path: a zoo name */ }
  if (isDir) {
    try { await fs.access(path.join(source, MANIFEST_FILE)); } catch {
      throw new FedmanError(`'${source}' is a directory but not an artifacts directory (no ${MANIFEST_FILE})`);
    }
    const m = await readManifest(source);
    const model = await loadModel(path.join(source, m.files.forward));
    return { model, name: m.model, manLayers: m.manLayers, logits: m.logits, keep: new Set(m.params.map((p) => p.name)) };
  }
  const r = await resolveModel(source, { seed: opts.modelSeed, numClasses: opts.numClasses });
  return { model: r.model, name: r.name };
}
