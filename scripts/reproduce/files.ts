import { promises as fs } from 'node:fs';

export async function exists(p: string): Promise<boolean> {
  try { await fs.access(p); return true; } catch { return false; }
}

/** The parsed file, or null where it is missing or not JSON (a run that has not written it yet). */
export async function readJsonIf<T>(file: string): Promise<T | null> {
  try { return JSON.parse(await fs.readFile(file, 'utf8')) as T; } catch { return null; }
}
