import type { Command } from 'commander';
import { loadDataset, DATASET_SPEC_HELP } from '../../data/registry.js';
import { evaluateModel, loadPredictor } from '../../runtime/inference.js';
import { device, DEVICE_HELP, int } from '../parse.js';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate an inference model (.onnx) on a dataset\'s test split')
    .requiredOption('--model <file>', 'ONNX classifier (e.g. from `fedman train --export`)')
    .option('--data <spec>', `dataset:\n${DATASET_SPEC_HELP}`, 'mnist')
    .option('--limit <n>', 'use only the first N test samples', int('--limit', 1))
    .option('--batch-size <n>', 'batch size', int('--batch-size', 1), 500)
    .option('--device <name>', DEVICE_HELP, device(), 'cpu')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const data = await loadDataset(o.data, { limit: o.limit });
      const p = await loadPredictor(o.model, { device: o.device });
      const r = await evaluateModel(p, data.test, o.batchSize);
      if (o.json) process.stdout.write(JSON.stringify({ model: o.model, data: o.data, device: o.device, ...r }) + '\n');
      else console.log(`${o.model} on ${data.test.name}: accuracy ${(100 * r.accuracy).toFixed(2)}%, loss ${r.loss.toFixed(4)} (${r.samples} samples)`);
    });
}
