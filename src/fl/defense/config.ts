/**
 * The `robust` and `dp` config blocks, shared by the simulation config and the server config: their TypeScript
 * types, JSON schemas (ajv fills in the defaults, which mean "plain weighted mean, no bound, no privacy", i.e. the
 * behaviour without this layer), and the cross-field checks ajv cannot express (Krum's minimum number of updates,
 * algorithms whose messages differential privacy cannot cover).
 *
 * Kept apart from the aggregation code so that both config schemas can import it without pulling in the rules.
 */
import { Type, type Static } from 'typebox';
import { FedmanError } from '../../util/errors.js';
import { Nullable, StringEnum } from '../../util/schema.js';
import type { ClientContext, LocalResult, Strategy } from '../strategy.js';

export const ROBUST_RULES = ['mean', 'median', 'trimmed-mean', 'krum', 'multi-krum'] as const;

/** How the clients' parameters are combined (see docs/simulation.md, "Robust aggregation and differential privacy"). */
export type RobustRule = (typeof ROBUST_RULES)[number];

/** The `robust` block (defaults: today's plain mean). */
export const RobustConfig = Type.Object({
  /** 'mean': the strategy's (weighted) mean, streamed in O(model); the others hold every update (O(n × model)). */
  rule: StringEnum(ROBUST_RULES, { default: 'mean' }),
  /** trimmed-mean: fraction β of the values cut from each end, per coordinate (0 ≤ β < 0.5). */
  trim: Type.Number({ minimum: 0, exclusiveMaximum: 0.5, default: 0.1 }),
  /** krum / multi-krum: the number f of Byzantine clients tolerated (needs n ≥ 2f + 3 updates). */
  byzantine: Type.Integer({ minimum: 0, default: 1 }),
  /** multi-krum: how many of the best-scored updates are averaged (null = n − f; at most n − f). */
  select: Nullable(Type.Integer({ minimum: 1 }), { default: null }),
  /** Clip each client's update (params − global) to this L2 norm before aggregation (null = off). */
  normBound: Nullable(Type.Number({ exclusiveMinimum: 0 }), { default: null }),
}, { additionalProperties: false, default: {} });
export type RobustConfig = Static<typeof RobustConfig>;

const DpBlock = Type.Object({
  /** Clipping norm C of each client's update. */
  clip: Type.Number({ exclusiveMinimum: 0 }),
  /** Noise multiplier σ: the mean gets N(0, (σ·C/n)²) per coordinate, n = updates aggregated. */
  noiseMultiplier: Type.Number({ exclusiveMinimum: 0 }),
  /** δ of the reported (ε, δ) guarantee. */
  delta: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 1e-5 }),
  /** Client sampling rate q for the accountant (null = derived from the participation settings). */
  samplingRate: Nullable(Type.Number({ exclusiveMinimum: 0, maximum: 1 }), { default: null }),
}, { additionalProperties: false });
export type DpConfig = Static<typeof DpBlock>;

/** The `dp` block (null = off). */
export const DpConfigOrNull = Nullable(DpBlock, { default: null });

export const DEFAULT_ROBUST: Readonly<RobustConfig> = Object.freeze({ rule: 'mean', trim: 0.1, byzantine: 1, select: null, normBound: null });

/** Whether the options change anything (false: aggregation is exactly the strategy's own, bit for bit). */
export function defenseActive(robust: RobustConfig | undefined, dp: DpConfig | null | undefined): boolean {
  return !!dp || (!!robust && (robust.rule !== 'mean' || robust.normBound !== null));
}

/**
 * The names of the vectors a strategy's client message holds (e.g. ['params', 'dc'] for SCAFFOLD). Strategies are
 * pure, so one client update on a 1-parameter model tells.
 */
export function messageKeys(strategy: Strategy): string[] {
  const g = new Float32Array(1);
  const server = strategy.initServer(g, 1);
  const ctx: ClientContext = { round: 1, lr: 0.1, baseLr: 0.1, numClients: 1, participants: [0], clientId: 0, numSamples: 1, global: g, server, state: {} };
  const r: LocalResult = { clientId: 0, params: new Float32Array(1), numSamples: 1, steps: 1, samples: 1, loss: 0, ce: 0, man: 0, accuracy: 0, seconds: 0 };
  return Object.keys(strategy.clientUpdate(ctx, r).message);
}

/** The fewest updates a round needs under the rule (Krum: n ≥ 2f + 3, Blanchard et al. 2017). */
export function minUpdatesFor(robust: RobustConfig): number {
  return robust.rule === 'krum' || robust.rule === 'multi-krum' ? 2 * robust.byzantine + 3 : 1;
}

export interface DefenseContext {
  /** Client slots / simulated clients N. */
  clients: number;
  /** A fixed number of participants per round, when the config fixes one. */
  perRound: number | null;
  /** Server: updates that suffice to aggregate at the deadline (`minClients`). */
  minClients?: number;
}

/**
 * Cross-field problems of the blocks (each naming its field), for a config with `strategy` and `ctx`:
 * Krum needs at least 2f + 3 clients (and per-round participants, when fixed); differential privacy covers only
 * the `params` vector, so algorithms that also send other vectors (SCAFFOLD, FedDyn, FedDC) are refused; and DP's
 * Gaussian noise is calibrated for the mean, so it needs rule 'mean'.
 */
export function defenseProblems(robust: RobustConfig | undefined, dp: DpConfig | null | undefined, strategy: Strategy, ctx: DefenseContext): string[] {
  const problems: string[] = [];
  const rb = robust ?? DEFAULT_ROBUST;
  const need = minUpdatesFor(rb);
  if (need > 1) {
    if (ctx.clients < need) problems.push(`field 'robust.byzantine' (${rb.byzantine}): rule '${rb.rule}' needs at least 2f + 3 = ${need} clients, the config has ${ctx.clients}`);
    else if (ctx.perRound !== null && ctx.perRound < need) problems.push(`field 'robust.byzantine' (${rb.byzantine}): rule '${rb.rule}' needs at least 2f + 3 = ${need} updates per round, the config has ${ctx.perRound} participants per round`);
    else if (ctx.minClients !== undefined && ctx.minClients < need) problems.push(`field 'minClients' (${ctx.minClients}) must be at least 2f + 3 = ${need} with robust.rule '${rb.rule}' and robust.byzantine ${rb.byzantine} (a round may be aggregated with minClients updates)`);
  }
  if (rb.select !== null && rb.rule !== 'multi-krum') problems.push(`field 'robust.select' applies to rule 'multi-krum' only (rule is '${rb.rule}')`);
  if (dp) {
    if (rb.rule !== 'mean') problems.push(`field 'dp': differential privacy calibrates its noise for the mean; it cannot be combined with robust.rule '${rb.rule}'`);
    const extra = messageKeys(strategy).filter((k) => k !== 'params');
    if (extra.length) {
      problems.push(`field 'dp': algorithm '${strategy.name}' also sends ${extra.map((k) => `'${k}'`).join(', ')} to the server, which differential privacy does not clip or noise; `
        + 'use dp with an algorithm whose message is the model parameters alone (fedavg, fedprox, fedsam, fedasam, fedspeed, fedavgm, fedadam, fedyogi, fedadagrad)');
    }
  }
  return problems;
}

/** Throws a FedmanError listing {@link defenseProblems}, if any. */
export function checkDefense(robust: RobustConfig | undefined, dp: DpConfig | null | undefined, strategy: Strategy, ctx: DefenseContext, where = 'config'): void {
  const problems = defenseProblems(robust, dp, strategy, ctx);
  if (problems.length) throw new FedmanError(`${where}: ${problems.join('; ')}`);
}
