/**
 * The data input's shape as training needs it: the batch (axis 0) symbolic, every other dim a known size.
 *
 * Exporters often leave spatial sizes symbolic (`[N, 3, H, W]`: the model runs at any resolution) or fix the batch
 * at 1 (an export without dynamic axes). fedman's gradients need static channel and spatial sizes, and its trainer
 * feeds batches of any size, so `--input-shape` fixes the symbolic non-batch dims and a static batch becomes
 * symbolic. A symbolic non-batch dim left unfixed is an error that names it.
 */
import { toNumber, type ModelProto, type ValueInfoProto } from './proto.js';
import type { Dim } from './builder.js';
import { FedmanError } from '../util/errors.js';

/** `--input-shape`: the dims after the batch (or all of them, the batch included), optionally for a named input. */
export interface InputShapeSpec {
  name?: string;
  dims: number[];
}

/** Parses `C,H,W`, `name:C,H,W` or the full shape `1,C,H,W` (also with `x` as separator: `3x224x224`). */
export function parseInputShape(s: string): InputShapeSpec {
  const colon = s.lastIndexOf(':');
  const name = colon >= 0 ? s.slice(0, colon) : undefined;
  const list = (colon >= 0 ? s.slice(colon + 1) : s).trim();
  const parts = list.split(/[,x×]/).map((p) => p.trim());
  const dims = parts.map(Number);
  if (list === '' || parts.some((p) => !/^\d+$/.test(p)) || dims.some((d) => d < 1)) {
    throw new FedmanError(`--input-shape: expected positive integers separated by commas (e.g. 3,224,224 or input:3,224,224), got '${s}'`);
  }
  if (name === '') throw new FedmanError(`--input-shape: the input name before ':' is empty in '${s}'`);
  return { name, dims };
}

/** A value's declared dims: sizes, symbol names, '?' where the model gives neither. */
export function valueInfoDims(vi: ValueInfoProto): Dim[] {
  return (vi.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : '?'));
}

function withDims(vi: ValueInfoProto, dims: readonly Dim[]): ValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { ...vi, type: { ...vi.type, tensorType: { ...vi.type!.tensorType, shape: { dim } } } };
}

function dataInputs(model: ModelProto): ValueInfoProto[] {
  const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name!));
  return (model.graph?.input ?? []).filter((i) => !inits.has(i.name!));
}

const BATCH = 'N';

/**
 * Applies `spec` to the data input (the one it names, else the only one) and, unless `keepBatch`, makes a static
 * batch symbolic. Returns the model unchanged when there is nothing to do; leaves other symbolic dims as they are.
 */
export function setInputShape(model: ModelProto, spec: InputShapeSpec | undefined, where = 'model', keepBatch = false): ModelProto {
  const inputs = dataInputs(model);
  let target: ValueInfoProto | undefined;
  if (spec?.name !== undefined) {
    target = inputs.find((i) => i.name === spec.name);
    if (!target) throw new FedmanError(`${where}: --input-shape names input '${spec.name}'; the model's data inputs are ${inputs.map((i) => `'${i.name}'`).join(', ') || 'none'}`);
  } else if (spec) {
    if (inputs.length !== 1) throw new FedmanError(`${where} has ${inputs.length} data inputs (${inputs.map((i) => i.name).join(', ')}); name one: --input-shape <name>:<dims>`);
    target = inputs[0];
  }
  let changed = false;
  const input = (model.graph?.input ?? []).map((vi) => {
    if (!inputs.includes(vi) || !vi.type?.tensorType) return vi;
    const dims = valueInfoDims(vi);
    if (dims.length === 0) return vi;
    let next = [...dims];
    if (vi === target) next = applySpec(vi.name!, dims, spec!, where);
    if (!keepBatch && typeof next[0] === 'number') next[0] = BATCH;
    if (next.every((d, i) => d === dims[i])) return vi;
    changed = true;
    return withDims(vi, next);
  });
  return changed ? { ...model, graph: { ...model.graph, input } } : model;
}

function applySpec(name: string, dims: readonly Dim[], spec: InputShapeSpec, where: string): Dim[] {
  const rank = dims.length;
  const given = spec.dims.length === rank ? spec.dims.slice(1) : spec.dims;
  if (given.length !== rank - 1) {
    throw new FedmanError(`${where}: --input-shape gives ${spec.dims.length} dims, but input '${name}' ${JSON.stringify(dims)} has rank ${rank}: give the ${rank - 1} dims after the batch`);
  }
  return [dims[0]!, ...given.map((d, i) => {
    const own = dims[i + 1]!;
    if (typeof own === 'number' && own !== d) {
      throw new FedmanError(`${where}: --input-shape sets axis ${i + 1} of input '${name}' to ${d}, but the model fixes it at ${own} (${JSON.stringify(dims)})`);
    }
    return d;
  })];
}

/** The data input's dims after the batch must all be known sizes: otherwise a FedmanError naming them. */
export function requireStaticInput(name: string, dims: readonly Dim[], where: string): void {
  const symbolic = dims.map((d, i) => ({ d, i })).filter(({ d, i }) => i > 0 && typeof d === 'string');
  if (symbolic.length === 0) return;
  const list = symbolic.map(({ d, i }) => `'${d}' (axis ${i})`).join(', ');
  const example = dims.slice(1).map((d) => (typeof d === 'number' ? String(d) : `<${d}>`)).join(',');
  throw new FedmanError(`${where}: input '${name}' ${JSON.stringify(dims)} has symbolic dims ${list}; fedman trains at one input size: give it with --input-shape ${example}`);
}
