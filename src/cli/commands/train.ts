import type { Command } from 'commander';
import { Trainer } from '../../runtime/trainer.js';
import { loadTrainer } from '../../runtime/load-trainer.js';
import { TRAINER_ENGINES, type TrainerEngine } from '../../runtime/trainer-interface.js';
import { FedmanError } from '../../util/errors.js';
import { loadDataset, DATASET_SPEC_HELP } from '../../data/registry.js';
import { createProgress } from '../progress.js';
import { device, DEVICE_HELP, int, num } from '../parse.js';

export interface EpochReport {
  epoch: number; loss: number; ce: number; man: number; trainAccuracy: number;
  testLoss: number; testAccuracy: number; samplesPerSecond: number; seconds: number;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train artifacts on a dataset (centralised), optionally exporting the trained inference model')
    .requiredOption('--artifacts <dir>', 'artifacts directory from `fedman artifacts`')
    .option('--data <spec>', `dataset:\n${DATASET_SPEC_HELP}`, 'mnist')
    .option('--epochs <n>', 'epochs', int('--epochs', 1), 1)
    .option('--batch-size <n>', 'batch size', int('--batch-size', 1), 50)
    .option('--lr <x>', 'learning rate', num('--lr', { min: 0 }), 0.05)
    .option('--man <zeta>', 'MAN strength ζ (0 = baseline)', num('--man', { min: 0 }), 0)
    .option('--weight-decay <x>', 'weight decay', num('--weight-decay', { min: 0 }), 1e-3)
    .option('--momentum <x>', 'SGD momentum', num('--momentum', { min: 0, max: 1 }))
    .option('--clip-norm <x>', 'clip the loss gradient to this L2 norm (0 = off)', num('--clip-norm', { min: 0 }), 10)
    .option('--seed <n>', 'shuffle seed', int('--seed'), 0)
    .option('--no-shuffle', 'train in dataset order')
    .option('--limit <n>', 'use only the first N training (and test) samples', int('--limit', 1))
    .option('--threads <n>', 'ONNX Runtime intra-op threads (0 = all cores)', int('--threads'), 0)
    .option('--device <name>', DEVICE_HELP, device(), 'cpu')
    .option('--resume <file>', 'load a checkpoint before training')
    .option('--checkpoint <file>', 'save a checkpoint after every epoch')
    .option('--export <model.onnx>', 'write the trained inference model')
    .option('--engine <name>', `training engine: ${TRAINER_ENGINES.join(' or ')} (ORT's TrainingSession; needs artifacts built with --format ort-training)`, 'fedman')
    .option('--json', 'print one JSON object with per-epoch metrics instead of text')
    .action(async (o, cmd: Command) => {
      if (!TRAINER_ENGINES.includes(o.engine)) throw new FedmanError(`--engine: expected one of ${TRAINER_ENGINES.join(', ')}, got '${o.engine}'`);
      if (o.engine !== 'fedman' && (o.resume || o.checkpoint || o.export)) {
        throw new FedmanError(`--resume, --checkpoint and --export need --engine fedman (ORT's TrainingSession API cannot save or export)`);
      }
      const trainer = await loadTrainer(o.artifacts, { threads: o.threads, engine: o.engine as TrainerEngine, device: o.device });
      const data = await loadDataset(o.data, { limit: o.limit });
      // ORT's TrainingSession bakes the learning rate into its optimizer graph: only pass it when asked to.
      const lr = o.engine === 'fedman' || cmd.getOptionValueSource('lr') === 'cli' ? o.lr : undefined;
      trainer.setHypers({ lr, man_zeta: o.man, weight_decay: o.weightDecay, clip_norm: o.clipNorm });
      if (o.momentum !== undefined) trainer.setHyper('momentum', o.momentum);
      const fedmanTrainer = trainer instanceof Trainer ? trainer : undefined;
      if (o.resume) await fedmanTrainer!.loadCheckpoint(o.resume);
      const progress = createProgress(!o.json && process.stderr.isTTY === true);
      const epochs: EpochReport[] = [];
      for (let e = 1; e <= o.epochs; e++) {
        progress.start(Math.ceil(data.train.n / o.batchSize), `epoch ${e}/${o.epochs}`);
        const m = await trainer.trainEpoch(data.train, {
          batchSize: o.batchSize,
          seed: o.shuffle ? o.seed + e - 1 : null,
          onStep: (i, _total, s) => { if (i % 10 === 0) progress.update(i, { loss: s.loss }); },
        });
        progress.stop();
        const t = await trainer.evaluate(data.test);
        const report: EpochReport = {
          epoch: e, loss: m.loss, ce: m.ce, man: m.man, trainAccuracy: m.accuracy,
          testLoss: t.loss, testAccuracy: t.accuracy, samplesPerSecond: m.samplesPerSecond, seconds: m.seconds,
        };
        epochs.push(report);
        if (!o.json) {
          console.log(`epoch ${e}: loss ${m.loss.toFixed(4)} (ce ${m.ce.toFixed(4)}, man ${m.man.toFixed(5)})  train acc ${(100 * m.accuracy).toFixed(2)}%  `
            + `test acc ${(100 * t.accuracy).toFixed(2)}%  ${m.samplesPerSecond.toFixed(0)} samples/s`);
        }
        if (o.checkpoint) await fedmanTrainer!.saveCheckpoint(o.checkpoint);
      }
      if (o.export) {
        await fedmanTrainer!.exportInference(o.export);
        if (!o.json) console.log(`exported ${o.export}`);
      }
      if (o.json) {
        const config = {
          artifacts: o.artifacts, data: o.data, model: trainer.manifest.model, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr,
          man: o.man, weightDecay: o.weightDecay, momentum: o.momentum ?? 0, clipNorm: o.clipNorm, seed: o.shuffle ? o.seed : null,
          limit: o.limit ?? null, threads: o.threads, engine: o.engine, device: o.device,
        };
        process.stdout.write(JSON.stringify({ config, epochs }, null, 2) + '\n');
      }
      await trainer.release();
    });
}
