/**
 * Privacy accounting of DP-FedAvg with the Rényi-DP accountant of the sampled Gaussian mechanism (SGM):
 *
 *  - one round = the Gaussian mechanism with noise multiplier σ applied to a Poisson sample of the clients with
 *    rate q; its RDP at integer order α is (Mironov, Talwar, Zhang 2019, "Rényi differential privacy of the
 *    sampled Gaussian mechanism", Sec. 3.3)
 *        ε_α = log A_α / (α − 1),   A_α = Σ_{k=0..α} C(α, k) (1 − q)^(α−k) q^k exp((k² − k) / (2σ²)),
 *    computed in log space (q = 1 gives the plain Gaussian α / (2σ²));
 *  - T rounds compose additively: T·ε_α;
 *  - (ε, δ) from RDP, minimised over the orders (Balle et al. 2020, "Hypothesis testing interpretations and Rényi
 *    differential privacy", Thm. 21; the conversion of TensorFlow Privacy / dp_accounting and Opacus):
 *        ε = ε_α + log(1 − 1/α) − log(δ·α) / (α − 1).
 *
 * Only integer orders are used (2..64, 128, 256, 512, 1024): the exact finite sum above. The per-round RDP is
 * computed once, so ε after any round is O(orders), and it depends on the round count only (nothing to checkpoint).
 *
 * Fixed-size sampling (clientsPerRound of N) is accounted as Poisson sampling with q = m/N, as TensorFlow Privacy's
 * DP-FedAvg tutorials and Flower do; that is the common approximation, not a proof for sampling without
 * replacement.
 */

/** The integer RDP orders the accountant minimises over. */
export const RDP_ORDERS: readonly number[] = [...Array.from({ length: 63 }, (_, i) => i + 2), 128, 256, 512, 1024];

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const hi = Math.max(a, b);
  return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

/** log A_α of the sampled Gaussian mechanism for an integer order α ≥ 2 and 0 < q < 1. */
export function logAInt(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  let logBinom = 0; // log C(α, 0)
  let acc = -Infinity;
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logBinom += Math.log(alpha - k + 1) - Math.log(k);
    acc = logAdd(acc, logBinom + k * logQ + (alpha - k) * log1mQ + (k * k - k) / (2 * sigma * sigma));
  }
  return acc;
}

/**
 * RDP ε_α of `steps` compositions of the SGM with sampling rate q and noise multiplier σ, at each integer order
 * (as TensorFlow Privacy's `compute_rdp(q, noise_multiplier, steps, orders)`).
 */
export function computeRdp(q: number, sigma: number, steps: number, orders: readonly number[] = RDP_ORDERS): number[] {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`computeRdp: q must be in [0, 1], got ${q}`);
  if (!(sigma >= 0)) throw new RangeError(`computeRdp: σ must be ≥ 0, got ${sigma}`);
  if (!(steps >= 0)) throw new RangeError(`computeRdp: steps must be ≥ 0, got ${steps}`);
  return orders.map((alpha) => {
    if (!Number.isInteger(alpha) || alpha < 2) throw new RangeError(`computeRdp: orders must be integers ≥ 2, got ${alpha}`);
    if (q === 0 || steps === 0) return 0;
    if (sigma === 0) return Infinity;
    const one = q === 1 ? alpha / (2 * sigma * sigma) : logAInt(q, sigma, alpha) / (alpha - 1);
    return one * steps;
  });
}

/**
 * The smallest ε over the orders for which RDP values `rdp` give (ε, δ)-DP, and the order attaining it (as
 * dp_accounting's `compute_epsilon`). ε is ≥ 0; Infinity when no order gives a finite bound.
 */
export function epsilonFromRdp(orders: readonly number[], rdp: readonly number[], delta: number): { epsilon: number; order: number } {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`epsilonFromRdp: δ must be in (0, 1), got ${delta}`);
  if (orders.length !== rdp.length) throw new RangeError('epsilonFromRdp: orders and rdp differ in length');
  let best = Infinity;
  let bestOrder = NaN;
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i]!, r = rdp[i]!;
    if (!(r >= 0)) continue;
    let eps: number;
    // δ ≤ sqrt(1 − exp(−KL)) and KL ≤ ε_α: nothing is spent while that already gives δ.
    if (delta * delta + Math.expm1(-r) >= 0) eps = 0;
    else if (a > 1.01) eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);
    else eps = Infinity;
    if (eps < best) { best = eps; bestOrder = a; }
  }
  return { epsilon: Math.max(0, best), order: bestOrder };
}

/** (ε, δ) of DP-FedAvg: `rounds` rounds of the SGM (rate q, multiplier σ); the per-round RDP is cached. */
export class RdpAccountant {
  private readonly perRound: number[];

  constructor(readonly samplingRate: number, readonly noiseMultiplier: number, readonly orders: readonly number[] = RDP_ORDERS) {
    this.perRound = computeRdp(samplingRate, noiseMultiplier, 1, orders);
  }

  /** ε after `rounds` rounds for the given δ. */
  epsilon(rounds: number, delta: number): number {
    return this.spent(rounds, delta).epsilon;
  }

  /** ε and its optimal order after `rounds` rounds. */
  spent(rounds: number, delta: number): { epsilon: number; order: number } {
    return epsilonFromRdp(this.orders, this.perRound.map((r) => r * rounds), delta);
  }
}
