/**
 * Malformed ONNX files given to the converter: `createArtifacts(<file>.onnx, outDir)` in process (the model loader,
 * preparation, shape probing on ONNX Runtime, gradient graphs, the atomic write) and `fedman artifacts` as a child
 * process for a handful of them. Property-based (fast-check, seeded): random bytes, truncations and bit flips of
 * valid models (a small conv net built like the zoo's, and the zoo's mlp), and structural mutations of the decoded
 * model: unknown and unsupported ops and domains, inserted nodes, missing and duplicated initializers, wrong dims
 * and data types, short raw data, rewired and dangling edges, attributes of the wrong type, graph inputs/outputs
 * removed or added, opsets, bad external-data entries. Properties:
 *
 *   - the conversion either succeeds with a complete artifacts directory, or fails with a FedmanError whose message
 *     names the model file or the node/op/field at fault, never another exception type or a crash;
 *   - nothing half-written: after a failure the output directory is as before (absent, or an earlier artifacts
 *     directory untouched), and no staging directory is left behind;
 *   - the CLI exits 1 with one `fedman: error:` message and no stack trace.
 *
 * FEDMAN_FUZZ_SEED=<n> changes the seed, FEDMAN_FUZZ_SCALE=<x> multiplies the runs.
 */
import t from 'tap';
import { record } from './harness.js';
import fc from 'fast-check';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildZooModel } from '../../models/index.js';
import { buildSequential } from '../../models/layers.js';
import { decodeModel, encodeModel } from '../../src/onnx/model-io.js';
import type { AttributeProto, ModelProto, NodeProto } from '../../src/onnx/proto.js';
import { createArtifacts, readManifest } from '../../src/training/artifacts.js';
import { FedmanError } from '../../src/util/errors.js';
import { tmpDir } from '../data/tmpdir.js';

const SEED = Number(process.env.FEDMAN_FUZZ_SEED ?? 20250611);
const SCALE = Number(process.env.FEDMAN_FUZZ_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
t.comment(`fuzz seed ${SEED} (FEDMAN_FUZZ_SEED=${SEED} reproduces this run)`);

const tmp = tmpDir(t, 'fedman-fuzz-onnx-');
/** A small conv net (all the zoo's layer kinds but group norm): fast to probe and convert. */
const tiny = buildSequential({
  name: 'tiny', inputShape: [1, 4, 4], seed: 1, doc: 'fuzz base',
  layers: [{ kind: 'conv', out: 2, k: 3, pad: 1 }, { kind: 'relu' }, { kind: 'maxpool', k: 2 }, { kind: 'flatten' }, { kind: 'linear', out: 5 }, { kind: 'relu' }, { kind: 'linear', out: 3 }],
});
const BASES: Record<'tiny' | 'mlp', Uint8Array> = { tiny: encodeModel(tiny), mlp: encodeModel(buildZooModel('mlp')) };

// --- the conversion and its properties ----------------------------------------------------------------------------

const ARTIFACT_FILES = ['eval.onnx', 'forward.onnx', 'manifest.json', 'train_step.onnx'];
const stats = { cases: 0, converted: 0, refused: 0, kinds: new Map<string, number>() };
let seq = 0;

/** What a FedmanError message must name: the model (file path or `model '<name>'`) or a quoted node/op/field. */
function namesSomething(msg: string, file: string): boolean {
  return msg.includes(path.basename(file, '.onnx')) || /'[^']+'|"[^"]+"|\(\w+\)/.test(msg);
}

async function convert(bytes: Uint8Array, preexisting: boolean, extra?: (dir: string) => Promise<void>): Promise<void> {
  const dir = path.join(tmp, `c${seq++}`);
  await fs.mkdir(dir);
  try {
    const file = path.join(dir, `model${seq}.onnx`);
    await fs.writeFile(file, bytes);
    await extra?.(dir);
    const out = path.join(dir, 'out');
    if (preexisting) {
      await fs.mkdir(out);
      await fs.writeFile(path.join(out, 'manifest.json'), '{"earlier": true}');
    }
    stats.cases++;
    let error: unknown = null;
    try { await createArtifacts(file, out); } catch (err) { error = err; }
    const leftovers = (await fs.readdir(dir)).filter((f) => f.includes('staging'));
    if (leftovers.length) throw new Error(`staging directories left behind: ${leftovers}`);
    if (error === null) {
      stats.converted++;
      const listed = (await fs.readdir(out)).sort();
      if (JSON.stringify(listed) !== JSON.stringify(ARTIFACT_FILES)) throw new Error(`converted, but the output holds ${listed}`);
      await readManifest(out);
      return;
    }
    stats.refused++;
    if (!(error instanceof FedmanError)) throw new Error(`not a FedmanError: ${(error as Error)?.stack ?? String(error)}`);
    const msg = error.message;
    if (!msg.trim()) throw new Error('empty FedmanError message');
    if (!namesSomething(msg, file)) throw new Error(`the message names neither the model nor a node/op/field: ${msg}`);
    const kind = msg.replace(/^'[^']*'|model '[^']*'/, 'M').replace(/'[^']*'|"[^"]*"|\d+/g, '…').slice(0, 70);
    stats.kinds.set(kind, (stats.kinds.get(kind) ?? 0) + 1);
    if (preexisting) {
      const listed = await fs.readdir(out);
      const kept = await fs.readFile(path.join(out, 'manifest.json'), 'utf8').catch(() => null);
      if (listed.length !== 1 || kept !== '{"earlier": true}') throw new Error(`a failed conversion changed the earlier output: ${listed}`);
    } else if (await fs.stat(out).then(() => true, () => false)) {
      throw new Error('a failed conversion left an output directory');
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function check(tt: Test, name: string, arb: fc.Arbitrary<{ bytes: () => Uint8Array; preexisting: boolean }>, numRuns: number): Promise<void> {
  const c0 = stats.cases, ok0 = stats.converted, t0 = performance.now();
  await fc.assert(fc.asyncProperty(arb, async (c) => { await convert(c.bytes(), c.preexisting); }), { seed: SEED, numRuns, endOnFailure: true });
  tt.pass(`${name}: ${stats.cases - c0} models, ${stats.converted - ok0} converted, the rest refused with a FedmanError (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

const which = fc.constantFrom<'tiny' | 'mlp'>('tiny', 'tiny', 'tiny', 'mlp');
const preexisting = fc.boolean();

// --- byte-level -------------------------------------------------------------------------------------------------

t.test('random bytes', async (tt) => {
  await check(tt, 'random', fc.record({ b: fc.uint8Array({ maxLength: 4096 }), preexisting }).map(({ b, preexisting }) => ({ bytes: () => b, preexisting })), runs(200));
  for (const b of [new Uint8Array(0), new Uint8Array(1), Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f), Buffer.from('not a model'), Buffer.from('{"graph": {}}'),
    Uint8Array.of(0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)]) await convert(b, false);
  tt.pass('edge cases: empty, one byte, huge varint lengths, text');
});

t.test('truncated valid models', async (tt) => {
  await check(tt, 'truncated', fc.record({ which, frac: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), preexisting })
    .map(({ which, frac, preexisting }) => ({ bytes: () => BASES[which].subarray(0, Math.floor(BASES[which].length * frac)), preexisting })), runs(150));
});

t.test('bit flips and overwritten bytes', async (tt) => {
  const flips = fc.array(fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.nat({ max: 7 })), { minLength: 1, maxLength: 8 });
  await check(tt, 'bit flips', fc.record({ which: fc.constantFrom<'tiny' | 'mlp'>('tiny', 'tiny', 'tiny', 'tiny', 'mlp'), flips, preexisting }).map(({ which, flips, preexisting }) => ({
    bytes: () => {
      const b = Uint8Array.from(BASES[which]);
      // The structure of the mlp is in its first and last bytes (the weights are in between): aim there too.
      for (const [f, bit] of flips) { const pos = Math.floor((which === 'mlp' && bit & 1 ? f * 600 : f * b.length)) % b.length; b[pos]! ^= 1 << bit; }
      return b;
    },
    preexisting,
  })), runs(250));
  await check(tt, 'overwritten ranges', fc.record({ at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fill: fc.uint8Array({ minLength: 1, maxLength: 32 }), preexisting }).map(({ at, fill, preexisting }) => ({
    bytes: () => { const b = Uint8Array.from(BASES.tiny); b.set(fill.subarray(0, b.length - Math.floor(at * b.length)), Math.floor(at * b.length)); return b; },
    preexisting,
  })), runs(100));
});

// --- structural -------------------------------------------------------------------------------------------------

const UNARY = ['Relu', 'Sigmoid', 'Tanh', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Cos', 'Sin', 'Erf', 'Floor', 'Ceil', 'Round', 'Sign', 'Softplus', 'Softsign', 'Elu', 'Selu',
  'LeakyRelu', 'HardSigmoid', 'HardSwish', 'Mish', 'Reciprocal', 'Identity', 'Dropout', 'Softmax', 'LogSoftmax', 'Hardmax', 'Not', 'IsNaN', 'IsInf', 'NonZero', 'Shape',
  'Size', 'Transpose', 'Flatten', 'ReduceSum', 'ReduceMean', 'ArgMax', 'TopK', 'Det', 'Loop', 'If', 'FancyOp', '', 'relu', 'Gemm', 'Conv', 'MaxPool'];
/** Float → float unary ops ONNX Runtime accepts anywhere in the chain (fedman differentiates most, not all). */
const FLOAT_UNARY = ['Sigmoid', 'Tanh', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Cos', 'Sin', 'Erf', 'Floor', 'Ceil', 'Round', 'Sign', 'Softplus', 'Softsign', 'Elu', 'Selu',
  'LeakyRelu', 'HardSigmoid', 'HardSwish', 'Mish', 'Reciprocal', 'Identity', 'Dropout', 'Softmax', 'LogSoftmax', 'Hardmax', 'Relu'];
const NAMES = ['input', 'conv1.weight', 'fc1.weight', 'fc2.bias', 'logits', 'nope', '', 'input ', '../x'];
type AttrSpec = { name: string; type: number; i?: number; f?: number; ints?: number[]; s?: string };
type SMut =
  | { k: 'op'; node: number; op: string }
  | { k: 'domain'; node: number; domain: string }
  | { k: 'insert'; after: number; op: string; attr: AttrSpec | null }
  | { k: 'dropInit'; i: number }
  | { k: 'dupInit'; i: number }
  | { k: 'dims'; i: number; dims: number[] }
  | { k: 'dtype'; i: number; dtype: number }
  | { k: 'raw'; i: number; keep: number }
  | { k: 'rewire'; node: number; slot: number; to: string | number }
  | { k: 'attr'; node: number; attr: AttrSpec | null }
  | { k: 'inputs'; what: 'drop' | 'dup' | 'extra' | 'noType' | 'elemType' | 'rank0' | 'rank1'; elemType: number }
  | { k: 'outputs'; what: 'drop' | 'extra' | 'rename' | 'elemType'; name: string }
  | { k: 'opset'; domain: string; version: number }
  | { k: 'external'; i: number; location: string; offset: string | null; length: string | null };

const attrSpec: fc.Arbitrary<AttrSpec> = fc.record({
  name: fc.constantFrom('kernel_shape', 'pads', 'strides', 'axis', 'transB', 'alpha', 'perm', 'keepdims', 'x'),
  type: fc.constantFrom(1, 2, 3, 6, 7, 0, 99),
  i: fc.integer({ min: -5, max: 1000 }), f: fc.double({ noNaN: false }), ints: fc.array(fc.integer({ min: -3, max: 9 }), { maxLength: 5 }), s: fc.string({ maxLength: 4 }),
}, { requiredKeys: ['name', 'type'] });
const idx = fc.nat({ max: 50 });
const smut: fc.Arbitrary<SMut> = fc.oneof(
  fc.record({ k: fc.constant('op' as const), node: idx, op: fc.oneof(fc.constantFrom(...UNARY), fc.string({ maxLength: 8 })) }),
  fc.record({ k: fc.constant('domain' as const), node: idx, domain: fc.constantFrom('com.evil', 'ai.onnx.ml', 'com.microsoft', 'ai.onnx.preview.training', '\u0000') }),
  fc.record({ k: fc.constant('insert' as const), after: idx, op: fc.constantFrom(...UNARY), attr: fc.option(attrSpec, { nil: null }) }),
  fc.record({ k: fc.constant('insert' as const), after: idx, op: fc.constantFrom('Sigmoid', 'Tanh', 'Softmax', 'Hardmax', 'Cos', 'Erf', 'LeakyRelu', 'Identity', 'Dropout'), attr: fc.constant(null) }),
  fc.record({ k: fc.constant('dropInit' as const), i: idx }),
  fc.record({ k: fc.constant('dupInit' as const), i: idx }),
  fc.record({ k: fc.constant('dims' as const), i: idx, dims: fc.oneof(fc.array(fc.integer({ min: -2, max: 12 }), { maxLength: 4 }), fc.constantFrom<number[]>([2 ** 31, 2], [2 ** 40, 2 ** 20], [0], [1, 1, 1, 1, 1, 1, 1])) }),
  fc.record({ k: fc.constant('dtype' as const), i: idx, dtype: fc.integer({ min: 0, max: 25 }) }),
  fc.record({ k: fc.constant('raw' as const), i: idx, keep: fc.double({ min: 0, max: 2, noNaN: true }) }),
  fc.record({ k: fc.constant('rewire' as const), node: idx, slot: fc.nat({ max: 3 }), to: fc.oneof(fc.constantFrom(...NAMES), idx) }),
  fc.record({ k: fc.constant('attr' as const), node: idx, attr: fc.option(attrSpec, { nil: null }) }),
  fc.record({ k: fc.constant('inputs' as const), what: fc.constantFrom('drop', 'dup', 'extra', 'noType', 'elemType', 'rank0', 'rank1'), elemType: fc.integer({ min: 0, max: 16 }) }),
  fc.record({ k: fc.constant('outputs' as const), what: fc.constantFrom('drop', 'extra', 'rename', 'elemType'), name: fc.constantFrom(...NAMES) }),
  fc.record({ k: fc.constant('opset' as const), domain: fc.constantFrom('', 'ai.onnx', 'com.evil'), version: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constant(2 ** 31 - 1)) }),
  fc.record({
    k: fc.constant('external' as const), i: idx, location: fc.constantFrom('w.data', 'missing.data', '../w.data', '/etc/passwd', '.', 'w.data\u0000x', ''),
    offset: fc.option(fc.constantFrom('0', '8', '-5', 'abc', '1e3', '99999999999999999999', ' 4', ''), { nil: null }), length: fc.option(fc.constantFrom('0', '16', '-1', 'NaN', '4294967297', '1e9', ''), { nil: null }),
  }),
);

const toAttr = (a: AttrSpec): AttributeProto => ({ ...a, s: a.s === undefined ? undefined : Buffer.from(a.s) });
const at = <T>(a: T[] | null | undefined, i: number): T | undefined => (a && a.length ? a[i % a.length] : undefined);

function mutate(m: ModelProto, muts: SMut[]): void {
  const g = m.graph!;
  for (const u of muts) {
    const nodes = g.node ??= [];
    const inits = g.initializer ??= [];
    switch (u.k) {
      case 'op': { const n = at(nodes, u.node); if (n) n.opType = u.op; break; }
      case 'domain': { const n = at(nodes, u.node); if (n) n.domain = u.domain; break; }
      case 'insert': {
        const i = nodes.length ? u.after % nodes.length : 0;
        const src = nodes[i]?.output?.[0] ?? 'input';
        const dst = `${src}__fz${i}`;
        for (const n of nodes) n.input = (n.input ?? []).map((x) => (x === src ? dst : x));
        for (const o of g.output ?? []) if (o.name === src) o.name = dst;
        const node: NodeProto = { opType: u.op, name: `fz_${i}`, input: [src], output: [dst], attribute: u.attr ? [toAttr(u.attr)] : [] };
        nodes.splice(i + 1, 0, node);
        break;
      }
      case 'dropInit': if (inits.length) inits.splice(u.i % inits.length, 1); break;
      case 'dupInit': { const x = at(inits, u.i); if (x) inits.push({ ...x, dims: [1] }); break; }
      case 'dims': { const x = at(inits, u.i); if (x) x.dims = u.dims; break; }
      case 'dtype': { const x = at(inits, u.i); if (x) x.dataType = u.dtype; break; }
      case 'raw': { const x = at(inits, u.i); if (x?.rawData) { const r = x.rawData; const n = Math.floor(r.length * u.keep); x.rawData = n <= r.length ? r.subarray(0, n) : Uint8Array.from([...r, ...r]).subarray(0, n); } break; }
      case 'rewire': {
        const n = at(nodes, u.node);
        if (!n) break;
        const names = nodes.flatMap((x) => x.output ?? []);
        const to = typeof u.to === 'number' ? at(names, u.to) ?? 'input' : u.to;
        const ins = n.input ??= [];
        ins[Math.min(u.slot, ins.length)] = to;
        break;
      }
      case 'attr': { const n = at(nodes, u.node); if (n) n.attribute = u.attr ? [...(n.attribute ?? []).filter((a) => a.name !== u.attr!.name), toAttr(u.attr)] : []; break; }
      case 'inputs': {
        const ins = g.input ??= [];
        const first = ins[0];
        if (u.what === 'drop') ins.splice(0, 1);
        else if (u.what === 'dup' && first) ins.push({ ...first });
        else if (u.what === 'extra') ins.push({ name: 'second', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 3 }] } } } });
        else if (first?.type?.tensorType) {
          if (u.what === 'noType') first.type = {};
          else if (u.what === 'elemType') first.type.tensorType.elemType = u.elemType;
          else first.type.tensorType.shape = { dim: u.what === 'rank0' ? [] : [{ dimParam: 'N' }] };
        }
        break;
      }
      case 'outputs': {
        const outs = g.output ??= [];
        if (u.what === 'drop') outs.splice(0, 1);
        else if (u.what === 'extra') outs.push({ name: u.name || 'extra', type: { tensorType: { elemType: 1 } } });
        else if (u.what === 'rename' && outs[0]) outs[0].name = u.name;
        else if (outs[0]?.type?.tensorType) outs[0].type.tensorType.elemType = 7;
        break;
      }
      case 'opset': m.opsetImport = [{ domain: u.domain, version: u.version }]; break;
      case 'external': {
        const x = at(inits, u.i);
        if (!x) break;
        x.rawData = new Uint8Array(0);
        x.dataLocation = 1;
        x.externalData = [{ key: 'location', value: u.location }, ...(u.offset !== null ? [{ key: 'offset', value: u.offset }] : []), ...(u.length !== null ? [{ key: 'length', value: u.length }] : [])];
        break;
      }
    }
  }
}

t.test('structural mutations: unknown/unsupported ops, missing initializers, wrong dims, rewired graphs', async (tt) => {
  const arb = fc.record({ muts: fc.array(smut, { minLength: 1, maxLength: 3 }), preexisting });
  await fc.assert(fc.asyncProperty(arb, async ({ muts, preexisting: pre }) => {
    const m = decodeModel(BASES.tiny);
    mutate(m, muts);
    const bytes = encodeModel(m);
    await convert(bytes, pre, async (dir) => { await fs.writeFile(path.join(dir, 'w.data'), new Uint8Array(64)); });
  }), { seed: SEED, numRuns: runs(400), endOnFailure: true });
  tt.pass(`structural: ${stats.cases} models so far`);
});

t.test('graph edits ONNX Runtime accepts: other ops and attributes reach the gradient builder', async (tt) => {
  const c0 = stats.cases, ok0 = stats.converted;
  // Node 1 and 5 are the ReLUs, 2 the max pool, 3 the flatten, 4 and 6 the Gemms.
  const edit: fc.Arbitrary<SMut> = fc.oneof(
    fc.record({ k: fc.constant('insert' as const), after: fc.nat({ max: 7 }), op: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...FLOAT_UNARY) }, { weight: 1, arbitrary: fc.constantFrom(...UNARY) }),
      attr: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: attrSpec }) }),
    fc.record({ k: fc.constant('op' as const), node: fc.constantFrom(1, 5), op: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...FLOAT_UNARY) }, { weight: 1, arbitrary: fc.constantFrom(...UNARY) }) }),
    fc.record({ k: fc.constant('attr' as const), node: fc.constantFrom(2, 3, 4, 6), attr: fc.oneof(
      fc.constantFrom<AttrSpec>({ name: 'transB', type: 2, i: 0 }, { name: 'transA', type: 2, i: 1 }, { name: 'alpha', type: 1, f: 0 }, { name: 'beta', type: 1, f: -1 }, { name: 'axis', type: 2, i: 0 },
        { name: 'axis', type: 2, i: -1 }, { name: 'axis', type: 2, i: 4 }, { name: 'kernel_shape', type: 7, ints: [1, 1] }, { name: 'strides', type: 7, ints: [1, 1] }, { name: 'ceil_mode', type: 2, i: 1 },
        { name: 'storage_order', type: 2, i: 1 }, { name: 'dilations', type: 7, ints: [2, 2] }, { name: 'pads', type: 7, ints: [1, 1, 1, 1] }),
      attrSpec) }),
  );
  await fc.assert(fc.asyncProperty(fc.record({ muts: fc.array(edit, { minLength: 1, maxLength: 2 }), preexisting }), async ({ muts, preexisting: pre }) => {
    const m = decodeModel(BASES.tiny);
    mutate(m, muts);
    await convert(encodeModel(m), pre);
  }), { seed: SEED, numRuns: runs(150), endOnFailure: true });
  tt.pass(`graph edits: ${stats.cases - c0} models, ${stats.converted - ok0} converted, the rest refused with a FedmanError`);
});

t.test('named failures: the message says what is wrong', async (tt) => {
  // The gradient builder's errors name the op and node (docs/ops.md), not the file: the last flag.
  const expectations: [string, (m: ModelProto) => void, RegExp, boolean?][] = [
    ['unknown op', (m) => { m.graph!.node![0]!.opType = 'FancyOp'; }, /FancyOp/],
    ['unsupported op inserted', (m) => mutate(m, [{ k: 'insert', after: 5, op: 'Hardmax', attr: null }]), /op 'Hardmax' at node 'fz_5'/, false],
    ['missing initializer', (m) => { m.graph!.initializer!.splice(0, 1); }, /conv1\.weight/],
    ['wrong dims', (m) => { m.graph!.initializer![2]!.dims = [7, 7]; }, /fc1|Gemm|dim/i],
    // Opsets 7-16 are upgraded (src/onnx/upgrade/); older ones are refused, naming the opset.
    ['too old an opset', (m) => { m.opsetImport = [{ domain: '', version: 6 }]; }, /opset 6/],
    ['two data inputs', (m) => mutate(m, [{ k: 'inputs', what: 'extra', elemType: 1 }]), /exactly one data input/],
    ['no outputs', (m) => { m.graph!.output = []; }, /no graph outputs/],
    ['an output no node produces', (m) => { m.graph!.output![0]!.name = 'nowhere'; }, /output 'nowhere' is produced by no node/],
    ['bad external length', (m) => mutate(m, [{ k: 'external', i: 0, location: 'w.data', offset: null, length: 'NaN' }]), /external-data length 'NaN'/],
    ['negative external offset', (m) => mutate(m, [{ k: 'external', i: 0, location: 'w.data', offset: '-5', length: null }]), /external-data offset '-5'/],
    ['external file outside', (m) => mutate(m, [{ k: 'external', i: 0, location: '../w.data', offset: null, length: null }]), /points outside the model directory/],
  ];
  for (const [what, f, re, namesModel = true] of expectations) {
    const m = decodeModel(BASES.tiny);
    f(m);
    const dir = path.join(tmp, `named-${seq++}`);
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'w.data'), new Uint8Array(64));
    const file = path.join(dir, 'broken.onnx');
    await fs.writeFile(file, encodeModel(m));
    const err = await createArtifacts(file, path.join(dir, 'out')).then(() => null, (e: unknown) => e);
    tt.ok(err instanceof FedmanError, `${what}: a FedmanError`);
    tt.match((err as Error)?.message, re, what);
    if (namesModel) tt.match((err as Error)?.message, /broken/, `${what}: names the model`);
  }
});

// --- the CLI ----------------------------------------------------------------------------------------------------

function fedman(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['bin/fedman.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

t.test('fedman artifacts <broken.onnx>: exit 1, one error line, no stack trace, nothing written', async (tt) => {
  const broken = (f: (m: ModelProto) => void) => { const m = decodeModel(BASES.tiny); f(m); return encodeModel(m); };
  const cases: [string, Uint8Array, RegExp][] = [
    ['random bytes', Uint8Array.from({ length: 512 }, (_, i) => (i * 2654435761) >>> 24), /not a valid ONNX model/],
    ['truncated mlp', BASES.mlp.subarray(0, 5000), /not a valid ONNX model/],
    ['unknown op', broken((m) => { m.graph!.node![1]!.opType = 'FancyOp'; }), /FancyOp/],
    ['missing initializer', broken((m) => { m.graph!.initializer!.splice(2, 1); }), /fc1\.weight/],
    ['wrong dims', broken((m) => { m.graph!.initializer![4]!.dims = [3, 4, 5]; }), /fc2|Gemm/],
  ];
  const runOne = async ([what, bytes, re]: (typeof cases)[number]) => {
    const dir = path.join(tmp, `cli-${seq++}`);
    await fs.mkdir(dir);
    const file = path.join(dir, 'broken.onnx');
    await fs.writeFile(file, bytes);
    const r = await fedman(['artifacts', file, '--out', path.join(dir, 'out')]);
    tt.equal(r.code, 1, `${what}: exit code 1 (${r.err.trim().slice(0, 200)})`);
    tt.match(r.err, /^fedman: error: /m, `${what}: a fedman error`);
    tt.match(r.err, re, `${what}: names the problem`);
    tt.match(r.err, /broken/, `${what}: names the model`);
    tt.notMatch(r.err, /\n\s+at \S+ \(|internal error/, `${what}: no stack trace`);
    tt.same(await fs.readdir(dir), ['broken.onnx'], `${what}: no output or staging directory`);
  };
  // Two at a time: each child loads tsx and ONNX Runtime.
  for (let i = 0; i < cases.length; i += 2) await Promise.all(cases.slice(i, i + 2).map(runOne));
});

t.test('summary', async (tt) => {
  tt.ok(stats.converted > 0 && stats.refused > 0, 'both outcomes met');
  for (const [k, v] of [...stats.kinds].sort((a, b) => b[1] - a[1]).slice(0, process.env.FEDMAN_FUZZ_VERBOSE ? undefined : 12)) tt.comment(`  ${v} × ${k}`);
  tt.comment(`fuzz-onnx: ${stats.cases} models, ${stats.converted} converted, ${stats.refused} refused with a FedmanError, 0 other errors`);
  await record({
    scenario: 'malformed ONNX', fault: 'random, truncated, bit-flipped and structurally broken ONNX files given to the converter (and 5 to the CLI)',
    tried: stats.cases, survived: stats.cases, lost: 0,
    notes: `${stats.converted} converted, ${stats.refused} refused with a clear FedmanError, 0 crashes; seed ${SEED}`,
  });
});
