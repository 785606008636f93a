/**
 * Upgrade adapters by op and opset version, one file per op family (registered on import from index.ts), in the
 * manner of ONNX's version converter: a model moves up one opset at a time, and at each step every node whose op
 * got a new version there goes through its adapter.
 */
import type { Adapter } from './types.js';

const adapters = new Map<string, Adapter>();

const key = (op: string, version: number) => `${op}@${version}`;

export function registerUpgrade(op: string, version: number, adapter: Adapter): void {
  adapters.set(key(op, version), adapter);
}

/** The new versions only widen types or accept more inputs: the node stays as it is. */
export function registerCompatible(op: string, versions: readonly number[]): void {
  for (const v of versions) registerUpgrade(op, v, (ctx) => ctx.node);
}

export function getUpgrade(op: string, version: number): Adapter | undefined {
  return adapters.get(key(op, version));
}
