/**
 * `fedman simulate --config <file.json> --out <dir> [overrides]`: a federated simulation (see src/sim/engine.ts).
 * Flags override config fields; rerunning with the same --out resumes from its checkpoint (without --config the
 * checkpoint's own config is reused, so `fedman simulate --out dir --rounds 1000` extends a run).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parsePartitionSpec, type PartitionConfig } from '../../data/partition/index.js';
import { DATASET_SPEC_HELP } from '../../data/registry.js';
import { ALGORITHMS, algorithmNames } from '../../fl/index.js';
import { parseManLayers } from '../../training/man.js';
import { readCheckpoint } from '../../sim/checkpoint.js';
import { mergeConfig, readConfigFile } from '../../config/index.js';
import { simulate } from '../../sim/engine.js';
import { FedmanError } from '../../util/errors.js';
import { device, DEVICE_HELP, int, num } from '../parse.js';

/** A partition spec as data/partition/spec.ts reads it ('iid', 'dirichlet-equal:0.3', 'classes:2', …) or a JSON object. */
export function parsePartition(spec: string): PartitionConfig {
  const s = spec.trim();
  let value: unknown = s;
  if (s.startsWith('{')) {
    try { value = JSON.parse(s); } catch {
      throw new InvalidArgumentError(`--partition: '${spec}' is not valid JSON`);
    }
  }
  try {
    return parsePartitionSpec(value, '--partition');
  } catch (err) {
    // commander reports an InvalidArgumentError as a bad flag (usage, exit status 2).
    if (err instanceof FedmanError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

function parseAlgoOpt(value: string, prev: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--algo-opt expects key=value, got '${value}'`);
  const key = value.slice(0, eq).trim();
  const raw = value.slice(eq + 1).trim();
  const v: unknown = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return { ...prev, [key]: v };
}

function parseWorkers(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const v = Number(value);
  if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`--workers expects 'auto' or an integer >= 0, got '${value}'`);
  return v;
}

const nullableInt = (flag: string) => (value: string): number | null => (value === 'none' || value === 'null' ? null : int(flag, 1)(value));

/** Flag (commander attribute name) → config field. */
const FLAG_FIELDS: Record<string, string> = {
  name: 'name', data: 'data', limit: 'limit', testLimit: 'testLimit', normalize: 'normalize', model: 'model', modelSeed: 'modelSeed',
  manLayers: 'manLayers', loss: 'loss', classAxis: 'classAxis', clients: 'clients', partition: 'partition', participation: 'participation', clientsPerRound: 'clientsPerRound',
  rounds: 'rounds', epochs: 'localEpochs', localSteps: 'localSteps', batchSize: 'batchSize', lr: 'lr', lrDecay: 'lrDecay',
  weightDecay: 'weightDecay', clipNorm: 'clipNorm', momentum: 'momentum', man: 'man', algorithm: 'algorithm', algoOpt: 'algorithmOptions',
  evalEvery: 'evalEvery', evalBatchSize: 'evalBatchSize', seed: 'seed', shuffle: 'shuffle', workers: 'workers', threads: 'threads', device: 'device', flatness: 'flatnessSamples', flatnessTrace: 'flatnessTrace',
  clientState: 'clientState',
};

/** Flag → field of the `aggregation` block. */
const AGGREGATION_FLAGS: Record<string, string> = {
  mode: 'mode', concurrency: 'concurrency', bufferSize: 'bufferSize', maxStaleness: 'maxStaleness', stalenessExponent: 'stalenessExponent', serverLr: 'serverLr',
};

/** `--fleet`: inline JSON, a JSON file, or 'none'. */
async function readFleetOption(value: string): Promise<unknown> {
  const v = value.trim();
  if (v === 'none' || v === 'null') return null;
  if (!v.startsWith('{')) return readConfigFile(v);
  try { return JSON.parse(v); } catch { throw new FedmanError(`--fleet: '${value}' is not valid JSON`); }
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('federated simulation: virtual clients, an FL algorithm (optionally with MAN), resumable checkpoints, report + plots')
    .requiredOption('--out <dir>', 'output directory (report.json, metrics.csv, global.onnx, plots, checkpoint); rerun to resume')
    .option('--config <file.json>', 'simulation config (JSON; fields as in report.json\'s "config"); flags override it')
    .option('--name <label>', 'label of this run in reports and `fedman compare`')
    .option('--data <spec>', `dataset:\n${DATASET_SPEC_HELP}`)
    .option('--limit <n>', "use only the first N training samples ('none' = all)", nullableInt('--limit'))
    .option('--test-limit <n>', "use only the first N test samples ('none' = as --limit)", nullableInt('--test-limit'))
    .option('--normalize', 'normalise inputs with the dataset\'s standard channel statistics (then evaluate global.onnx with the same normalisation)')
    .option('--model <zoo|file.onnx>', 'zoo model name or .onnx file')
    .option('--model-seed <n>', 'seed of the initial weights (default: --seed)', int('--model-seed'))
    .option('--man-layers <spec>', "MAN layers: auto, none, or comma-separated tensor names", (v: string) => parseManLayers(v))
    .option('--loss <kind>', 'training loss: cross-entropy, mse, bce, l2, l1 or ctc (as fedman artifacts --loss)')
    .option('--class-axis <n>', "the output's class axis for cross-entropy and ctc", (v: string) => num('--class-axis', { integer: true, min: -8 })(v))
    .option('--clients <n>', 'number of clients N', int('--clients', 1))
    .option('--partition <spec>', 'iid | dirichlet-equal:<δ> | dirichlet:<δ> | classes:<k> | shards:<n>, then optional ,field=value (e.g. dirichlet:0.5,minSize=5) | JSON', parsePartition)
    .option('--participation <p>', 'each client joins a round with probability p', num('--participation', { min: 0, max: 1 }))
    .option('--clients-per-round <n>', "a fixed number of clients per round ('none' = use --participation)", nullableInt('--clients-per-round'))
    .option('--rounds <n>', 'communication rounds', int('--rounds', 1))
    .option('--epochs <n>', 'local epochs', int('--epochs', 1))
    .option('--local-steps <n>', "local steps instead of epochs ('none' = use --epochs)", nullableInt('--local-steps'))
    .option('--batch-size <n>', 'local batch size', int('--batch-size', 1))
    .option('--lr <x>', 'client learning rate', num('--lr', { min: 0 }))
    .option('--lr-decay <x>', 'lr multiplier per round', num('--lr-decay', { min: 0, max: 1 }))
    .option('--weight-decay <x>', 'weight decay', num('--weight-decay', { min: 0 }))
    .option('--clip-norm <x>', 'clip the loss gradient to this L2 norm (0 = off)', num('--clip-norm', { min: 0 }))
    .option('--momentum <x>', 'client SGD momentum', num('--momentum', { min: 0, max: 1 }))
    .option('--man <zeta>', 'MAN strength ζ (0 = the plain algorithm)', num('--man', { min: 0 }))
    .option('--algorithm <name>', `FL algorithm:\n${algorithmNames().map((a) => `${a.padEnd(11)} ${ALGORITHMS[a]!.doc}`).join('\n')}`)
    .option('--algo-opt <key=value>', 'algorithm option, repeatable (e.g. --algo-opt alpha=0.1)', parseAlgoOpt)
    .option('--eval-every <k>', 'evaluate the global model every k rounds (and after the last)', int('--eval-every', 1))
    .option('--eval-batch-size <n>', 'evaluation batch size', int('--eval-batch-size', 1))
    .option('--seed <n>', 'seed (partition, participation, local shuffling, initial weights)', int('--seed'))
    .option('--no-shuffle', 'train each client on its samples in partition order (for cross-checks)')
    .option('--workers <n|auto>', 'worker threads (auto = min(cores, clients per round); 0 = main thread)', parseWorkers)
    .option('--threads <n>', 'ONNX Runtime intra-op threads per worker', int('--threads'))
    .option('--device <name>', DEVICE_HELP, device())
    .option('--flatness <samples>', 'measure the final global model\'s Hessian top eigenvalue on this many training samples (0 = off)', int('--flatness'))
    .option('--flatness-trace <k>', 'also estimate the Hessian trace with k Hutchinson vectors', int('--flatness-trace'))
    .option('--client-state <where>', 'per-client algorithm state: disk or memory')
    .option('--mode <sync|async>', 'aggregation: synchronous rounds or asynchronous buffered aggregation (then --rounds counts versions)')
    .option('--concurrency <n>', 'async: clients training at once', int('--concurrency', 1))
    .option('--buffer-size <k>', 'async: accepted updates per published version', int('--buffer-size', 1))
    .option('--max-staleness <s>', "async: drop updates more than s versions old ('none' = never)", (v: string) => (v === 'none' || v === 'null' ? null : int('--max-staleness', 0)(v)))
    .option('--staleness-exponent <a>', 'async: an update of staleness s weighs (1 + s)^-a', num('--staleness-exponent', { min: 0 }))
    .option('--server-lr <x>', 'async: server learning rate on the buffered mean delta', num('--server-lr', { min: 0 }))
    .option('--fleet <json|file.json>', 'heterogeneous clients on a virtual clock: the config\'s fleet block as JSON or a file holding it (\'none\' = off)')
    .option('--fleet-trace <file.json>', 'follow a fleet trace file (speeds, bandwidths, availability windows per client)')
    .option('--print-config', 'print the resolved config (every default filled in) and exit')
    .option('--quiet', 'no per-round progress lines')
    .option('--json', 'print the final summary as JSON')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const out = o.out as string;
      let base: Record<string, unknown> = {};
      let where = 'config';
      if (o.config) {
        base = await readConfigFile(o.config as string);
        where = `config '${o.config}'`;
      } else {
        const ckpt = await readCheckpoint(out);
        if (ckpt) { base = ckpt.config as unknown as Record<string, unknown>; where = `config of the checkpoint in '${out}'`; }
      }
      const overrides: Record<string, unknown> = {};
      for (const [flag, field] of Object.entries(FLAG_FIELDS)) {
        if (cmd.getOptionValueSource(flag) === 'cli') overrides[field] = o[flag];
      }
      const aggregation: Record<string, unknown> = {};
      for (const [flag, field] of Object.entries(AGGREGATION_FLAGS)) if (cmd.getOptionValueSource(flag) === 'cli') aggregation[field] = o[flag];
      if (Object.keys(aggregation).length) overrides.aggregation = aggregation;
      if (cmd.getOptionValueSource('fleet') === 'cli') overrides.fleet = await readFleetOption(o.fleet as string);
      if (o.fleetTrace) overrides.fleet = { ...((overrides.fleet ?? base.fleet ?? {}) as object), trace: o.fleetTrace };
      const config = mergeConfig(base, overrides, where);
      if (o.printConfig) {
        process.stdout.write(JSON.stringify(config, null, 2) + '\n');
        return;
      }
      const log = o.quiet || o.json ? undefined : (line: string) => process.stderr.write(line + '\n');
      const r = await simulate(config, { out, log });
      const f = r.report.final;
      if (o.json) {
        process.stdout.write(JSON.stringify({ out: r.out, final: f, completedRounds: r.report.status.completedRounds, wallSeconds: r.report.wallSeconds }, null, 2) + '\n');
      } else if (f) {
        const acc = f.testAccuracy === null ? 'n/a' : `${(100 * f.testAccuracy).toFixed(2)}%`;
        const best = f.bestAccuracy === null ? '' : ` (best ${(100 * f.bestAccuracy).toFixed(2)}% at round ${f.bestRound})`;
        process.stdout.write(`final test accuracy ${acc}${best} after ${f.round} rounds; outputs in ${r.out}\n`);
      }
    });
}
