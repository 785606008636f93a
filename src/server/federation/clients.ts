/**
 * The federation's clients: who joined (id, name, key digest; persisted), who is connected now (a request within
 * `connectedSeconds`, or a long poll open), and who has been told the federation is done.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { JoinRequest } from '../../protocol/index.js';
import type { ClientRecord } from '../state.js';
import { FederationError } from './errors.js';

export const sha256hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** Compares two hex SHA-256 digests in constant time. */
function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex'), y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface ClientRegistryOptions {
  /** Client slots N: ids 0..N−1. */
  slots: number;
  /** A client counts as connected this long after its last request (seconds). */
  connectedSeconds: number;
  /** Persists the joined clients (atomically) before a join is answered. */
  persist(clients: readonly ClientRecord[]): Promise<void>;
}

export class ClientRegistry {
  private records: ClientRecord[];
  private readonly lastSeen = new Map<number, number>();
  private readonly polling = new Map<number, number>();
  private readonly toldDone = new Set<number>();

  constructor(records: readonly ClientRecord[], private readonly opts: ClientRegistryOptions) {
    this.records = [...records];
  }

  get all(): readonly ClientRecord[] {
    return this.records;
  }

  /** Joins (idempotent per name and key); run it on the federation's queue. */
  async join(req: JoinRequest): Promise<{ record: ClientRecord; rejoined: boolean }> {
    const keyDigest = req.key ? sha256hex(req.key) : null;
    let rec = this.records.find((c) => c.name === req.name);
    if (rec) {
      if (rec.keyDigest && (!keyDigest || !sameDigest(rec.keyDigest, keyDigest))) throw new FederationError('forbidden', `the name '${req.name}' is registered with another key`);
      if (req.clientIndex !== undefined && req.clientIndex !== rec.id) {
        throw new FederationError('conflict', `the name '${req.name}' already has client id ${rec.id}, not ${req.clientIndex}`);
      }
      if (!rec.keyDigest && keyDigest) {
        const keyed: ClientRecord = { ...rec, keyDigest };
        await this.save(this.records.map((c) => (c.id === keyed.id ? keyed : c)));
        rec = keyed;
      }
      this.seen(rec.id);
      return { record: rec, rejoined: true };
    }
    let id: number;
    if (req.clientIndex !== undefined) {
      if (req.clientIndex >= this.opts.slots) throw new FederationError('invalid', `field 'body.clientIndex' must be < ${this.opts.slots} (the federation's client slots)`);
      const holder = this.records.find((c) => c.id === req.clientIndex);
      if (holder) throw new FederationError('conflict', `client index ${req.clientIndex} is already taken by '${holder.name}'`);
      id = req.clientIndex;
    } else {
      const used = new Set(this.records.map((c) => c.id));
      id = 0;
      while (used.has(id)) id++;
      if (id >= this.opts.slots) throw new FederationError('conflict', `the federation is full (${this.opts.slots} clients)`);
    }
    rec = { id, name: req.name, keyDigest, joinedAt: new Date().toISOString() };
    await this.save([...this.records, rec]);
    this.seen(id);
    return { record: rec, rejoined: false };
  }

  private async save(records: ClientRecord[]): Promise<void> {
    await this.opts.persist(records);
    this.records = records;
  }

  /** Checks the client's key (when it registered one) and marks it as seen. */
  authenticate(id: number, key: string | undefined): ClientRecord {
    const c = this.records.find((x) => x.id === id);
    if (!c) throw new FederationError('not-found', `unknown client ${id}; join first (POST /v1/join)`);
    if (c.keyDigest) {
      if (!key) throw new FederationError('forbidden', `client ${id} registered a key; send it in the X-Fedman-Client-Key header`);
      if (!sameDigest(sha256hex(key), c.keyDigest)) throw new FederationError('forbidden', `wrong key for client ${id}`);
    }
    this.seen(id);
    return c;
  }

  seen(id: number): void {
    this.lastSeen.set(id, Date.now());
  }

  lastSeenAt(id: number): string | null {
    const t = this.lastSeen.get(id);
    return t === undefined ? null : new Date(t).toISOString();
  }

  /** A long poll of the client opened (it counts as connected until the poll ends). */
  pollStarted(id: number): void {
    this.polling.set(id, (this.polling.get(id) ?? 0) + 1);
  }

  pollEnded(id: number): void {
    this.polling.set(id, (this.polling.get(id) ?? 1) - 1);
    this.seen(id);
  }

  /** Ids of the connected clients, sorted. */
  connectedIds(): number[] {
    const now = Date.now();
    const window = this.opts.connectedSeconds * 1000;
    return this.records
      .filter((c) => (this.polling.get(c.id) ?? 0) > 0 || now - (this.lastSeen.get(c.id) ?? -Infinity) <= window)
      .map((c) => c.id)
      .sort((a, b) => a - b);
  }

  markToldDone(id: number): void {
    this.toldDone.add(id);
  }

  /** Whether every joined client has been told 'done' (for --exit-when-done). */
  allToldDone(): boolean {
    return this.records.every((c) => this.toldDone.has(c.id));
  }
}
