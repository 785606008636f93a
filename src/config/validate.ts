/** Validating a config object against its schema: every default filled in, every problem named by its field. */
import AjvModule from 'ajv';
import type { Static, TObject } from 'typebox';
import { describeAjvErrors } from '../util/ajv-errors.js';
import { FedmanError } from '../util/errors.js';

const Ajv = AjvModule.default;
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });

/**
 * A validator for `schema`: it takes a raw config (not modified), returns a new object with every default in schema
 * order (so reports list the fields the same way whatever order the input had), or throws a FedmanError listing
 * each problem with its field. `anyOfHints` says what an anyOf field accepts.
 */
export function configValidator<S extends TObject>(schema: S, anyOfHints: Record<string, string> = {}) {
  const validate = ajv.compile(schema);
  return (raw: unknown, where: string): Static<S> => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new FedmanError(`${where}: expected a JSON object`);
    const copy = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
    if (!validate(copy)) {
      const lines = describeAjvErrors(validate.errors ?? [], anyOfHints);
      throw new FedmanError(`${where}: ${lines.join('; ')}`, { errors: validate.errors });
    }
    delete copy.$schema;
    const ordered: Record<string, unknown> = {};
    for (const k of Object.keys(schema.properties)) if (k in copy) ordered[k] = copy[k];
    return ordered as Static<S>;
  };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/** The top-level fields whose values differ between two configs, ignoring `ignored` (key order does not count). */
export function configDiffs<C extends object>(a: C, b: C, ignored: readonly (keyof C)[]): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if ((ignored as readonly string[]).includes(k)) continue;
    const va = (a as Record<string, unknown>)[k], vb = (b as Record<string, unknown>)[k];
    if (JSON.stringify(canonical(va)) !== JSON.stringify(canonical(vb))) out.push(k);
  }
  return out;
}
