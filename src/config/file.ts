/** Reading a JSON config file (simulation or server), with errors that name the file. */
import { promises as fs } from 'node:fs';
import { FedmanError } from '../util/errors.js';

export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try { text = await fs.readFile(file, 'utf8'); } catch {
    throw new FedmanError(`cannot read config file '${file}'`);
  }
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (err) {
    throw new FedmanError(`config file '${file}' is not valid JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new FedmanError(`config file '${file}' must hold a JSON object`);
  return raw as Record<string, unknown>;
}
