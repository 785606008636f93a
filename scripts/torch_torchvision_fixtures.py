#!/usr/bin/python3
"""torchvision's ResNet-18 as fedman must take it: exported by torch.onnx.export as a user would, checked against
PyTorch by test/training/torchvision-resnet.test.ts.

Run from the repository root with Debian's PyTorch 1.13 / torchvision 0.14 (NOT the python on PATH):

    /usr/bin/python3 scripts/torch_torchvision_fixtures.py              # writes test/fixtures/torchvision/
    /usr/bin/python3 scripts/torch_torchvision_fixtures.py --full DIR   # also DIR/resnet18.onnx with its weights

The model is torchvision.models.resnet18(num_classes=10) unchanged: a 7x7/2 conv stem, BatchNorm, ReLU and the
overlapping 3x3/2 max pool (padding 1), four stages of BasicBlocks, adaptive average pool, Linear. Its weights
(11.7M, 47 MB) are too big to commit, so the fixture is the exported graph without them (export_params=False:
every parameter and BN running statistic is a named graph input) plus a recipe that fills them: tensor j, element
i gets  a_j + s_j * u(i, j),  where u is an integer hash in [-0.5, 0.5) computed exactly in float64 and rounded
to float32 (the test computes the same bits in TypeScript). a_j, s_j mimic a trained model's scales (conv and
Linear weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)), BN weight around 1, running variances in [0.75, 1.25)).

The export leaves the spatial size symbolic (dynamic axes N, H, W: the model runs at any resolution, as a
downloaded ImageNet model does), so fedman needs --input-shape; the check runs at 3x64x64 (the architecture is
size-agnostic), batch 4, ONE training step in torch with BN in train mode:
  loss = mean CE + (zeta/2) * sum_l mean(a_l^2) over the 17 ReLU outputs (fedman's MAN 'auto' selection),
  zeta = 0.1; clip_grad_norm_(10); SGD(lr=0.1, weight_decay=1e-3).
Files (test/fixtures/torchvision/):
  resnet18.skeleton.onnx   the export, weights as graph inputs
  resnet18.json            the recipe (name, dims, a, s per tensor j, in state_dict and graph-input order; the batch x is filled
                           the same way as tensor 1000 with a = s = ... see 'x'), the labels, the eval-mode
                           logits, the step's metrics, and per parameter: the update's L2 norm and the values after
                           the step at 8 evenly spaced positions; per BN buffer the same after the step
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_pretrained_fixtures import sha256  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, 'test', 'fixtures', 'torchvision')
BATCH = 4
SHAPE = [3, 64, 64]
CLASSES = 10
CFG = {'lr': 0.1, 'weight_decay': 1e-3, 'clip_norm': 10.0, 'zeta': 0.1, 'momentum': 0.0}
SAMPLES = 8
MASK = 0xFFFFFFFF
X_INDEX = 1000


def pattern(n, j):
    """u(i, j) for i < n: a 32-bit integer hash of (i, j), mapped to [-0.5, 0.5). Exact in float64."""
    i = np.arange(n, dtype=np.uint64)
    h = (i * np.uint64(0x9E3779B1) + np.uint64(j * 40503 + 12345)) & np.uint64(MASK)
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x85EBCA77)) & np.uint64(MASK)
    h ^= h >> np.uint64(13)
    return h.astype(np.float64) / 4294967296.0 - 0.5


def recipe(name, shape):
    """(a, s) for a tensor: its typical scale in a trained torchvision model."""
    n = int(np.prod(shape))
    if name.endswith('running_var'):
        return 1.0, 0.5
    if name.endswith('running_mean'):
        return 0.0, 0.2
    if name == 'fc.bias':  # U(-1/sqrt(512), 1/sqrt(512)), as torch's Linear
        return 0.0, 2.0 / np.sqrt(512)
    if len(shape) == 1:  # BatchNorm affine
        return (1.0, 0.2) if name.endswith('weight') else (0.0, 0.2)
    return 0.0, 2.0 / np.sqrt(n // shape[0])


def filled(entries):
    out = {}
    for j, e in enumerate(entries):
        v = e['a'] + e['s'] * pattern(int(np.prod(e['dims'])), j)
        out[e['name']] = torch.from_numpy(v.astype(np.float32).reshape(e['dims']))
    return out


def build():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=CLASSES)
    # In-place ReLUs would overwrite the recorded activations; the exported graph is the same either way.
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    return model


def export(model, path, params):
    model.eval()
    torch.onnx.export(model, (torch.zeros(2, *SHAPE),), path, opset_version=17, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.PRESERVE, export_params=params,
                      input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'N', 2: 'H', 3: 'W'}, 'logits': {0: 'N'}})


def graph_inputs(path):
    """Names of the graph inputs, in order (field 11 of GraphProto), with a minimal protobuf walk."""
    try:  # the protobuf reader's home since the reference scripts were split into scripts/torchref/
        from torchref.onnx_proto import read_onnx
    except ImportError:
        from torch_reference import read_onnx
    return read_onnx(path)['inputs']


def positions(n):
    return sorted({round(k * (n - 1) / (SAMPLES - 1)) for k in range(SAMPLES)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--full', help='also write DIR/resnet18.onnx with the weights (47 MB; not committed)')
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    model = build()
    # Distinct values before the export: torch's exporter merges parameters with equal values (BN's initial ones).
    state = model.state_dict()
    entries = []
    for n, v in state.items():
        if v.dtype != torch.float32:
            continue
        a, s = recipe(n, list(v.shape))
        entries.append({'name': n, 'dims': list(v.shape), 'a': a, 's': s})
    model.load_state_dict(filled(entries), strict=False)
    params = dict(model.named_parameters())
    skeleton = os.path.join(OUT, 'resnet18.skeleton.onnx')
    export(model, skeleton, params=False)
    names = graph_inputs(skeleton)
    assert names == ['input'] + [e['name'] for e in entries], names
    if args.full:
        os.makedirs(args.full, exist_ok=True)
        export(model, os.path.join(args.full, 'resnet18.onnx'), params=True)

    # The batch from the same hash (tensor index X_INDEX), in [0, 1) like scaled pixels.
    x = torch.from_numpy((0.5 + pattern(BATCH * int(np.prod(SHAPE)), X_INDEX)).astype(np.float32).reshape(BATCH, *SHAPE))
    y = torch.tensor([3, 7, 0, 9])
    model.eval()
    with torch.no_grad():
        eval_logits = model(x)

    model.train()
    acts = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: acts.append(o)) for m in model.modules() if isinstance(m, nn.ReLU)]
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    plist = list(params.values())
    opt = torch.optim.SGD(plist, lr=CFG['lr'], momentum=CFG['momentum'], weight_decay=CFG['weight_decay'])
    opt.zero_grad(set_to_none=True)
    logits = model(x)
    for h in hooks:
        h.remove()
    ce = F.cross_entropy(logits, y)
    man = (CFG['zeta'] / 2) * sum(a.pow(2).mean() for a in acts)
    loss = ce + man
    loss.backward()
    gnorm = float(torch.norm(torch.stack([torch.norm(p.grad.detach(), 2.0) for p in plist]), 2.0))
    torch.nn.utils.clip_grad_norm_(plist, max_norm=CFG['clip_norm'], norm_type=2.0)
    opt.step()
    after = model.state_dict()
    tensors = []
    for e in entries:
        n = e['name']
        new = after[n].detach().reshape(-1).numpy()
        old = before[n].reshape(-1).numpy()
        pos = positions(new.size)
        tensors.append({'name': n, 'kind': 'param' if n in params else 'buffer',
                        'update_norm': float(np.linalg.norm(new.astype(np.float64) - old.astype(np.float64))),
                        'positions': pos, 'after': [float(new[p]) for p in pos]})
    fixture = {
        'generator': 'scripts/torch_torchvision_fixtures.py',
        'torch_version': torch.__version__, 'torchvision_version': torchvision.__version__,
        'onnx': {'file': 'resnet18.skeleton.onnx', 'sha256': sha256(skeleton)},
        'input_shape': SHAPE, 'batch': BATCH, 'config': CFG,
        'recipe': entries,
        'x': {'a': 0.5, 's': 1.0, 'index': X_INDEX}, 'y': y.tolist(),
        'eval_logits': eval_logits.reshape(-1).tolist(),
        'step': {'loss': float(loss), 'ce': float(ce), 'man': float(man), 'grad_norm': gnorm,
                 'correct': int((logits.argmax(1) == y).sum()), 'man_layers': len(acts)},
        'tensors': tensors,
    }
    with open(os.path.join(OUT, 'resnet18.json'), 'w') as fh:
        json.dump(fixture, fh)
        fh.write('\n')
    print('resnet18: %d tensors, %d parameters; loss %.6f ce %.6f man %.6f grad_norm %.4f (%d MAN layers)' % (
        len(entries), sum(p.numel() for p in plist), float(loss), float(ce), float(man), gnorm, len(acts)))


if __name__ == '__main__':
    sys.exit(main())
