/**
 * Top Hessian eigenvalue of the paper CNN (torch.onnx.export, 573,578 parameters) on fixture batch 0 (8 samples)
 * against PyTorch (test/fixtures/torch/hessian.json): mean CE, and CE + MAN with ζ = 0.15.
 *
 * Lanczos, not power iteration: the Hessian at initialisation is indefinite with a clustered top end (3.46, 3.37,
 * 3.27, … and −3.35), so power iteration with the paper's stop rule (relative change < 1e-3 or 100 iterations)
 * ends 2.5–3.5 % low here (PyTorch's own power iteration, tol 1e-4, ends 0.14 % low after 112 iterations), while
 * Lanczos meets its 1e-3 residual bound in ~35 HVPs and lands within 1e-5 of PyTorch's Lanczos value.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadModel } from '../../src/onnx/model-io.js';
import { HessianOperator, hutchinson, lanczos } from '../../src/flatness/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { Rng } from '../../src/util/rng.js';

const dir = 'test/fixtures/torch';
const ref = JSON.parse(readFileSync(path.join(dir, 'hessian.json'), 'utf8')).paper_cnn_mnist;
const xb = readFileSync(path.join(dir, 'data_x.f32.bin'));
const yb = readFileSync(path.join(dir, 'data_y.i64.bin'));
const B = 8;
const ds: Dataset = {
  name: 'batch0',
  x: new Float32Array(xb.buffer.slice(xb.byteOffset, xb.byteOffset + B * 784 * 4)),
  y: Int32Array.from(new BigInt64Array(yb.buffer.slice(yb.byteOffset, yb.byteOffset + B * 8)), Number),
  n: B, sampleShape: [1, 28, 28], numClasses: 10,
};
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

for (const [key, zeta] of [['mean_ce', 0], ['man_loss_zeta_0.15', 0.15]] as const) {
  t.test(`paper CNN, batch 0, ${key}: Lanczos top eigenvalue matches PyTorch`, async (t) => {
    const want = ref[key];
    const model = await loadModel(path.join(dir, 'paper_cnn_mnist.onnx'));
    const op = await HessianOperator.create(model, { zeta, threads: 1 });
    t.teardown(() => op.release());
    op.setData(ds, { batchSize: B });
    t.equal(op.manLayers.length, zeta > 0 ? 4 : 0, 'MAN on the 4 ReLU outputs when ζ > 0');

    const u = new Float64Array(op.dim);
    const v = new Float64Array(op.dim);
    const rng = new Rng(9);
    for (let i = 0; i < op.dim; i++) { u[i] = rng.normal(); v[i] = rng.normal(); }
    const hu = await op.apply(u);
    const hv = await op.apply(v);
    t.ok(rel(hv.total, want.loss) < 1e-5, `loss ${hv.total} vs torch ${want.loss}`);
    let uHv = 0, vHu = 0;
    for (let i = 0; i < op.dim; i++) { uHv += u[i]! * hv.hv[i]!; vHu += v[i]! * hu.hv[i]!; }
    t.ok(Math.abs(uHv - vHu) / Math.max(Math.abs(uHv), Math.abs(vHu)) < 1e-4, `symmetric: uᵀHv = ${uHv}, vᵀHu = ${vHu}`);

    const t0 = performance.now();
    const hvp0 = op.hvpSeconds;
    const r = await lanczos(op, { maxIter: 100, tol: 1e-3, seed: 0 });
    const secs = (performance.now() - t0) / 1000;
    t.ok(r.converged, `converged in ${r.iterations} steps (${secs.toFixed(1)} s, ${(1000 * secs / r.iterations).toFixed(0)} ms per step, of which the HVP ${(1000 * (op.hvpSeconds - hvp0) / r.iterations).toFixed(0)} ms)`);
    t.ok(rel(r.eigenvalue, want.lanczos.top_ritz_value) < 1e-3, `λ_max ${r.eigenvalue} vs PyTorch Lanczos ${want.lanczos.top_ritz_value} (rel ${rel(r.eigenvalue, want.lanczos.top_ritz_value).toExponential(2)})`);
    t.ok(rel(r.eigenvalue, want.top_eigenvalue) < 0.02, `λ_max ${r.eigenvalue} vs PyTorch power iteration ${want.top_eigenvalue} (rel ${rel(r.eigenvalue, want.top_eigenvalue).toExponential(2)})`);
    t.ok(rel(r.minRitz!, want.lanczos.min_ritz_value) < 0.05, `smallest Ritz value ${r.minRitz} vs PyTorch ${want.lanczos.min_ritz_value}`);

    if (zeta === 0) {
      // Hutchinson: noisy by nature (PyTorch: s.e. 3.2 with 200 vectors), so compare within 4 combined s.e.
      const tr = await hutchinson(op, { samples: 16, seed: 1 });
      const bound = 4 * Math.hypot(tr.stderr, want.trace_stderr);
      t.ok(Math.abs(tr.trace - want.trace_hutchinson) < bound, `trace ${tr.trace.toFixed(2)} ± ${tr.stderr.toFixed(2)} vs PyTorch ${want.trace_hutchinson.toFixed(2)} ± ${want.trace_stderr.toFixed(2)} (bound ${bound.toFixed(1)})`);
    }
  });
}
