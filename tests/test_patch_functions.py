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


@pytest.mark.parametrize("layer, forward", [
    ("nn.RMSNorm(6)", "self.layer(x)"),
    ("nn.RMSNorm(6, eps=1e-5)", "self.layer(x)"),
    ("nn.RMSNorm([6], elementwise_affine=False)", "self.layer(x)"),
    ("nn.Identity()", "x[:, :1].expand(2, 3, -1, -1) + x[0].expand(4, 2, 3, 8, 6)[1:3] + x.expand(x.shape)"),
])
def test_layers_and_views(layer, forward):
    check(layer, data((2, 3, 8, 6)), forward=forward, allow=("T2J101",))


OWN_PARAMETERS = '''
import math

import torch
import torch.nn as nn


class Embed(nn.Module):
    def __init__(self, n=16, d=64):
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(1, n, d))
        self.proj = nn.Parameter(torch.empty(d, d))
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        nn.init.trunc_normal_(self.pos, std=0.2)
        nn.init.kaiming_uniform_(self.proj, a=math.sqrt(5))
        self.cls.data.normal_(0, 0.02)

    def forward(self, x):
        x = torch.cat((self.cls.expand(x.shape[0], -1, -1), x @ self.proj + self.pos), dim=1)
        return x.tanh()
'''


def test_a_modules_own_parameters_are_initialised_in_torchs_layout(tmp_path):
    import math

    import numpy as np
    import torch

    code = convert_source(OWN_PARAMETERS).code
    assert "self.pos[...] = 0.0 + 0.2 * jax.random.truncated_normal(" in code
    assert ("self.proj[...] = jax.nn.initializers.variance_scaling(2.0 / (1 + (math.sqrt(5)) ** 2), 'fan_in', 'uniform', "
            "in_axis=1, out_axis=0)(rngs.params(), self.proj.shape, self.proj.dtype)") in code
    assert "self.cls[...] = 0.02 * jax.random.normal(rngs.params(), self.cls.shape, self.cls.dtype)" in code
    assert "expand(self.cls, x.shape[0], -1, -1)" in code
    namespace: dict = {}
    exec(compile(code, "embed_jax", "exec"), namespace)
    j = namespace["Embed"](rngs=namespace["nnx"].Rngs(0))
    exec(compile(OWN_PARAMETERS, "embed", "exec"), namespace)
    torch.manual_seed(0)
    t = namespace["Embed"]()
    for name, std in (("pos", 0.2), ("proj", math.sqrt(1 / 64) / math.sqrt(3)), ("cls", 0.02)):
        ours, theirs = np.asarray(getattr(j, name)[...]), getattr(t, name).detach().numpy()
        assert abs(ours.std() - std) < 0.15 * std and abs(theirs.std() - std) < 0.15 * std, name
    from torch2jax.verify import verify

    source = tmp_path / "embed.py"
    source.write_text(OWN_PARAMETERS)
    report = verify(source, "Embed()", ["float32[2,16,64]"])
    assert report.ok, report.table()
