import { promises as fs } from 'node:fs';

/** A file's bytes, or null when it does not exist (any other error is thrown). */
export async function readFileIfExists(file: string): Promise<Buffer | null> {
  try { return await fs.readFile(file); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
