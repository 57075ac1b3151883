"""Reads of autograd's per-tensor state (passes/autograd_attributes.py): reported, never left
silently (torchvision DenseNet's `if tensor.requires_grad:` raised AttributeError on a JAX array)."""

from torch2jax import convert_source

SOURCE = '''
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, requires_grad=False):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.requires_grad = requires_grad

    def any_requires_grad(self, inputs):
        for t in inputs:
            if t.requires_grad:
                return True
        return inputs[0].grad_fn is None or self.requires_grad

    def forward(self, x):
        x.requires_grad = True
        return self.fc(x)
'''


def test_reads_are_reported_and_marked():
    result = convert_source(SOURCE)
    reported = [(d.code, d.line) for d in result.diagnostics if d.code == "T2J201"]
    assert reported == [("T2J201", 13), ("T2J201", 15)], reported
    assert result.code.count("# torch2jax: T2J201 `requires_grad` of a tensor") == 1
    assert "# torch2jax: T2J201 `grad_fn` of a tensor" in result.code


def test_the_modules_own_attribute_and_assignments_are_not_reads():
    result = convert_source(SOURCE)
    assert "self.requires_grad = requires_grad" in result.code
    assert not [d for d in result.diagnostics if d.line in (9, 18) and d.code == "T2J201"]
