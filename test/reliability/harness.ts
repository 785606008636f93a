/**
 * Shared pieces of the fault-injection suite: one small federation (mlp, FedAvg + MAN, 3 clients that all train
 * every round, 300 MNIST samples) run by real `fedman serve` / `fedman client` processes, its fault-free result
 * computed by `fedman simulate` (bitwise equal to a fault-free server run: test/server/e2e.test.ts), and the
 * checks every scenario ends with: the run completes, every round aggregated every client exactly once, the state
 * directory opens and holds no leftovers, and the final model equals the fault-free one bitwise.
 *
 * FEDMAN_RELIABILITY=full runs the counts of docs/reliability.md (`npm run test:reliability`); otherwise smaller
 * counts keep `npm test` short. FEDMAN_RELIABILITY_OUT=<dir> makes each scenario write its row there.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Test } from 'tap';
import { simulate } from '../../src/sim/engine.js';
import { mergeConfig } from '../../src/config/index.js';
import { StateDir } from '../../src/server/state.js';
import { adminStatus as statusWithToken, startFedman, within, type Proc } from '../helpers/fedman-process.js';
import { maxDiff } from '../helpers/vectors.js';
import { pollUntil, sleep } from '../helpers/poll.js';

export const FULL = process.env.FEDMAN_RELIABILITY === 'full';
export const CTOK = 'rel-client-token';
export const ATOK = 'rel-admin-token';

export interface FederationSpec { rounds: number; clients?: number; localEpochs?: number }

export function serverConfig(spec: FederationSpec): Record<string, unknown> {
  const clients = spec.clients ?? 3;
  return {
    name: 'reliability', model: 'mlp', algorithm: 'fedavg', man: 0.05, clients, rounds: spec.rounds, roundDeadline: 600, minClients: clients,
    localEpochs: spec.localEpochs ?? 1, batchSize: 50, lr: 0.1, lrDecay: 0.99, seed: 0,
    data: { data: 'mnist', limit: 300, testLimit: 100, partition: { scheme: 'iid' } },
    tokens: { client: [CTOK], admin: [ATOK] },
    limits: { longPollSeconds: 2, connectedSeconds: 120 },
  };
}

/** The fault-free final model, by the simulator. */
export async function faultFreeModel(spec: FederationSpec, dir: string): Promise<Float32Array> {
  const clients = spec.clients ?? 3;
  const sim = await simulate(mergeConfig({
    data: 'mnist', limit: 300, testLimit: 100, model: 'mlp', algorithm: 'fedavg', man: 0.05, clients, participation: 1,
    partition: { scheme: 'iid' }, rounds: spec.rounds, localEpochs: spec.localEpochs ?? 1, batchSize: 50, lr: 0.1, lrDecay: 0.99, seed: 0,
    workers: 0, threads: 1,
  }), { out: dir });
  return sim.global;
}

export async function writeConfig(dir: string, spec: FederationSpec, extra: Record<string, unknown> = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'server.json');
  await writeFile(file, JSON.stringify({ ...serverConfig(spec), ...extra }));
  return file;
}

export function startClient(url: string, index: number, cache: string, extra: string[] = []): Proc {
  return startFedman(['client', '--server', url, '--token', CTOK, '--client-index', String(index), '--cache', cache, '--poll', '2', '--retry-for', '300', ...(process.env.FEDMAN_RELIABILITY_VERBOSE ? [] : ['--quiet']), ...extra]);
}

export const adminStatus = (url: string) => statusWithToken(url, ATOK, 3000);

export { sleep };

/** Polls a server process's admin status (null while it is unreachable) until `ok` holds; throws naming `what` after `ms`. */
export function pollStatus(url: string, what: string, ok: (s: Record<string, any> | null) => boolean, ms = 120_000): Promise<Record<string, any> | null> {
  return pollUntil(what, () => adminStatus(url), ok, { ms, everyMs: 20 });
}

/**
 * How long a round lasts, from the status's round records, capped at capMs; null until 2 rounds have completed. A
 * round takes about 0.1 s on an idle machine and over a second on a busy one, so a fixed kill delay either skips whole
 * rounds or never reaches late phases. Faults distort the rounds they hit: a killed client only lengthens its round
 * (take the 'shortest'), a restarted server times the resumed round from the restart, shortening it ('median').
 */
export function roundLengthMs(status: Record<string, any> | null, capMs: number, pick: 'shortest' | 'median'): number | null {
  const seconds = ((status?.history ?? []) as { seconds?: number }[]).map((r) => r.seconds).filter((x): x is number => typeof x === 'number' && x > 0);
  if (seconds.length < 2) return null;
  seconds.sort((a, b) => a - b);
  return Math.min(capMs, 1000 * (pick === 'shortest' ? seconds[0]! : seconds[(seconds.length - 1) >> 1]!));
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listTree(p)).map((x) => path.join(e.name, x)));
    else out.push(e.name);
  }
  return out;
}

export interface Outcome {
  /** Every round aggregated every client exactly once. */
  counted: boolean;
  /** Bitwise equal to the fault-free model. */
  equal: boolean;
  maxDiff: number;
  /** Leftover temp files, or a state directory that did not open. */
  corrupt: boolean;
  /** Updates missing from a round's aggregation (lost) and counted more than once. */
  lost: number;
  doubleCounted: number;
}

/** The checks every scenario ends with, on a finished state directory. */
export async function checkOutcome(t: Test, state: string, spec: FederationSpec, reference: Float32Array): Promise<Outcome> {
  const clients = spec.clients ?? 3;
  const all = Array.from({ length: clients }, (_, i) => i);
  let ckpt;
  try { ckpt = await new StateDir(state).readCheckpoint(); } catch (err) { t.fail(`state directory does not open: ${(err as Error).message}`); }
  const leftovers = (await listTree(state)).filter((f) => /\.tmp$/.test(f));
  const records = ckpt?.records ?? [];
  let lost = 0, doubleCounted = 0;
  for (const r of records) {
    lost += all.filter((c) => !r.aggregated.includes(c)).length;
    doubleCounted += r.aggregated.length - new Set(r.aggregated).size;
  }
  lost += Math.max(0, spec.rounds - records.length) * clients;
  const d = ckpt ? maxDiff(ckpt.global, reference) : Infinity;
  const o: Outcome = {
    counted: lost === 0 && doubleCounted === 0 && records.length === spec.rounds, equal: d === 0, maxDiff: d,
    corrupt: !ckpt || leftovers.length > 0, lost, doubleCounted,
  };
  t.equal(ckpt?.round, spec.rounds, 'the run completed');
  t.same(records.map((r) => r.aggregated), Array.from({ length: spec.rounds }, () => all), 'every update counted exactly once');
  t.same(leftovers, [], 'no half-written files in the state directory');
  t.equal(d, 0, 'final model bitwise equal to the fault-free run');
  return o;
}

export interface ScenarioRow {
  scenario: string;
  /** What was injected, e.g. "SIGKILL of the server". */
  fault: string;
  tried: number;
  survived: number;
  lost: number;
  doubleCounted?: number;
  notes?: string;
}

/** Writes the scenario's row for docs/reliability.md when FEDMAN_RELIABILITY_OUT is set. */
export async function record(row: ScenarioRow): Promise<void> {
  const out = process.env.FEDMAN_RELIABILITY_OUT;
  if (!out) return;
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, `${row.scenario.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.json`), JSON.stringify(row, null, 2) + '\n');
}

/** Waits for every process to exit 0 (bounded). */
export async function allExit(t: Test, procs: Proc[], ms = 300_000): Promise<void> {
  for (const [i, p] of procs.entries()) {
    const r = await within(p.exit, ms, `process ${i}`).catch((err: Error) => {
      throw new Error(`${err.message}; the logs end:\n${procs.map((q, k) => `--- process ${k}:\n${q.err().slice(-1500)}`).join('\n')}`);
    });
    t.equal(r.code, 0, `process ${i} exits 0${r.code ? `: ${p.err().slice(-2000)}` : ''}`);
  }
}
