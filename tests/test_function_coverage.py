"""torch functions and Tensor methods added for coverage, against torch: outputs and gradients."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from layer_check import TEMPLATE, check, data  # noqa: E402
from torch2jax import convert_source  # noqa: E402

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("forward", [
    "sum(torch.chunk(x, 2, dim=-1)) + sum(c.sum() for c in x.chunk(3, dim=1))",
    "torch.stack(torch.meshgrid(x[0, 0, :, 0], x[0, 0, 0, :]), 0) + torch.stack(torch.meshgrid(x[0, 0, :, 0], x[0, 0, :, 1], indexing='xy'), 0).sum()",
    "torch.outer(x[0, 0, 0], x[1, 1, 1]) + x[0, 1, 0].outer(x[1, 0, 1])",
    "torch.rsqrt(x.abs() + 1) + x.half().float()",
    "torch.topk(x, 3).values + x.topk(3)[0] + x.topk(2, largest=False).values.sum() + torch.topk(x, 3).indices.float()",
    "torch.sort(x, dim=1, descending=True).values + x.sort(dim=-1)[0].sum() + torch.argsort(x, dim=2).float() + x.argsort(dim=1, descending=True).float()",
    "torch.cumsum(x, dim=1) + torch.cumprod(x, 2) + x.cumprod(dim=3)",
    "torch.index_select(x, 1, torch.tensor([2, 0])) + x.index_select(3, torch.arange(0, 6))[:, :2]",
    "torch.clamp(x, -0.5, 0.5) + torch.clamp(x, max=0.2) + torch.clip(x, min=0.0)",
    "torch.einsum('bchw,bcwk->bchk', x, x.transpose(2, 3))[..., :6] + torch.einsum('bchw->bhw', x).unsqueeze(1)",
    "torch.triu(x) + torch.tril(x, diagonal=-1) + x.triu(1) + x.tril()",
    "x * torch.finfo(x.dtype).eps * 1e6 + torch.finfo(torch.float32).tiny + x.clamp(min=torch.finfo(x.dtype).min)",
    "torch.clone(x) + x.clone() + x.type(torch.float32) + x.detach().clone()",
    "torch.abs(x) + torch.log(x.abs() + 1) + torch.log1p(x.abs()) + torch.sin(x) * torch.cos(x) + torch.pow(x, 2)",
    "torch.maximum(x, x * 2) + torch.minimum(x, -x) + x.maximum(x.flip(1)) + x.minimum(torch.flip(x, dims=[3]))",
    "torch.logsumexp(x, dim=1, keepdim=True) + x.logsumexp(-1).unsqueeze(-1) + torch.prod(x, 2, keepdim=True) + x.prod(dim=3, keepdim=True)",
    "torch.amax(x, dim=(1, 2), keepdim=True) + x.amax(-1, keepdim=True) + torch.amin(x, 1, keepdim=True) + x.amin(dim=2, keepdim=True)",
    "torch.transpose(x, 2, 3).reshape(2, 3, 8, 6) + torch.permute(x, (0, 1, 3, 2)).reshape(2, 3, 8, 6) + torch.reshape(x, (2, 3, 8, 6))",
    "torch.unsqueeze(x, 0)[0] + torch.repeat_interleave(x, 2, dim=3)[..., ::2] + x.repeat_interleave(2, dim=1)[:, 1::2]",
    "torch.zeros_like(x) + torch.ones_like(x) * torch.full((8, 6), 0.5) + torch.full_like(x, -1.0) + torch.linspace(0, 1, 6) + torch.eye(8, 6) + x",
    "F.normalize(x, dim=-1) + F.normalize(x, p=1.0, dim=1)",
    "x.roll(1, 0) + torch.roll(x, shifts=2, dims=3) + x.norm(dim=-1, keepdim=True) + torch.norm(x, dim=1, keepdim=True) + x.norm()",
    "x.diff(dim=1).sum(1, keepdim=True) + torch.diff(x, dim=3).sum(3, keepdim=True) + torch.linalg.vector_norm(x, dim=2, keepdim=True)",
    "x.where(x > 0, 0.5) + x.add(x) * x.is_floating_point()",
    "x.mul(x) + x.div(x.abs() + 1) + x.sub(1.0) + x.true_divide(2.0) + x.multiply(x)",
])
def test_functions(forward):
    check("nn.Identity()", data((2, 3, 8, 6)), forward=forward)


SCATTER = """
import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        # a permutation per row along dim 1, so no position is written twice
        index = torch.argsort(x[:, :, :2], dim=1)
        src = x[:, :, 2:4] * 3
        y = x.scatter(1, index, src) + torch.scatter(x, 1, index, 0.5)
        return y + torch.scatter_add(x, 1, index, src) + x.scatter_add(1, index[:, :2], src[:, :2])
"""


def test_scatter():
    check(None, data((2, 5, 6)), source=SCATTER)


COMPLEX = """
import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        # rotary-embedding style: pairs as complex numbers, rotated, and back
        z = torch.polar(x.abs() + 1, x * 2)
        pairs = torch.view_as_complex(x.reshape(2, 3, 8, 3, 2))
        rotated = torch.view_as_real(pairs * z[..., :3])
        return torch.view_as_real(z).sum(-1) + rotated.flatten(3)
"""


def test_complex_numbers():
    check(None, data((2, 3, 8, 6)), source=COMPLEX)


@SETTINGS
@given(k=st.integers(1, 6), largest=st.booleans(), descending=st.booleans(), dim=st.sampled_from([0, 1, -1]))
def test_topk_and_sort(k, largest, descending, dim):
    forward = (f"torch.cat([torch.topk(x, {k}, largest={largest}).values.flatten(), torch.topk(x, {k}, largest={largest})[1].flatten().float(), "
               f"torch.sort(x, dim={dim}, descending={descending})[0].flatten(), x.sort({dim}, {descending})[1].flatten().float()])")
    check("nn.Identity()", data((4, 3, 6)), forward=forward)


def test_int_methods_without_gradients():
    check("nn.Identity()", np.arange(24).reshape(2, 3, 4).astype(np.int64) % 5,
          forward="x.sort(dim=1, stable=True)[1] + torch.argsort(x, dim=-1, stable=True)", grads=False)
    check("nn.Identity()", np.arange(24).reshape(2, 3, 4).astype(np.int64) % 5, forward="F.one_hot(x, 6).sum(1)", grads=False)


@pytest.mark.parametrize("forward, code", [
    ("x.type()", "T2J302"),
    ("torch.topk(x, 2, dim=1)", "T2J302"),
    ("x.div(2, rounding_mode='floor')", "T2J302"),
])
def test_reported(forward, code):
    result = convert_source(TEMPLATE.format(layer="nn.Identity()", forward=forward))
    assert [d.code for d in result.diagnostics] == [code]
    assert f"# torch2jax: {code}" in result.code
