import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FedmanError } from '../src/util/errors.js';

/**
 * Runs a script's `main` when its module is the process's entry point (so tests can import the module). A user
 * mistake (FedmanError, a bad flag) prints one line and exits 2; anything else prints its stack and exits `crashCode`.
 */
export function runIfMain(moduleUrl: string, name: string, main: (argv: string[]) => Promise<number>, crashCode = 1): void {
  if (!process.argv[1] || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
    if (err instanceof FedmanError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${name}: ${(err as Error).message}`);
      process.exitCode = 2;
    } else {
      console.error(err);
      process.exitCode = crashCode;
    }
  });
}
