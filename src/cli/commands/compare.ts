/** `fedman compare <dir>...`: final/best accuracy, final loss, rounds and time per round of simulation runs. */
import type { Command } from 'commander';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { compareSvg, compareTable, hasClock, loadRuns } from '../../sim/compare.js';
import { num } from '../parse.js';

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('compare simulation runs side by side (table + combined accuracy plots, against rounds and against simulated hours)')
    .argument('<dirs...>', 'output directories of `fedman simulate`')
    .option('--svg <file>', 'write a combined test-accuracy plot', 'compare-accuracy.svg')
    .option('--no-svg', 'do not write the plot')
    .option('--json', 'print the summaries as JSON instead of a table')
    .option('--target <accuracy>', 'also report the first round (and simulated hours) each run reached this test accuracy (0..1)', num('--target', { min: 0, max: 1 }))
    .action(async (dirs: string[], o: { svg: string | false; json?: boolean; target?: number }) => {
      const runs = await loadRuns(dirs, o.target);
      if (o.json) process.stdout.write(JSON.stringify(runs.map((r) => r.summary), null, 2) + '\n');
      else process.stdout.write(compareTable(runs.map((r) => r.summary), o.target));
      if (o.svg) {
        await writeFileAtomic(o.svg, compareSvg(runs));
        if (!o.json) process.stdout.write(`wrote ${o.svg}\n`);
        if (hasClock(runs)) {
          // Runs on a virtual clock: the same curves against simulated hours, next to the first plot.
          const hours = o.svg.replace(/(\.svg)?$/i, '-hours.svg');
          await writeFileAtomic(hours, compareSvg(runs, 'simHours'));
          if (!o.json) process.stdout.write(`wrote ${hours}\n`);
        }
      }
    });
}
