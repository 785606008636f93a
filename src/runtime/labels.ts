/**
 * The labels a runtime feeds, as the artifacts' manifest describes them: int64 class indices [size] for a
 * classifier, otherwise `manifest.target` (float32 or int64 targets of the dims it gives, batch first).
 */
import type { ArtifactManifest } from '../training/manifest.js';
import type { Labels } from '../data/dataset.js';
import { FedmanError } from '../util/errors.js';

/** Label values per sample (what a BatchLoader must produce for these artifacts). */
export function labelSize(m: Pick<ArtifactManifest, 'target'>): number {
  return (m.target?.dims.slice(1) as number[] | undefined ?? []).reduce((p, d) => p * d, 1);
}

/** Type and dims of the labels tensor for a batch of `size`; a FedmanError when `y` has the wrong element type. */
export function labelTensor(m: Pick<ArtifactManifest, 'target' | 'model'>, y: Labels, size: number): { type: 'int64' | 'float32'; dims: number[] } {
  const type = m.target?.dtype ?? 'int64';
  if ((type === 'int64') !== (y instanceof BigInt64Array)) {
    throw new FedmanError(`the model '${m.model}' trains on ${type === 'int64' ? 'integer class labels' : 'float target values'}, but the dataset gives ${y instanceof BigInt64Array ? 'integer labels' : 'float targets'}`);
  }
  return { type, dims: [size, ...((m.target?.dims.slice(1) as number[] | undefined) ?? [])] };
}

/** Accuracy from a `correct` count: per prediction (manifest.target.perSample of them per sample); 0 without. */
export function accuracyOf(m: Pick<ArtifactManifest, 'target'>, correct: number, samples: number): number {
  const per = m.target?.perSample ?? 1;
  return per > 0 ? correct / (Math.max(samples, 1) * per) : 0;
}
