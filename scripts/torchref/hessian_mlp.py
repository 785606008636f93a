"""The dense-Hessian fixture: a 6-5-3 tanh MLP, exported to ONNX, with its exact float64 Hessian and spectrum."""
import os

import numpy as np
import torch
import torch.nn.functional as F

from .fixture_io import file_sha256, write_bin
from .models import TinyMLP
from .onnx_export import export_onnx
from .onnx_proto import op_summary
from .param_vector import param_layout

MLP_SEED = 1
MLP_DATA_SEED = 4321


def tiny_mlp_fixture(out_dir):
    """Writes mlp_tiny.onnx and mlp_tiny_hessian.f64.bin to out_dir; returns the 'mlp_tiny' part of hessian.json."""
    torch.manual_seed(MLP_SEED)
    mlp = TinyMLP()
    g = torch.Generator().manual_seed(MLP_DATA_SEED)
    x = torch.randn(16, 6, generator=g)
    y = torch.randint(0, 3, (16,), generator=g)
    onnx_path = os.path.join(out_dir, 'mlp_tiny.onnx')
    info, order = export_onnx(mlp, x[:2], onnx_path)
    layout, total = param_layout(mlp, order)
    sd = dict(mlp.named_parameters())
    theta = torch.cat([sd[n].detach().reshape(-1) for n in order]).double()
    x64 = x.double()

    def unflat(t):
        return {e['name']: t[e['offset']:e['offset'] + e['numel']].reshape(e['shape']) for e in layout}

    def loss_fn(t):
        p = unflat(t)
        h = torch.tanh(F.linear(x64, p['fc1.weight'], p['fc1.bias']))
        return F.cross_entropy(F.linear(h, p['fc2.weight'], p['fc2.bias']), y)

    H = torch.autograd.functional.hessian(loss_fn, theta).numpy()
    assert H.shape == (total, total)
    asym = float(np.abs(H - H.T).max())
    Hs = 0.5 * (H + H.T)
    evals = np.linalg.eigh(Hs)[0]
    t_req = theta.clone().requires_grad_(True)
    lval = loss_fn(t_req)
    grad = torch.autograd.grad(lval, t_req)[0].numpy()
    with torch.no_grad():
        logits32 = mlp(x)
        loss32 = F.cross_entropy(logits32, y)
    hmeta = write_bin(os.path.join(out_dir, 'mlp_tiny_hessian.f64.bin'), Hs, '<f8')
    return {
        'onnx': {'file': 'mlp_tiny.onnx', 'sha256': file_sha256(onnx_path), 'ops': op_summary(info),
                 'opset_import': info['opset_import']},
        'model': 'Linear(6,5) -> tanh -> Linear(5,3); torch.manual_seed(%d) default init' % MLP_SEED,
        'params': layout,
        'num_params': total,
        'x': x.numpy().astype(np.float32).tolist(),
        'x_note': 'float32 [16,6] = torch.randn from Generator(seed %d), then labels = randint(0,3) from the same '
                  'generator; the Hessian uses float64 copies of these float32 values' % MLP_DATA_SEED,
        'labels': y.tolist(),
        'loss_mean_ce_f64': float(lval),
        'loss_mean_ce_f32': float(loss32),
        'logits_f32': logits32.numpy().tolist(),
        'grad_f64': grad.tolist(),
        'hessian': hmeta,
        'hessian_note': 'dense Hessian of mean CE w.r.t. all params flattened in initializer order (row-major '
                        '[P,P], symmetrised 0.5*(H+H^T); max asymmetry before symmetrising = %.3e)' % asym,
        'top_eigenvalue': float(evals[-1]),
        'min_eigenvalue': float(evals[0]),
        'eigenvalues_ascending': evals.tolist(),
        'trace': float(np.trace(Hs)),
    }
