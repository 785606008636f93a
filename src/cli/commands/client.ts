/**
 * `fedman client --server <url> --token <t> [data options]`: a federation client (src/client/): joins, trains each
 * round it is picked for on its local data, uploads, until the server says done. `--simulate K` runs K virtual
 * clients in this process.
 */
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { DATASET_SPEC_HELP } from '../../data/registry.js';
import { runClient } from '../../client/client.js';
import { TRAINER_ENGINES, type TrainerEngine } from '../../runtime/trainer-interface.js';
import { FedmanError } from '../../util/errors.js';
import { device, DEVICE_HELP, int } from '../parse.js';

/** 'i/n' → {index, count}. */
export function parseShard(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`--partition expects i/n (e.g. 0/3), got '${v}'`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index >= count) throw new InvalidArgumentError(`--partition ${v}: need 0 <= i < n`);
  return { index, count };
}

/** Default cache directory for a server URL: $XDG_CACHE_HOME/fedman/client/<host_port>. */
export function defaultCacheDir(server: string): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  let id = 'server';
  try { const u = new URL(server); id = `${u.hostname}_${u.port || (u.protocol === 'https:' ? 443 : 80)}`; } catch { /* checked later */ }
  return path.join(base, 'fedman', 'client', id.replace(/[^A-Za-z0-9._-]/g, '_'));
}

function engine(v: string): TrainerEngine {
  if ((TRAINER_ENGINES as readonly string[]).includes(v)) return v as TrainerEngine;
  throw new InvalidArgumentError(`--engine expects one of ${TRAINER_ENGINES.join(', ')}, got '${v}'`);
}

export function registerClient(program: Command): void {
  program
    .command('client')
    .description('federation client: join a `fedman serve` server, train on local data each round, upload, until done')
    .requiredOption('--server <url>', 'server URL, e.g. http://127.0.0.1:8080')
    .option('--token <token>', "bearer token of the 'client' scope (default: $FEDMAN_TOKEN)")
    .option('--data <spec>', `local dataset (default: the server's data spec):\n${DATASET_SPEC_HELP}`)
    .option('--client-index <i>', "train as client i of the server's data spec (partitioned as `fedman simulate` does)", int('--client-index'))
    .option('--partition <i/n>', 'train on the i-th of n IID shards of --data', parseShard)
    .option('--limit <n>', 'use only the first N training samples of --data', int('--limit', 1))
    .option('--name <id>', 'client name: the identity kept across restarts (default: from the index, else random and cached)')
    .option('--key <secret>', 'client key proving the identity (default: random, kept in the cache)')
    .option('--cache <dir>', 'cache directory (artifacts, parameters, identity); default under ~/.cache/fedman/client')
    .option('--threads <n>', 'ONNX Runtime intra-op threads', int('--threads'), 1)
    .option('--device <name>', DEVICE_HELP, device(), 'cpu')
    .option('--engine <name>', "training engine: fedman, or ort-training (ONNX Runtime 1.19's TrainingSession on the federation's ORT training files)", engine, 'fedman')
    .option('--simulate <k>', 'run K virtual clients in this process (indices i..i+K-1), sharing one trainer', int('--simulate', 1))
    .option('--max-rounds <k>', 'leave after uploading K rounds', int('--max-rounds', 1))
    .option('--poll <seconds>', 'long-poll length (capped by the server)', int('--poll', 1), 30)
    .option('--retry-for <seconds>', 'give up when the server stays unreachable this long', int('--retry-for', 1), 300)
    .option('--quiet', 'no progress lines')
    .option('--json', 'print a JSON summary at the end')
    .action(async (o) => {
      if (o.clientIndex !== undefined && o.partition) throw new FedmanError('use either --client-index or --partition, not both');
      const token = o.token ?? process.env.FEDMAN_TOKEN;
      const log = o.quiet || o.json ? undefined : (line: string) => process.stderr.write(line + '\n');
      const ac = new AbortController();
      const onSignal = () => ac.abort(new FedmanError('interrupted'));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const summary = await runClient({
          server: o.server, token, data: o.data, clientIndex: o.clientIndex, shard: o.partition, limit: o.limit, name: o.name, key: o.key,
          cacheDir: o.cache ?? defaultCacheDir(o.server), threads: o.threads, device: o.device, engine: o.engine, simulate: o.simulate, maxRounds: o.maxRounds,
          pollSeconds: o.poll, retryForSeconds: o.retryFor, log, signal: ac.signal,
        });
        if (o.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
