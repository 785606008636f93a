/**
 * A federation client (`fedman client`): joins, long-polls for tasks, downloads the artifacts once and each
 * round's parameters (resuming interrupted downloads), trains with the Trainer on its local samples (the same
 * local-training function as the simulation), uploads its parameters (retrying with the same uploadId), and
 * repeats until the server says done. `simulate: K` runs K virtual clients in one process; they long-poll
 * concurrently and share one Trainer, training one at a time.
 */
import { promises as fs } from 'node:fs';
import { loadTrainer } from '../runtime/load-trainer.js';
import type { TrainerEngine } from '../runtime/trainer-interface.js';
import type { Device } from '../runtime/device.js';
import { SerialQueue } from '../util/serial-queue.js';
import type { JoinResponse, TaskMessage } from '../protocol/index.js';
import { FedmanError } from '../util/errors.js';
import { defaultName, downloadParams, ensureArtifacts, identityKey } from './cache.js';
import { clientKeyHeader, trainAndUpload, type ClientRoundReport } from './round.js';
import { loadClientData, type ClientDataOptions } from '../data/client-data.js';
import { FedHttp, sleep } from './http.js';

export interface ClientOptions extends ClientDataOptions {
  /** Server base URL (http://host:port). */
  server: string;
  /** Bearer token of the `client` scope. */
  token?: string;
  /** Client name (identity); default: from the index, else a random name kept in the cache. */
  name?: string;
  /** Client key (default: a random key kept in the cache per name). */
  key?: string;
  /** Cache directory (artifacts, parameters, identity). */
  cacheDir: string;
  /** ONNX Runtime intra-op threads. */
  threads?: number;
  /** Where to train: 'cpu' (default) or 'webgpu'. */
  device?: Device;
  /** 'fedman' (default), or 'ort-training': ONNX Runtime's TrainingSession on the federation's ORT training files. */
  engine?: TrainerEngine;
  /** Run K virtual clients in this process. */
  simulate?: number;
  /** Leave after uploading this many rounds (per virtual client). */
  maxRounds?: number;
  /** Long-poll length (seconds; capped by the server). */
  pollSeconds?: number;
  /** Give up after the server is unreachable this long (seconds). */
  retryForSeconds?: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export type { ClientRoundReport } from './round.js';

export interface VirtualClientReport {
  clientId: number;
  name: string;
  numSamples: number;
  rounds: ClientRoundReport[];
  finished: 'done' | 'max-rounds';
}

export interface ClientSummary {
  clients: VirtualClientReport[];
  artifactsDir: string;
  data: string;
}

export async function runClient(o: ClientOptions): Promise<ClientSummary> {
  const log = o.log ?? (() => {});
  const count = o.simulate ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new FedmanError(`--simulate expects a positive integer, got ${count}`);
  await fs.mkdir(o.cacheDir, { recursive: true });
  const http = new FedHttp(o.server, { token: o.token, retryForMs: (o.retryForSeconds ?? 300) * 1000, log, signal: o.signal });

  // Identities.
  const baseIndex = o.clientIndex ?? o.shard?.index;
  const identities: { name: string; key: string; clientIndex?: number }[] = [];
  for (let k = 0; k < count; k++) {
    const idx = baseIndex === undefined ? undefined : baseIndex + k;
    let name: string;
    if (o.name) name = count > 1 ? `${o.name}-${k}` : o.name;
    else if (o.clientIndex !== undefined) name = `client-${idx}`;
    else if (o.shard) name = `client-${idx}-of-${o.shard.count}`;
    else name = await defaultName(o.cacheDir);
    const key = o.key ?? (await identityKey(o.cacheDir, name));
    identities.push({ name, key, ...(o.clientIndex !== undefined ? { clientIndex: idx } : {}) });
  }

  const joins: JoinResponse[] = [];
  for (const id of identities) {
    const j = await http.json<JoinResponse>('POST', '/v1/join', {
      name: id.name, key: id.key, ...(id.clientIndex !== undefined ? { clientIndex: id.clientIndex } : {}), ...(o.engine && o.engine !== 'fedman' ? { engine: o.engine } : {}),
    });
    joins.push(j);
    log(`${id.name}: ${j.rejoined ? 'rejoined' : 'joined'} federation '${j.federation.name}' as client ${j.clientId} (${j.federation.algorithm}${j.federation.man > 0 ? ` + MAN ζ=${j.federation.man}` : ''}, ${j.federation.rounds} rounds)`);
  }
  const first = joins[0]!;
  const data = await loadClientData(o, first.data, count);
  log(`data: ${data.description}`);
  const artifactsDir = await ensureArtifacts(http, first.artifacts, o.cacheDir, log);
  const trainer = await loadTrainer(artifactsDir, { threads: o.threads ?? 1, device: o.device, engine: o.engine });
  const n = trainer.manifest.paramCount;
  if (n !== first.federation.paramCount) throw new FedmanError(`the artifacts have ${n} parameters; the federation's model has ${first.federation.paramCount}`);
  const queue = new SerialQueue();
  const params = new Map<number, Promise<Float32Array>>();
  const paramsOf = (version: number) => {
    let p = params.get(version);
    if (!p) {
      p = downloadParams(http, version, o.cacheDir, n);
      params.set(version, p);
      p.catch(() => params.delete(version));
      for (const v of [...params.keys()]) if (v < version - 1) params.delete(v);
    }
    return p;
  };
  const pollSeconds = Math.min(o.pollSeconds ?? 30, first.limits.longPollSeconds);

  const runOne = async (k: number): Promise<VirtualClientReport> => {
    const id = identities[k]!;
    const clientId = joins[k]!.clientId;
    const indices = data.indices[k]!;
    const keyHeader = clientKeyHeader(id.key);
    const report: VirtualClientReport = { clientId, name: id.name, numSamples: indices.length, rounds: [], finished: 'done' };
    const tag = count > 1 || o.name ? `${id.name} (client ${clientId})` : `client ${clientId}`;
    for (;;) {
      const polled = Date.now();
      const t = await http.json<TaskMessage>('POST', `/v1/task?timeout=${pollSeconds}`, { clientId, numSamples: indices.length }, {
        headers: keyHeader, timeoutMs: (pollSeconds + 30) * 1000,
      });
      if (t.type === 'done') { log(`${tag}: done (${t.reason}; final model version ${t.finalVersion})`); break; }
      if (t.type === 'wait') {
        // A wait that came back early (paused, shutting down): honour retryAfter instead of re-polling at once.
        if (Date.now() - polled < (pollSeconds * 1000) / 2) await sleep(t.retryAfter * 1000, o.signal);
        continue;
      }
      const { report: entry, result: r, upload: u } = await trainAndUpload(
        { http, clientId, key: id.key, paramCount: n, params: paramsOf, run: (fn) => queue.run(fn) }, trainer, data.train, indices, t);
      if (!u) log(`${tag}: round ${t.round}: update not counted: ${entry.message}`);
      else log(`${tag}: round ${t.round}: ${r.steps} steps, loss ${r.loss.toFixed(4)}, acc ${(100 * r.accuracy).toFixed(1)}%, ${r.seconds.toFixed(2)} s; uploaded (${u.received}/${u.expected})`);
      report.rounds.push(entry);
      if (o.maxRounds !== undefined && report.rounds.length >= o.maxRounds) {
        report.finished = 'max-rounds';
        log(`${tag}: leaving after ${report.rounds.length} round${report.rounds.length === 1 ? '' : 's'} (--max-rounds)`);
        break;
      }
    }
    return report;
  };

  try {
    const clients = await Promise.all(identities.map((_, k) => runOne(k)));
    return { clients, artifactsDir, data: data.description };
  } finally {
    await queue.run(() => trainer.release());
  }
}
