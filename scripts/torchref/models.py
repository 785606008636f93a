"""The paper's CNN and the tiny MLP of the Hessian fixture, as torch modules."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class PaperCNN(nn.Module):
    """conv5x5 C->64, ReLU, maxpool2; conv5x5 64->64, ReLU, maxpool2; FC ->384, ReLU; FC 384->192, ReLU; FC ->K.

    in_ch=1, img=28: flatten 64*4*4 = 1024 (MNIST shape). in_ch=3, img=32: flatten 64*5*5 = 1600 (CIFAR shape).
    """

    def __init__(self, in_ch=1, img=28, n_classes=10):
        super().__init__()
        side = ((img - 4) // 2 - 4) // 2
        self.conv1 = nn.Conv2d(in_ch, 64, 5)
        self.conv2 = nn.Conv2d(64, 64, 5)
        self.fc1 = nn.Linear(64 * side * side, 384)
        self.fc2 = nn.Linear(384, 192)
        self.fc3 = nn.Linear(192, n_classes)

    def forward(self, x):
        return self.forward_acts(x)[0]

    def forward_acts(self, x):
        """Returns (logits, [the 4 ReLU outputs]); conv ReLUs are taken before max-pooling."""
        a1 = F.relu(self.conv1(x))
        h = F.max_pool2d(a1, 2)
        a2 = F.relu(self.conv2(h))
        h = F.max_pool2d(a2, 2)
        h = torch.flatten(h, 1)
        a3 = F.relu(self.fc1(h))
        a4 = F.relu(self.fc2(a3))
        return self.fc3(a4), [a1, a2, a3, a4]


class TinyMLP(nn.Module):
    """Linear 6->5, tanh, Linear 5->3."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))
