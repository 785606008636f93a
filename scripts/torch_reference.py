#!/usr/bin/python3
"""PyTorch reference fixtures for fedman (the independent oracle the TypeScript train-step graphs are tested against).

Run from the repository root with Debian's PyTorch 1.13 (NOT the pyenv python on PATH):

    /usr/bin/python3 scripts/torch_reference.py            # writes test/fixtures/torch/

Options: --out DIR (default test/fixtures/torch), --skip-hessian (skip the CNN Hessian part, ~1 min).
Do NOT set LD_LIBRARY_PATH to OpenBLAS when regenerating: the committed fixtures were produced with the
reference BLAS that Debian's torch links by default (the BLAS in use is recorded in the JSON `meta`).

What it produces (layouts: test/fixtures/torch/README.md):
  * paper_cnn_mnist.onnx   the paper CNN at MNIST shape (1x28x28 -> 10), torch.manual_seed(0) default init,
                           opset 17, input 'input' [N,1,28,28], output 'logits' [N,10], weights as initializers.
  * data_x.f32.bin / data_y.i64.bin   S=3 batches of B=8 (x ~ U[0,1), labels in [0,10)).
  * paper_cnn_mnist.json   parameter order/shapes/offsets, the data description, initial logits on batch 0,
                           and for 5 optimiser configs the per-step metrics and the name of the final-params file.
  * final_<config>.f32.bin parameters after S steps of each config, concatenated in ONNX initializer order.
  * grad_step1_sgd_man.f32.bin   raw loss gradient (CE + MAN, before clipping / weight decay) at step 1, config sgd_man.
  * mlp_tiny.onnx, mlp_tiny_hessian.f64.bin, hessian.json   dense Hessian of a 6-5-3 tanh MLP, and top-eigenvalue /
                           Hutchinson-trace estimates for the paper CNN on batch 0.

Loss (the MAN regulariser, /work/shared/docs/man-method.md):
    L = mean_b CE(logits_b, y_b) + (zeta/2) * sum_l mean(a_l^2)
where a_l are the 4 ReLU outputs (conv ReLUs taken before max-pooling) and mean() runs over ALL elements of a_l
(= batch mean of ||a_l||^2 / d_l).

Optimiser semantics (per step, all metrics at the pre-update parameters):
    zero grads; loss.backward(); [torch.nn.utils.clip_grad_norm_(params, max_norm=c)]; optimizer.step()
clip_grad_norm_: total = ||concat(all grads)||_2, coef = min(1, c / (total + 1e-6)), every grad *= coef.
SGD then adds weight decay: d = clip(g) + wd*w; [momentum: buf = m*buf + d (buf = d at step 1), d = buf]; w -= lr*d.
Adam (L2): g' = clip(g) + wd*w, standard bias-corrected Adam. AdamW: w *= (1 - lr*wd), then Adam on g.

Determinism: float32, torch.set_num_threads(1), torch.use_deterministic_algorithms(True), fixed seeds.
The Hessian quantities are computed on float64 copies.

The code lives in scripts/torchref/: paper_cnn_fixture.py (model, data, configs, manifest), optimizer_steps.py (the
configs and their steps), hessian_mlp.py and hessian_cnn.py (the Hessian fixtures), man.py (the loss).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchref.hessian_cnn import paper_cnn_hessian_fixture  # noqa: E402
from torchref.hessian_mlp import tiny_mlp_fixture  # noqa: E402
from torchref.paper_cnn_fixture import write_paper_cnn_fixture  # noqa: E402
# Scripts written against the single-file version of this script import these names from here.
from torchref.fixture_io import blas_in_use  # noqa: E402,F401
from torchref.man import man_loss  # noqa: E402,F401
from torchref.models import PaperCNN  # noqa: E402,F401
from torchref.onnx_export import export_onnx  # noqa: E402,F401
from torchref.onnx_proto import read_onnx  # noqa: E402,F401

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, 'test', 'fixtures', 'torch')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=DEFAULT_OUT)
    ap.add_argument('--skip-hessian', action='store_true')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)

    manifest, init_state, xs, ys = write_paper_cnn_fixture(args.out)

    # ---- Hessian fixtures ----
    hess = {'meta': manifest['meta']}
    hess['mlp_tiny'] = tiny_mlp_fixture(args.out)
    print('mlp_tiny: top eig %.8f trace %.8f' % (hess['mlp_tiny']['top_eigenvalue'], hess['mlp_tiny']['trace']),
          flush=True)
    if not args.skip_hessian:
        hess['paper_cnn_mnist'] = paper_cnn_hessian_fixture(init_state, xs[0], ys[0])
    with open(os.path.join(args.out, 'hessian.json'), 'w') as fh:
        json.dump(hess, fh, indent=1)
        fh.write('\n')

    total_bytes = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print('wrote %s (%.2f MB)' % (args.out, total_bytes / 1e6))


if __name__ == '__main__':
    sys.exit(main())
