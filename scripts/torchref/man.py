"""The MAN-regularised loss (/work/shared/docs/man-method.md): mean CE + (zeta/2) * sum_l mean(a_l^2).

a_l are the activations a model's forward_acts returns (every hidden ReLU output; conv ones before pooling), and
mean() runs over ALL elements of a_l (= batch mean of ||a_l||^2 / d_l).
"""
import torch
import torch.nn.functional as F


def man_loss(model, x, y, zeta):
    """Returns (total, ce, man, logits). man = (zeta/2) * sum_l mean(a_l^2); skipped entirely when zeta == 0."""
    logits, acts = model.forward_acts(x)
    ce = F.cross_entropy(logits, y)
    if zeta == 0:
        return ce, ce, torch.zeros((), dtype=logits.dtype), logits
    man = (zeta / 2) * sum(a.pow(2).mean() for a in acts)
    return ce + man, ce, man, logits
