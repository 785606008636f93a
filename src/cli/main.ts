/** The `fedman` command line. User mistakes print one clear line (no stack trace) and exit non-zero. */
import { Command, CommanderError } from 'commander';
import { FedmanError } from '../util/errors.js';
import { registerArtifacts } from './commands/artifacts.js';
import { registerConvert } from './commands/convert.js';
import { registerTrain } from './commands/train.js';
import { registerEval } from './commands/eval.js';
import { registerSimulate } from './commands/simulate.js';
import { registerCompare } from './commands/compare.js';
import { registerDemo } from './commands/demo.js';
import { registerFlatness } from './commands/flatness.js';
import { registerServe } from './commands/serve.js';
import { registerClient } from './commands/client.js';
import { registerDoctor } from './commands/doctor.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('fedman')
    .description('flatness-aware federated learning (MAN) on ONNX Runtime')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerArtifacts(program);
  registerConvert(program);
  registerTrain(program);
  registerEval(program);
  registerSimulate(program);
  registerCompare(program);
  registerDemo(program);
  registerFlatness(program);
  registerServe(program);
  registerClient(program);
  registerDoctor(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof FedmanError) {
      process.stderr.write(`fedman: error: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`fedman: internal error (please report): ${(err as Error)?.stack ?? String(err)}\n`);
    return 70;
  }
}

const isEntry = process.argv[1] && /(?:main\.ts|fedman(?:\.js)?)$/.test(process.argv[1]);
if (isEntry) process.exitCode = await main(process.argv);
