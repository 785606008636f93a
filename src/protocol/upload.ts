/**
 * POST /v1/update: a participant's locally trained parameters (raw float32 LE body) with their metadata in the
 * X-Fedman-Meta header.
 */
import { Type, type Static } from 'typebox';
import { MAX_COUNT } from './common.js';

const count = (extra: Record<string, unknown> = {}) => Type.Integer({ minimum: 0, maximum: MAX_COUNT, ...extra });

/** What a client reports with its parameters (the X-Fedman-Meta header). */
export const UploadMeta = Type.Object({
  round: Type.Integer({ minimum: 1, maximum: MAX_COUNT }),
  /** Restart count within the round (see docs/protocol.md: deadlines). */
  attempt: count({ default: 0 }),
  clientId: count(),
  /** Makes the upload idempotent: re-sending it counts nothing. */
  uploadId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' }),
  numSamples: count(),
  /** Optimiser steps taken. */
  steps: count({ default: 0 }),
  /** Samples processed (epochs × numSamples, or fewer with local steps). */
  samples: count({ default: 0 }),
  metrics: Type.Object({
    loss: Type.Number({ default: 0 }), ce: Type.Number({ default: 0 }), man: Type.Number({ default: 0 }), accuracy: Type.Number({ default: 0 }),
  }, { additionalProperties: false, default: {} }),
  /** Local training time. */
  seconds: Type.Number({ minimum: 0, default: 0 }),
}, { additionalProperties: false });
export type UploadMeta = Static<typeof UploadMeta>;

/** The headers schema of POST /v1/update. */
export const UploadHeaders = Type.Object({ 'x-fedman-meta': Type.String({ minLength: 2, maxLength: 8192 }) });

export const UploadResult = Type.Object({
  accepted: Type.Boolean(),
  /** true: this uploadId was accepted before; nothing was counted again. */
  duplicate: Type.Boolean(),
  round: Type.Integer(),
  /** Updates accepted so far in the round, and how many participants it has. */
  received: Type.Integer(),
  expected: Type.Integer(),
});
export type UploadResult = Static<typeof UploadResult>;
