"""Nearest interpolation by a scale factor known only when the model is built
(``nn.Upsample(scale_factor=upsample)``, fast-neural-style's UpsampleConvLayer): torch's output
size floor(n * s) and source indices floor(i * float32(1 / s)) for any factor, against torch.

torch's kernels differ where the output size is n or 2n but the factor is not 1 or 2: the 2-d one
copies (or halves the index) forward and backward, as the translation does; the 1-d and 3-d ones
use the formula forward but still copy backward, so there the translation's gradient is its
forward's and only the outputs are compared (see the last test)."""

import math

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import HealthCheck, assume, given, settings, strategies as st  # noqa: E402

from layer_check import check, data  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

SOURCE = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class M(nn.Module):
    def __init__(self, factor={factor}):
        super().__init__()
        self.up = nn.Upsample(scale_factor=factor, mode="nearest")
        self.factor = factor

    def forward(self, x):
        return torch.cat([self.up(x).flatten(), F.interpolate(x, scale_factor=self.factor).flatten()])  # {dims}
"""


@SETTINGS
@given(factor=st.one_of(st.integers(1, 4), st.floats(0.3, 3.7).map(lambda f: round(f, 3)),
                        st.tuples(st.floats(0.5, 3.0).map(lambda f: round(f, 2)), st.integers(1, 3))),
       size=st.tuples(st.integers(2, 9), st.integers(2, 9)))
def test_nearest_by_a_factor_given_at_build_time(factor, size):
    factors = factor if isinstance(factor, tuple) else (factor, factor)
    assume(all(n * f >= 1 for n, f in zip(size, factors)))  # torch refuses an empty output
    check(None, data((2, 3, *size)), source=SOURCE.format(factor=repr(factor), dims=len(size)))


@SETTINGS
@given(factor=st.floats(0.4, 3.0).map(lambda f: round(f, 2)), length=st.integers(2, 11))
def test_one_spatial_axis(factor, length):
    assume(length * factor >= 1)
    check(None, data((2, 3, length)), source=SOURCE.format(factor=repr(factor), dims=1),
          grads=_consistent_in_torch((length,), (factor,)))


def _consistent_in_torch(sizes, factors) -> bool:
    """Whether torch's 1-d / 3-d backward agrees with its forward here."""
    return all(math.floor(n * f) not in (n, 2 * n) or f in (1, 2) for n, f in zip(sizes, factors))


def test_torchs_backward_disagrees_with_its_forward_there():
    """Why the gradients are not compared in those cases: torch 2.13's nearest backward at factor 1.25
    on 2 elements gives each input one output's gradient although its forward copies input 0 twice."""
    import torch
    import torch.nn.functional as F

    x = torch.arange(2.0).reshape(1, 1, 2).requires_grad_()
    y = F.interpolate(x, scale_factor=1.25)
    y.sum().backward()
    assert y.detach().numpy().ravel().tolist() == [0.0, 0.0]  # the forward reads input 0 twice
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [1.0, 1.0])  # the backward as if it copied
