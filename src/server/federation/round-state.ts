/** The round state machine's state and what it is built from (shared by rounds.ts, tasks.ts and status.ts). */
import type { DiskStateStore } from '../../fl/client-state.js';
import type { Defense } from '../../fl/defense/aggregator.js';
import type { ServerState, Strategy } from '../../fl/strategy.js';
import type { EvalResult, RoundRecord, UploadMeta } from '../../protocol/index.js';
import type { Rng } from '../../util/rng.js';
import type { SerialQueue } from '../../util/serial-queue.js';
import type { ServerConfig } from '../../config/index.js';
import type { ServerMetrics } from '../metrics.js';
import type { ModelVersions } from '../model-versions.js';
import type { StateDir } from '../state.js';
import type { ClientRegistry } from './clients.js';
import type { Log } from './log.js';
import type { Notifier } from './notifier.js';
import type { Publisher } from './publish.js';

/** The round in progress. */
export interface LiveRound {
  round: number;
  attempt: number;
  participants: number[];
  lr: number;
  startedAt: string;
  /** Accepted updates' metadata by client id (parameters live in the update files). */
  accepted: Map<number, UploadMeta>;
  deadline: number;
  extensions: number;
  t0: number;
}

/** What the machine works with (built once when the federation opens). */
export interface RoundsContext {
  config: ServerConfig;
  state: StateDir;
  queue: SerialQueue;
  changed: Notifier;
  log: Log;
  metrics: ServerMetrics;
  strategy: Strategy;
  defense: Defense;
  store: DiskStateStore | null;
  models: ModelVersions;
  clients: ClientRegistry;
  publisher: Publisher;
  rng: Rng;
}

/** The last committed round's state (from the checkpoint, or the initial model). */
export interface Committed {
  completed: number;
  global: Float32Array;
  server: ServerState;
  records: RoundRecord[];
  initialEval: EvalResult | undefined;
}
