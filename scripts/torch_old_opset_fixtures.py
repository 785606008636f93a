#!/usr/bin/python3
"""Old-opset exports for fedman's opset upgrade (test/training/old-opsets.test.ts): the same models, with the same
weights, exported by torch 1.13 at opsets 9, 11, 13 and 15, as users' downloaded models were.

Run from the repository root with Debian's PyTorch 1.13 (NOT the python on PATH):

    /usr/bin/python3 scripts/torch_old_opset_fixtures.py        # writes test/fixtures/opsets/

Models:
  * the three architectures of test/fixtures/pretrained/ (resnet18s, mobilenetv2s, transformer), their weights read
    from the committed opset-17 exports (so every export here has exactly those weights);
  * the zoo's architectures (models/index.ts), narrowed so the files stay small: mlp (Flatten, 784-16-16-10),
    cnn-mnist and cnn-cifar10 (the paper CNN: conv5x5 6 and 8 channels, ReLU, 2x2 max pools, FC 32-16-classes, on
    1x28x28 and 3x32x32), convnet-gn (3 x [conv3x3 8, GroupNorm(4, 8), ReLU, max pool], FC 32-16-12-10 on 3x16x16);
    seeded default init, exported at opset 17 too (<m>.opset17.onnx, with weights) as the reference;
  * ops: a small net of the ops whose form changed between opsets 9 and 17 (see OpsNet), also at opset 10.
All exports: eval mode, TrainingMode.PRESERVE (BatchNormalization kept), do_constant_folding=True, dynamic batch N.

To keep the fixtures small, the old-opset files are skeletons: every float initializer of >= 16 values that equals
(or is the transpose of) an initializer of the opset-17 export has its data removed, and <m>.json maps it to that
initializer; the test puts the data back before anything reads the model. Smaller tensors keep their data.

Also mobilenetv2s exported in eval mode with BatchNorm folded into the convolutions (TrainingMode.EVAL), at opset 11,
with torch's eval-mode logits ('folded' in index.json).

Files: <m>.opset<k>.skeleton.onnx, <m>.opset17.onnx (zoo models only), mobilenetv2s.folded.opset11.onnx, index.json (per model and opset: the file,
the weight source, the stripped initializers with their source name and whether transposed, the op types).
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_pretrained_fixtures import MODELS as PRETRAINED  # noqa: E402
try:  # the protobuf reader's home since the reference scripts were split into scripts/torchref/
    from torchref.onnx_proto import read_onnx, _fields  # noqa: E402
except ImportError:
    from torch_reference import read_onnx, _fields  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, 'test', 'fixtures', 'opsets')
PRETRAINED_DIR = os.path.join(REPO, 'test', 'fixtures', 'pretrained')
OPSETS = [9, 11, 13, 15]
OPSETS_OPS = [9, 10, 11, 13, 15]
STRIP_MIN = 16


class ZooMLP(nn.Module):
    def __init__(self, hidden=16, classes=10):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, classes)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class ZooCNN(nn.Module):
    def __init__(self, in_ch, img, classes=10):
        super().__init__()
        side = ((img - 4) // 2 - 4) // 2
        self.conv1, self.conv2 = nn.Conv2d(in_ch, 6, 5), nn.Conv2d(6, 8, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(8 * side * side, 32), nn.Linear(32, 16), nn.Linear(16, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = torch.flatten(F.max_pool2d(F.relu(self.conv2(x)), 2), 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class ZooConvNetGN(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        chans = [3, 8, 8, 8]
        self.convs = nn.ModuleList([nn.Conv2d(chans[i], chans[i + 1], 3, padding=1) for i in range(3)])
        self.norms = nn.ModuleList([nn.GroupNorm(4, 8) for _ in range(3)])
        self.fc1, self.fc2, self.fc3 = nn.Linear(32, 16), nn.Linear(16, 12), nn.Linear(12, classes)

    def forward(self, x):
        for conv, norm in zip(self.convs, self.norms):
            x = F.max_pool2d(F.relu(norm(conv(x))), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class OpsNet(nn.Module):
    """Not a zoo model: the ops whose form changed between opsets 9 and 17, as torch writes them at each, on a path
    that trains: Pad (attributes until 11), nearest upsampling (Upsample at 9, Resize-10 at 10), overlapping max
    pooling, Sum over axes and Unsqueeze/Squeeze (axes attributes until 13), LogSoftmax over channels of a 3-D tensor
    (coerced to 2-D before 13), Clip (attributes until 11)."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3)
        self.fc = nn.Linear(4, classes)

    def forward(self, x):
        h = self.conv(F.pad(x, (1, 1, 2, 0), value=0.5))
        h = F.max_pool2d(F.interpolate(h, scale_factor=2, mode='nearest'), 3, stride=2, padding=1)
        h = torch.clamp(h, -1.5, 1.5)
        p = F.log_softmax(h.flatten(2), dim=1)
        s = (h.flatten(2) * p.exp()).sum(dim=2)
        return self.fc(s.unsqueeze(1).squeeze(1))


ZOO = {
    'mlp': (lambda: ZooMLP(), [1, 28, 28]),
    'cnn-mnist': (lambda: ZooCNN(1, 28), [1, 28, 28]),
    'cnn-cifar10': (lambda: ZooCNN(3, 32), [3, 32, 32]),
    'convnet-gn': (lambda: ZooConvNetGN(), [3, 16, 16]),
    'ops': (lambda: OpsNet(), [2, 6, 6]),
}


# ---------------------------------------------------------------------------------------------------------------
def _key(field, wire):
    return _encode_varint((field << 3) | wire)


def _encode_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _reencode(buf, rewrite):
    """Re-emits a message field by field; rewrite(field, wire, value) returns new bytes for a length-delimited
    field, None to drop it, or the value unchanged."""
    out = bytearray()
    for f, wt, v in _fields(buf):
        if wt == 2:
            nv = rewrite(f, v)
            if nv is None:
                continue
            out += _key(f, 2) + _encode_varint(len(nv)) + bytes(nv)
        elif wt == 0:
            out += _key(f, 0) + _encode_varint(v)
        else:
            out += _key(f, wt) + bytes(v)
    return bytes(out)


def strip(path, names):
    """Removes raw_data (TensorProto field 9) of the initializers named in `names` (GraphProto field 5)."""
    with open(path, 'rb') as fh:
        buf = fh.read()

    def tensor(f, v):
        return None if f == 9 else v

    def graph(f, v):
        if f != 5:
            return v
        name = None
        for f2, _wt, v2 in _fields(v):
            if f2 == 8:
                name = bytes(v2).decode()
        return _reencode(v, tensor) if name in names else v

    def model(f, v):
        return _reencode(v, graph) if f == 7 else v

    with open(path, 'wb') as fh:
        fh.write(_reencode(buf, model))


def floats(t):
    return np.frombuffer(t['raw_data'] or b'', dtype='<f4').reshape(t['dims']) if t['data_type'] == 1 else None


def export(model, shape, path, opset, mode=torch.onnx.TrainingMode.PRESERVE):
    model.eval()
    torch.onnx.export(model, (torch.zeros(2, *shape),), path, opset_version=opset, do_constant_folding=True,
                      training=mode, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}}, export_params=True)


def load_pretrained(name):
    """The model with the weights of the committed opset-17 export (by the fixture's parameter layout)."""
    cls, shape = PRETRAINED[name]
    model = cls()
    ref = json.load(open(os.path.join(PRETRAINED_DIR, name + '.json')))
    inits = {t['name']: t for t in read_onnx(os.path.join(PRETRAINED_DIR, ref['onnx']['file']))['initializers']}
    state = model.state_dict()
    for e in ref['params'] + ref['buffers']:
        v = torch.from_numpy(floats(inits[e['name']]).copy())
        state[e['torch']] = v.T.contiguous() if e['transposed'] else v
    model.load_state_dict(state)
    return model, shape, os.path.join(PRETRAINED_DIR, ref['onnx']['file'])


def sha256(path):
    with open(path, 'rb') as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    index = {'generator': 'scripts/torch_old_opset_fixtures.py', 'torch_version': torch.__version__, 'models': {}}
    jobs = [(n, 'pretrained') for n in PRETRAINED] + [(n, 'zoo') for n in ZOO]
    for seed, (name, kind) in enumerate(jobs):
        if kind == 'pretrained':
            model, shape, source = load_pretrained(name)
        else:
            torch.manual_seed(seed)
            make, shape = ZOO[name]
            model = make()
            source = os.path.join(OUT, name + '.opset17.onnx')
            export(model, shape, source, 17)
        ref = read_onnx(source)
        by_bytes = {}
        for t in ref['initializers']:
            a = floats(t)
            if a is not None:
                by_bytes[a.tobytes()] = (t['name'], False)
                if a.ndim == 2:
                    by_bytes.setdefault(np.ascontiguousarray(a.T).tobytes(), (t['name'], True))
        entry = {'input': shape, 'source': os.path.relpath(source, REPO), 'opsets': {}}
        for k in (OPSETS_OPS if name == 'ops' else OPSETS):
            path = os.path.join(OUT, '%s.opset%d.skeleton.onnx' % (name, k))
            export(model, shape, path, k)
            info = read_onnx(path)
            stripped = []
            for t in info['initializers']:
                a = floats(t)
                if a is None or a.size < STRIP_MIN or a.tobytes() not in by_bytes:
                    continue
                src, transposed = by_bytes[a.tobytes()]
                stripped.append({'name': t['name'], 'source': src, 'transposed': transposed})
            strip(path, {s['name'] for s in stripped})
            entry['opsets'][str(k)] = {'file': os.path.basename(path), 'sha256': sha256(path), 'stripped': stripped,
                                      'ops': sorted({n['op_type'] for n in info['nodes']})}
            print('%-13s opset %2d: %d initializers stripped, %d kept; %d bytes' % (
                name, k, len(stripped), len(info['initializers']) - len(stripped), os.path.getsize(path)), flush=True)
        index['models'][name] = entry
    # An eval-mode export as most published models are: TrainingMode.EVAL folds every BatchNormalization into the
    # convolution before it (new weights and biases, no BN left), here at opset 11. Kept whole (its weights are
    # new), with torch's eval-mode logits on the pretrained fixture's batch.
    model, shape, _ = load_pretrained('mobilenetv2s')
    folded = os.path.join(OUT, 'mobilenetv2s.folded.opset11.onnx')
    export(model, shape, folded, 11, torch.onnx.TrainingMode.EVAL)
    ref = json.load(open(os.path.join(PRETRAINED_DIR, 'mobilenetv2s.json')))
    x = np.fromfile(os.path.join(PRETRAINED_DIR, ref['x']['file']), dtype='<f4').reshape(ref['x']['shape'])
    with torch.no_grad():
        logits = model(torch.from_numpy(x))
    info = read_onnx(folded)
    index['folded'] = {'model': 'mobilenetv2s', 'file': os.path.basename(folded), 'sha256': sha256(folded), 'opset': 11,
                       'x': os.path.relpath(os.path.join(PRETRAINED_DIR, ref['x']['file']), REPO), 'input': ref['x']['shape'],
                       'ops': sorted({n['op_type'] for n in info['nodes']}), 'eval_logits': logits.reshape(-1).tolist()}
    print('mobilenetv2s folded BN, opset 11: %d bytes, ops %s' % (os.path.getsize(folded), index['folded']['ops']))
    with open(os.path.join(OUT, 'index.json'), 'w') as fh:
        json.dump(index, fh, indent=1)
        fh.write('\n')
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print('wrote %s (%.2f MB)' % (OUT, total / 1e6))


if __name__ == '__main__':
    sys.exit(main())
