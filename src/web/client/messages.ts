/** Messages between the browser client page (main.ts) and its training worker (worker.ts). */
import type { ClientRoundReport, TrainTaskMessage } from '../../client/round.js';
import type { Device } from '../../runtime/device.js';

export interface StartMessage {
  type: 'start';
  /** Server base URL (the page's origin, or another server allowing it by CORS). */
  server: string;
  /** Bearer token of the `client` scope (empty: the scope is open). */
  token: string;
  name: string;
  key: string;
  /** onnxruntime-web wasm threads (default 1; more need cross-origin isolation). */
  threads?: number;
  /** 'auto' (default): the GPU through WebGPU when the browser has an adapter and the artifacts a WebGPU lowering, else wasm. */
  device?: 'auto' | Device;
}

export type ToWorker =
  | StartMessage
  /** Classify one sample with the latest global model, on this device (onnxruntime-web). */
  | { type: 'predict'; id: number; x: Float32Array };

export type Phase = 'joining' | 'loading' | 'waiting' | 'training' | 'uploading' | 'done' | 'error';

export type FromWorker =
  | {
    type: 'joined'; clientId: number; rejoined: boolean; federation: { name: string; algorithm: string; man: number; rounds: number; model: string };
    numSamples: number; threads: number;
    /** Where it trains, and why (the adapter, or what sent it to wasm). */
    device: Device; deviceDetail: string;
  }
  | { type: 'phase'; phase: Phase; round?: number; detail?: string }
  | { type: 'progress'; round: number; steps: number; loss: number; samplesPerSecond: number }
  | { type: 'round'; report: ClientRoundReport; samplesPerSecond: number; task: TrainTaskMessage; received?: number; expected?: number }
  | { type: 'prediction'; id: number; version: number; probabilities: number[] }
  /** `status`: the HTTP status when the server refused a request. */
  | { type: 'error'; message: string; status?: number };
