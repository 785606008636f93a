"""fedman's zoo models as the FedAvg replay builds them ('mlp', 'cnn-mnist'), checked against the run's ONNX layout."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .models import PaperCNN


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
    """fedman zoo 'cnn-mnist' = PaperCNN(1, 28, 10) of torchref/models.py, with a choice of max-pool tie rule."""

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


def build_model(name, ties, dtype, order, shapes):
    """The zoo model `name` in `dtype`, train mode; returns (model, its parameters in initializer order) after
    checking that its parameter names and shapes are the ONNX initializers'."""
    model = MODELS[name](ties).to(dtype)
    named = dict(model.named_parameters())
    assert sorted(named) == sorted(order), ('parameter names differ', sorted(named), order)
    for n in order:
        assert list(named[n].shape) == shapes[n], (n, list(named[n].shape), shapes[n])
    params = [named[n] for n in order]
    model.train()
    return model, params
