/**
 * What the federation refuses, as domain errors: the federation core knows nothing of HTTP; the server's error
 * handler (src/server/errors.ts) maps each kind to its status code.
 */
import { FedmanError } from '../../util/errors.js';

export type FederationErrorKind =
  /** The request is malformed for this federation (wrong vector size, a client index past the slots, ...). */
  | 'invalid'
  /** A client key is missing or wrong, or a name is registered with another key. */
  | 'forbidden'
  /** Unknown client, model version, artifact, client input or data slot. */
  | 'not-found'
  /** The federation's state does not allow it now (late upload, wrong round, not a participant, stopped, ...). */
  | 'conflict'
  /** Transient: the server cannot do it now (a full disk); the same request may succeed later. */
  | 'unavailable';

export class FederationError extends FedmanError {
  constructor(readonly kind: FederationErrorKind, message: string, readonly retryAfterSeconds?: number) {
    super(message);
    this.name = 'FederationError';
  }
}
