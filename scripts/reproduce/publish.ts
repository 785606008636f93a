import { promises as fs } from 'node:fs';
import path from 'node:path';
import { prettyJson, type SimReport } from '../../src/sim/report.js';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import { exists, readJsonIf } from './files.js';

/** The report as stored under docs/results: the partition's index lists replaced by the client sizes. */
function compactReport(r: SimReport): unknown {
  const sizes = r.partition.clients.map((c) => c.length);
  return {
    ...r,
    partition: {
      scheme: r.partition.scheme,
      params: r.partition.params,
      clients: [],
      clientSizes: sizes,
      note: 'index lists omitted to keep docs/results small; the partition is a deterministic function of the config (seed), and the full report is in the scratch directory',
    },
  };
}

const SMALL_FILES = ['metrics.csv', 'accuracy.svg', 'loss.svg'];

/** Copies a run's small outputs from its scratch directory to its results directory; null before its first report. */
export async function publish(scratch: string, dest: string): Promise<SimReport | null> {
  const r = await readJsonIf<SimReport>(path.join(scratch, 'report.json'));
  if (!r) return null;
  await fs.mkdir(dest, { recursive: true });
  await writeFileAtomic(path.join(dest, 'report.json'), prettyJson(compactReport(r)) + '\n');
  for (const f of SMALL_FILES) {
    if (await exists(path.join(scratch, f))) await fs.copyFile(path.join(scratch, f), path.join(dest, f));
  }
  return r;
}
