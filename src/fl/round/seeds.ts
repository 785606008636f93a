/** Seeds derived per round and client, so that a client's randomness does not depend on who else ran or when. */
import { Rng } from '../../util/rng.js';

/** The shuffle seed of client `clientId` in `round`: a function of (seed, round, client) only. */
export function clientRoundSeed(seed: number, round: number, clientId: number): number {
  const perRound = new Rng(seed, 0x4c0ca1 + round).nextUint32();
  return new Rng(perRound, clientId).nextUint32();
}
