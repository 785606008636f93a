/** Per-round client participation. */
import type { Rng } from '../../util/rng.js';

/** RNG stream id of participant sampling (seeded from the config's seed). */
export const SAMPLING_STREAM = 0x5a3b1e;

/**
 * Participants of one round, sorted by id: a fixed count sampled without replacement, or each client
 * independently with probability p, redrawn while nobody joins (as the FedDyn/FedMAN reference code does).
 */
export function sampleParticipants(rng: Rng, numClients: number, participation: number, clientsPerRound: number | null): number[] {
  if (clientsPerRound !== null) return rng.sampleWithoutReplacement(numClients, Math.min(clientsPerRound, numClients)).sort((a, b) => a - b);
  for (;;) {
    const s: number[] = [];
    for (let i = 0; i < numClients; i++) if (rng.uniform() < participation) s.push(i);
    if (s.length > 0) return s;
  }
}

/** Expected clients per round (for the default worker count). */
export function expectedClientsPerRound(numClients: number, participation: number, clientsPerRound: number | null): number {
  return clientsPerRound !== null ? Math.min(clientsPerRound, numClients) : Math.max(1, Math.round(participation * numClients));
}
