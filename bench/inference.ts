/**
 * Model serving throughput: requests/s and p50/p99 latency at batch 1 for the Open Inference Protocol over loopback
 * (JSON and the binary tensor extension; without and with dynamic batching) versus calling the same ONNX Runtime
 * session in-process, for the cnn-mnist zoo model's global version 0. The server is a `fedman serve` child
 * process, so the load generator (autocannon, else a bounded loop of undici requests; bounded in count and time)
 * does not share its event loop.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Pool } from 'undici';
import { encodeBinaryRequest } from '../src/server/inference/codec.js';
import { startServer, type Proc } from '../test/helpers/fedman-process.js';

export interface LatencyStats { requests: number; seconds: number; requestsPerSecond: number; p50Ms: number; p99Ms: number }
export interface InferenceBench {
  model: string; version: number; batch: 1; concurrency: number; client: 'autocannon' | 'undici';
  /** Dynamic batching of the second server. */
  batching: { maxBatch: number; maxDelayMs: number };
  json: LatencyStats; binary: LatencyStats; jsonBatched: LatencyStats; binaryBatched: LatencyStats; inProcess: LatencyStats;
}

export interface InferenceBenchOptions {
  model?: string;
  /** Concurrent requests in flight (default 8). */
  concurrency?: number;
  /** Most requests per mode (default 2000). */
  maxRequests?: number;
  /** Most seconds per mode (default 3). */
  maxSeconds?: number;
  /** intra-op threads of the sessions (default 1). */
  threads?: number;
}

function stats(lat: number[], seconds: number): LatencyStats {
  const s = [...lat].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { requests: s.length, seconds, requestsPerSecond: s.length / seconds, p50Ms: q(0.5), p99Ms: q(0.99) };
}

/** Runs `one` with `concurrency` workers until `maxRequests` or `maxSeconds`; per-call latency in ms. */
async function loop(one: () => Promise<void>, concurrency: number, maxRequests: number, maxSeconds: number): Promise<LatencyStats> {
  for (let i = 0; i < Math.min(20, maxRequests); i++) await one(); // warm-up
  const lat: number[] = [];
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + maxSeconds * 1000;
  const worker = async () => {
    while (started < maxRequests && performance.now() < deadline) {
      started++;
      const a = performance.now();
      await one();
      lat.push(performance.now() - a);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return stats(lat, (performance.now() - t0) / 1000);
}

async function autocannonRun(mod: any, url: string, body: Buffer, headers: Record<string, string>, o: Required<Pick<InferenceBenchOptions, 'concurrency' | 'maxRequests' | 'maxSeconds'>>): Promise<LatencyStats> {
  // Time-bounded (autocannon stops at the duration); the request count is what fit.
  const r = await mod({ url, method: 'POST', body, headers, connections: o.concurrency, duration: o.maxSeconds });
  if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  return { requests: r.requests.total, seconds: r.duration, requestsPerSecond: r.requests.total / r.duration, p50Ms: r.latency.p50, p99Ms: r.latency.p99 };
}

/** A `fedman serve` child process serving `model` (version 0), with or without dynamic batching. */
async function servingProcess(dir: string, model: string, threads: number, batching: { maxBatch: number; maxDelayMs: number } | null) {
  const cfg = path.join(dir, `server-${batching ? 'batching' : 'plain'}.json`);
  writeFileSync(cfg, JSON.stringify({ model, clients: 1, rounds: 1, tokens: { inference: ['bench-token'], client: ['unused-client-token'] }, serving: { threads, batching } }));
  return startServer(path.join(dir, batching ? 'state-batching' : 'state-plain'), cfg, 0, []);
}

export async function benchInference(opts: InferenceBenchOptions = {}): Promise<InferenceBench> {
  const model = opts.model ?? 'cnn-mnist';
  const o = { concurrency: opts.concurrency ?? 8, maxRequests: opts.maxRequests ?? 2000, maxSeconds: opts.maxSeconds ?? 3 };
  const threads = opts.threads ?? 1;
  const batching = { maxBatch: o.concurrency, maxDelayMs: 1 };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedman-bench-inf-'));
  let autocannon: any;
  try { autocannon = createRequire(import.meta.url)('autocannon'); } catch { autocannon = undefined; }
  const procs: Proc[] = [];
  try {
    const plain = await servingProcess(dir, model, threads, null);
    procs.push(plain.proc);
    const onnxPath = path.join(dir, 'state-plain', 'models', 'v0.onnx');
    const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'extended' });
    const input = session.inputNames[0]!;
    const meta = session.inputMetadata[0] as { shape?: readonly (number | string)[] };
    const shape = (meta.shape ?? []).map((d, i) => (i === 0 ? 1 : typeof d === 'number' && d > 0 ? d : 1));
    const x = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => (Math.sin(i) + 1) / 2);
    const name = model;
    const auth = { authorization: 'Bearer bench-token' };
    const jsonBody = Buffer.from(JSON.stringify({ inputs: [{ name: input, datatype: 'FP32', shape, data: Array.from(x) }] }));
    const bin = encodeBinaryRequest({ inputs: [{ name: input, datatype: 'FP32', shape, data: x }], binaryOutput: true });
    const jsonHeaders = { ...auth, 'content-type': 'application/json' };
    const binHeaders = { ...auth, 'content-type': 'application/octet-stream', 'inference-header-content-length': String(bin.headerLength) };

    const inProcess = await loop(async () => { await session.run({ [input]: new ort.Tensor('float32', x, shape) }); }, o.concurrency, o.maxRequests, o.maxSeconds);
    await session.release();
    const measure = async (base: string, body: Buffer, headers: Record<string, string>): Promise<LatencyStats> => {
      const url = `${base}/v2/models/${encodeURIComponent(name)}/versions/0/infer`;
      // Warm-up (sessions load on first use).
      for (let i = 0; i < 20; i++) { const r = await fetch(url, { method: 'POST', body: new Uint8Array(body), headers }); if (r.status !== 200) throw new Error(`infer: HTTP ${r.status} ${await r.text()}`); }
      if (autocannon) return autocannonRun(autocannon, url, body, headers, o);
      const pool = new Pool(base, { connections: o.concurrency });
      const { pathname } = new URL(url);
      try {
        return await loop(async () => {
          const r = await pool.request({ path: pathname, method: 'POST', body, headers });
          await r.body.arrayBuffer();
          if (r.statusCode !== 200) throw new Error(`infer: HTTP ${r.statusCode}`);
        }, o.concurrency, o.maxRequests, o.maxSeconds);
      } finally { await pool.close(); }
    };
    const json = await measure(plain.url, jsonBody, jsonHeaders);
    const binary = await measure(plain.url, bin.body, binHeaders);
    plain.proc.child.kill('SIGTERM');
    await plain.proc.exit;
    const batched = await servingProcess(dir, model, threads, batching);
    procs.push(batched.proc);
    const binaryBatched = await measure(batched.url, bin.body, binHeaders);
    const jsonBatched = await measure(batched.url, jsonBody, jsonHeaders);
    return {
      model, version: 0, batch: 1, concurrency: o.concurrency, client: autocannon ? 'autocannon' : 'undici', batching,
      json, binary, jsonBatched, binaryBatched, inProcess,
    };
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  console.log(JSON.stringify(await benchInference(quick ? { maxRequests: 500, maxSeconds: 1.5 } : {}), null, 2));
}
