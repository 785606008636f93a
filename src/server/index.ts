/** The federation server: app, federation core, config, auth, metrics, model versions (see docs/protocol.md). */
export { buildApp, type BuildAppOptions, type FedmanApp, type FedmanContext } from './app.js';
export { Federation, FederationError, admitUpload, type FederationOptions, type FederationErrorKind, type Admission } from './federation/index.js';
export { SERVER_CONFIG_SCHEMA, validateServerConfig, serverConfigDiffs, minAvailableOf, type ServerConfig } from '../config/index.js';
export { TokenAuth, installAuth, tokenDigest, SCOPES, type Scope } from './auth.js';
export { HttpError, ERROR_SCHEMA, ERROR_RESPONSES, installErrorHandling, schemaErrorFormatter } from './errors.js';
export { installCors, type CorsOptions } from './cors.js';
export { createMetrics, type ServerMetrics } from './metrics.js';
export { ModelVersions, type ModelVersion, type ModelVersionMeta } from './model-versions.js';
export { sendBinary, parseRange, BINARY_RESPONSE } from './binary.js';
export { StateDir, STATE_FILES, type UploadMeta, type RoundRecord } from './state.js';
export { parseUploadMeta } from './plugins/federation.js';
