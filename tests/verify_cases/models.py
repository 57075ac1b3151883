"""PyTorch models whose hand-made translations (``*_jax.py`` correct, ``bad_*.py``
with one deliberate defect each) show that ``torch2jax verify`` passes and fails."""

import torch
import torch.nn as nn


class RawLinear(nn.Module):
    """A square linear map on raw parameters: y = x W^T + b."""

    def __init__(self, d=6):
        super().__init__()
        self.w = nn.Parameter(torch.randn(d, d) / d**0.5)
        self.b = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        return x @ self.w.T + self.b


class PaddedConv(nn.Module):
    """A 3x3 convolution that keeps the spatial size (padding=1)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, kernel_size=3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv(x))


class Normed(nn.Module):
    """LayerNorm (default eps=1e-5) followed by a Linear layer."""

    def __init__(self, d=16):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4)

    def forward(self, x):
        return self.fc(self.norm(x))


class ConvBN(nn.Module):
    """Convolution, BatchNorm2d (default momentum=0.1), ReLU."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))
