/**
 * Norm bounding of one client's update (Sun et al. 2019, "Can you really backdoor federated learning?"; the same
 * clipping is the first step of DP-FedAvg): the update u = params − global is scaled to L2 norm ≤ C, so one
 * client can move the mean by at most C·weight/Σweight whatever it sends. One update at a time, O(model): it
 * composes with the streaming weighted mean.
 */

/** ‖params − global‖₂ in float64 (NaN or Infinity when the update is not finite). */
export function updateNorm(params: ArrayLike<number>, global: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < params.length; i++) {
    const d = params[i]! - global[i]!;
    s += d * d;
  }
  return Math.sqrt(s);
}

export interface BoundedUpdate {
  /** The parameters with the update clipped (the input itself when it was within the bound). */
  params: ArrayLike<number>;
  /** The update's norm before clipping. */
  norm: number;
  /** Whether the update was changed (clipped, or replaced by a zero update because it was not finite). */
  clipped: boolean;
}

/**
 * global + u·min(1, C/‖u‖) with u = params − global. Within the bound the input is returned as is (so bounding
 * with a large C is bit-identical to no bounding); a non-finite update cannot be scaled and counts as a zero update.
 */
export function boundUpdate(params: ArrayLike<number>, global: ArrayLike<number>, bound: number): BoundedUpdate {
  if (params.length !== global.length) throw new RangeError(`boundUpdate: ${params.length} parameters, the global model has ${global.length}`);
  const norm = updateNorm(params, global);
  if (norm <= bound) return { params, norm, clipped: false };
  const out = new Float64Array(params.length);
  if (!Number.isFinite(norm)) {
    for (let i = 0; i < out.length; i++) out[i] = global[i]!;
    return { params: out, norm, clipped: true };
  }
  const scale = bound / norm;
  for (let i = 0; i < out.length; i++) out[i] = global[i]! + (params[i]! - global[i]!) * scale;
  return { params: out, norm, clipped: true };
}
