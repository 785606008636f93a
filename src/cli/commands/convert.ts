import type { Command } from 'commander';
import { loadModel, saveModel } from '../../onnx/model-io.js';
import { convertModel } from '../../training/convert.js';
import { parseInputShape } from '../../onnx/input-shape.js';
import { FedmanError } from '../../util/errors.js';

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('rewrite an ONNX model the way fedman takes it: opset 7-16 upgraded to 17, Constant-node weights as initializers, --input-shape applied')
    .argument('<in>', 'the .onnx model (external-data weights are read too)')
    .argument('<out>', 'where to write the converted model (written atomically; large weights go to <out>.data)')
    .option('--input-shape <dims>', "sizes of the input's dims after the batch, e.g. 3,224,224 (or <input>:3,224,224)")
    .option('--json', 'print what was done as JSON')
    .action(async (input: string, out: string, o) => {
      if (!out.endsWith('.onnx')) throw new FedmanError(`convert: the output '${out}' must be a .onnx file`);
      const { model, report } = await convertModel(await loadModel(input), { inputShape: o.inputShape ? parseInputShape(o.inputShape) : undefined }, `model '${input}'`);
      await saveModel(out, model);
      if (o.json) {
        process.stdout.write(JSON.stringify({ in: input, out, ...report }) + '\n');
        return;
      }
      const counts = new Map<string, number>();
      for (const r of report.rewritten) counts.set(r, (counts.get(r) ?? 0) + 1);
      const rewrites = [...counts].map(([k, n]) => (n > 1 ? `${k} x${n}` : k)).join(', ');
      console.log(`wrote ${out}: opset ${report.fromOpset} -> ${report.toOpset}${rewrites ? ` (rewrote ${rewrites})` : ''}`);
      if (report.lifted.length) console.log(`Constant-node weights made initializers (${report.lifted.length}): ${report.lifted.join(', ')}`);
    });
}
