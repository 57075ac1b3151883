"""ConversionResult.rules_applied: the rules that translated something, by torch name."""

from torch2jax import convert_source

SOURCE = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.act = nn.ReLU()

    def forward(self, x):
        y = torch.sum(x, dim=1) + x.float().mean() + torch.zeros(3, dtype=torch.float32)
        return torch.cat([y, y]), list(map(F.relu, [x])), torch.topk(x, 2, dim=1)
"""


def test_rules_applied_are_the_rules_that_translated_something():
    result = convert_source(SOURCE)
    assert result.rules_applied == {
        "torch.nn.Linear", "torch.nn.ReLU", "torch.sum", "Tensor.float", "Tensor.mean", "torch.zeros",
        "torch.float32", "torch.cat", "torch.nn.functional.relu",
    }


def test_a_reported_call_applied_no_rule():
    result = convert_source(SOURCE)
    assert [d.code for d in result.diagnostics] == ["T2J302"]  # topk along dim 1: left as torch
    assert "torch.topk" not in result.rules_applied
    manual = convert_source("import torch\ndef f(x):\n    return x.nonzero()\n")
    assert manual.rules_applied == frozenset() and "# torch2jax: T2J" in manual.code


def test_no_torch_no_rules():
    assert convert_source("import numpy as np\nx = np.sum([1])\n").rules_applied == frozenset()
