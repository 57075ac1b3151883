"""Functions vit-pytorch's models use that had no rule (PiT and T2T's nn.Unfold, CvT's torch.var,
LeViT's unbind), against torch: outputs and gradients, with hypothesis drawing the blocks."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from layer_check import check, data  # noqa: E402
from torch2jax import convert_source  # noqa: E402

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(kernel=st.integers(1, 4), stride=st.integers(1, 3), padding=st.integers(0, 1), dilation=st.integers(1, 2))
def test_unfold_module(kernel, stride, padding, dilation):
    check(f"nn.Unfold(kernel_size={kernel}, dilation={dilation}, padding={padding}, stride={stride})",
          data((2, 3, 9, 8)))


@SETTINGS
@given(kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 2), sw=st.integers(1, 3))
def test_unfold_function_with_pairs(kh, kw, sh, sw):
    check("nn.Identity()", data((2, 2, 7, 9)), forward=f"F.unfold(x, ({kh}, {kw}), stride=({sh}, {sw}), padding=(1, 0))")


def test_unfold_positional_arguments():
    check("nn.Identity()", data((1, 3, 6, 6)), forward="F.unfold(x, 2, 1, 0, 2) + F.unfold(x, kernel_size=2, stride=2)")


@pytest.mark.parametrize("forward", [
    "torch.var(x, dim=1, unbiased=False, keepdim=True) + torch.var(x, 1, keepdim=True)",
    "torch.std(x, dim=(2, 3), keepdim=True) + torch.std(x, -1, correction=0, keepdim=True)",
    "sum(torch.unbind(x, dim=1)) * x.unbind()[0][0] + torch.stack(x.unbind(dim=-1), -1)[:, 0]",
])
def test_functions(forward):
    check("nn.Identity()", data((2, 3, 8, 6)), forward=forward)


def test_a_wrong_channel_order_would_be_caught():
    """torch orders each block channel first: (C, kh, kw) -> columns; a (kh, kw, C) order differs."""
    source = convert_source("import torch.nn as nn\nu = nn.Unfold(2)\n").code
    assert "conv_general_dilated_patches" in source and "(N, C * kh * kw, L)" in source
    import numpy as np
    import torch
    import jax.numpy as jnp

    namespace = {}
    exec(source, namespace)
    x = data((1, 3, 4, 4))
    ours = np.asarray(namespace["u"](jnp.asarray(x)))
    theirs = torch.nn.functional.unfold(torch.from_numpy(x), 2).numpy()
    assert np.array_equal(ours, theirs)
    swapped = ours.reshape(1, 3, 4, 9).transpose(0, 2, 1, 3).reshape(1, 12, 9)
    assert not np.allclose(swapped, theirs)


NO_INIT = '''
import math

import torch.nn as nn
from einops import rearrange


class ToImage(nn.Module):
    def forward(self, x):
        return rearrange(x, "b (h w) c -> b c h w", h=int(math.sqrt(x.shape[1])))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.steps = nn.Sequential(ToImage(), nn.Unfold(kernel_size=2, stride=2))
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        return self.fc(self.steps(x).transpose(1, 2))
'''


def test_a_module_class_without_init_is_built_as_written(tmp_path):
    """T2T's RearrangeImage has only a forward: it was built with rngs=rngs, which it does not take."""
    code = convert_source(NO_INIT).code
    assert "nnx.Sequential(ToImage(), functools.partial(unfold, kernel_size=2, stride=2))" in code
    from torch2jax.verify import verify

    source = tmp_path / "net.py"
    source.write_text(NO_INIT)
    report = verify(source, "Net()", ["float32[2,16,3]"])
    assert report.ok, report.table()
