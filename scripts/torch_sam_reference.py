#!/usr/bin/python3
"""PyTorch reference for fedman's two-pass sharpness-aware train step (FedSAM / FedASAM / FedSpeed's mix).

Run: /usr/bin/python3 scripts/torch_sam_reference.py   (Debian's PyTorch 1.13; writes test/fixtures/torch/sam_mlp.*)

Model: MLP 20 -> 16 (ReLU) -> 16 (ReLU) -> 4, torch.manual_seed(3), exported to sam_mlp.onnx (opset 17).
Loss: mean CE + (zeta/2) * sum over both ReLU outputs of mean(a^2), in BOTH passes.
Each step: g1 = grad at w; eps = rho*g1/||g1|| (SAM) or rho*T^2 g1/||T g1||, T = |w| + eta (ASAM);
g2 = grad at w + eps (eps held constant); g = g1 + mix*(g2 - g1); clip_grad_norm_(g, clip); SGD step with weight
decay (w <- w - lr*(clip(g) + wd*w)). Metrics (loss, ce, man) are those of the first pass.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchref.onnx_export import export_onnx  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch')


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 16)
        self.fc2 = nn.Linear(16, 16)
        self.fc3 = nn.Linear(16, 4)

    def forward_acts(self, x):
        a1 = torch.relu(self.fc1(x))
        a2 = torch.relu(self.fc2(a1))
        return self.fc3(a2), [a1, a2]

    def forward(self, x):
        return self.forward_acts(x)[0]


def loss_of(model, x, y, zeta):
    logits, acts = model.forward_acts(x)
    ce = F.cross_entropy(logits, y)
    man = (zeta / 2) * sum(a.pow(2).mean() for a in acts)
    return ce + man, ce, man


def run(cfg, init, xs, ys, order):
    model = Mlp()
    model.load_state_dict(init)
    params = dict(model.named_parameters())
    steps = []
    for s in range(xs.shape[0]):
        model.zero_grad()
        total, ce, man = loss_of(model, xs[s], ys[s], cfg['zeta'])
        total.backward()
        g1 = {n: p.grad.detach().clone() for n, p in params.items()}
        with torch.no_grad():
            if cfg['kind'] == 'sam':
                scaled = g1
            else:
                scaled = {n: g1[n] * (params[n].abs() + cfg['eta']) for n in order}
            norm = torch.sqrt(sum((scaled[n] ** 2).sum() for n in order))
            eps = {}
            for n in order:
                e = scaled[n] * (cfg['rho'] / (norm + 1e-12))
                if cfg['kind'] == 'asam':
                    e = e * (params[n].abs() + cfg['eta'])
                eps[n] = e
                params[n].add_(e)
        model.zero_grad()
        loss_of(model, xs[s], ys[s], cfg['zeta'])[0].backward()
        with torch.no_grad():
            for n in order:
                params[n].sub_(eps[n])
                params[n].grad = g1[n] + cfg['mix'] * (params[n].grad - g1[n])
        gn = float(torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm=cfg['clip']))
        with torch.no_grad():
            for n in order:
                params[n].sub_(cfg['lr'] * (params[n].grad + cfg['wd'] * params[n]))
        steps.append({'loss': float(total), 'ce': float(ce), 'man': float(man), 'grad_norm': gn})
    final = torch.cat([params[n].detach().reshape(-1) for n in order]).tolist()
    return {**cfg, 'steps': steps, 'final': final}


def main():
    torch.manual_seed(3)
    model = Mlp()
    g = torch.Generator().manual_seed(11)
    xs = torch.randn(3, 8, 20, generator=g)
    ys = torch.randint(0, 4, (3, 8), generator=g)
    _, order = export_onnx(model, xs[0], os.path.join(OUT, 'sam_mlp.onnx'))
    init = {k: v.clone() for k, v in model.state_dict().items()}
    configs = [
        {'name': 'sam', 'kind': 'sam', 'rho': 0.05, 'mix': 1.0, 'zeta': 0.15, 'lr': 0.1, 'wd': 1e-3, 'clip': 10.0},
        {'name': 'asam', 'kind': 'asam', 'rho': 0.5, 'eta': 0.2, 'mix': 1.0, 'zeta': 0.15, 'lr': 0.1, 'wd': 1e-3, 'clip': 10.0},
        {'name': 'sam_mix_clip', 'kind': 'sam', 'rho': 0.1, 'mix': 0.5, 'zeta': 0.0, 'lr': 0.2, 'wd': 0.0, 'clip': 0.5},
    ]
    out = {
        'generator': 'scripts/torch_sam_reference.py', 'torch_version': torch.__version__, 'order': order,
        'x': xs.reshape(-1).tolist(), 'y': ys.reshape(-1).tolist(), 'steps': 3, 'batch': 8,
        'configs': [run(c, init, xs, ys, order) for c in configs],
    }
    with open(os.path.join(OUT, 'sam_mlp.json'), 'w') as fh:
        json.dump(out, fh)


if __name__ == '__main__':
    main()
