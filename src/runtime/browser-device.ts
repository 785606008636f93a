/**
 * Where a browser trains: the GPU through WebGPU when the browser offers an adapter (`navigator.gpu`, also in
 * workers), else wasm. `want` 'webgpu' insists (no adapter is an error naming what is missing), 'cpu' never asks.
 */
import { FedmanError } from '../util/errors.js';
import { noAdapterHelp, type Device } from './device.js';

export interface DeviceChoice {
  device: Device;
  /** For the page: the adapter, or why it trains on wasm. */
  detail: string;
  /** The wasm choice with a reason, when a WebGPU choice cannot be kept (throws when WebGPU was insisted on). */
  fallback(reason: string): { device: Device; detail: string };
}

interface GpuAdapterLike { info?: { vendor?: string; architecture?: string; device?: string; description?: string } }

export async function chooseBrowserDevice(want: 'auto' | Device): Promise<DeviceChoice> {
  const wasm = (reason: string) => ({ device: 'cpu' as const, detail: `wasm: ${reason}` });
  const fallback = (reason: string) => {
    if (want === 'webgpu') throw new FedmanError(`cannot train on WebGPU (?device=webgpu): ${reason}`);
    return wasm(reason);
  };
  if (want === 'cpu') return { ...wasm('?device=cpu'), fallback };
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } } | undefined)?.gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  if (!adapter) {
    if (want === 'webgpu') throw new FedmanError(`no WebGPU adapter: ${noAdapterHelp()}`);
    return { ...wasm(gpu ? 'the browser found no WebGPU adapter' : 'this browser has no WebGPU (navigator.gpu)'), fallback };
  }
  const i = adapter.info ?? {};
  const name = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ');
  return { device: 'webgpu', detail: `WebGPU${name ? ` (${name})` : ''}`, fallback };
}
