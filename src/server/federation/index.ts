/** The federation core (no HTTP): see federation.ts. */
export { Federation, type FederationOptions } from './federation.js';
export { FederationError, type FederationErrorKind } from './errors.js';
export { admitUpload, type Admission, type AdmissionState, type OpenRound } from './admission.js';
export type { Log } from './log.js';
export { filesFor, ortTrainingObstacles, servedFile, type ServedArtifacts, type ServedFiles } from './artifacts.js';
