/**
 * fedman as a user installs it: `npm pack` of this repository (npm runs the `prepack` script, `npm run build`, first)
 * and an empty project that installs the tarball without devDependencies. The npm cache is warm from `npm ci`, so
 * the install works offline; every npm call is bounded in time.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface InstalledPackage {
  tarball: string;
  /** The project that installed it (its node_modules/fedman is the package). */
  project: string;
  /** The installed `fedman` executable (node_modules/.bin/fedman). */
  bin: string;
  /** Seconds taken by `npm pack` (with the build) and by `npm install`. */
  packSeconds: number;
  installSeconds: number;
}

const run = promisify(execFile);

async function npm(args: string[], cwd: string, timeoutMs: number): Promise<string> {
  try {
    const r = await run('npm', args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 2 ** 20, killSignal: 'SIGKILL' });
    return r.stdout;
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string; killed?: boolean };
    const why = err.killed ? `killed after ${timeoutMs / 1000} s` : err.message;
    throw new Error(`npm ${args.join(' ')} (in ${cwd}): ${why}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** Packs the repository into `dir` and installs the tarball into `dir/project`. */
export async function packAndInstall(dir: string): Promise<InstalledPackage> {
  let t0 = performance.now();
  await npm(['pack', '--pack-destination', dir], ROOT, 300_000);
  const packSeconds = seconds(t0);
  const tgz = (await readdir(dir)).filter((f) => f.endsWith('.tgz'));
  if (tgz.length !== 1) throw new Error(`npm pack left ${tgz.length} tarballs in ${dir}`);
  const tarball = path.join(dir, tgz[0]!);

  const project = path.join(dir, 'project');
  await mkdir(project);
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-fedman', private: true, type: 'module' }, null, 2));
  // The same npm settings as this repository's: onnxruntime-node's install script must not download CUDA binaries.
  await copyFile(path.join(ROOT, '.npmrc'), path.join(project, '.npmrc'));
  t0 = performance.now();
  await npm(['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], project, 300_000);
  return { tarball, project, bin: path.join(project, 'node_modules/.bin/fedman'), packSeconds, installSeconds: seconds(t0) };
}
