/**
 * A partition as configs and the command line spell it: an object `{scheme, alpha, …}` or a string
 * `scheme[:value][,field=value…]` whose value is the scheme's main parameter — `iid`, `dirichlet-equal:0.3`,
 * `dirichlet:0.5,minSize=5`, `classes:2`, `shards:200,shardsPerClient=3`. Both mean the same partition.
 */
import { FedmanError } from '../../util/errors.js';
import { PARTITION_SCHEMES, type PartitionScheme } from './partitioner.js';

/** A partition in a config: the scheme and its options (numClients and seed come from the rest of the config). */
export interface PartitionConfig {
  scheme: PartitionScheme;
  alpha?: number;
  samplesPerClient?: number;
  minSize?: number;
  maxTries?: number;
  balance?: boolean;
  classesPerClient?: number;
  numShards?: number;
  shardsPerClient?: number;
}

type Field = Exclude<keyof PartitionConfig, 'scheme'>;

/** A field's JSON schema: a positive number, an integer with a minimum, or a boolean. */
type FieldSchema = { type: 'number'; exclusiveMinimum: 0 } | { type: 'integer'; minimum: number } | { type: 'boolean' };

/** Each field's rule: the config schema's (partitionJsonSchema) and the parser's, from one table. */
const FIELDS: Record<Field, FieldSchema> = {
  alpha: { type: 'number', exclusiveMinimum: 0 },
  samplesPerClient: { type: 'integer', minimum: 1 },
  minSize: { type: 'integer', minimum: 0 },
  maxTries: { type: 'integer', minimum: 1 },
  balance: { type: 'boolean' },
  classesPerClient: { type: 'integer', minimum: 1 },
  numShards: { type: 'integer', minimum: 1 },
  shardsPerClient: { type: 'integer', minimum: 1 },
};

function ruleOf(f: FieldSchema): string {
  return f.type === 'boolean' ? 'must be true or false' : f.type === 'number' ? 'must be a positive number' : `must be an integer ≥ ${f.minimum}`;
}

function fits(f: FieldSchema, v: unknown): boolean {
  if (f.type === 'boolean') return typeof v === 'boolean';
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  return f.type === 'number' ? v > 0 : Number.isInteger(v) && v >= f.minimum;
}

/** The scheme's main parameter: the string form's `:value`, and required in either form. */
const MAIN: Record<PartitionScheme, { field: Field; what: string; placeholder: string; example: string } | null> = {
  iid: null,
  'dirichlet-equal': { field: 'alpha', what: 'δ', placeholder: '<δ>', example: 'dirichlet-equal:0.3' },
  dirichlet: { field: 'alpha', what: 'δ', placeholder: '<δ>', example: 'dirichlet:0.3' },
  classes: { field: 'classesPerClient', what: 'the classes per client', placeholder: '<k>', example: 'classes:2' },
  shards: { field: 'numShards', what: 'the number of shards', placeholder: '<n>', example: 'shards:200' },
};

const isScheme = (s: unknown): s is PartitionScheme => typeof s === 'string' && (PARTITION_SCHEMES as readonly string[]).includes(s);
const isField = (k: string): k is Field => Object.hasOwn(FIELDS, k);

/**
 * The object form of a partition given in either spelling, checked field by field. Malformed input is a
 * FedmanError that starts with `where` and names the field and value, e.g.
 * `partition 'dirichlet-equal:x': alpha must be a positive number`.
 */
export function parsePartitionSpec(spec: unknown, where = 'partition'): PartitionConfig {
  if (typeof spec === 'string') return parseString(spec, `${where} '${spec}'`);
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new FedmanError(`${where} must be a string such as 'dirichlet-equal:0.3' or an object {scheme, …}, got ${JSON.stringify(spec)}`);
  }
  const scheme = (spec as { scheme?: unknown }).scheme;
  if (scheme === undefined) throw new FedmanError(`${where}: scheme is required (${schemeList(false)})`);
  checkScheme(scheme, where, false);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) {
    if (k === 'scheme') out[k] = v;
    else out[k] = checkField(k, v, where, `, got ${JSON.stringify(v)}`);
  }
  return withMain(out as unknown as PartitionConfig, where);
}

/** The string form of a partition (which {@link parsePartitionSpec} reads back to the same object). */
export function formatPartitionSpec(spec: PartitionConfig): string {
  const c = parsePartitionSpec(spec);
  const main = MAIN[c.scheme];
  let s = main ? `${c.scheme}:${c[main.field]}` : c.scheme;
  for (const k of Object.keys(FIELDS) as Field[]) {
    if (k !== main?.field && c[k] !== undefined) s += `,${k}=${c[k]}`;
  }
  return s;
}

function parseString(spec: string, where: string): PartitionConfig {
  const [head, ...extras] = spec.trim().split(',');
  const colon = head.indexOf(':');
  const scheme = (colon < 0 ? head : head.slice(0, colon)).trim();
  checkScheme(scheme, where, true);
  const out: Record<string, unknown> = { scheme };
  const main = MAIN[scheme];
  if (colon >= 0) {
    if (!main) throw new FedmanError(`${where}: ${scheme} takes no ':' value (options go after commas, e.g. ${scheme},samplesPerClient=100)`);
    out[main.field] = checkField(main.field, toValue(head.slice(colon + 1)), where, '');
  }
  for (const extra of extras) {
    const eq = extra.indexOf('=');
    if (eq <= 0) throw new FedmanError(`${where}: expected field=value after a comma, got '${extra}'`);
    const k = extra.slice(0, eq).trim();
    if (Object.hasOwn(out, k)) throw new FedmanError(`${where}: ${k} is given twice`);
    out[k] = checkField(k, toValue(extra.slice(eq + 1)), where, '');
  }
  return withMain(out as unknown as PartitionConfig, where);
}

/** A string value as the field's type: true/false, else a number (NaN when it is none, so the rule rejects it). */
function toValue(raw: string): boolean | number {
  const s = raw.trim();
  if (s === 'true' || s === 'false') return s === 'true';
  return s === '' ? NaN : Number(s);
}

function checkScheme(scheme: unknown, where: string, placeholders: boolean): asserts scheme is PartitionScheme {
  if (isScheme(scheme)) return;
  const shown = typeof scheme === 'string' ? `'${scheme}'` : JSON.stringify(scheme);
  throw new FedmanError(`${where}: unknown scheme ${shown} (use ${schemeList(placeholders)})`);
}

function checkField(k: string, v: unknown, where: string, got: string): unknown {
  if (!isField(k)) throw new FedmanError(`${where}: unknown field '${k}' (fields: scheme, ${Object.keys(FIELDS).join(', ')})`);
  if (!fits(FIELDS[k], v)) throw new FedmanError(`${where}: ${k} ${ruleOf(FIELDS[k])}${got}`);
  return v;
}

function withMain(c: PartitionConfig, where: string): PartitionConfig {
  const main = MAIN[c.scheme];
  if (main && c[main.field] === undefined) throw new FedmanError(`${where}: ${c.scheme} needs ${main.what} (${main.field}), e.g. ${main.example}`);
  return c;
}

function schemeList(placeholders: boolean): string {
  const names = PARTITION_SCHEMES.map((s) => (placeholders && MAIN[s] ? `${s}:${MAIN[s]!.placeholder}` : s));
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/**
 * The JSON schema of a partition's object form (with a config's default): the same field rules and the same
 * required main parameter per scheme as {@link parsePartitionSpec}, for validating configs with ajv (whose errors
 * name the field, e.g. `field 'partition.alpha' is required`).
 */
export function partitionJsonSchema(dflt: PartitionConfig) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['scheme'],
    properties: { scheme: { type: 'string', enum: [...PARTITION_SCHEMES] }, ...FIELDS },
    allOf: PARTITION_SCHEMES.filter((s) => MAIN[s]).map((s) => ({
      if: { properties: { scheme: { const: s } } }, then: { required: [MAIN[s]!.field] },
    })),
    default: dflt,
  };
}
