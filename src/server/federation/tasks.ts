/**
 * What each client is asked to do (POST /v1/task) and the client-term inputs of its train task
 * (GET /v1/client-inputs/:kind): a participant of the round in progress that has not uploaded yet trains, with
 * the hyperparameters and inputs the round core plans for it (those `fedman simulate` gives the same client);
 * everyone else waits, or is told the federation is done.
 */
import { baseHypers, clientContext, clientPlan, clientRoundSeed } from '../../fl/round/index.js';
import type { ClientContext, Strategy } from '../../fl/strategy.js';
import type { DiskStateStore } from '../../fl/client-state.js';
import type { TaskMessage } from '../../protocol/index.js';
import { minAvailableOf, type ServerConfig } from '../../config/index.js';
import type { ModelVersions } from '../model-versions.js';
import type { ClientRegistry } from './clients.js';
import { FederationError } from './errors.js';
import type { LiveRound } from './round-state.js';
import type { Rounds } from './rounds.js';

export class TaskDesk {
  /** Samples each client reported with its last task request (they weigh into some strategies' plans). */
  private readonly reportedSamples = new Map<number, number>();
  /** The hyperparameters planned for each participant of one round attempt (a plan can read the client store). */
  private planned: { round: number; attempt: number; hypers: Map<number, Record<string, number>> } | null = null;

  constructor(
    private readonly rounds: Rounds,
    private readonly config: ServerConfig,
    private readonly strategy: Strategy,
    private readonly store: DiskStateStore | null,
    private readonly models: ModelVersions,
    private readonly clients: ClientRegistry,
    private readonly clientInputs: readonly string[],
  ) {}

  reportSamples(clientId: number, numSamples: number | undefined): void {
    if (numSamples !== undefined) this.reportedSamples.set(clientId, numSamples);
  }

  private context(r: LiveRound, clientId: number): Promise<ClientContext> {
    const rounds = this.rounds;
    return clientContext(rounds.info(r, r.participants), clientId, this.reportedSamples.get(clientId) ?? 0, rounds.global, rounds.server, this.store);
  }

  private async hypersOf(r: LiveRound, clientId: number): Promise<Record<string, number> | null> {
    if (this.planned?.round !== r.round || this.planned.attempt !== r.attempt) this.planned = { round: r.round, attempt: r.attempt, hypers: new Map() };
    const cache = this.planned.hypers;
    let hypers = cache.get(clientId);
    if (!hypers) {
      hypers = clientPlan(this.strategy, await this.context(r, clientId), baseHypers(this.config, r.lr)).hypers;
      // The round may have moved on while the client state was read.
      if (this.rounds.current !== r) return null;
      cache.set(clientId, hypers);
    }
    return hypers;
  }

  /** The client's task now ('wait' when there is nothing to do yet). */
  async current(clientId: number): Promise<TaskMessage> {
    const { rounds, config: c } = this;
    const latest = this.models.latest()?.version ?? 0;
    if (rounds.phase === 'done') return { type: 'done', finalVersion: latest, reason: rounds.stopped ? 'stopped by the admin' : `all ${c.rounds} rounds completed` };
    if (rounds.closed) return { type: 'wait', retryAfter: 2, reason: 'the server is shutting down' };
    if (rounds.failure) return { type: 'wait', retryAfter: 30, reason: 'the federation failed; see the admin status' };
    if (rounds.paused) return { type: 'wait', retryAfter: 5, reason: 'paused by the admin' };
    const r = rounds.current;
    if (rounds.phase === 'training' && r && r.participants.includes(clientId) && !r.accepted.has(clientId)) {
      const hypers = await this.hypersOf(r, clientId);
      if (!hypers) return this.current(clientId);
      return {
        type: 'train', round: r.round, attempt: r.attempt, paramsVersion: rounds.completed, deadline: new Date(r.deadline).toISOString(),
        config: {
          lr: r.lr, epochs: c.localEpochs, localSteps: c.localSteps, batchSize: c.batchSize,
          shuffleSeed: c.shuffle ? clientRoundSeed(c.seed, r.round, clientId) : null,
          hypers, clientInputs: [...this.clientInputs],
        },
      };
    }
    const why = rounds.phase === 'aggregating' ? `aggregating round ${r?.round}`
      : rounds.phase === 'training' ? (r!.accepted.has(clientId) ? `update for round ${r!.round} received; waiting for the other participants` : `not a participant of round ${r!.round}`)
        : `waiting for clients (${this.clients.connectedIds().length} connected, ${minAvailableOf(c)} needed)`;
    return { type: 'wait', retryAfter: 1, reason: why };
  }

  /** A participant's client-term input for the round in progress. */
  async clientInput(clientId: number, kind: string, round: number, attempt: number, paramCount: number): Promise<Float32Array> {
    if (!this.clientInputs.includes(kind)) {
      throw new FederationError('not-found', `no client input '${kind}' (this federation's artifacts have: ${this.clientInputs.join(', ') || 'none'})`);
    }
    const r = this.rounds.current;
    if (!r || this.rounds.phase !== 'training' || r.round !== round || r.attempt !== attempt) {
      throw new FederationError('conflict', `round ${round} (attempt ${attempt}) is not in progress${r ? `; the server is in round ${r.round} (attempt ${r.attempt})` : ''}`);
    }
    if (!r.participants.includes(clientId)) throw new FederationError('conflict', `client ${clientId} is not a participant of round ${round}`);
    const plan = this.strategy.configureClient(await this.context(r, clientId));
    return plan.inputs[kind] ?? new Float32Array(paramCount);
  }
}
