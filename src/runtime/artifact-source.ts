/**
 * Where a Trainer's artifacts come from, without the file system: the in-memory form Trainer.fromArtifacts takes,
 * and loading it over HTTP (browser-safe; Node's directory reader is node-io.ts's readArtifactsDir).
 */
import { MANIFEST_FILE, parseManifest, type ArtifactManifest } from '../training/manifest.js';
import type { ModelProto } from '../onnx/proto.js';
import { FedmanError } from '../util/errors.js';

/** An artifacts directory in memory: the manifest and the bytes of its three ONNX files. */
export interface ArtifactFiles {
  manifest: ArtifactManifest;
  trainStep: Uint8Array;
  eval: Uint8Array;
  /** The forward model's bytes, or the decoded model (external data already resolved). */
  forward: Uint8Array | ModelProto;
  /** The WebGPU lowering of the train step and eval graphs (manifest.webgpu), when loaded. */
  webgpu?: { trainStep: Uint8Array; eval: Uint8Array; int32Inputs: string[] };
}

export type FetchLike = (url: string) => Promise<{ ok: boolean; status: number; statusText?: string; arrayBuffer(): Promise<ArrayBuffer>; text(): Promise<string> }>;

/**
 * Fetches `manifest.json` and the three ONNX files it names from `baseUrl` (an artifacts directory served over
 * HTTP; a missing trailing slash is added), and with `webgpu` the WebGPU graphs when the manifest lists them.
 * `fetchImpl` defaults to the global fetch.
 */
export async function loadArtifactsFromUrl(baseUrl: string | URL, fetchImpl: FetchLike = (u) => fetch(u), opts: { webgpu?: boolean } = {}): Promise<ArtifactFiles> {
  const base = String(baseUrl).endsWith('/') ? String(baseUrl) : `${String(baseUrl)}/`;
  const get = async (file: string) => {
    const url = new URL(file, base).href;
    let res: Awaited<ReturnType<FetchLike>>;
    try { res = await fetchImpl(url); } catch (err) {
      throw new FedmanError(`cannot fetch '${url}': ${(err as Error).message}`);
    }
    if (!res.ok) throw new FedmanError(`cannot fetch '${url}': HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    return { url, res };
  };
  const m = await get(MANIFEST_FILE);
  const manifest = parseManifest(await m.res.text(), m.url);
  const bytes = async (file: string) => new Uint8Array(await (await get(file)).res.arrayBuffer());
  const [trainStep, evalBytes, forward] = await Promise.all([bytes(manifest.files.trainStep), bytes(manifest.files.eval), bytes(manifest.files.forward)]);
  const w = opts.webgpu ? manifest.webgpu : undefined;
  const webgpu = w ? { trainStep: await bytes(w.trainStep), eval: await bytes(w.eval), int32Inputs: w.int32Inputs } : undefined;
  return { manifest, trainStep, eval: evalBytes, forward, webgpu };
}
