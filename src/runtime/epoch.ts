/** Dataset checks and the generic epoch loop shared by the training engines (pure: browser-safe). */
import type { ArtifactManifest } from '../training/manifest.js';
import { BatchLoader, sampleSize, type Dataset } from '../data/dataset.js';
import { Rng } from '../util/rng.js';
import { FedmanError } from '../util/errors.js';
import type { EpochMetrics, EpochOptions, TrainerLike } from './trainer-interface.js';
import { accuracyOf, labelSize } from './labels.js';

/**
 * Throws a FedmanError unless the dataset's samples and classes fit the model. Samples fit when they hold as many
 * values as the model's input: the trainers feed every batch in the input's shape, so samples stored as
 * [1, 28, 28] reach a [784] input (or [28, 28, 1] a [1, 28, 28] one) reshaped, in their row-major order.
 */
export function checkDatasetFits(manifest: ArtifactManifest, ds: Dataset): void {
  const want = manifest.input.dims.slice(1);
  const values = want.every((d): d is number => typeof d === 'number') ? sampleSize(want) : NaN;
  if (values !== sampleSize(ds)) {
    const counts = Number.isNaN(values) ? '' : ` (${values} values)`;
    throw new FedmanError(
      `dataset '${ds.name}' has samples of shape [${ds.sampleShape}] (${sampleSize(ds)} values) but the model '${manifest.model}' expects [${want}]${counts}`,
    );
  }
  if (ds.numClasses > manifest.numClasses) {
    throw new FedmanError(`dataset '${ds.name}' has ${ds.numClasses} classes but the model outputs ${manifest.numClasses}`);
  }
}

/** One pass over the dataset (or the given indices), in seeded-shuffled or dataset order, one `step` per batch. */
export async function runEpoch(trainer: Pick<TrainerLike, 'manifest' | 'step'>, ds: Dataset, opts: EpochOptions): Promise<EpochMetrics> {
  checkDatasetFits(trainer.manifest, ds);
  const base = opts.indices ? Array.from(opts.indices) : Array.from({ length: ds.n }, (_, i) => i);
  const order = opts.seed === null ? base : new Rng(opts.seed).shuffle(base);
  const loader = new BatchLoader(ds, opts.batchSize, labelSize(trainer.manifest));
  const total = Math.min(loader.numBatches(order.length), opts.maxSteps ?? Infinity);
  let loss = 0, ce = 0, man = 0, correct = 0, samples = 0, steps = 0;
  const t0 = performance.now();
  for (const batch of loader.batches(order)) {
    if (steps >= total) break;
    const s = await trainer.step(batch.x, batch.y, batch.size);
    loss += s.loss * s.size; ce += s.ce * s.size; man += s.man * s.size; correct += s.correct; samples += s.size; steps++;
    opts.onStep?.(steps, total, s);
  }
  const seconds = (performance.now() - t0) / 1000;
  const d = Math.max(samples, 1);
  return { loss: loss / d, ce: ce / d, man: man / d, accuracy: accuracyOf(trainer.manifest, correct, samples), samples, steps, seconds, samplesPerSecond: samples / Math.max(seconds, 1e-9) };
}
