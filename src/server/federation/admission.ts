/**
 * Whether an upload counts: a pure function of the federation's round state and the upload, so every rule can be
 * read (and tested) in one place. The rules, in order: a re-sent accepted upload is a duplicate (in the round in
 * progress, or in a closed round's record); otherwise a stopped or finished federation, a closed or future round,
 * another attempt, a round being aggregated, a non-participant or a second upload of a client is a conflict; a
 * wrong size or a non-finite value is invalid. Nothing is changed here: the caller stores an accepted update.
 */
import type { RoundRecord, UploadMeta, UploadResult } from '../../protocol/index.js';
import { FederationError } from './errors.js';

/** The round in progress, as admission sees it. */
export interface OpenRound {
  round: number;
  attempt: number;
  participants: readonly number[];
  /** Accepted updates' metadata by client id. */
  accepted: ReadonlyMap<number, UploadMeta>;
}

export interface AdmissionState {
  current: OpenRound | null;
  /** Whether the round in progress still takes uploads (it is not being aggregated). */
  training: boolean;
  records: readonly RoundRecord[];
  completed: number;
  stopped: boolean;
  done: boolean;
  paramCount: number;
}

export type Admission =
  | { verdict: 'duplicate'; result: UploadResult }
  | { verdict: 'accept'; params: Float32Array }
  /** `reason` labels the rejection in the metrics (fedman_uploads_rejected_total{reason}). */
  | { verdict: 'reject'; reason: string; error: FederationError };

const reject = (reason: string, kind: 'conflict' | 'invalid', message: string): Admission =>
  ({ verdict: 'reject', reason, error: new FederationError(kind, message) });

export function admitUpload(s: AdmissionState, meta: UploadMeta, body: Uint8Array): Admission {
  const r = s.current;
  const c = meta.clientId;
  if (r && r.round === meta.round && r.attempt === meta.attempt && r.accepted.get(c)?.uploadId === meta.uploadId) {
    return { verdict: 'duplicate', result: { accepted: true, duplicate: true, round: r.round, received: r.accepted.size, expected: r.participants.length } };
  }
  const past = s.records.find((x) => x.round === meta.round);
  if (past && past.uploads[String(c)] === meta.uploadId) {
    return { verdict: 'duplicate', result: { accepted: true, duplicate: true, round: past.round, received: past.aggregated.length, expected: past.participants.length } };
  }
  if (s.stopped) return reject('stopped', 'conflict', 'the federation was stopped by the admin; no more updates are accepted');
  if (s.done) return reject('late', 'conflict', `the federation has finished (${s.completed} rounds); round ${meta.round} is closed`);
  if (!r) {
    if (meta.round <= s.completed) return reject('late', 'conflict', `late upload: round ${meta.round} is closed (${s.completed} rounds completed)`);
    return reject('round', 'conflict', `round ${meta.round} is not in progress (the server is waiting to start round ${s.completed + 1})`);
  }
  if (meta.round < r.round) return reject('late', 'conflict', `late upload: round ${meta.round} is closed (the server is in round ${r.round})`);
  if (meta.round > r.round) return reject('round', 'conflict', `round ${meta.round} has not started (the server is in round ${r.round})`);
  if (meta.attempt !== r.attempt) {
    return reject('late', 'conflict', `round ${r.round} is in attempt ${r.attempt}; the update of attempt ${meta.attempt} does not count (the round was restarted)`);
  }
  if (!s.training) return reject('late', 'conflict', `late upload: round ${r.round} is being aggregated`);
  if (!r.participants.includes(c)) return reject('participant', 'conflict', `client ${c} is not a participant of round ${r.round}`);
  const prev = r.accepted.get(c);
  if (prev) return reject('client-uploaded', 'conflict', `client ${c} already uploaded round ${r.round} (upload '${prev.uploadId}'); an update counts once`);
  const n = s.paramCount;
  if (body.byteLength !== n * 4) {
    return reject('size', 'invalid', `the body has ${body.byteLength} bytes; expected ${n} float32 values (${n * 4} bytes)`);
  }
  const params = new Float32Array(n);
  new Uint8Array(params.buffer).set(body);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(params[i]!)) return reject('non-finite', 'invalid', `parameter ${i} is ${params[i]}; updates must be finite`);
  }
  return { verdict: 'accept', params };
}
