/**
 * Update ingestion: `clients` virtual clients (default 200) of a cnn-mnist federation upload their updates
 * (2.3 MB of float32 each) at the same moment to a `fedman serve` child process; measures the upload throughput
 * (MB/s from the first byte sent to the last acknowledgement; every update durable before its acknowledgement),
 * the aggregation time, and the server's resident memory (VmHWM: peak; baseline after start-up and after the joins).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { validateServerConfig } from '../src/config/index.js';
import { peakRssMiB, startServer, type Proc } from '../test/helpers/fedman-process.js';

export interface IngestBench {
  model: string; clients: number; paramCount: number; updateMB: number;
  seconds: number; mbPerSecond: number; aggregationSeconds: number;
  rssBaselineMiB: number; rssPeakMiB: number; concurrentUploads: number;
}

export interface IngestOptions {
  clients?: number;
  model?: string;
  /** The server's limits.concurrentUploads (default: the server's default). */
  concurrentUploads?: number;
}

const DEFAULT_CONCURRENT_UPLOADS = validateServerConfig({}).limits.concurrentUploads;
const TOKEN = 'bench-client-token', ADMIN = 'bench-admin-token';

export async function benchIngest(opts: IngestOptions = {}): Promise<IngestBench> {
  const clients = opts.clients ?? 200;
  const model = opts.model ?? 'cnn-mnist';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedman-bench-ingest-'));
  const cfg = path.join(dir, 'server.json');
  writeFileSync(cfg, JSON.stringify({
    model, clients, rounds: 1, roundDeadline: 600, minClients: clients, serving: { enabled: false },
    tokens: { client: [TOKEN], admin: [ADMIN] },
    limits: { longPollSeconds: 5, connectedSeconds: 600, ...(opts.concurrentUploads ? { concurrentUploads: opts.concurrentUploads } : {}) },
  }));
  let proc: Proc | undefined;
  const agent = new Agent({ connections: clients + 8, pipelining: 1 });
  try {
    const srv = await startServer(path.join(dir, 'state'), cfg, 0, []);
    proc = srv.proc;
    const pid = proc.child.pid!;
    const req = async (p: string, init: RequestInit & { dispatcher?: Agent } = {}) => {
      const r = await fetch(srv.url + p, { ...init, dispatcher: agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } } as RequestInit);
      if (!r.ok) throw new Error(`${p}: HTTP ${r.status} ${await r.text()}`);
      return r;
    };
    const ids: number[] = [];
    let paramCount = 0;
    for (let c = 0; c < clients; c++) {
      const j = (await (await req('/v1/join', { method: 'POST', body: JSON.stringify({ name: `v${c}` }) })).json()) as { clientId: number; federation: { paramCount: number } };
      ids.push(j.clientId);
      paramCount = j.federation.paramCount;
    }
    // Every client asks for its task (the round starts once all are connected).
    const tasks = (await Promise.all(ids.map(async (id) => (await (await req('/v1/task?timeout=5', { method: 'POST', body: JSON.stringify({ clientId: id }) })).json()) as { type: string; round: number }))) ;
    if (tasks.some((t) => t.type !== 'train')) throw new Error(`not every client got a train task: ${JSON.stringify(tasks.find((t) => t.type !== 'train'))}`);
    const global = new Float32Array(await (await req('/v1/params')).arrayBuffer());
    const rssBaselineMiB = peakRssMiB(pid);
    const bodies = ids.map((id) => global.map((v, i) => v + ((i * 31 + id) % 17) * 1e-4));
    const t0 = performance.now();
    await Promise.all(ids.map((id, k) => req('/v1/update', {
      method: 'POST', body: new Uint8Array(bodies[k]!.buffer),
      headers: { 'content-type': 'application/octet-stream', 'x-fedman-meta': JSON.stringify({ round: 1, clientId: id, uploadId: `u${id}`, numSamples: 100 }) },
    })));
    const seconds = (performance.now() - t0) / 1000;
    let status: { completedRounds: number; history: { aggregationSeconds: number }[] } | undefined;
    for (const end = Date.now() + 300_000; Date.now() < end;) {
      const r = await fetch(`${srv.url}/v1/admin/status`, { headers: { authorization: `Bearer ${ADMIN}` } });
      status = (await r.json()) as typeof status;
      if (status!.completedRounds >= 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!status || status.completedRounds < 1) throw new Error('the round did not complete within 300 s');
    const rssPeakMiB = peakRssMiB(pid);
    const updateMB = (paramCount * 4) / 1e6;
    return {
      model, clients, paramCount, updateMB, seconds, mbPerSecond: (clients * updateMB) / seconds,
      aggregationSeconds: status.history[0]!.aggregationSeconds, rssBaselineMiB, rssPeakMiB, concurrentUploads: opts.concurrentUploads ?? DEFAULT_CONCURRENT_UPLOADS,
    };
  } finally {
    await agent.close();
    proc?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : undefined; };
  console.log(JSON.stringify(await benchIngest({ clients: arg('--clients'), concurrentUploads: arg('--concurrent-uploads') }), null, 2));
}
