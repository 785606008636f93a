import { promises as fs, writeFileSync, openSync, fsyncSync, closeSync, renameSync, unlinkSync } from 'node:fs';
import path from 'node:path';

/** Writes through a temp file, fsyncs and renames, so a crash never leaves a half-written file. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = tempName(file);
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await fs.rename(tmp, file);
  await fsyncDir(dir);
}

export function writeFileAtomicSync(file: string, data: Uint8Array | string): void {
  const dir = path.dirname(file);
  const tmp = tempName(file);
  try {
    writeFileSync(tmp, data);
    const fd = openSync(tmp, 'r+');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
}

const tempName = (file: string) => path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
/** `.<name>.<pid>.<time>.tmp` (writeFileAtomic) or `.<name>.<pid>.tmp` (files exported then renamed). */
const TEMP_FILE = /^\..+\.\d+(\.\d+)?\.tmp$/;

/**
 * Removes the temp files of writes a killed process never finished, in `dir` and its subdirectories; returns how
 * many. Only for a directory this process owns exclusively (e.g. a locked state directory).
 */
export async function removeStaleTempFiles(dir: string): Promise<number> {
  let removed = 0;
  let entries: import('node:fs').Dirent[];
  try { entries = await fs.readdir(dir, { withFileTypes: true }); } catch { return 0; }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) removed += await removeStaleTempFiles(p);
    else if (e.isFile() && TEMP_FILE.test(e.name)) { await fs.rm(p, { force: true }); removed++; }
  }
  return removed;
}

async function fsyncDir(dir: string): Promise<void> {
  // Directory fsync makes the rename itself durable; some filesystems refuse it, which is harmless.
  try {
    const dh = await fs.open(dir, 'r');
    try { await dh.sync(); } finally { await dh.close(); }
  } catch { /* not supported here */ }
}
