/** Writes tensor datasets as numpy.savez and safetensors would (for tests: CI has no Python). */
import { zipSync } from 'fflate';

export interface Arr { shape: number[]; data: Float32Array | BigInt64Array | Uint8Array }

const descr = (a: Arr) => (a.data instanceof Float32Array ? '<f4' : a.data instanceof BigInt64Array ? '<i8' : '|u1');

export function npy(a: Arr): Uint8Array {
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '${descr(a)}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + a.data.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), 10 + header.length);
  return out;
}

export function npz(arrays: Record<string, Arr>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(arrays).map(([k, a]) => [`${k}.npy`, npy(a)])));
}

export function safetensors(arrays: Record<string, Arr>): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [k, a] of Object.entries(arrays)) {
    header[k] = { dtype: a.data instanceof Float32Array ? 'F32' : a.data instanceof BigInt64Array ? 'I64' : 'U8', shape: a.shape, data_offsets: [offset, offset + a.data.byteLength] };
    offset += a.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const a of Object.values(arrays)) { out.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), pos); pos += a.data.byteLength; }
  return out;
}
