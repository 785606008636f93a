/** Plain inference with an exported forward model: logits for a batch, accuracy and CE over a dataset. */
import { promises as fs } from 'node:fs';
import { createSession, loadBackend, type BackendName, type Session } from './backend.js';
import type { Device } from './device.js';
import { modelForDevice } from './device-model.js';
import { BatchLoader, sampleSize, type Dataset } from '../data/dataset.js';
import { FedmanError } from '../util/errors.js';

export interface Predictor {
  session: Session;
  input: string;
  output: string;
  /** Shape of one input sample when the model fixes it (null: symbolic or unknown dims). */
  sampleDims: number[] | null;
}

/** Loads a model for inference; on device 'webgpu' its WebGPU lowering (src/onnx/webgpu/) runs. */
export async function loadPredictor(file: string, opts: { backend?: BackendName; threads?: number; device?: Device } = {}): Promise<Predictor> {
  let bytes: Uint8Array;
  try { bytes = await fs.readFile(file); } catch { throw new FedmanError(`cannot read model '${file}'`); }
  const device = opts.device ?? 'cpu';
  const backend = await loadBackend(opts.backend, device);
  const model = await modelForDevice(bytes, device, `'${file}'`);
  let session: Session;
  try {
    session = await createSession(backend, model, { threads: opts.threads });
  } catch (err) {
    if (err instanceof FedmanError) throw err;
    throw new FedmanError(`'${file}' could not be loaded by ONNX Runtime: ${(err as Error).message}`);
  }
  const meta = session.inputMetadata?.[0];
  const dims = meta?.isTensor ? meta.shape.slice(1) : [];
  const sampleDims = dims.length > 0 && dims.every((d): d is number => typeof d === 'number') ? dims : null;
  return { session, input: session.inputNames[0]!, output: session.outputNames[0]!, sampleDims };
}

/**
 * Mean cross-entropy (from logits, numerically stable) and accuracy of a classifier over a dataset. Samples are fed
 * in the model's input shape when it has one with as many values (e.g. [1, 28, 28] images to a [784] input).
 */
export async function evaluateModel(p: Predictor, ds: Dataset, batchSize = 500): Promise<{ loss: number; accuracy: number; samples: number }> {
  const dims = p.sampleDims ?? ds.sampleShape;
  if (sampleSize(dims) !== sampleSize(ds)) {
    throw new FedmanError(`dataset '${ds.name}' has samples of shape [${ds.sampleShape}] (${sampleSize(ds)} values) but the model expects [${dims}] (${sampleSize(dims)} values)`);
  }
  const { Tensor } = (await loadBackend()).ort;
  if (ds.targets) return evaluateTargets(p, ds, dims, batchSize);
  const loader = new BatchLoader(ds, batchSize);
  let loss = 0, correct = 0;
  const order = Array.from({ length: ds.n }, (_, i) => i);
  for (const batch of loader.batches(order)) {
    const out = await p.session.run({ [p.input]: new Tensor('float32', batch.x, [batch.size, ...dims]) });
    const logits = out[p.output]!;
    const k = logits.dims[1]!;
    const v = logits.data as Float32Array;
    for (let i = 0; i < batch.size; i++) {
      let max = -Infinity, arg = 0;
      for (let j = 0; j < k; j++) if (v[i * k + j]! > max) { max = v[i * k + j]!; arg = j; }
      let sum = 0;
      for (let j = 0; j < k; j++) sum += Math.exp(v[i * k + j]! - max);
      const label = Number(batch.y[i]);
      loss += Math.log(sum) + max - v[i * k + label]!;
      if (arg === label) correct++;
    }
  }
  return { loss: loss / ds.n, accuracy: correct / ds.n, samples: ds.n };
}

/**
 * A dataset with target tensors (Dataset.targets): class indices per position are compared with the argmax over
 * the output's axis 1 (accuracy per position; loss the mean cross-entropy of the output taken as logits), float
 * targets with the output itself (loss the mean squared error; accuracy the share of values on the same side of
 * 0.5, as for sigmoid scores).
 */
async function evaluateTargets(p: Predictor, ds: Dataset, dims: number[], batchSize: number): Promise<{ loss: number; accuracy: number; samples: number }> {
  const { Tensor } = (await loadBackend()).ort;
  const loader = new BatchLoader(ds, batchSize);
  const per = loader.labelSize;
  const classes = ds.targets!.values instanceof Int32Array;
  let loss = 0, right = 0;
  for (const batch of loader.batches(Array.from({ length: ds.n }, (_, i) => i))) {
    const out = (await p.session.run({ [p.input]: new Tensor('float32', batch.x, [batch.size, ...dims]) }))[p.output]!;
    const v = out.data as Float32Array;
    const y = Array.from(batch.y as ArrayLike<number | bigint>, Number);
    if (!classes) {
      if (v.length !== y.length) throw new FedmanError(`the model's output has ${v.length / batch.size} values per sample; the targets of '${ds.name}' have ${per}`);
      y.forEach((t, i) => { loss += (v[i]! - t) ** 2; if ((v[i]! > 0.5) === (t > 0.5)) right++; });
      continue;
    }
    const c = out.dims[1]!;
    if (v.length !== y.length * c) throw new FedmanError(`the model's output ${JSON.stringify(out.dims)} does not hold ${c} classes for each of the ${per} targets per sample of '${ds.name}'`);
    for (let s = 0; s < batch.size; s++) for (let k = 0; k < per; k++) {
      const at = (j: number) => v[s * c * per + j * per + k]!;
      let max = -Infinity, arg = 0;
      for (let j = 0; j < c; j++) if (at(j) > max) { max = at(j); arg = j; }
      let sum = 0;
      for (let j = 0; j < c; j++) sum += Math.exp(at(j) - max);
      const label = y[s * per + k]!;
      loss += Math.log(sum) + max - at(label);
      if (arg === label) right++;
    }
  }
  const count = Math.max(ds.n * per, 1);
  return { loss: loss / count, accuracy: right / count, samples: ds.n };
}
