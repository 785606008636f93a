/**
 * Weights too big to commit, filled from a recipe instead: tensor j, element i = fround(a + s·u(i, j)) with u an
 * integer hash in [-0.5, 0.5). scripts/torch_torchvision_fixtures.py computes the same bits with numpy (uint32
 * arithmetic, float64 affine map, rounding to float32), so fedman and PyTorch start from identical weights.
 */
import type { ModelProto } from '../../src/onnx/proto.js';
import { float32Tensor } from '../../src/onnx/tensor.js';

export interface RecipeEntry { name: string; dims: number[]; a: number; s: number }

/** u(i, j) for i < n, as the Python script's pattern(). */
export function hashPattern(n: number, j: number): Float64Array {
  const out = new Float64Array(n);
  const salt = j * 40503 + 12345;
  for (let i = 0; i < n; i++) {
    let h = (Math.imul(i, 0x9e3779b1) + salt) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
    h = Math.imul(h, 0x85ebca77) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    out[i] = h / 4294967296 - 0.5;
  }
  return out;
}

export function hashFilled(n: number, j: number, a: number, s: number): Float32Array {
  const u = hashPattern(n, j);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = a + s * u[i]!;
  return out;
}

/** The model with the recipe's graph inputs turned into initializers holding the recipe's values. */
export function fillFromRecipe(model: ModelProto, recipe: readonly RecipeEntry[]): ModelProto {
  const names = new Set(recipe.map((e) => e.name));
  const initializer = recipe.map((e, j) => float32Tensor(e.name, e.dims, hashFilled(e.dims.reduce((p, d) => p * d, 1), j, e.a, e.s)));
  const graph = model.graph!;
  return { ...model, graph: { ...graph, input: (graph.input ?? []).filter((i) => !names.has(i.name!)), initializer: [...(graph.initializer ?? []), ...initializer] } };
}
