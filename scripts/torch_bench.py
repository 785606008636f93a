#!/usr/bin/python3
"""PyTorch side of the fedman train-step benchmark.

Times one full train step (zero_grad, forward, loss, backward, clip_grad_norm_(10), SGD step with lr 0.01 and
weight decay 1e-3) of the paper CNN with torch.set_num_threads(2), for
  * cifar: 3x32x32 input, conv5x5 3->64, pool, conv5x5 64->64, pool, FC 1600->384->192->100, batch 50
  * mnist: 1x28x28 input, conv5x5 1->64, pool, conv5x5 64->64, pool, FC 1024->384->192->10, batch 50
each with zeta = 0 (plain CE) and zeta = 0.15 (MAN through autograd: + zeta/2 * sum of mean(a^2) over the 4 ReLU
outputs, conv ReLUs before pooling). Prints one JSON object (and writes it to --json FILE if given).

Run with Debian's PyTorch 1.13 (NOT the pyenv python on PATH):
    /usr/bin/python3 scripts/torch_bench.py --steps 20 --warmup 5
That torch links the reference BLAS. The fair baseline uses OpenBLAS without installing it system-wide:
    OB=$(scripts/setup-openblas.sh)
    LD_LIBRARY_PATH=$OB OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch_bench.py --steps 20 --warmup 5
The BLAS actually loaded is reported in the output ("blas_libraries").
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchref.fixture_io import blas_in_use  # noqa: E402
from torchref.man import man_loss  # noqa: E402
from torchref.models import PaperCNN  # noqa: E402

SHAPES = {
    'cifar': {'in_ch': 3, 'img': 32, 'n_classes': 100},
    'mnist': {'in_ch': 1, 'img': 28, 'n_classes': 10},
}


def bench_one(shape, zeta, batch, steps, warmup, lr, wd, clip):
    torch.manual_seed(0)
    spec = SHAPES[shape]
    model = PaperCNN(spec['in_ch'], spec['img'], spec['n_classes'])
    model.train()
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=lr, momentum=0.0, weight_decay=wd)
    g = torch.Generator().manual_seed(1)
    n_batches = 4
    xs = torch.rand(n_batches, batch, spec['in_ch'], spec['img'], spec['img'], generator=g)
    ys = torch.randint(0, spec['n_classes'], (n_batches, batch), generator=g)

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss = man_loss(model, xs[i % n_batches], ys[i % n_batches], zeta)[0]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_norm=clip)
        opt.step()
        return loss

    for i in range(warmup):
        step(i)
    times = []
    last = None
    c0 = time.process_time()
    for i in range(steps):
        t0 = time.perf_counter()
        last = step(warmup + i)
        times.append((time.perf_counter() - t0) * 1e3)
    cpu_ms = (time.process_time() - c0) * 1e3 / max(steps, 1)
    mean = statistics.fmean(times)
    return {
        'model': shape, 'zeta': zeta, 'batch': batch,
        'params': sum(p.numel() for p in params),
        'ms_per_step_mean': round(mean, 3),
        'ms_per_step_median': round(statistics.median(times), 3),
        'ms_per_step_min': round(min(times), 3),
        'ms_per_step_stdev': round(statistics.stdev(times), 3) if len(times) > 1 else 0.0,
        'samples_per_s': round(batch * 1e3 / mean, 1),
        # CPU time of the whole process (all threads) per timed step: with 1 thread a contention-robust proxy for
        # the uncontended step time; with more threads it also counts OpenMP spin-waiting.
        'cpu_ms_per_step': round(cpu_ms, 3),
        'final_loss': float(last) if last is not None else None,
    }


def main():
    ap = argparse.ArgumentParser(description='PyTorch paper-CNN train-step benchmark')
    ap.add_argument('--steps', type=int, default=20, help='timed steps per case (default 20)')
    ap.add_argument('--warmup', type=int, default=5, help='untimed warm-up steps per case (default 5)')
    ap.add_argument('--json', metavar='FILE', help='also write the JSON result to FILE')
    ap.add_argument('--models', default='cifar,mnist', help='comma list of: cifar, mnist (default both)')
    ap.add_argument('--zetas', default='0,0.15', help='comma list of MAN zeta values (default 0,0.15)')
    ap.add_argument('--batch', type=int, default=50)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    lr, wd, clip = 0.01, 1e-3, 10.0
    results = []
    for shape in [m.strip() for m in args.models.split(',') if m.strip()]:
        if shape not in SHAPES:
            ap.error('unknown model %r' % shape)
        for zeta in [float(z) for z in args.zetas.split(',')]:
            results.append(bench_one(shape, zeta, args.batch, args.steps, args.warmup, lr, wd, clip))
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    out = {
        'framework': 'pytorch',
        'torch_version': torch.__version__,
        'threads': torch.get_num_threads(),
        'blas_libraries': blas_in_use(),
        'env': {k: os.environ.get(k) for k in ('LD_LIBRARY_PATH', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'OMP_WAIT_POLICY')},
        'optimizer': {'type': 'sgd', 'lr': lr, 'weight_decay': wd, 'clip_norm': clip, 'momentum': 0.0},
        'steps': args.steps, 'warmup': args.warmup,
        'results': results,
    }
    text = json.dumps(out, indent=1)
    if args.json:
        with open(args.json, 'w') as fh:
            fh.write(text + '\n')
    print(text)


if __name__ == '__main__':
    sys.exit(main())
