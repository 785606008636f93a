/**
 * Which processor runs the graphs: the CPU (ONNX Runtime's CPU EP in Node, wasm in browsers) or the GPU through
 * ONNX Runtime's WebGPU execution provider (Dawn: Vulkan on Linux, Metal on macOS, D3D12 on Windows; the browser's
 * WebGPU in onnxruntime-web). Browser-safe: no Node imports.
 */
import { FedmanError } from '../util/errors.js';

export type Device = 'cpu' | 'webgpu';
export const DEVICES: readonly Device[] = ['cpu', 'webgpu'];

export function parseDevice(s: string, where = '--device'): Device {
  if ((DEVICES as readonly string[]).includes(s)) return s as Device;
  throw new FedmanError(`${where}: expected one of ${DEVICES.join(', ')}, got '${s}'`);
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** What to do when there is no WebGPU adapter, for the message of the error that says so. */
export function noAdapterHelp(): string {
  if (!isNode) return 'this browser offers no WebGPU adapter (navigator.gpu is missing or requestAdapter() found no GPU); use ?device=cpu';
  const driver = process.platform === 'darwin' ? 'Metal' : process.platform === 'win32' ? 'D3D12' : 'a Vulkan driver';
  return `ONNX Runtime's WebGPU execution provider found no GPU adapter: it needs ${driver}` +
    (process.platform === 'linux'
      ? ' (the GPU vendor\'s Vulkan driver and the libvulkan1 loader; without a GPU, SwiftShader from the chromium package runs it in software: ' +
        'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json)'
      : '') +
    '. `fedman doctor` lists the backends and adapters found; --device cpu trains without a GPU';
}

/**
 * Turns ONNX Runtime's failure to start the WebGPU EP into a FedmanError naming what is missing; other errors
 * pass through unchanged.
 */
export function deviceError(err: unknown, device: Device): unknown {
  if (device !== 'webgpu') return err;
  const msg = (err as Error)?.message ?? String(err);
  if (/adapter|webgpu is not supported|navigator\.gpu|WebGPU is not available|requestAdapter/i.test(msg)) {
    const said = /Failed to get a WebGPU adapter[^\n]*/.exec(msg)?.[0] ?? msg.split('\n')[0]!;
    return new FedmanError(`no WebGPU adapter: ${noAdapterHelp()} (ONNX Runtime: ${said})`);
  }
  if (/no available backend|backend not found|not supported.*webgpu|webgpu.*not (found|registered)/i.test(msg)) {
    return new FedmanError(`this ONNX Runtime build has no WebGPU execution provider (${msg.split('\n')[0]}); use --device cpu`);
  }
  return err;
}
