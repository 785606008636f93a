/**
 * Writes docs/reliability.md from the rows the reliability suite recorded (test/reliability/, FEDMAN_RELIABILITY_OUT):
 *
 *     npm run test:reliability     # runs the suite at full counts into runs/reliability/, then this script
 *     tsx scripts/reliability-report.ts [dir]
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import type { ScenarioRow } from '../test/reliability/harness.js';

const dir = process.argv[2] ?? 'runs/reliability';
const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
if (!names.length) {
  console.error(`no scenario rows in ${dir}: run \`npm run test:reliability\` first`);
  process.exit(1);
}
const rows: ScenarioRow[] = [];
for (const n of names) rows.push(JSON.parse(await fs.readFile(path.join(dir, n), 'utf8')) as ScenarioRow);
const isLoad = (r: ScenarioRow) => r.scenario.startsWith('load');
const faults = rows.filter((r) => !isLoad(r));
const load = rows.filter(isLoad);
const cell = (s: string | number | undefined) => String(s ?? '').replace(/\|/g, '\\|');
const allOk = rows.every((r) => r.survived === r.tried && r.lost === 0 && !(r.doubleCounted ?? 0));

const md = `# Reliability

Produced by \`npm run test:reliability\` on ${new Date().toISOString().slice(0, 10)} (${os.cpus()[0]?.model ?? 'CPU'}, ${os.cpus().length} cores,
Node ${process.version}): the suite in \`test/reliability/\` at full counts (\`FEDMAN_RELIABILITY=full\`), each scenario
writing its row. \`npm test\` runs the same tests at smaller counts in CI. Overall: **${allOk ? 'every scenario survived, nothing lost' : 'SOME SCENARIOS FAILED'}**.

What "survived" means for the fault scenarios: the federation (real \`fedman serve\` and \`fedman client\` processes
on loopback) ran to the end; every round aggregated every client's update exactly once (none lost, none double
counted); the state directory opened cleanly with no half-written files; and the final global model is bitwise
equal to the fault-free run of the same config (computed by \`fedman simulate\`, which equals a fault-free server run
bitwise: test/server/e2e.test.ts). A scenario counts its injected faults as "tried"; all of them "survived" only if
the run passed every one of those checks.

## Faults and hostile input

| scenario | fault | tried | survived | lost | double counted | details |
|---|---|---|---|---|---|---|
${faults.map((r) => `| ${cell(r.scenario)} | ${cell(r.fault)} | ${r.tried} | ${r.survived} | ${r.lost} | ${r.doubleCounted ?? 0} | ${cell(r.notes)} |`).join('\n')}

## Load (2 cores, one server)

| scenario | load | requests | answered without error | details |
|---|---|---|---|---|
${load.map((r) => `| ${cell(r.scenario)} | ${cell(r.fault)} | ${r.tried} | ${r.survived} | ${cell(r.notes)} |`).join('\n')}

## How the faults are made

- **Server SIGKILL** (\`server-kills.test.ts\`): the server is killed at a random moment 0–1.5 s into a round
  (while clients train, upload, or the server aggregates and persists) and restarted on the same state directory
  and port. Every accepted update is fsynced before its acknowledgement; a round is committed by one checkpoint
  rename; leftover temp files of interrupted writes are removed when the state directory is locked.
- **Client SIGKILL** (\`client-faults.test.ts\`): client processes killed during rounds and restarted on their cache
  (same identity, same key); and killed while the proxy holds their upload half sent.
- **Network** (\`network-faults.test.ts\`, \`proxy.ts\`): a TCP proxy on loopback cuts parameter downloads mid-body
  (clients resume with \`Range\` and check the whole version against the server's SHA-256), cuts uploads mid-body
  (re-sent with the same uploadId), drops the acknowledgement after the server stored an update (the retry is
  answered as a duplicate and counted once), and stalls responses.
- **Disk full** (\`disk-full.test.ts\`): the state directory is a 48 MB tmpfs that a filler file fills to < 0.2 MB
  free for 3 s; uploads are answered 503 with Retry-After (clients retry), round steps that fail with ENOSPC are
  retried every 2 s; atomic writes leave nothing half-written.
- **Hostile input** (\`fuzz-routes.test.ts\`, \`fuzz-onnx.test.ts\`, \`security.test.ts\`): property-based (fast-check)
  requests against every route and malformed ONNX files against the converter; authentication per scope.
`;
await writeFileAtomic('docs/reliability.md', md);
console.log(`wrote docs/reliability.md (${rows.length} scenarios${allOk ? '' : ', SOME FAILED'})`);
