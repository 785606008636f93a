/**
 * The client's cache directory:
 *
 *   identity.json              name → key of each identity this cache joined with (a restarted client rejoins as
 *                              itself)
 *   artifacts/<id>/            the federation's artifacts, downloaded once and checked against their SHA-256
 *   params/v<N>.f32            global parameters of version N (float32 LE); `.part` files are resumed with
 *                              `Range: bytes=<have>-` + `If-Range: "v<N>"`
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FedmanError } from '../util/errors.js';
import { readJson, ProtocolError, type FedHttp } from './http.js';

export interface ArtifactsInfo { id: string; files: { name: string; size: number; sha256: string }[] }

async function size(p: string): Promise<number> {
  try { return (await fs.stat(p)).size; } catch { return -1; }
}

/** The key stored for `name`, creating (and persisting) a random one the first time. */
export async function identityKey(cacheDir: string, name: string): Promise<string> {
  const file = path.join(cacheDir, 'identity.json');
  let ids: Record<string, string> = {};
  try { ids = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, string>; } catch { /* first use */ }
  if (!ids[name]) {
    ids[name] = randomBytes(24).toString('base64url');
    await writeFileAtomic(file, JSON.stringify(ids, null, 2) + '\n');
  }
  return ids[name]!;
}

/** A persistent random client name for this cache (when the user gives none and no index). */
export async function defaultName(cacheDir: string): Promise<string> {
  const file = path.join(cacheDir, 'name');
  try { return (await fs.readFile(file, 'utf8')).trim(); } catch { /* first use */ }
  const name = `client-${randomBytes(6).toString('hex')}`;
  await writeFileAtomic(file, name + '\n');
  return name;
}

/** Downloads the artifacts once (verified by SHA-256) and returns their directory. */
export async function ensureArtifacts(http: FedHttp, info: ArtifactsInfo, cacheDir: string, log?: (l: string) => void): Promise<string> {
  const dir = path.join(cacheDir, 'artifacts', info.id);
  const complete = async () => {
    for (const f of info.files) if ((await size(path.join(dir, f.name))) !== f.size) return false;
    return true;
  };
  if (await complete()) return dir;
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const staging = await fs.mkdtemp(path.join(path.dirname(dir), `.${info.id}.staging-`));
  try {
    let bytes = 0;
    for (const f of info.files) {
      const p = `/v1/artifacts/${encodeURIComponent(f.name)}`;
      const res = await http.fetch(p, { timeoutMs: 300_000 });
      if (!res.ok) await readJson(res, p);
      const buf = new Uint8Array(await res.arrayBuffer());
      const sha = createHash('sha256').update(buf).digest('hex');
      if (sha !== f.sha256) throw new FedmanError(`artifact '${f.name}' failed its checksum (got ${sha.slice(0, 12)}…, expected ${f.sha256.slice(0, 12)}…)`);
      // ORT's training files sit in a subdirectory ('ort-training/checkpoint').
      await fs.mkdir(path.dirname(path.join(staging, f.name)), { recursive: true });
      await fs.writeFile(path.join(staging, f.name), buf);
      bytes += buf.byteLength;
    }
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(staging, dir);
    log?.(`downloaded artifacts ${info.id} (${(bytes / 1e6).toFixed(1)} MB)`);
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

export interface DownloadStats { resumedFrom: number; bytes: number; requests: number; /** Downloads thrown away by the digest check. */ corrupt?: number }

/** The server's SHA-256 of a parameter version, from the headers of a one-byte range request. */
async function fetchDigest(http: FedHttp, version: number): Promise<string | null> {
  const p = `/v1/params?version=${version}`;
  const res = await http.fetch(p, { headers: { range: 'bytes=0-0' } });
  await res.body?.cancel();
  if (!res.ok) return null;
  return res.headers.get('x-fedman-params-sha256');
}

/**
 * The global parameters of `version` (from the cache, or downloaded with resume after interruptions). `stats`
 * says whether a partial download was resumed.
 */
export async function downloadParams(http: FedHttp, version: number, cacheDir: string, paramCount: number, stats?: DownloadStats): Promise<Float32Array> {
  const dir = path.join(cacheDir, 'params');
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `v${version}.f32`);
  const part = `${file}.part`;
  const want = paramCount * 4;
  const read = async (p: string) => {
    const b = await fs.readFile(p);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  if ((await size(file)) === want) return read(file);
  const etag = `"v${version}"`;
  const since = Date.now();
  /** The server's digest of the whole version (checked once the pieces are together). */
  let digest: string | null = null;
  let corrupt = 0;
  const st = stats ?? { resumedFrom: 0, bytes: 0, requests: 0 };
  for (let failures = 0; ; ) {
    let have = Math.max(0, await size(part));
    if (have > want) { await fs.rm(part, { force: true }); have = 0; }
    if (have === want) {
      if (!digest) digest = await fetchDigest(http, version);
      if (!digest || createHash('sha256').update(await fs.readFile(part)).digest('hex') === digest) break;
      // The pieces do not add up to the version (a broken transfer or proxy): start over.
      await fs.rm(part, { force: true });
      if (++corrupt >= 3) throw new FedmanError(`parameters version ${version}: ${corrupt} downloads failed their SHA-256 check`);
      st.corrupt = corrupt;
      continue;
    }
    const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-`, 'if-range': etag } : {};
    const p = `/v1/params?version=${version}`;
    st.requests++;
    const res = await http.fetch(p, { headers, timeoutMs: 300_000 });
    if (res.status === 416) { await res.body?.cancel(); await fs.rm(part, { force: true }); continue; }
    if (res.status !== 200 && res.status !== 206) await readJson(res, p);
    const total = Number(res.headers.get('x-fedman-param-count') ?? paramCount) * 4;
    digest = res.headers.get('x-fedman-params-sha256') ?? digest;
    if (total !== want) throw new FedmanError(`the server's model has ${total / 4} parameters; the artifacts have ${paramCount}`);
    if (res.status === 206) {
      const cr = res.headers.get('content-range') ?? '';
      if (!cr.startsWith(`bytes ${have}-`)) throw new ProtocolError(206, `unexpected Content-Range '${cr}' (asked for bytes ${have}-)`, p);
      if (have > 0 && st.resumedFrom === 0) st.resumedFrom = have;
    }
    const fh = await fs.open(part, res.status === 206 ? 'a' : 'w');
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        await fh.write(chunk);
        st.bytes += chunk.byteLength;
      }
    } catch (err) {
      failures++;
      await fh.close();
      await http.backoffOrGiveUp(failures, since, `GET ${p}`, `download interrupted: ${(err as Error).message}`);
      continue;
    }
    await fh.sync();
    await fh.close();
  }
  await fs.rename(part, file);
  // Older versions are of no further use.
  for (const name of await fs.readdir(dir)) {
    const m = /^v(\d+)\.f32$/.exec(name);
    if (m && Number(m[1]) < version - 1) await fs.rm(path.join(dir, name), { force: true });
  }
  return read(file);
}
