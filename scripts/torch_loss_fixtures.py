#!/usr/bin/python3
"""PyTorch references for fedman's loss heads other than the classifier's (test/training/losses.test.ts).

Run from the repository root with Debian's PyTorch 1.13 (NOT the python on PATH):

    /usr/bin/python3 scripts/torch_loss_fixtures.py        # writes test/fixtures/losses/

1. Each loss on fixed small logits and targets, in float64: its value and its gradient with respect to the logits:
   F.binary_cross_entropy_with_logits (multi-label scores with hard and soft targets; one score per sample),
   F.cross_entropy with spatial targets ([N, C, H, W] logits, [N, H, W] labels) and over the last axis of a
   sequence ([N, T, C], as F.cross_entropy(z.permute(0, 2, 1), y)), F.mse_loss, F.l1_loss, and F.ctc_loss (blank 0,
   full input lengths, reduction 'mean', targets with a repeated label) on log_softmax of [N, T, C] logits.
2. Small models whose heads end in the activation their loss applies (exported with it: Softmax over channels,
   Sigmoid, log_softmax per time step) or in nothing (regression), exported at opset 17 and trained ONE SGD step in
   torch (float32): loss + (zeta/2) * sum mean(a^2) over their ReLU outputs, zeta 0.1, clip_grad_norm_(10), lr 0.1.
Files: losses.json (the cases, the models' metrics and parameters after the step), <model>.onnx.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, 'test', 'fixtures', 'losses')
CFG = {'lr': 0.1, 'clip_norm': 10.0, 'zeta': 0.1}


def rand(g, *shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def case(name, kind, z, y, loss_fn, class_axis=None):
    z = z.clone().requires_grad_(True)
    loss = loss_fn(z, y)
    loss.backward()
    out = {'name': name, 'kind': kind, 'logits': {'shape': list(z.shape), 'values': z.detach().reshape(-1).tolist()},
           'labels': {'shape': list(y.shape), 'values': y.reshape(-1).tolist(), 'dtype': 'int64' if y.dtype == torch.int64 else 'float32'},
           'loss': float(loss), 'grad': z.grad.reshape(-1).tolist()}
    if class_axis is not None:
        out['class_axis'] = class_axis
    return out


def ctc_fn(z, y):
    lengths = (y > 0).sum(1)
    log_probs = F.log_softmax(z, dim=2).permute(1, 0, 2)
    T = z.shape[1]
    return F.ctc_loss(log_probs, y, torch.full((z.shape[0],), T, dtype=torch.int64), lengths, blank=0, reduction='mean')


def loss_cases():
    g = torch.Generator().manual_seed(5)
    multi = (torch.rand(3, 4, generator=g) > 0.5).double()
    multi[0, 1] = 0.3  # a soft target
    ctc_targets = torch.tensor([[1, 2, 2, 0, 0, 0, 0], [3, 1, 0, 0, 0, 0, 0], [4, 0, 0, 0, 0, 0, 0]])
    return [
        case('bce multi-label', 'bce', rand(g, 3, 4) * 2, multi, F.binary_cross_entropy_with_logits),
        case('bce one score', 'bce', rand(g, 5, 1) * 3, (torch.rand(5, 1, generator=g) > 0.5).double(), F.binary_cross_entropy_with_logits),
        case('cross-entropy per pixel', 'cross-entropy', rand(g, 2, 3, 4, 5), torch.randint(0, 3, (2, 4, 5), generator=g), F.cross_entropy),
        case('cross-entropy per position, class axis 2', 'cross-entropy', rand(g, 2, 6, 4), torch.randint(0, 4, (2, 6), generator=g),
             lambda z, y: F.cross_entropy(z.permute(0, 2, 1), y), class_axis=2),
        case('l2', 'l2', rand(g, 3, 2, 2), rand(g, 3, 2, 2), F.mse_loss),
        case('l1', 'l1', rand(g, 4, 3), rand(g, 4, 3), F.l1_loss),
        case('ctc', 'ctc', rand(g, 3, 7, 5), ctc_targets, ctc_fn),
    ]


# ---------------------------------------------------------------------------------------------------------------
class TwoLayer(nn.Module):
    """first -> ReLU (the MAN activation) -> second, then `post` (a transpose for the sequence model)."""

    def __init__(self, first, second, post=None):
        super().__init__()
        self.c1, self.c2, self.post = first, second, post

    def forward(self, x, acts=None):
        h = F.relu(self.c1(x))
        if acts is not None:
            acts.append(h)
        z = self.c2(h)
        return self.post(z) if self.post else z


def Seg():
    return TwoLayer(nn.Conv2d(2, 4, 3, padding=1), nn.Conv2d(4, 3, 1))


def MultiLabel():
    return TwoLayer(nn.Linear(6, 8), nn.Linear(8, 4))


def Seq():
    return TwoLayer(nn.Conv1d(4, 6, 3, padding=1), nn.Conv1d(6, 5, 1), post=lambda z: z.transpose(1, 2))


def Regress():
    return TwoLayer(nn.Linear(5, 6), nn.Linear(6, 3))


class Exported(nn.Module):
    """The model as exported: its head activation applied."""

    def __init__(self, net, head):
        super().__init__()
        self.net, self.head = net, head

    def forward(self, x):
        return self.head(self.net(x))


def models():
    g = torch.Generator().manual_seed(9)
    ctc_y = torch.tensor([[1, 2, 2, 4, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0, 0, 0], [2, 3, 1, 0, 0, 0, 0, 0], [4, 4, 0, 0, 0, 0, 0, 0]])
    return [
        ('seg', Seg, lambda z: torch.softmax(z, 1), torch.rand(4, 2, 5, 5, generator=g), torch.randint(0, 3, (4, 5, 5), generator=g),
         'cross-entropy', F.cross_entropy),
        ('multilabel', MultiLabel, torch.sigmoid, torch.randn(4, 6, generator=g), (torch.rand(4, 4, generator=g) > 0.5).float(),
         'bce', F.binary_cross_entropy_with_logits),
        ('ctc', Seq, lambda z: F.log_softmax(z, 2), torch.randn(4, 4, 8, generator=g), ctc_y, 'ctc',
         lambda z, y: ctc_fn(z, y)),
        ('regress', Regress, lambda z: z, torch.randn(4, 5, generator=g), torch.randn(4, 3, generator=g), 'l1', F.l1_loss),
    ]


def train_step(name, cls, head, x, y, kind, loss_fn, seed):
    torch.manual_seed(seed)
    net = cls()
    path = os.path.join(OUT, name + '.onnx')
    exported = Exported(net, head).eval()
    torch.onnx.export(exported, (x[:2],), path, opset_version=17, input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}}, do_constant_folding=True)
    params = list(net.parameters())
    names = [n for n, _ in net.named_parameters()]
    opt = torch.optim.SGD(params, lr=CFG['lr'])
    acts = []
    z = net(x, acts)
    data = loss_fn(z, y)
    man = (CFG['zeta'] / 2) * sum(a.pow(2).mean() for a in acts)
    (data + man).backward()
    gnorm = float(torch.norm(torch.stack([p.grad.norm() for p in params])))
    torch.nn.utils.clip_grad_norm_(params, CFG['clip_norm'])
    opt.step()
    return {'name': name, 'kind': kind, 'onnx': name + '.onnx', 'x': {'shape': list(x.shape), 'values': x.reshape(-1).tolist()},
            'y': {'shape': list(y.shape), 'values': y.reshape(-1).tolist()},
            'loss': float(data + man), 'ce': float(data), 'man': float(man), 'grad_norm': gnorm,
            'params': {('net.' + n): p.detach().reshape(-1).tolist() for n, p in zip(names, params)}}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    out = {'generator': 'scripts/torch_loss_fixtures.py', 'torch_version': torch.__version__, 'config': CFG,
           'cases': loss_cases(), 'models': [train_step(*m, seed=i) for i, m in enumerate(models())]}
    with open(os.path.join(OUT, 'losses.json'), 'w') as fh:
        json.dump(out, fh)
        fh.write('\n')
    for c in out['cases']:
        print('%-42s loss %.8f' % (c['name'], c['loss']))
    for m in out['models']:
        print('%-12s %-13s loss %.6f (data %.6f man %.6f) gn %.4f' % (m['name'], m['kind'], m['loss'], m['ce'], m['man'], m['grad_norm']))


if __name__ == '__main__':
    sys.exit(main())
