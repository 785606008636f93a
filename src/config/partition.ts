/**
 * The partition block of the configs: how the training set is split over the clients. Configs take it in both
 * spellings of the command line and of src/data/partition/spec.ts — an object `{scheme, alpha, …}` or a string
 * such as `"dirichlet-equal:0.3"` — and hold the object form once validated.
 */
import { Type } from 'typebox';
import { parsePartitionSpec, partitionJsonSchema, type PartitionConfig } from '../data/partition/spec.js';

export type { PartitionConfig };

/** The partition field's schema, with the config's default (the rules are src/data/partition/spec.ts's). */
export function partitionSchema(dflt: PartitionConfig) {
  return Type.Unsafe<PartitionConfig>(partitionJsonSchema(dflt));
}

/**
 * A copy of `raw` whose partition at `path` is in object form: a string is read with the partition parser (its
 * errors name the field); an object is left for the schema to check, so its errors name the field as before.
 */
export function partitionAsObject(raw: unknown, path: readonly string[], where: string, at: readonly string[] = path): unknown {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const obj = raw as Record<string, unknown>;
  const [key, ...rest] = path;
  if (key === undefined || !(key in obj)) return raw;
  if (rest.length) return { ...obj, [key]: partitionAsObject(obj[key], rest, where, at) };
  const v = obj[key];
  return typeof v === 'string' ? { ...obj, [key]: parsePartitionSpec(v, `${where}: field '${at.join('.')}'`) } : raw;
}
