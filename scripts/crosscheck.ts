/**
 * Cross-checks fedman's FedAvg + MAN against an independent PyTorch implementation (GitHub issue #8).
 *
 *     npm run crosscheck                                   # the default targets below, 5 rounds
 *     npm run crosscheck -- --datasets mnist --rounds 5 --python /usr/bin/python3
 *     npm run crosscheck -- --datasets none --config my.config.json
 *
 * Targets: the reproduction's FedAvg + MAN run (scripts/reproduce/, `small` scale, ζ = 0.15, Dirichlet δ = 0.3,
 * seed 0) on each dataset, made replayable by another implementation (local batches in partition order,
 * `shuffle: false`, and --rounds rounds); and the CNN config of test/fixtures/crosscheck (clipping active).
 * fedman simulates each into runs/crosscheck/<name>/ (its global model kept after every round);
 * scripts/torch_fedavg_man.py (Debian's python3-torch) replays it from the recorded partition, participants and
 * initial weights, in float32 and in float64. Per round, the three global models are compared (max|Δ| / max|w|):
 * fedman vs PyTorch float32 is the check (bar 1e-4 after 5 rounds); PyTorch float32 vs float64 is how far
 * float32 rounding alone carries the run, so fedman vs float64 can be judged against it. Then PyTorch replays each
 * round on its own, from fedman's global model of the round before (one-round replays, float32 and float64), so
 * every round of fedman is checked without the rounding differences of earlier rounds compounding. The record goes to
 * docs/results/crosscheck/<name>.json, which `npm run reproduce -- --report-only` renders into docs/RESULTS.md, with
 * the verdict of crosscheck-report.ts `judge`. Exit status: 0 consistent, 1 fedman and PyTorch disagree beyond
 * float32 rounding, 2 usage or environment problem, 3 crash.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadModel } from '../src/onnx/model-io.js';
import { tensorToFloat32 } from '../src/onnx/tensor.js';
import { simulate } from '../src/sim/engine.js';
import { mergeConfig, readConfigFile } from '../src/config/index.js';
import type { SimConfig } from '../src/config/index.js';
import type { SimReport } from '../src/sim/report.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { FedmanError } from '../src/util/errors.js';
import { runIfMain } from './script-main.js';
import { defenseActive } from '../src/fl/defense/config.js';
import { CROSSCHECK_DIR, CROSSCHECK_TOLERANCE, judge, type CrosscheckRecord, type SideRound, type Verdict } from './crosscheck-report.js';
import { DATASETS, PAPER_ZETA, runConfig, variantName, type RunSpec } from './reproduce/grid.js';
import { gitInfo } from './reproduce/repo.js';
import { SCALES } from './reproduce/scales.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface TorchMeta {
  torch_version: string;
  mkldnn: 'on' | 'off';
  numpy_version: string;
  paramCount: number;
  seconds: number;
  perRound: Array<{ round: number; participants: number[]; trainLoss: number; testAccuracy: number; steps: number; clippedSteps: number }>;
}

/** Read once, at start-up: HEAD may move while the replays run. */
const FEDMAN_COMMIT = gitInfo();
const REPLAY_SCRIPT = path.join('scripts', 'torch_fedavg_man.py');
/** The package the replay script imports its code from. */
const REPLAY_PACKAGE = path.join('scripts', 'torchref');

/**
 * SHA-256 of the replay's Python sources: the script, then every .py of its package by name, each preceded by its
 * path, so that a change to any module the replay runs changes the recorded hash.
 */
export function replaySourcesSha256(repo = REPO): string {
  const pkg = readdirSync(path.join(repo, REPLAY_PACKAGE)).filter((n) => n.endsWith('.py')).sort();
  const hash = createHash('sha256');
  for (const rel of [REPLAY_SCRIPT, ...pkg.map((n) => path.join(REPLAY_PACKAGE, n))]) {
    hash.update(`${rel.split(path.sep).join('/')}\n`).update(readFileSync(path.join(repo, rel)));
  }
  return hash.digest('hex');
}

/** What scripts/torch_fedavg_man.py can replay; checked before fedman spends time on the run. */
export function replayProblems(c: SimConfig): string[] {
  const out: string[] = [];
  if (c.algorithm !== 'fedavg') out.push(`algorithm must be 'fedavg' (got '${c.algorithm}')`);
  const weighting = (c.algorithmOptions as { weighting?: string } | undefined)?.weighting ?? 'samples';
  if (weighting !== 'samples') out.push(`algorithmOptions.weighting must be 'samples' (got '${weighting}')`);
  if (c.shuffle !== false) out.push('shuffle must be false (the replay takes local batches in partition order)');
  if (c.normalize) out.push('normalize must be false');
  if (c.localSteps !== null && c.localSteps !== undefined) out.push('localSteps must be null (local epochs only)');
  if (c.manLayers !== 'auto') out.push("manLayers must be 'auto' (every hidden ReLU)");
  if (!['mnist', 'fashion-mnist'].includes(String(c.data).toLowerCase())) out.push(`data must be 'mnist' or 'fashion-mnist' (got '${c.data}')`);
  if (!['mlp', 'cnn-mnist'].includes(c.model)) out.push(`model must be 'mlp' or 'cnn-mnist' (got '${c.model}')`);
  if (defenseActive(c.robust, c.dp)) out.push('robust and dp must be off (the replay is plain FedAvg)');
  return out;
}

function checkPython(python: string): void {
  try {
    execFileSync(python, ['-c', 'import torch, numpy'], { stdio: 'ignore' });
  } catch {
    throw new FedmanError(`${python} cannot import torch and numpy: install Debian's python3-torch (apt-get install -y python3-torch) or pass --python`);
  }
}

/** max|a − b| (maxAbsDiff), max|b| (maxAbs) and their ratio (relative): the measure scripts/torch_fedavg_man.py prints. */
export function compareVectors(a: Float32Array, b: Float32Array): { maxAbsDiff: number; maxAbs: number; relative: number } {
  if (a.length !== b.length) throw new FedmanError(`cannot compare models of ${a.length} and ${b.length} parameters`);
  let maxAbsDiff = 0, maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i]! - b[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
  }
  return { maxAbsDiff, maxAbs, relative: maxAbs > 0 ? maxAbsDiff / maxAbs : maxAbsDiff };
}

/** A model's initializers, concatenated in initializer order: the layout of the replay's parameter files. */
export async function initializerVector(file: string): Promise<{ names: string[]; values: Float32Array }> {
  const inits = (await loadModel(file)).graph?.initializer ?? [];
  const parts = inits.map((t) => tensorToFloat32(t, `${file}: ${t.name ?? 'initializer'}`));
  const values = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { values.set(p, off); off += p.length; }
  return { names: inits.map((t) => t.name ?? ''), values };
}

/** Raw little-endian float32 values (the replay's .bin files). */
export async function readFloat32File(file: string): Promise<Float32Array> {
  const buf = await fs.readFile(file);
  const out = new Float32Array(buf.length >> 2);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/** Raw little-endian float32 bytes: the layout of the replay's .bin files and of its parameter hashes. */
export function float32LE(values: Float32Array): Buffer {
  const buf = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i]!, 4 * i);
  return buf;
}

/** The reproduction's FedAvg + MAN run (small scale, Dirichlet δ = 0.3, seed 0) made replayable. */
export function reproductionTarget(dataset: string, rounds: number): Target {
  const scale = SCALES.small!;
  const spec: RunSpec = { dataset, partition: 'dirichlet0.3', algorithm: 'fedavg', zeta: PAPER_ZETA, seed: 0, variant: variantName('fedavg', PAPER_ZETA), key: '' };
  spec.key = `${dataset}/${spec.partition}/${spec.variant}/seed${spec.seed}`;
  return {
    name: `${dataset}-${spec.partition}-${spec.variant}-seed${spec.seed}`,
    config: { ...runConfig(scale, spec, 0, 1), name: `crosscheck ${spec.key}`, shuffle: false, rounds, evalEvery: 1 },
    replays: { kind: 'reproduction', scale: scale.name, key: spec.key, changes: `shuffle: false, ${rounds} rounds` },
  };
}

export interface Target { name: string; config: SimConfig; replays: CrosscheckRecord['replays'] }

export async function crosscheck(target: Target, python: string, outDir: string, log: (s: string) => void): Promise<{ record: CrosscheckRecord; verdict: Verdict }> {
  const { name, config } = target;
  const R = config.rounds;
  const out = path.join(REPO, 'runs', 'crosscheck', name);
  await fs.rm(out, { recursive: true, force: true });

  // fedman's global model after each round: resume the same run one round further each time (a checkpoint resumes
  // bit-exactly, and `rounds` is not part of a run's identity).
  log(`${name}: fedman, ${R} rounds`);
  const t0 = performance.now();
  const fedmanRounds: Float32Array[] = [];
  let report: SimReport | null = null;
  for (let r = 1; r <= R; r++) {
    const result = await simulate({ ...config, rounds: r }, { out });
    report = result.report;
    fedmanRounds.push(result.global);
  }
  const fedmanSeconds = (performance.now() - t0) / 1000;
  // The replay lays its parameters out in forward.onnx's initializer order; fedman's flat vector must be in that
  // order for the element-wise comparison to mean anything: its exported model names them.
  const exported = await initializerVector(path.join(out, 'global.onnx'));
  const forward = await initializerVector(path.join(out, 'artifacts', 'forward.onnx'));
  if (exported.names.join('\n') !== forward.names.join('\n') || compareVectors(exported.values, fedmanRounds[R - 1]!).maxAbsDiff !== 0) {
    throw new FedmanError(`${path.relative(REPO, out)}: fedman's parameter vector is not laid out in artifacts/forward.onnx's initializer order; cannot compare`);
  }

  // fedman's round r − 1 model is where the one-round replays start round r.
  await writeFileAtomic(path.join(out, 'fedman.round0.bin'), float32LE(forward.values));
  for (let r = 1; r <= R; r++) await writeFileAtomic(path.join(out, `fedman.round${r}.bin`), float32LE(fedmanRounds[r - 1]!));

  const torchRun = (dtype: 'float32' | 'float64', oneRound: boolean): TorchMeta => {
    const stem = `torch-${dtype}${oneRound ? '-oneround' : ''}`;
    log(`${name}: PyTorch ${dtype}${oneRound ? ', each round from fedman\'s model of the round before' : ''}`);
    try {
      execFileSync(python, [
        path.join(REPO, REPLAY_SCRIPT),
        '--report', path.join(out, 'report.json'), '--onnx', path.join(out, 'artifacts', 'forward.onnx'),
        '--out', path.join(out, `${stem}.bin`), '--dtype', dtype, '--save-rounds',
        ...(oneRound ? ['--round-starts', path.join(out, 'fedman.round{r}.bin')] : []),
      ], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
    } catch (err) {
      throw new FedmanError(`scripts/torch_fedavg_man.py (${stem}) failed on ${path.relative(REPO, out)} (exit ${(err as { status?: number }).status ?? '?'}); its messages are above`);
    }
    return JSON.parse(readFileSync(path.join(out, `${stem}.bin.json`), 'utf8')) as TorchMeta;
  };
  const t32 = torchRun('float32', false);
  const t64 = torchRun('float64', false);
  torchRun('float32', true);
  torchRun('float64', true);

  const perRound: CrosscheckRecord['perRound'] = [];
  for (let r = 1; r <= R; r++) {
    const a32 = await readFloat32File(path.join(out, `torch-float32.bin.round${r}.bin`));
    const a64 = await readFloat32File(path.join(out, `torch-float64.bin.round${r}.bin`));
    const o32 = await readFloat32File(path.join(out, `torch-float32-oneround.bin.round${r}.bin`));
    const o64 = await readFloat32File(path.join(out, `torch-float64-oneround.bin.round${r}.bin`));
    const f = fedmanRounds[r - 1]!;
    const m = report!.rounds.find((x) => x.round === r);
    const side = (t: TorchMeta): SideRound => {
      const x = t.perRound.find((y) => y.round === r);
      return { trainLoss: x?.trainLoss ?? null, testAccuracy: x?.testAccuracy ?? null };
    };
    perRound.push({
      round: r,
      participants: m?.participants ?? [],
      fedmanVsTorch32: compareVectors(f, a32).relative,
      fedmanVsTorch64: compareVectors(f, a64).relative,
      torch32VsTorch64: compareVectors(a32, a64).relative,
      oneRound: {
        fedmanVsTorch32: compareVectors(f, o32).relative,
        fedmanVsTorch64: compareVectors(f, o64).relative,
        torch32VsTorch64: compareVectors(o32, o64).relative,
      },
      fedman: { trainLoss: m?.trainLoss ?? null, testAccuracy: m?.testAccuracy ?? null },
      torch32: side(t32),
      torch64: side(t64),
    });
  }
  const record: CrosscheckRecord = {
    format: 'fedman-crosscheck',
    version: 1,
    name,
    replays: target.replays,
    summary: {
      data: config.data, model: config.model, clients: config.clients, rounds: R, localEpochs: config.localEpochs ?? 0,
      batchSize: config.batchSize, lr: config.lr, clipNorm: config.clipNorm, man: config.man,
    },
    participations: perRound.reduce((n, p) => n + p.participants.length, 0),
    localSteps: t32.perRound.reduce((n, p) => n + p.steps, 0),
    clippedSteps: t32.perRound.reduce((n, p) => n + p.clippedSteps, 0),
    paramCount: t32.paramCount,
    tolerance: CROSSCHECK_TOLERANCE,
    perRound,
    torch: { version: t32.torch_version, numpy: t32.numpy_version, mkldnn: t32.mkldnn, seconds32: t32.seconds, seconds64: t64.seconds },
    fedman: { commit: FEDMAN_COMMIT, seconds: fedmanSeconds },
    replay: { script: REPLAY_SCRIPT.split(path.sep).join('/'), sha256: replaySourcesSha256() },
    generated: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  await writeFileAtomic(path.join(outDir, `${name}.json`), `${JSON.stringify(record, null, 1)}\n`);
  const last = perRound[perRound.length - 1]!;
  const verdict = judge(perRound);
  log(`${name}: after round ${R}: fedman vs PyTorch float32 ${last.fedmanVsTorch32.toExponential(2)} (bar ${CROSSCHECK_TOLERANCE}); `
    + `vs float64 ${last.fedmanVsTorch64.toExponential(2)}; PyTorch float32 vs float64 ${last.torch32VsTorch64.toExponential(2)}; `
    + `rounds within the bar of float64: fedman ${verdict.fedmanRoundsOnReference}, PyTorch float32 ${verdict.torchRoundsOnReference}; `
    + `one-round replays, worst round vs float64: fedman ${verdict.oneRound?.worstFedman.toExponential(2)}, PyTorch float32 ${verdict.oneRound?.worstTorch32.toExponential(2)} → `
    + (verdict.broken ?? (verdict.withinTolerance ? 'same model' : verdict.consistent ? 'parted by float32 rounding, consistent' : 'DIFFERENT')));
  return { record, verdict };
}

/** The CNN cross-check config of test/fixtures/crosscheck (clipping at 1 active in most steps). */
export const FIXTURE_CNN_CONFIG = path.join('test', 'fixtures', 'crosscheck', 'cnn.config.json');

async function configTarget(file: string): Promise<Target> {
  const config = mergeConfig(await readConfigFile(path.resolve(REPO, file)), {}, file);
  const rel = path.relative(REPO, path.resolve(REPO, file)).split(path.sep).join('/');
  // Named by the path, so two configs called the same in different folders keep apart.
  const name = rel.replace(/\.config\.json$|\.json$/, '').replace(/^test\/fixtures\/crosscheck\//, '').replace(/[^A-Za-z0-9._-]+/g, '_');
  return { name, config, replays: { kind: 'config', file: rel } };
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      datasets: { type: 'string' }, rounds: { type: 'string' }, config: { type: 'string', multiple: true }, python: { type: 'string' },
      'out-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: npm run crosscheck -- [--datasets ${DATASETS.join(',')}|none] [--rounds 5] [--config FILE ...]
                              [--out-dir DIR] [--python /usr/bin/python3]

Without --datasets or --config: the reproduction's FedAvg + MAN run on every dataset, and ${FIXTURE_CNN_CONFIG}.
--rounds applies to the reproduction runs (a --config file says its own). Records go to --out-dir (default
${CROSSCHECK_DIR}, which docs/RESULTS.md is generated from; use another directory for ad-hoc checks).
Exit status: 0 consistent, 1 fedman and PyTorch disagree beyond rounding, 2 usage or environment problem, 3 crash.
`);
    return 0;
  }
  const datasets = values.datasets === 'none' ? [] : values.datasets ? values.datasets.split(',').map((s) => s.trim()) : [...DATASETS];
  for (const d of datasets) if (!(DATASETS as readonly string[]).includes(d)) throw new FedmanError(`--datasets: unknown dataset '${d}' (use ${DATASETS.join(', ')} or none)`);
  const rounds = Number(values.rounds ?? 5);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > SCALES.small!.rounds) throw new FedmanError(`--rounds must be an integer from 1 to ${SCALES.small!.rounds}`);
  const configs = values.config ?? (values.datasets ? [] : [FIXTURE_CNN_CONFIG]);
  const targets = [...datasets.map((d) => reproductionTarget(d, rounds)), ...(await Promise.all(configs.map(configTarget)))];
  for (const t of targets) {
    const problems = replayProblems(t.config);
    if (problems.length) throw new FedmanError(`${t.replays.kind === 'config' ? t.replays.file : t.name}: the PyTorch replay cannot run this config: ${problems.join('; ')}`);
  }
  const outDir = path.resolve(REPO, values['out-dir'] ?? CROSSCHECK_DIR);
  // Debian's interpreter: a python3 earlier on PATH (pyenv) usually has no torch.
  const python = values.python ?? '/usr/bin/python3';
  checkPython(python);
  let failed = 0;
  for (const t of targets) if (!(await crosscheck(t, python, outDir, (s) => console.log(s))).verdict.passed) failed++;
  if (outDir === path.resolve(REPO, CROSSCHECK_DIR)) console.log('regenerate docs/RESULTS.md with: npm run reproduce -- --report-only');
  return failed ? 1 : 0;
}

runIfMain(import.meta.url, 'crosscheck', main, 3);
