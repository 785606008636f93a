/**
 * Opset upgrade: a model of opset 7–16 is rewritten to opset 17, the opset fedman's graphs are built at, as ONNX's
 * version converter does (one version step at a time; at each step every default-domain node whose op has a new
 * version there goes through that op's adapter, subgraphs of If/Loop/Scan included). Adapters live one file per
 * op family and register themselves (registry.ts); an op that changed without an adapter is a FedmanError naming
 * the op, the node and the step. Models of opset 17 or newer are returned unchanged.
 */
import { AttrType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from '../proto.js';
import { attrTensor, encodeAttr, type AttrValue } from '../attrs.js';
import { floatTensorOf, int64Tensor, tensorToFloat32 } from '../tensor.js';
import { defaultOpset } from '../model-io.js';
import { FedmanError } from '../../util/errors.js';
import { getUpgrade } from './registry.js';
import { OP_VERSIONS } from './versions.js';
import { TypeInfo } from './type-info.js';
import type { UpgradeContext } from './types.js';
import './compatible.js';
import './clip.js';
import './pad.js';
import './slice.js';
import './split.js';
import './axes.js';
import './softmax.js';
import './resize.js';
import './dropout.js';
import './batchnorm.js';
import './indexing.js';

export const UPGRADE_TARGET = 17;
/** ONNX Runtime runs no older opset, and exporters of the last years write none. */
export const UPGRADE_MIN = 7;

export interface UpgradeResult {
  model: ModelProto;
  /** The default-domain opset the model had. */
  from: number;
  /** Nodes an adapter rewrote (not counting the compatible ones), e.g. 'Clip@11'. */
  rewritten: string[];
}

const isDefault = (n: NodeProto) => !n.domain || n.domain === 'ai.onnx';

function allNames(graph: GraphProto, into: Set<string>): void {
  for (const t of graph.initializer ?? []) into.add(t.name!);
  for (const vi of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) into.add(vi.name!);
  for (const n of graph.node ?? []) {
    if (n.name) into.add(n.name);
    for (const x of [...(n.input ?? []), ...(n.output ?? [])]) if (x) into.add(x);
    for (const a of n.attribute ?? []) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) allNames(g, into);
  }
}

export async function upgradeModel(model: ModelProto, where = 'model'): Promise<UpgradeResult> {
  const from = defaultOpset(model);
  if (from >= UPGRADE_TARGET) return { model, from, rewritten: [] };
  if (from < UPGRADE_MIN) {
    throw new FedmanError(`${where} uses opset ${from || '(none)'}; fedman upgrades models of opset ${UPGRADE_MIN} and later to ${UPGRADE_TARGET}: re-export it, or bring it to opset ${UPGRADE_MIN}+ with onnx.version_converter first`);
  }
  const names = new Set<string>();
  allNames(model.graph!, names);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };
  const info = new TypeInfo(model);
  const rewritten: string[] = [];
  let graph = model.graph!;
  for (let v = from + 1; v <= UPGRADE_TARGET; v++) graph = await upgradeGraph(graph, v, { fresh, info, where, from, rewritten });
  const opsetImport = (model.opsetImport ?? []).map((o) => (!o.domain || o.domain === 'ai.onnx' ? { ...o, version: UPGRADE_TARGET } : o));
  // IR version 8 is the oldest that opset 17 allows (and it drops IR 3's rule that initializers be graph inputs).
  const irVersion = Math.max(Number(model.irVersion ?? 0), 8);
  return { model: { ...model, irVersion, opsetImport, graph }, from, rewritten };
}

interface StepEnv { fresh: (base: string) => string; info: TypeInfo; where: string; from: number; rewritten: string[] }

async function upgradeGraph(graph: GraphProto, v: number, env: StepEnv): Promise<GraphProto> {
  const nodes: NodeProto[] = [];
  const initializer = [...(graph.initializer ?? [])];
  const uses = new Set<string>();
  usedNames(graph, uses);
  const constants = new Map<string, TensorProto>(initializer.map((t) => [t.name!, t]));
  for (const n of graph.node ?? []) {
    const t = n.opType === 'Constant' ? attrTensor(n, 'value') : undefined;
    if (t && n.output?.[0]) constants.set(n.output[0], t);
  }
  for (const original of graph.node ?? []) {
    const node = await withSubgraphs(original, v, env);
    const versions = isDefault(node) ? OP_VERSIONS[node.opType ?? ''] : undefined;
    if (!versions?.includes(v)) { nodes.push(node); continue; }
    const label = `${node.opType} node '${node.name || node.output?.[0] || '?'}'`;
    const fail = (why: string): never => {
      throw new FedmanError(`${env.where}: cannot upgrade ${label} from opset ${v - 1} to ${v} (the model is opset ${env.from}; fedman upgrades to ${UPGRADE_TARGET}): ${why}`);
    };
    const adapter = getUpgrade(node.opType!, v);
    if (!adapter) fail(`${node.opType}-${v} changed its meaning and fedman has no upgrade for it; re-export the model at opset ${UPGRADE_TARGET}`);
    const base = node.name || node.output?.[0] || node.opType!;
    const ctx: UpgradeContext = {
      node, version: v, fail,
      constI64: (values, dims) => {
        const name = env.fresh(`${base}__i64`);
        initializer.push(int64Tensor(name, dims ?? [values.length], values));
        return name;
      },
      constF: (values, dims, dtype) => {
        const name = env.fresh(`${base}__const`);
        initializer.push(floatTensorOf(dtype, name, dims, values));
        return name;
      },
      op: (opType, inputs, attrs = {}) => {
        const out = env.fresh(`${base}__${opType.toLowerCase()}`);
        nodes.push({ opType, domain: '', name: env.fresh(`${base}__${opType}`), input: [...inputs], output: [out], attribute: Object.entries(attrs).map(([k, a]) => encodeAttr(k, a as AttrValue)) });
        return out;
      },
      constant: (t) => {
        const c = constants.get(t);
        return c ? Array.from(tensorToFloat32(c, 'constant')) : undefined;
      },
      used: (t) => uses.has(t),
      dtype: (t) => env.info.dtype(t),
      rank: (t) => env.info.rank(t),
      typeProblem: () => env.info.problem(),
    };
    const next = await adapter!(ctx);
    if (next !== node) env.rewritten.push(`${node.opType}@${v}`);
    nodes.push(next);
  }
  return { ...graph, node: nodes, initializer };
}

/** Every name read by a node of the graph (or of its subgraphs) or written as a graph output. */
function usedNames(graph: GraphProto, into: Set<string>): void {
  for (const o of graph.output ?? []) into.add(o.name!);
  for (const n of graph.node ?? []) {
    for (const x of n.input ?? []) if (x) into.add(x);
    for (const a of n.attribute ?? []) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) usedNames(g, into);
  }
}

/** The node with its If/Loop/Scan bodies moved to opset `v` too. */
async function withSubgraphs(node: NodeProto, v: number, env: StepEnv): Promise<NodeProto> {
  if (!(node.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length > 0)) return node;
  const attribute = await Promise.all((node.attribute ?? []).map(async (a) => {
    if (a.type === AttrType.GRAPH && a.g) return { ...a, g: await upgradeGraph(a.g, v, env) };
    if (a.type === AttrType.GRAPHS && a.graphs?.length) return { ...a, graphs: await Promise.all(a.graphs.map((g) => upgradeGraph(g, v, env))) };
    return a;
  }));
  return { ...node, attribute };
}

