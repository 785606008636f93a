/** The reports under docs/results that RESULTS.md is generated from. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SimReport } from '../../src/sim/report.js';
import { readJsonIf } from './files.js';
import type { FlatnessRecord } from './flatness.js';
import { detectScale, parseVariant, type RunSpec } from './grid.js';
import type { Options } from './options.js';

export interface LoadedRun {
  spec: RunSpec;
  report: SimReport;
  flat: FlatnessRecord | null;
  scale: string | null;
  finished: boolean;
}

/** The reports of one scale, the scale's name, and how many reports of other scales were left out. */
export interface Selection { runs: LoadedRun[]; scaleName: string; others: Map<string, number> }

export async function walkReports(results: string): Promise<LoadedRun[]> {
  const out: LoadedRun[] = [];
  const ls = async (d: string) => (await fs.readdir(d, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const dataset of await ls(results)) {
    for (const partition of await ls(path.join(results, dataset))) {
      for (const variant of await ls(path.join(results, dataset, partition))) {
        let parsed: { algorithm: string; zeta: number };
        try { parsed = parseVariant(variant); } catch { continue; }
        for (const seedDir of await ls(path.join(results, dataset, partition, variant))) {
          const m = /^seed(\d+)$/.exec(seedDir);
          if (!m) continue;
          const dir = path.join(results, dataset, partition, variant, seedDir);
          const report = await readJsonIf<SimReport>(path.join(dir, 'report.json'));
          if (!report || report.format !== 'fedman-sim-report') continue;
          const spec: RunSpec = { dataset, partition, ...parsed, seed: Number(m[1]), variant, key: `${dataset}/${partition}/${variant}/${seedDir}` };
          out.push({ spec, report, flat: await readJsonIf<FlatnessRecord>(path.join(dir, 'flatness.json')), scale: detectScale(report.config, spec), finished: report.status.finished });
        }
      }
    }
  }
  return out;
}

/** The reports RESULTS.md is about: those of one scale (see Options.scaleExplicit). */
export function selectRuns(o: Options, loaded: LoadedRun[]): Selection {
  const counts = new Map<string, number>();
  for (const r of loaded) counts.set(r.scale ?? 'custom', (counts.get(r.scale ?? 'custom') ?? 0) + 1);
  let scaleName = o.scale.name;
  if (!o.scaleExplicit && counts.size) scaleName = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  const others = new Map([...counts].filter(([k]) => k !== scaleName));
  return { runs: loaded.filter((r) => (r.scale ?? 'custom') === scaleName), scaleName, others };
}
