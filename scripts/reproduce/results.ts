/** Generating docs/RESULTS.md and its combined plots from the reports under the results directory. */
import path from 'node:path';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import { loadCrosschecks } from '../crosscheck-report.js';
import { PAPER_ZETA } from './grid.js';
import { DATASET_LABEL, PARTITION_LABEL } from './labels.js';
import type { Options } from './options.js';
import { settingSvg } from './plots.js';
import { renderResults } from './render.js';
import { selectRuns, walkReports } from './runs.js';

/** RESULTS.md and the combined per-setting plots (path → content), generated from the reports under o.results. */
export async function buildResults(o: Options): Promise<{ md: string; files: Map<string, string> }> {
  const sel = selectRuns(o, await walkReports(o.results));
  const runs = sel.runs;
  const md = renderResults(o, sel, await loadCrosschecks(path.join(o.results, 'crosscheck')));
  const files = new Map<string, string>();
  for (const dataset of new Set(runs.map((r) => r.spec.dataset))) {
    for (const partition of new Set(runs.filter((r) => r.spec.dataset === dataset).map((r) => r.spec.partition))) {
      const here = runs.filter((r) => r.spec.dataset === dataset && r.spec.partition === partition && r.finished);
      const setting = `${DATASET_LABEL[dataset] ?? dataset}, ${PARTITION_LABEL[partition] ?? partition}`;
      files.set(path.join(o.results, dataset, partition, 'accuracy.svg'),
        settingSvg(here, `${setting}: test accuracy (mean over seeds)`, (v) => v.zeta === 0 || v.zeta === PAPER_ZETA));
      files.set(path.join(o.results, dataset, partition, 'zeta-sweep.svg'),
        settingSvg(here, `${setting}: FedAvg, ζ sweep`, (v) => v.algorithm === 'fedavg'));
    }
  }
  return { md, files };
}

export async function writeResultsMd(o: Options): Promise<void> {
  const { md, files } = await buildResults(o);
  await writeFileAtomic(o.resultsMd, md);
  for (const [file, text] of files) await writeFileAtomic(file, text);
}
