"""A FedAvg client's local training (plain SGD on the MAN loss, batches in partition order) and the test evaluation."""
import numpy as np
import torch
import torch.nn.functional as F

from .man import man_loss


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
    """(mean CE, accuracy) of the model on (x, y)."""
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
