#!/usr/bin/python3
"""PyTorch fixtures for fedman's "real pretrained architectures" check (test/training/pretrained.test.ts).

Run from the repository root with Debian's PyTorch 1.13 (NOT the pyenv python on PATH):

    /usr/bin/python3 scripts/torch_pretrained_fixtures.py        # writes test/fixtures/pretrained/

Three small but architecture-faithful models (torch.manual_seed default init), exported by torch.onnx.export
(opset 17, eval mode, dynamic batch 'N', do_constant_folding=True):

  * resnet18s     CIFAR-style ResNet-18: conv3x3 stem + BN + ReLU, 4 stages x 2 BasicBlocks (conv-BN-ReLU-conv-BN,
                  1x1-conv+BN downsample shortcut where the shape changes, residual Add, ReLU), widths 8/16/16/32,
                  global average pool, Linear -> 10. Input [N,3,32,32].
  * mobilenetv2s  MobileNetV2: conv3x3/2 stem + BN + ReLU6, inverted residuals (1x1 expand + BN + ReLU6, 3x3
                  depthwise + BN + ReLU6, 1x1 project + BN, residual when stride 1 and in == out), 1x1 conv to 64 +
                  BN + ReLU6, global average pool, Linear -> 10 (no dropout). Input [N,3,32,32]. ReLU6 = Clip.
  * transformer   encoder classifier on float sequences [N,8,12]: Linear 12->16 + learned positional embedding,
                  2 pre-norm layers (LayerNorm, 2-head self-attention with a fused qkv Linear split by chunk,
                  residual; LayerNorm, MLP 16->32 GELU ->16, residual), final LayerNorm, mean over the sequence,
                  Linear -> 10.

The export uses training=TrainingMode.PRESERVE with the model in eval mode: BatchNormalization is exported in
inference mode (training_mode=0, running statistics as initializers). The default (TrainingMode.EVAL) would run
torch's eval peephole, which folds every BatchNormalization into the preceding Conv and leaves no BN to train.

For each model, on one fixed batch (B=8, labels in [0,10)), ONE training step in torch with BN in train mode:
  * sgd:  loss = mean CE + (zeta/2) * sum_l mean(a_l^2), zeta=0.1; clip_grad_norm_(10); SGD(lr=0.05, wd=1e-3)
  * adam: same loss; clip_grad_norm_(10); Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, wd=1e-3)
The MAN activations a_l mirror fedman's 'auto' selection (src/training/man.ts): the outputs of every
nonlinearity node (Relu, Clip, and the erf-GELU pattern) before the last parameter-consuming node (the head).

Files per model (raw little-endian float32 / int64, C order):
  <m>.onnx                  the exported model (initializers = initial parameters and BN running statistics)
  <m>.json                  manifest: parameter layout in ONNX initializer names/shapes (a folded transposed
                            weight 'onnx::MatMul_*' maps to torch's Linear weight, transposed), metrics of the
                            step, buffers, MAN activation count
  <m>_x.f32.bin, <m>_y.i64.bin   the batch
  <m>_final_sgd.f32.bin, <m>_final_adam.f32.bin   parameters after the step, concatenated in manifest order
  <m>_buffers.f32.bin       BN running statistics after the step (identical for both optimisers), manifest order
"""
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchref.fixture_io import blas_in_use  # noqa: E402
from torchref.onnx_proto import read_onnx  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, 'test', 'fixtures', 'pretrained')
BATCH = 8
CLASSES = 10
CONFIGS = {
    'sgd': {'optimizer': 'sgd', 'lr': 0.05, 'momentum': 0.0, 'weight_decay': 1e-3, 'clip_norm': 10.0, 'zeta': 0.1},
    'adam': {'optimizer': 'adam', 'lr': 1e-3, 'betas': [0.9, 0.999], 'eps': 1e-8, 'weight_decay': 1e-3,
             'clip_norm': 10.0, 'zeta': 0.1},
}


class Recorder:
    """Collects the MAN activations during a recorded forward pass."""
    active = False
    acts = []


def act(fn, x):
    y = fn(x)
    if Recorder.active:
        Recorder.acts.append(y)
    return y


def relu(x):
    return act(F.relu, x)


def relu6(x):
    return act(F.relu6, x)


def gelu(x):
    return act(F.gelu, x)


# ---------------------------------------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return relu(out + identity)


class ResNet18s(nn.Module):
    def __init__(self, widths=(8, 16, 16, 32), classes=CLASSES):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers = []
        cin = widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, w, stride), BasicBlock(w, w, 1)))
            cin = w
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], classes)

    def forward(self, x):
        x = relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        self.use_res = stride == 1 and cin == cout
        self.expand = None
        if t != 1:
            self.expand = nn.Sequential(nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden))
        self.dw = nn.Sequential(nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden))
        self.project = nn.Sequential(nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = x if self.expand is None else relu6(self.expand(x))
        h = self.project(relu6(self.dw(h)))
        return x + h if self.use_res else h


class MobileNetV2s(nn.Module):
    # (expansion t, channels c, repeats n, first stride s), as MobileNetV2's table, scaled down.
    SETTINGS = [(1, 8, 1, 1), (4, 12, 2, 2), (4, 16, 2, 2), (4, 24, 1, 1)]

    def __init__(self, classes=CLASSES, last=64):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8))
        blocks = []
        cin = 8
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                blocks.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        self.blocks = nn.Sequential(*blocks)
        self.head_conv = nn.Sequential(nn.Conv2d(cin, last, 1, bias=False), nn.BatchNorm2d(last))
        self.classifier = nn.Linear(last, classes)

    def forward(self, x):
        x = relu6(self.stem(x))
        x = relu6(self.head_conv(self.blocks(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


class SelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)

    def forward(self, x):
        n, t, d = x.shape
        dh = d // self.heads
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (z.reshape(n, t, self.heads, dh).transpose(1, 2) for z in (q, k, v))
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(dh), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(n, t, d)
        return self.out(y)


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = SelfAttention(d, heads)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, mlp)
        self.fc2 = nn.Linear(mlp, d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(gelu(self.fc1(self.ln2(x))))


class TransformerClassifier(nn.Module):
    def __init__(self, features=12, seq=8, d=16, heads=2, mlp=32, layers=2, classes=CLASSES):
        super().__init__()
        self.embed = nn.Linear(features, d)
        self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.02)
        self.layers = nn.ModuleList([EncoderLayer(d, heads, mlp) for _ in range(layers)])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        h = self.embed(x) + self.pos
        for layer in self.layers:
            h = layer(h)
        return self.head(self.norm(h).mean(dim=1))


MODELS = {
    'resnet18s': (ResNet18s, [3, 32, 32]),
    'mobilenetv2s': (MobileNetV2s, [3, 32, 32]),
    'transformer': (TransformerClassifier, [8, 12]),
}


# ---------------------------------------------------------------------------------------------------------------
def sha256(path):
    with open(path, 'rb') as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def write_bin(path, arr, dtype):
    a = np.ascontiguousarray(np.asarray(arr, dtype=dtype))
    with open(path, 'wb') as fh:
        fh.write(a.tobytes())
    return {'file': os.path.basename(path), 'shape': list(a.shape), 'bytes': a.nbytes}


def export(model, shape, path):
    model.eval()
    torch.onnx.export(model, (torch.zeros(2, *shape),), path, opset_version=17, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}},
                      keep_initializers_as_inputs=False, export_params=True)
    return read_onnx(path)


def layout(info, model):
    """Maps every float initializer of the ONNX model to a torch parameter or buffer (by value; a folded transposed
    Linear weight maps to the weight, transposed). Returns (params, buffers, unmatched)."""
    named = dict(model.named_parameters())
    bufs = {k: v for k, v in model.named_buffers() if v.dtype == torch.float32}
    params, buffers, unmatched = [], [], []
    init_names = {t['name'] for t in info['initializers']}
    used = set()
    for t in info['initializers']:
        if t['data_type'] != 1:
            continue
        arr = np.frombuffer(t['raw_data'] or b'', dtype='<f4').reshape(t['dims'])
        entry = None
        for pool, kind in ((named, 'param'), (bufs, 'buffer')):
            if t['name'] in pool:
                assert np.array_equal(pool[t['name']].detach().numpy(), arr), t['name']
                entry = {'name': t['name'], 'torch': t['name'], 'transposed': False, 'shape': list(arr.shape), 'kind': kind}
        if entry is None:
            # A folded constant (e.g. 'onnx::MatMul_12' = a Linear weight transposed): match by value among the
            # torch parameters that have no initializer of their own.
            for name, v in named.items():
                tv = v.detach().numpy()
                if name in init_names or name in used or tv.ndim != 2:
                    continue
                if tv.T.shape == arr.shape and np.array_equal(tv.T, arr):
                    entry = {'name': t['name'], 'torch': name, 'transposed': True, 'shape': list(arr.shape), 'kind': 'param'}
                elif tv.shape == arr.shape and np.array_equal(tv, arr):
                    entry = {'name': t['name'], 'torch': name, 'transposed': False, 'shape': list(arr.shape), 'kind': 'param'}
                if entry:
                    used.add(name)
                    break
        if entry is None:
            unmatched.append(t['name'])
        elif entry['kind'] == 'param':
            params.append(entry)
        else:
            buffers.append(entry)
    off = 0
    for p in params:
        p['numel'] = int(np.prod(p['shape']))
        p['offset'] = off
        off += p['numel']
    off = 0
    for b in buffers:
        b['numel'] = int(np.prod(b['shape']))
        b['offset'] = off
        off += b['numel']
    return params, buffers, unmatched


def flat(model, entries, source):
    d = dict(model.named_parameters()) if source == 'param' else dict(model.named_buffers())
    out = []
    for e in entries:
        v = d[e['torch']].detach()
        out.append((v.T if e['transposed'] else v).reshape(-1).numpy())
    return np.concatenate(out).astype('<f4') if out else np.zeros(0, '<f4')


def one_step(cls, init_state, x, y, cfg):
    model = cls()
    model.load_state_dict(init_state)
    model.train()
    params = [p for _, p in model.named_parameters()]
    if cfg['optimizer'] == 'sgd':
        opt = torch.optim.SGD(params, lr=cfg['lr'], momentum=cfg['momentum'], weight_decay=cfg['weight_decay'])
    else:
        opt = torch.optim.Adam(params, lr=cfg['lr'], betas=tuple(cfg['betas']), eps=cfg['eps'],
                               weight_decay=cfg['weight_decay'])
    opt.zero_grad(set_to_none=True)
    Recorder.active, Recorder.acts = True, []
    logits = model(x)
    Recorder.active = False
    acts = Recorder.acts
    ce = F.cross_entropy(logits, y)
    man = (cfg['zeta'] / 2) * sum(a.pow(2).mean() for a in acts)
    loss = ce + man
    loss.backward()
    gnorm = float(torch.norm(torch.stack([torch.norm(p.grad.detach(), 2.0) for p in params]), 2.0))
    torch.nn.utils.clip_grad_norm_(params, max_norm=cfg['clip_norm'], norm_type=2.0)
    opt.step()
    rec = {'loss': float(loss), 'ce': float(ce), 'man': float(man), 'grad_norm': gnorm,
           'correct': int((logits.argmax(1) == y).sum()), 'man_layers': len(acts)}
    return model, rec


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    index = {'generator': 'scripts/torch_pretrained_fixtures.py', 'torch_version': torch.__version__,
             'blas_libraries': blas_in_use(), 'configs': CONFIGS, 'models': []}
    for seed, (name, (cls, shape)) in enumerate(MODELS.items()):
        torch.manual_seed(seed)
        model = cls()
        init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        g = torch.Generator().manual_seed(100 + seed)
        x = torch.rand(BATCH, *shape, generator=g) if len(shape) == 3 else torch.randn(BATCH, *shape, generator=g)
        y = torch.randint(0, CLASSES, (BATCH,), generator=g)
        # A non-trivial starting point for the BN running statistics (as a pretrained model has): a few
        # forward passes in train mode on other data, before export.
        if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
            model.train()
            with torch.no_grad():
                for _ in range(3):
                    model(torch.rand(BATCH, *shape, generator=g) * 2)
        # Pretrained-looking (and pairwise distinct) norm affine parameters: torch's exporter deduplicates
        # initializers with equal values in eval mode, and with PRESERVE its renaming leaves dangling references.
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                    m.weight.add_(0.1 * torch.randn(m.weight.shape, generator=g))
                    m.bias.add_(0.1 * torch.randn(m.bias.shape, generator=g))
        init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        path = os.path.join(OUT, name + '.onnx')
        info = export(model, shape, path)
        params, buffers, unmatched = layout(info, model)
        assert not unmatched, '%s: initializers not matching a torch tensor: %s' % (name, unmatched)
        assert len(params) == len(list(model.parameters())), name
        man = {'model': name, 'onnx': {'file': name + '.onnx', 'sha256': sha256(path),
                                       'ops': sorted({n['op_type'] for n in info['nodes']})},
               'input': [BATCH] + shape, 'params': params, 'buffers': buffers,
               'num_params': sum(p['numel'] for p in params)}
        man['x'] = write_bin(os.path.join(OUT, name + '_x.f32.bin'), x.numpy(), '<f4')
        man['y'] = write_bin(os.path.join(OUT, name + '_y.i64.bin'), y.numpy(), '<i8')
        man['steps'] = {}
        for cname, cfg in CONFIGS.items():
            trained, rec = one_step(cls, init_state, x, y, cfg)
            rec['final'] = write_bin(os.path.join(OUT, '%s_final_%s.f32.bin' % (name, cname)),
                                     flat(trained, params, 'param'), '<f4')
            if buffers:
                bmeta = write_bin(os.path.join(OUT, name + '_buffers.f32.bin'), flat(trained, buffers, 'buffer'), '<f4')
                man['buffers_after_step'] = bmeta
            man['steps'][cname] = rec
            print('%-13s %-4s loss %.6f ce %.6f man %.6f gn %.4f (%d MAN layers)' % (
                name, cname, rec['loss'], rec['ce'], rec['man'], rec['grad_norm'], rec['man_layers']), flush=True)
        with open(os.path.join(OUT, name + '.json'), 'w') as fh:
            json.dump(man, fh, indent=1)
            fh.write('\n')
        index['models'].append(name)
    with open(os.path.join(OUT, 'index.json'), 'w') as fh:
        json.dump(index, fh, indent=1)
        fh.write('\n')
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print('wrote %s (%.2f MB)' % (OUT, total / 1e6))


if __name__ == '__main__':
    sys.exit(main())
