"""The FedAvg rounds of a replay: the recorded participants train locally from the global model, the server takes
their sample-weighted mean (float64 sums) as the next global model."""
import os
import sys

import numpy as np

from .local_sgd import evaluate, local_train
from .param_vector import flat_params, load_flat


def _round_start(pattern, r, init, onnx_path):
    """The global parameters round r starts from in a one-round replay: PATTERN with {r} replaced by r-1."""
    start_file = pattern.replace('{r}', str(r - 1))
    start = np.fromfile(start_file, dtype='<f4')
    if len(start) != len(init):
        sys.exit('%s has %d values, the model %d' % (start_file, len(start), len(init)))
    if r == 1 and not np.array_equal(start, init):
        sys.exit('%s (round 0) differs from the initial weights of %s' % (start_file, onnx_path))
    return start


def replay_rounds(report, rounds, model, params, order, init, data, np_dtype, onnx_path, round_starts=None,
                  save_rounds_to=None):
    """Runs rounds 1..`rounds` of the report from the initial parameters `init` (or, with round_starts, each round
    from its own start file); data = (x, y, x_test, y_test). With save_rounds_to, the global parameters after round r
    go to SAVE_ROUNDS_TO.round<r>.bin. Returns (final global parameters in np_dtype, per-round metrics)."""
    cfg = report['config']
    clients = report['partition']['clients']
    x, y, xte, yte = data
    glob = init.astype(np_dtype)
    per_round = []
    for r in range(1, rounds + 1):
        rec = report['rounds'][r - 1]
        assert rec['round'] == r, 'rounds out of order in the report'
        if round_starts is not None:
            glob = _round_start(round_starts, r, init, onnx_path).astype(np_dtype)
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
                acc += wk * flat_params(model, order).astype(np.float64)
                wsum += wk
        if wsum > 0:
            glob = (acc / wsum).astype(np_dtype)
        load_flat(model, order, glob)
        if save_rounds_to:
            os.makedirs(os.path.dirname(os.path.abspath(save_rounds_to)), exist_ok=True)
            glob.astype('<f4').tofile('%s.round%d.bin' % (save_rounds_to, r))
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
    return glob, per_round
