"""The fedman run the FedAvg replay reads: a report.json (or its compact copy, test/fixtures/crosscheck/*.run.json),
what of its config the replay supports, and the compact copy --save-run writes."""
import json
import sys

import numpy as np

from .idx_data import DEFAULT_DATA
from .zoo import MODELS


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


def read_report(path, rounds=None):
    """(report, its config, the number of rounds to replay: `rounds` or all), exiting on what cannot be replayed."""
    with open(path) as fh:
        report = json.load(fh)
    cfg = report['config']
    check_config(cfg)
    rounds = rounds if rounds is not None else len(report['rounds'])
    if rounds > len(report['rounds']):
        sys.exit('the report has only %d rounds of participants, %d asked for' % (len(report['rounds']), rounds))
    clients = report['partition']['clients']
    assert len(clients) == cfg['clients'], 'partition has %d clients, config %d' % (len(clients), cfg['clients'])
    return report, cfg, rounds


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
