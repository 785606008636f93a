/** GET /v1/admin/status: the federation's state in one message (what the dashboard draws). */
import type { ArtifactsInfo, FederationStatus } from '../../protocol/index.js';
import type { Strategy } from '../../fl/strategy.js';
import { minAvailableOf, redactedConfig, type ServerConfig } from '../../config/index.js';
import type { ModelVersions } from '../model-versions.js';
import type { ClientRegistry } from './clients.js';
import type { Rounds } from './rounds.js';

export interface StatusSources {
  config: ServerConfig;
  strategy: Strategy;
  rounds: Rounds;
  clients: ClientRegistry;
  models: ModelVersions;
  model: { name: string; paramCount: number };
  artifacts: ArtifactsInfo;
  startedAt: string;
}

export function federationStatus(s: StatusSources): FederationStatus {
  const { rounds, config } = s;
  const r = rounds.current;
  const connected = new Set(s.clients.connectedIds());
  return {
    federation: config.name,
    algorithm: s.strategy.name,
    algorithmOptions: s.strategy.options,
    man: config.man,
    phase: rounds.phase,
    paused: rounds.paused,
    stopped: rounds.stopped,
    failure: rounds.failure,
    storageProblem: rounds.storageProblem,
    rounds: config.rounds,
    completedRounds: rounds.completed,
    round: r ? {
      round: r.round, attempt: r.attempt, participants: r.participants, accepted: [...r.accepted.keys()].sort((a, b) => a - b),
      deadline: new Date(r.deadline).toISOString(), extensions: r.extensions, startedAt: r.startedAt, lr: r.lr,
    } : null,
    clients: s.clients.all.map((c) => ({ id: c.id, name: c.name, connected: connected.has(c.id), lastSeen: s.clients.lastSeenAt(c.id) })),
    connected: connected.size,
    minAvailable: minAvailableOf(config),
    latestVersion: s.models.latest()?.version ?? null,
    initialEval: rounds.initialEval ?? null,
    history: rounds.records,
    model: { name: s.model.name, paramCount: s.model.paramCount, artifactsId: s.artifacts.id },
    startedAt: s.startedAt,
    config: redactedConfig(config),
  };
}
