/** `--dry-run`: every run of the selection with its state, then the estimated remaining work. */
import { MS_PER_SAMPLE_STEP, flatnessSeconds, powerHvps, specCost } from './cost.js';
import { wantsFlatness } from './flatness.js';
import { fmtDuration } from './format.js';
import { runGrid } from './grid.js';
import type { Options } from './options.js';
import { runStatus } from './runner.js';

export async function dryRun(o: Options): Promise<void> {
  const specs = runGrid(o);
  const counts: Record<string, number> = {};
  let cost = 0, flatModels = 0;
  for (const s of specs) {
    const st = await runStatus(o, s);
    if (st.state !== 'done' && wantsFlatness(o, s)) flatModels++;
    counts[st.state] = (counts[st.state] ?? 0) + 1;
    const c = specCost(o.scale, s);
    if (st.state !== 'done') cost += st.state === 'partial' ? c * (1 - st.completedRounds / o.scale.rounds) : st.state === 'needs-flatness' ? 0 : c;
    console.log(`${st.state.padEnd(14)} ${s.key}${st.state === 'partial' ? ` (${st.completedRounds}/${o.scale.rounds} rounds)` : ''}${st.detail ? ` — ${st.detail}${/'smoke'/.test(st.detail) || o.overwrite ? ' (will be replaced)' : ' (needs --overwrite)'}` : ''}`);
  }
  console.log(`\n${specs.length} runs: ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}`);
  const f = o.scale.flatness;
  console.log(`remaining training work ≈ ${(cost / 1e6).toFixed(2)} M sample-passes ⇒ ~${fmtDuration((cost * MS_PER_SAMPLE_STEP) / 1000)} at ~${MS_PER_SAMPLE_STEP} ms each (measured on the shared 2-core machine)`);
  if (flatModels) console.log(`flatness of ${flatModels} final models (${f.samples} samples, ~${powerHvps(f)} + ${f.trace} Hessian-vector products each) ⇒ ~${fmtDuration(flatnessSeconds(f, flatModels))} more`);
}
