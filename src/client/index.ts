/** The federation client library (see docs/protocol.md). */
export { runClient, type ClientOptions, type ClientSummary, type VirtualClientReport, type ClientRoundReport } from './client.js';
export { FedHttp, ProtocolError, readJson, type HttpOptions } from './http.js';
export { ensureArtifacts, downloadParams, identityKey, defaultName, type ArtifactsInfo, type DownloadStats } from './cache.js';
export { loadClientData, type ClientDataOptions, type ClientData } from '../data/client-data.js';
export { trainAndUpload, trainTaskOf, downloadClientInput, type RoundIO, type TrainedRound, type TrainTaskMessage } from './round.js';
