/**
 * The wire contract of fedman's federation protocol (docs/protocol.md): every message as a JSON schema (TypeBox)
 * with its TypeScript type derived from it. The server's routes validate and serialise with these schemas; the
 * Node client, the browser client and embedding apps import them from here, never from the server.
 */
export * from './headers.js';
export * from './common.js';
export * from './join.js';
export * from './task.js';
export * from './upload.js';
export * from './params.js';
export * from './status.js';
export * from './inference.js';
