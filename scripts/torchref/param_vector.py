"""A model's parameters as one flat vector in a given name order (the ONNX initializer order, fedman's flat order)."""
import numpy as np
import torch


def flat_params(model, order, source='param'):
    """The parameters (source='grad': their gradients) concatenated in `order`, in the model's dtype."""
    sd = dict(model.named_parameters())
    return np.concatenate([(sd[n].grad if source == 'grad' else sd[n]).detach().reshape(-1).numpy() for n in order])


def load_flat(model, order, vec):
    """Sets the parameters from a vector laid out as flat_params returns it (converted to each parameter's dtype)."""
    sd = dict(model.named_parameters())
    off = 0
    with torch.no_grad():
        for n in order:
            p = sd[n]
            k = p.numel()
            p.copy_(torch.from_numpy(np.ascontiguousarray(vec[off:off + k])).to(p.dtype).reshape(p.shape))
            off += k
    assert off == len(vec)


def param_layout(model, order):
    """([{name, shape, offset, numel}] in `order`, total numel): where each parameter sits in the flat vector."""
    sd = dict(model.named_parameters())
    out = []
    off = 0
    for name in order:
        n = sd[name].numel()
        out.append({'name': name, 'shape': list(sd[name].shape), 'offset': off, 'numel': n})
        off += n
    return out, off
