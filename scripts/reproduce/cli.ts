/**
 * Reproduces the MAN paper's experiments with fedman (GitHub issue #8) and writes docs/RESULTS.md.
 *
 *     npm run reproduce -- --scale small                 # run (or resume) every run, then write docs/RESULTS.md
 *     npm run reproduce -- --scale smoke                 # plumbing check: the whole grid in a few minutes
 *     npm run reproduce -- --report-only                 # only regenerate docs/RESULTS.md from the reports there
 *     npm run reproduce -- --scale small --dry-run       # list the runs, what is done, the estimated cost
 *     nohup npm run reproduce -- --scale small > runs/reproduce-small.log 2>&1 &     # in the background
 *
 * The grid is in grid.ts, the scales in scales.ts, the runner in runner.ts, the flatness measurement in
 * flatness.ts, and RESULTS.md's generation in results.ts (its wording in results.template.md).
 */
import os from 'node:os';
import path from 'node:path';
import { runIfMain } from '../script-main.js';
import { dryRun } from './dry-run.js';
import { HELP, parseOptions } from './options.js';
import { REPO } from './repo.js';
import { writeResultsMd } from './results.js';
import { runAll } from './runner.js';

async function main(argv: string[]): Promise<number> {
  const { o, reportOnly, dry, nice, help } = parseOptions(argv);
  if (help) { process.stdout.write(HELP); return 0; }
  if (reportOnly) {
    await writeResultsMd(o);
    console.log(`wrote ${path.relative(REPO, o.resultsMd)} from ${path.relative(REPO, o.results)}`);
    return 0;
  }
  if (dry) { await dryRun(o); return 0; }
  if (nice > 0) {
    // A background job on a shared machine: yield the cores to interactive work (worker threads inherit it).
    try { os.setPriority(Math.min(19, os.getPriority() + nice)); } catch { /* not permitted: run at normal priority */ }
  }
  return runAll(o);
}

runIfMain(import.meta.url, 'reproduce', main);
