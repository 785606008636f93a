import path from 'node:path';
import type { Command } from 'commander';
import { createArtifacts } from '../../training/artifacts.js';
import { parseManLayers } from '../../training/man.js';
import { parseLoss } from '../../training/loss.js';
import { getOptimizer } from '../../training/optimizers/index.js';
import { ZOO, zooNames } from '../../../models/index.js';
import { int, num } from '../parse.js';
import { FedmanError } from '../../util/errors.js';
import { BATCH_NORM_MODES, type BatchNormMode } from '../../training/buffers.js';
import { parseInputShape } from '../../onnx/input-shape.js';

function parseBatchNorm(s: string): BatchNormMode {
  if ((BATCH_NORM_MODES as readonly string[]).includes(s)) return s as BatchNormMode;
  throw new FedmanError(`--batch-norm: expected ${BATCH_NORM_MODES.join(' or ')}, got '${s}'`);
}

/** Where artifacts go without --out: artifacts/<zoo name, or the .onnx file's name>. */
export function defaultOutDir(model: string): string {
  return path.join('artifacts', ZOO[model] ? model : path.basename(model, '.onnx'));
}

export function registerArtifacts(program: Command): void {
  program
    .command('artifacts')
    .description(`build training artifacts (train-step, eval and forward graphs) from an ONNX model or a zoo model (${zooNames().join(', ')})`)
    .argument('<model>', 'path to a .onnx model or a zoo name')
    .option('--out <dir>', 'output directory, replaced atomically (default: artifacts/<model name>)')
    .option('--man-layers <spec>', "activations MAN penalises: 'auto', 'none' or comma-separated tensor names", 'auto')
    .option('--optimizer <kind>', 'sgd (with momentum), adam or adamw', 'sgd')
    .option('--loss <kind>', 'cross-entropy (over --class-axis: per pixel, per position), mse (one-hot labels), bce (sigmoid scores), l2 or l1 (target tensors), ctc (sequences); a final Softmax/Sigmoid is trained through', 'cross-entropy')
    .option('--class-axis <n>', "the output's class axis for cross-entropy (default 1) and ctc (default the last)", num('--class-axis', { integer: true, min: -8 }))
    .option('--logits <name>', 'model output to train on (default: the first output)')
    .option('--freeze <patterns>', 'comma-separated regular expressions; matching parameters are frozen')
    .option('--input-shape <dims>', "sizes of the input's dims after the batch, e.g. 3,224,224 (or <input>:3,224,224): fixes symbolic spatial sizes")
    .option('--batch-norm <mode>', "BatchNormalization in training: 'train' (batch statistics, running stats updated) or 'frozen'", 'train')
    .option('--seed <n>', 'initialisation seed for zoo models and replaced heads', int('--seed'), 0)
    .option('--classes <n>', 'number of classes: for zoo models; for a .onnx model, replaces its classification head', int('--classes', 2))
    .option('--format <kind>', "fedman, or ort-training to also write ONNX Runtime's on-device-training artifacts into <out>/ort-training/ (docs/ort-training.md)", 'fedman')
    .option('--lr <x>', 'ort-training: learning rate baked into optimizer_model.onnx (default 0.01)', num('--lr', { min: 0 }))
    .option('--weight-decay <x>', 'ort-training with --optimizer adamw: decoupled weight decay baked into optimizer_model.onnx', num('--weight-decay', { min: 0 }))
    .option('--ort-checkpoint-version <n>', 'ort-training: checkpoint format, 2 for ORT 1.18-1.19 (default) or 1 for ORT 1.17', int('--ort-checkpoint-version', 1))
    .option('--webgpu', 'also write the WebGPU lowering of the train step and eval graphs (browsers training on the GPU need it; Node lowers at load time)')
    .option('--json', 'print the manifest as JSON')
    .action(async (model: string, o) => {
      getOptimizer(o.optimizer);
      if (o.format !== 'fedman' && o.format !== 'ort-training') throw new FedmanError(`--format: expected fedman or ort-training, got '${o.format}'`);
      if (o.format !== 'ort-training' && (o.lr !== undefined || o.weightDecay !== undefined || o.ortCheckpointVersion !== undefined)) {
        throw new FedmanError('--lr, --weight-decay and --ort-checkpoint-version apply to ORT training artifacts only; add --format ort-training (fedman graphs take lr and weight decay at run time)');
      }
      const out: string = o.out ?? defaultOutDir(model);
      const manifest = await createArtifacts(model, out, {
        optimizer: o.optimizer,
        loss: parseLoss(o.loss),
        classAxis: o.classAxis,
        manLayers: parseManLayers(o.manLayers),
        logits: o.logits,
        freeze: o.freeze ? String(o.freeze).split(',').map((s: string) => new RegExp(s)) : undefined,
        batchNorm: parseBatchNorm(o.batchNorm),
        inputShape: o.inputShape ? parseInputShape(o.inputShape) : undefined,
        seed: o.seed,
        numClasses: o.classes,
        format: o.format,
        webgpu: o.webgpu === true,
        ortTraining: { lr: o.lr, weightDecay: o.weightDecay, checkpointVersion: o.ortCheckpointVersion },
      });
      if (o.json) {
        process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
      } else {
        console.log(`wrote ${out}: model ${manifest.model}, ${manifest.paramCount.toLocaleString('en-US')} parameters in ${manifest.params.length} tensors, optimizer ${manifest.optimizer}`);
        console.log(`MAN layers (${manifest.manLayers.length}): ${manifest.manLayers.join(', ') || 'none'}`);
        if (manifest.webgpu) console.log(`WebGPU graphs: ${manifest.webgpu.trainStep}, ${manifest.webgpu.eval}`);
        const ort = manifest.ortTraining;
        if (ort) console.log(`ORT training artifacts in ${ort.dir}/: ${ort.optimizer === 'adamw' ? 'AdamW' : 'SGD'}, lr ${ort.learningRate} (runtime lr 0.001 x ${ort.lrScale}), user inputs ${ort.trainingInputs.join(', ')}`);
      }
    });
}
