import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self, device: torch.device = None):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def init(m: nn.Module, layer: nn.Linear):
    if isinstance(m, (nn.Linear, nn.Conv2d)):
        return 1
    if isinstance(m, nn.ReLU):
        return 2
