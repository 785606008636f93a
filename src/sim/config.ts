/** Reading a config file, applying command-line overrides, and checking that a resumed run matches its checkpoint. */
import { promises as fs } from 'node:fs';
import { FedmanError } from '../util/errors.js';
import { createStrategy } from '../fl/index.js';
import { checkDefense, DEFAULT_ROBUST } from '../fl/defense/config.js';
import { validateConfig, type SimConfig } from './config-schema.js';

export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try { text = await fs.readFile(file, 'utf8'); } catch {
    throw new FedmanError(`cannot read config file '${file}'`);
  }
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (err) {
    throw new FedmanError(`config file '${file}' is not valid JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new FedmanError(`config file '${file}' must hold a JSON object`);
  return raw as Record<string, unknown>;
}

/**
 * Raw config + overrides (undefined values ignored; algorithmOptions merged key by key) → validated config with
 * the algorithm's options resolved (defaults filled in; unknown algorithms and bad options are FedmanErrors).
 */
export function mergeConfig(base: Record<string, unknown>, overrides: Record<string, unknown> = {}, where = 'config'): SimConfig {
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (k === 'algorithmOptions' && v && typeof v === 'object') {
      // Options of a different algorithm do not carry over when --algorithm changes it.
      const sameAlgo = overrides.algorithm === undefined || overrides.algorithm === base.algorithm;
      const prev = sameAlgo && base.algorithmOptions && typeof base.algorithmOptions === 'object' ? base.algorithmOptions : {};
      merged[k] = { ...(prev as object), ...(v as object) };
    } else {
      merged[k] = v;
    }
  }
  if (overrides.algorithm !== undefined && overrides.algorithm !== base.algorithm && overrides.algorithmOptions === undefined) {
    merged.algorithmOptions = {};
  }
  const config = validateConfig(merged, where);
  const strategy = createStrategy(config.algorithm, config.algorithmOptions);
  config.algorithmOptions = { ...strategy.options };
  checkDefense(config.robust, config.dp, strategy, { clients: config.clients, perRound: simPerRound(config) }, where);
  return config;
}

/** Participants per round when the config fixes their number (clientsPerRound, or everyone), else null. */
export function simPerRound(c: Pick<SimConfig, 'clients' | 'clientsPerRound' | 'participation'>): number | null {
  return c.clientsPerRound !== null ? Math.min(c.clientsPerRound, c.clients) : c.participation === 1 ? c.clients : null;
}

/** Fields that do not change the trained model: they may differ between a run and its resumption. */
export const NON_RESULT_FIELDS: readonly (keyof SimConfig)[] = ['name', 'rounds', 'workers', 'threads', 'evalEvery', 'evalBatchSize', 'flatnessSamples', 'flatnessTrace'];

/**
 * The fields (dotted) whose values differ between two configs, ignoring {@link NON_RESULT_FIELDS}. `robust` and
 * `dp` change results; a checkpoint written before they existed counts as having their defaults.
 */
export function resultFieldDiffs(a: SimConfig, b: SimConfig): string[] {
  a = withDefenseDefaults(a);
  b = withDefenseDefaults(b);
  const out: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if ((NON_RESULT_FIELDS as readonly string[]).includes(k)) continue;
    const va = (a as unknown as Record<string, unknown>)[k], vb = (b as unknown as Record<string, unknown>)[k];
    if (JSON.stringify(canonical(va)) !== JSON.stringify(canonical(vb))) out.push(k);
  }
  return out;
}

function withDefenseDefaults(c: SimConfig): SimConfig {
  const r = c as Partial<SimConfig>;
  return r.robust === undefined || r.dp === undefined ? { ...c, robust: r.robust ?? { ...DEFAULT_ROBUST }, dp: r.dp ?? null } : c;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}
