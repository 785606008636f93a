/**
 * Open Inference Protocol (KServe V2) REST codec: request JSON (+ the binary tensor extension) → validated tensors,
 * model outputs → response JSON or JSON + appended raw bytes.
 *
 * Binary extension: the `Inference-Header-Content-Length` header gives the byte length of the JSON part; raw
 * little-endian tensor bytes follow it, in input order, each input's length in `parameters.binary_data_size`.
 * Outputs are binary when requested with `parameters.binary_data: true` (or request-level
 * `parameters.binary_data_output: true`); the response then carries the same header and content type
 * application/octet-stream.
 */
import { HttpError } from '../errors.js';

export const HEADER_LENGTH = 'inference-header-content-length';

export type TypedData = Float32Array | Float64Array | BigInt64Array | BigUint64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

interface DtypeInfo {
  /** ONNX Runtime tensor type. */
  ort: string;
  bytes: number;
  make(n: number): TypedData;
  /** Converts one JSON element (already type-checked loosely) to the stored value; undefined = invalid. */
  from(v: unknown): number | bigint | undefined;
  /** Stored value → JSON value. */
  to(v: number | bigint): number | boolean;
}

const intIn = (lo: number, hi: number) => (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : undefined);
const big = (signed: boolean) => (v: unknown) => {
  if (typeof v === 'number' && Number.isSafeInteger(v) && (signed || v >= 0)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) {
    const b = BigInt(v);
    if (signed ? b >= -(1n << 63n) && b < 1n << 63n : b >= 0n && b < 1n << 64n) return b;
  }
  return undefined;
};
const asNum = (v: number | bigint) => Number(v);

/** KServe datatype → ONNX Runtime type and element size. */
export const DATATYPES: Record<string, DtypeInfo> = {
  FP32: { ort: 'float32', bytes: 4, make: (n) => new Float32Array(n), from: num, to: asNum },
  FP64: { ort: 'float64', bytes: 8, make: (n) => new Float64Array(n), from: num, to: asNum },
  INT64: { ort: 'int64', bytes: 8, make: (n) => new BigInt64Array(n), from: big(true), to: asNum },
  UINT64: { ort: 'uint64', bytes: 8, make: (n) => new BigUint64Array(n), from: big(false), to: asNum },
  INT32: { ort: 'int32', bytes: 4, make: (n) => new Int32Array(n), from: intIn(-2147483648, 2147483647), to: asNum },
  UINT32: { ort: 'uint32', bytes: 4, make: (n) => new Uint32Array(n), from: intIn(0, 4294967295), to: asNum },
  INT16: { ort: 'int16', bytes: 2, make: (n) => new Int16Array(n), from: intIn(-32768, 32767), to: asNum },
  UINT16: { ort: 'uint16', bytes: 2, make: (n) => new Uint16Array(n), from: intIn(0, 65535), to: asNum },
  INT8: { ort: 'int8', bytes: 1, make: (n) => new Int8Array(n), from: intIn(-128, 127), to: asNum },
  UINT8: { ort: 'uint8', bytes: 1, make: (n) => new Uint8Array(n), from: intIn(0, 255), to: asNum },
  BOOL: {
    ort: 'bool', bytes: 1, make: (n) => new Uint8Array(n),
    from: (v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v === 0 || v === 1 ? v : undefined),
    to: (v) => v !== 0 && v !== 0n,
  },
};

const ORT_TO_KSERVE: Record<string, string> = Object.fromEntries(Object.entries(DATATYPES).map(([k, d]) => [d.ort, k]));

/** ONNX Runtime tensor type → KServe datatype ('float16' → FP16, 'string' → BYTES; unsupported for infer). */
export function kserveType(ortType: string): string {
  return ORT_TO_KSERVE[ortType] ?? ({ float16: 'FP16', string: 'BYTES', bfloat16: 'BF16' } as Record<string, string>)[ortType] ?? ortType.toUpperCase();
}

/** Declared shape of a model input or output; -1 = variable. */
export interface TensorSpec {
  name: string;
  datatype: string;
  shape: number[];
}

/** A decoded input tensor. */
export interface InputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: TypedData;
}

export interface RequestedOutput {
  name: string;
  binary: boolean;
}

export interface InferRequest {
  id?: string;
  inputs: InputTensor[];
  /** Outputs to return (all of the model's when the request names none). */
  outputs: RequestedOutput[];
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const bad = (msg: string) => new HttpError(400, msg);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Splits a raw body into its JSON part and the binary tail, following Inference-Header-Content-Length. */
export function splitBody(body: Buffer, headerValue: string | string[] | undefined): { json: unknown; tail: Buffer } {
  let jsonLen = body.length;
  if (headerValue !== undefined) {
    const h = Array.isArray(headerValue) ? headerValue[0] : headerValue;
    if (!h || !/^\d+$/.test(h.trim())) throw bad(`header 'Inference-Header-Content-Length' must be a non-negative integer, got '${h}'`);
    jsonLen = Number(h.trim());
    if (jsonLen > body.length) throw bad(`header 'Inference-Header-Content-Length' is ${jsonLen}, but the body has only ${body.length} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body.subarray(0, jsonLen).toString('utf8'));
  } catch (err) {
    throw bad(`the request's JSON${headerValue !== undefined ? ` (first ${jsonLen} bytes, per 'Inference-Header-Content-Length')` : ''} is not valid: ${(err as Error).message}`);
  }
  return { json, tail: body.subarray(jsonLen) };
}

/**
 * Flattens nested `data` arrays. Nesting deeper than the shape's rank is a 400 (it matches no shape), which also
 * bounds the recursion: a body of a million '[' must not overflow the stack.
 */
function flatten(data: unknown[], out: unknown[], maxDepth: number, where: string, depth = 1): void {
  for (const v of data) {
    if (!Array.isArray(v)) out.push(v);
    else if (depth >= maxDepth) throw bad(`${where}: field 'data' is nested deeper than the shape's ${maxDepth} dimension(s)`);
    else flatten(v, out, maxDepth, where, depth + 1);
  }
}

/**
 * Parses and validates an inference request against the model's inputs/outputs. Every 400 names the input and
 * the field ('inputs[0].shape', "input 'x': field 'datatype'", ...).
 */
export function decodeRequest(json: unknown, tail: Buffer, inputsSpec: readonly TensorSpec[], outputsSpec: readonly TensorSpec[]): InferRequest {
  if (!isObj(json)) throw bad('the request body must be a JSON object');
  const req: InferRequest = { inputs: [], outputs: [] };
  if (json.id !== undefined) {
    if (typeof json.id !== 'string') throw bad("field 'id' must be a string");
    req.id = json.id;
  }
  const params = json.parameters;
  if (params !== undefined && !isObj(params)) throw bad("field 'parameters' must be an object");
  const binaryAll = params?.binary_data_output;
  if (binaryAll !== undefined && typeof binaryAll !== 'boolean') throw bad("field 'parameters.binary_data_output' must be a boolean");
  if (!Array.isArray(json.inputs) || json.inputs.length === 0) throw bad("field 'inputs' must be a non-empty array");
  let offset = 0;
  const seen = new Set<string>();
  json.inputs.forEach((raw: unknown, i: number) => {
    if (!isObj(raw)) throw bad(`field 'inputs[${i}]' must be an object`);
    if (typeof raw.name !== 'string') throw bad(`field 'inputs[${i}].name' must be a string`);
    const name = raw.name;
    const where = `input '${name}'`;
    const spec = inputsSpec.find((s) => s.name === name);
    if (!spec) throw bad(`${where}: field 'inputs[${i}].name' names no input of this model (it has: ${inputsSpec.map((s) => s.name).join(', ')})`);
    if (seen.has(name)) throw bad(`${where}: field 'inputs[${i}].name' appears twice`);
    seen.add(name);
    if (typeof raw.datatype !== 'string') throw bad(`${where}: field 'datatype' must be a string`);
    const dt = DATATYPES[raw.datatype];
    if (!dt) throw bad(`${where}: field 'datatype' '${raw.datatype}' is not supported (use ${Object.keys(DATATYPES).join(', ')})`);
    if (raw.datatype !== spec.datatype) throw bad(`${where}: field 'datatype' is ${raw.datatype}, the model expects ${spec.datatype}`);
    if (!Array.isArray(raw.shape) || !raw.shape.every((d: unknown) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
      throw bad(`${where}: field 'shape' must be an array of non-negative integers`);
    }
    const shape = raw.shape as number[];
    if (shape.length !== spec.shape.length || shape.some((d, k) => spec.shape[k]! >= 0 && spec.shape[k] !== d)) {
      throw bad(`${where}: field 'shape' ${fmt(shape)} does not match the model's ${fmt(spec.shape)} (-1: any size)`);
    }
    const n = numel(shape);
    const p = raw.parameters;
    if (p !== undefined && !isObj(p)) throw bad(`${where}: field 'parameters' must be an object`);
    const binSize = p?.binary_data_size;
    let data: TypedData;
    if (binSize !== undefined) {
      if (typeof binSize !== 'number' || !Number.isInteger(binSize) || binSize < 0) throw bad(`${where}: field 'parameters.binary_data_size' must be a non-negative integer`);
      if (raw.data !== undefined) throw bad(`${where}: field 'data' must be absent when 'parameters.binary_data_size' is given`);
      if (binSize !== n * dt.bytes) throw bad(`${where}: field 'parameters.binary_data_size' is ${binSize} bytes, shape ${fmt(shape)} of ${raw.datatype} needs ${n * dt.bytes}`);
      if (offset + binSize > tail.length) throw bad(`${where}: field 'parameters.binary_data_size' runs past the end of the body (${tail.length - offset} binary bytes left)`);
      data = dt.make(n);
      new Uint8Array(data.buffer).set(tail.subarray(offset, offset + binSize));
      offset += binSize;
    } else {
      if (!Array.isArray(raw.data)) throw bad(`${where}: field 'data' must be an array (or give 'parameters.binary_data_size' with binary data)`);
      const flat: unknown[] = [];
      flatten(raw.data, flat, Math.max(1, shape.length), where);
      if (flat.length !== n) throw bad(`${where}: field 'data' has ${flat.length} elements, shape ${fmt(shape)} needs ${n}`);
      data = dt.make(n);
      for (let k = 0; k < n; k++) {
        const v = dt.from(flat[k]);
        if (v === undefined) throw bad(`${where}: field 'data[${k}]' (${JSON.stringify(flat[k])}) is not a valid ${raw.datatype}`);
        (data as unknown as (number | bigint)[])[k] = v;
      }
    }
    req.inputs.push({ name, datatype: raw.datatype, shape, data });
  });
  if (offset !== tail.length) {
    throw bad(tail.length && !offset
      ? `the body has ${tail.length} bytes after the JSON but no input gives 'parameters.binary_data_size' (is 'Inference-Header-Content-Length' right?)`
      : `the inputs' 'parameters.binary_data_size' add up to ${offset} bytes, but ${tail.length} binary bytes follow the JSON`);
  }
  for (const s of inputsSpec) if (!seen.has(s.name)) throw bad(`field 'inputs': the model's input '${s.name}' is missing`);
  if (json.outputs !== undefined) {
    if (!Array.isArray(json.outputs)) throw bad("field 'outputs' must be an array");
    json.outputs.forEach((o: unknown, i: number) => {
      if (!isObj(o) || typeof o.name !== 'string') throw bad(`field 'outputs[${i}].name' must be a string`);
      const name = o.name;
      if (!outputsSpec.some((s) => s.name === name)) throw bad(`output '${name}': field 'outputs[${i}].name' names no output of this model (it has: ${outputsSpec.map((s) => s.name).join(', ')})`);
      const op = o.parameters;
      if (op !== undefined && !isObj(op)) throw bad(`output '${name}': field 'parameters' must be an object`);
      const b = op?.binary_data;
      if (b !== undefined && typeof b !== 'boolean') throw bad(`output '${name}': field 'parameters.binary_data' must be a boolean`);
      req.outputs.push({ name, binary: b ?? binaryAll ?? false });
    });
  }
  if (req.outputs.length === 0) req.outputs = outputsSpec.map((s) => ({ name: s.name, binary: binaryAll ?? false }));
  return req;
}

export interface OutputTensor {
  name: string;
  /** ONNX Runtime type of the data. */
  type: string;
  dims: readonly number[];
  data: TypedData | readonly unknown[];
}

export interface EncodedResponse {
  body: Buffer | string;
  /** JSON byte length when binary outputs follow (→ the Inference-Header-Content-Length header). */
  headerLength?: number;
}

/** Builds the response body: JSON, or JSON followed by the binary outputs. */
export function encodeResponse(
  meta: { model_name: string; model_version: string; id?: string },
  requested: readonly RequestedOutput[], outputs: Record<string, OutputTensor>,
): EncodedResponse {
  const parts: Buffer[] = [];
  const outs = requested.map((r) => {
    const t = outputs[r.name]!;
    const datatype = kserveType(t.type);
    const dt = DATATYPES[datatype];
    if (!dt || !ArrayBuffer.isView(t.data)) throw new HttpError(500, `output '${r.name}' has the unsupported type ${t.type}`);
    const data = t.data as TypedData;
    if (r.binary) {
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      parts.push(bytes);
      return { name: r.name, datatype, shape: [...t.dims], parameters: { binary_data_size: bytes.length } };
    }
    const arr: (number | boolean)[] = new Array(data.length);
    for (let k = 0; k < data.length; k++) arr[k] = dt.to(data[k]!);
    return { name: r.name, datatype, shape: [...t.dims], data: arr };
  });
  const json = JSON.stringify({ model_name: meta.model_name, model_version: meta.model_version, ...(meta.id !== undefined ? { id: meta.id } : {}), outputs: outs });
  if (!parts.length) return { body: json };
  const head = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([head, ...parts]), headerLength: head.length };
}

/** Client side: builds a binary request body (JSON header + raw inputs). */
export function encodeBinaryRequest(req: {
  id?: string; inputs: { name: string; datatype: string; shape: number[]; data: TypedData }[];
  outputs?: { name: string; binary?: boolean }[]; binaryOutput?: boolean;
}): { body: Buffer; headerLength: number } {
  const json = JSON.stringify({
    ...(req.id !== undefined ? { id: req.id } : {}),
    ...(req.binaryOutput !== undefined ? { parameters: { binary_data_output: req.binaryOutput } } : {}),
    inputs: req.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, parameters: { binary_data_size: i.data.byteLength } })),
    ...(req.outputs ? { outputs: req.outputs.map((o) => ({ name: o.name, ...(o.binary !== undefined ? { parameters: { binary_data: o.binary } } : {}) })) } : {}),
  });
  const head = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([head, ...req.inputs.map((i) => Buffer.from(i.data.buffer, i.data.byteOffset, i.data.byteLength))]), headerLength: head.length };
}

/** Client side: decodes a response (JSON or JSON + binary outputs) into typed arrays. */
export function decodeResponse(body: Buffer, headerLength?: number): { json: Record<string, any>; outputs: Record<string, { datatype: string; shape: number[]; data: TypedData | unknown[] }> } {
  const jsonLen = headerLength ?? body.length;
  const json = JSON.parse(body.subarray(0, jsonLen).toString('utf8')) as Record<string, any>;
  let off = jsonLen;
  const outputs: Record<string, { datatype: string; shape: number[]; data: TypedData | unknown[] }> = {};
  for (const o of json.outputs as any[]) {
    const size = o.parameters?.binary_data_size;
    if (typeof size === 'number') {
      const dt = DATATYPES[o.datatype]!;
      const data = dt.make(size / dt.bytes);
      new Uint8Array(data.buffer).set(body.subarray(off, off + size));
      off += size;
      outputs[o.name] = { datatype: o.datatype, shape: o.shape, data };
    } else outputs[o.name] = { datatype: o.datatype, shape: o.shape, data: o.data };
  }
  return { json, outputs };
}
