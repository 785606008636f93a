/** Option parsers for commander that reject bad values with a message naming the flag. */
import { InvalidArgumentError } from 'commander';
import { parseDevice, type Device } from '../runtime/device.js';

export function num(flag: string, opts: { min?: number; max?: number; integer?: boolean } = {}) {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v)) throw new InvalidArgumentError(`${flag} expects a number, got '${value}'`);
    if (opts.integer && !Number.isInteger(v)) throw new InvalidArgumentError(`${flag} expects an integer, got '${value}'`);
    if (opts.min !== undefined && v < opts.min) throw new InvalidArgumentError(`${flag} must be >= ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) throw new InvalidArgumentError(`${flag} must be <= ${opts.max}, got ${v}`);
    return v;
  };
}

export const int = (flag: string, min = 0) => num(flag, { integer: true, min });

export const DEVICE_HELP = "'cpu' or 'webgpu' (the GPU through ONNX Runtime's WebGPU EP: Vulkan, Metal or D3D12; `fedman doctor` shows what is found)";

export function device(flag = '--device') {
  return (value: string): Device => {
    try { return parseDevice(value, flag); } catch (err) { throw new InvalidArgumentError((err as Error).message); }
  };
}
