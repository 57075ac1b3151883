"""F.linear, F.embedding, F.conv1d/2d/3d, F.layer_norm, F.rms_norm, F.group_norm with the weights
as the module's own nn.Parameters (torch's layout kept), against torch: outputs and gradients for
the input and every parameter, hyperparameters drawn by hypothesis."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from layer_check import check, data  # noqa: E402
from numeric import covers  # noqa: E402

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

MODULE = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn({w_shape}))
        self.b = nn.Parameter(torch.randn({b_shape}))

    def forward(self, x):
        return {call}
"""


def _source(w_shape, b_shape, call):
    return MODULE.format(w_shape=", ".join(map(str, w_shape)), b_shape=", ".join(map(str, b_shape)), call=call)


@covers("torch.nn.functional.conv1d", "torch.nn.functional.conv2d", "torch.nn.functional.conv3d")
@SETTINGS
@given(n=st.integers(1, 3), groups=st.sampled_from([1, 2]), kernel=st.integers(1, 3), stride=st.integers(1, 2),
       padding=st.sampled_from(["0", "1", "'same'", "'valid'", "(1, 0, 2)"]), dilation=st.integers(1, 2),
       bias=st.booleans(), keywords=st.booleans())
def test_conv(n, groups, kernel, stride, padding, dilation, bias, keywords):
    if padding == "'same'":
        stride = 1  # torch refuses 'same' with strides
    if padding.startswith("("):
        padding = "(" + ", ".join(padding[1:-1].split(", ")[:n]) + ("," if n == 1 else "") + ")"
    cin, cout = 2 * groups, 2 * groups
    w_shape = (cout, cin // groups) + (kernel,) * n
    b = "self.b" if bias else "None"
    if keywords:
        call = f"F.conv{n}d(x, self.w, bias={b}, stride={stride}, padding={padding}, dilation={dilation}, groups={groups})"
    else:
        call = f"F.conv{n}d(x, self.w, {b}, {stride}, {padding}, {dilation}, {groups})"
    check(None, data((2, cin) + (7, 6, 5)[:n]), source=_source(w_shape, (cout,), call))


@covers("torch.nn.functional.layer_norm")
@SETTINGS
@given(dims=st.integers(1, 3), affine=st.sampled_from(["w, b", "w", "None, b", ""]), eps=st.sampled_from([1e-5, 1e-3, 0.1]))
def test_layer_norm(dims, affine, eps):
    shape = (2, 3, 4, 5)
    normalized = shape[-dims:]
    args = {"w, b": "self.w, self.b", "w": "self.w", "None, b": "None, self.b", "": ""}[affine]
    call = f"F.layer_norm(x, {normalized!r}, {args + ', ' if args else ''}eps={eps})"
    check(None, data(shape, scale=3.0), source=_source(normalized, normalized, call + " + 0 * self.w.sum() + 0 * self.b.sum()"))


def test_layer_norm_over_the_weights_shape():
    """nanoGPT's LayerNorm with an optional bias: F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)."""
    call = "F.layer_norm(x, self.w.shape, self.w, self.b, 1e-5)"
    check(None, data((2, 5, 8)), source=_source((8,), (8,), call))


@covers("torch.nn.functional.rms_norm")
@SETTINGS
@given(dims=st.integers(1, 2), weighted=st.booleans(), eps=st.sampled_from(["", ", eps=1e-6", ", 1e-2"]))
def test_rms_norm(dims, weighted, eps):
    shape = (3, 4, 6)
    normalized = shape[-dims:]
    call = f"F.rms_norm(x, {normalized!r}, {'self.w' if weighted else 'None'}{eps}) + 0 * self.w.sum() + 0 * self.b.sum()"
    check(None, data(shape), source=_source(normalized, (1,), call))


@covers("torch.nn.functional.group_norm")
@SETTINGS
@given(groups=st.sampled_from([1, 2, 3, 6]), spatial=st.integers(0, 2), affine=st.booleans())
def test_group_norm(groups, spatial, affine):
    shape = (2, 6) + (4, 3)[:spatial]
    args = ", self.w, self.b" if affine else ""
    call = f"F.group_norm(x, {groups}{args}, eps=1e-4) + 0 * self.w.sum() + 0 * self.b.sum()"
    check(None, data(shape, scale=2.0), source=_source((6,), (6,), call))


@pytest.mark.parametrize("call", ["F.linear(x, self.w, self.b)", "F.linear(x, self.w) + F.linear(x * 2, weight=self.w, bias=None)",
                                  "F.linear(x + 1, self.w, self.b * 2)"])
def test_linear(call):
    check(None, data((3, 4)), source=_source((5, 4), (5,), call + " + 0 * self.b.sum()"))


def test_embedding():
    source = _source((10, 4), (4,), "F.embedding(x, self.w) + self.b")
    check(None, np.array([[1, 2, 9], [0, 0, 3]], dtype=np.int64), source=source, grads=True)
