"""The optimiser configs of the paper-CNN fixture and the steps they run (semantics: scripts/torch_reference.py)."""
import os

import torch

from .fixture_io import write_bin
from .man import man_loss
from .models import PaperCNN
from .param_vector import flat_params

CONFIGS = [
    {'name': 'sgd_man', 'optimizer': 'sgd', 'lr': 0.1, 'momentum': 0.0, 'weight_decay': 1e-3,
     'clip_norm': 10.0, 'zeta': 0.15},
    {'name': 'sgd_clip_momentum', 'optimizer': 'sgd', 'lr': 0.05, 'momentum': 0.9, 'weight_decay': 1e-3,
     # 0.25, not 0.5: the raw gradient norm at step 1 is 0.446, so 0.5 would leave step 1 unclipped.
     'clip_norm': 0.25, 'zeta': 0.15, 'assert_clip_active': True},
    {'name': 'sgd_plain', 'optimizer': 'sgd', 'lr': 0.1, 'momentum': 0.0, 'weight_decay': 0.0,
     'clip_norm': None, 'zeta': 0.0},
    {'name': 'adam_man', 'optimizer': 'adam', 'lr': 1e-3, 'betas': [0.9, 0.999], 'eps': 1e-8,
     'weight_decay': 1e-3, 'clip_norm': None, 'zeta': 0.15},
    {'name': 'adamw_man', 'optimizer': 'adamw', 'lr': 1e-3, 'betas': [0.9, 0.999], 'eps': 1e-8,
     'weight_decay': 1e-2, 'clip_norm': None, 'zeta': 0.15},
]


def make_optimizer(cfg, params):
    if cfg['optimizer'] == 'sgd':
        return torch.optim.SGD(params, lr=cfg['lr'], momentum=cfg['momentum'], dampening=0.0,
                               weight_decay=cfg['weight_decay'], nesterov=False)
    if cfg['optimizer'] == 'adam':
        return torch.optim.Adam(params, lr=cfg['lr'], betas=tuple(cfg['betas']), eps=cfg['eps'],
                                weight_decay=cfg['weight_decay'], amsgrad=False)
    if cfg['optimizer'] == 'adamw':
        return torch.optim.AdamW(params, lr=cfg['lr'], betas=tuple(cfg['betas']), eps=cfg['eps'],
                                 weight_decay=cfg['weight_decay'], amsgrad=False)
    raise ValueError(cfg['optimizer'])


def run_config(cfg, init_state, xs, ys, order, out_dir, want_grad_file=None):
    """Runs one config from init_state on batches xs[s], ys[s]; writes its final parameters (and, if asked, the
    raw gradient of step 1) to out_dir and returns the config with its per-step metrics and file descriptions."""
    model = PaperCNN()
    model.load_state_dict(init_state)
    model.train()
    params = [p for _, p in model.named_parameters()]
    opt = make_optimizer(cfg, params)
    steps = []
    grad_meta = None
    for s in range(xs.shape[0]):
        opt.zero_grad(set_to_none=True)
        loss, ce, man, logits = man_loss(model, xs[s], ys[s], cfg['zeta'])
        loss.backward()
        correct = int((logits.argmax(dim=1) == ys[s]).sum())
        if s == 0 and want_grad_file:
            grad_meta = write_bin(os.path.join(out_dir, want_grad_file), flat_params(model, order, 'grad'), '<f4')
        # Global L2 norm of the raw loss gradient, computed the same way clip_grad_norm_ does.
        gnorm = float(torch.norm(torch.stack([torch.norm(p.grad.detach(), 2.0) for p in params]), 2.0))
        rec = {'step': s + 1, 'loss': float(loss), 'ce': float(ce), 'man': float(man), 'correct': correct,
               'grad_norm': gnorm}
        if cfg['clip_norm'] is not None:
            total = float(torch.nn.utils.clip_grad_norm_(params, max_norm=cfg['clip_norm'], norm_type=2.0))
            coef = min(1.0, cfg['clip_norm'] / (total + 1e-6))
            rec['clip_coef'] = coef
            rec['clip_active'] = coef < 1.0
            if cfg.get('assert_clip_active'):
                assert coef < 1.0, '%s step %d: clipping inactive (norm %.4f)' % (cfg['name'], s + 1, total)
        opt.step()
        steps.append(rec)
    fname = 'final_%s.f32.bin' % cfg['name']
    final_meta = write_bin(os.path.join(out_dir, fname), flat_params(model, order), '<f4')
    res = {k: v for k, v in cfg.items() if k != 'assert_clip_active'}
    res['steps'] = steps
    res['final_params'] = final_meta
    if grad_meta:
        res['grad_step1'] = grad_meta
    return res
