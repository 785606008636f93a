/**
 * The samples of each client slot of the federation's published data spec (`data` in the server config), for
 * clients that hold no data of their own: the browser demo downloads its shard with GET /v1/client-data. Client id
 * k gets partition k, exactly the samples `fedman client --client-index k` trains on (src/client/data.ts).
 */
import { loadClientData, type ClientData } from '../data/client-data.js';
import { subset } from '../data/dataset.js';
import { encodeSafetensors } from '../runtime/safetensors.js';
import type { PublishedDataSpec } from '../protocol/index.js';
import { FederationError } from './federation/errors.js';

/** safetensors metadata `format` of a client's shard. */
export const SHARD_FORMAT = 'fedman-client-data';

export class ClientShards {
  private all: Promise<ClientData> | null = null;
  private readonly cache = new Map<number, Promise<Uint8Array>>();

  constructor(private readonly spec: PublishedDataSpec) {}

  /** Shard k as safetensors: x [n, ...sampleShape], y [n] (float32); metadata: numClasses, clientIndex, data. */
  encoded(k: number): Promise<Uint8Array> {
    if (k >= this.spec.numClients) {
      return Promise.reject(new FederationError('not-found', `client ${k} has no slot in the published data (${this.spec.numClients} client slots)`));
    }
    let p = this.cache.get(k);
    if (!p) {
      p = this.build(k);
      this.cache.set(k, p);
      p.catch(() => this.cache.delete(k));
      // A handful of recent shards is plenty: browsers fetch theirs once.
      if (this.cache.size > 16) this.cache.delete(this.cache.keys().next().value!);
    }
    return p;
  }

  private async build(k: number): Promise<Uint8Array> {
    this.all ??= loadClientData({ clientIndex: 0 }, this.spec, this.spec.numClients).catch((err) => { this.all = null; throw err; });
    const data = await this.all;
    const ds = subset(data.train, data.indices[k]!);
    // Labels travel as float32 (exact below 2^24): fedman's safetensors codec is float32-only.
    return encodeSafetensors(new Map([
      ['x', { dims: [ds.n, ...ds.sampleShape], data: ds.x }],
      ['y', { dims: [ds.n], data: Float32Array.from(ds.y) }],
    ]), { format: SHARD_FORMAT, data: this.spec.data, clientIndex: String(k), numClasses: String(ds.numClasses) });
  }
}
