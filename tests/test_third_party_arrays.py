"""A module's parameter handed to einops is handed as its value (einops does not know nnx.Param)."""

import pytest

from torch2jax import convert_source

SOURCE = '''import torch
from torch import nn
from einops import repeat, rearrange


class Tokens(nn.Module):
    def __init__(self, dim=8, heads=2):
        super().__init__()
        self.heads = heads
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))

    def forward(self, x):
        cls = repeat(self.cls_token, '1 1 d -> b 1 d', b=x.shape[0])
        x = rearrange(x, 'b n (h d) -> b h n d', h=self.heads)
        return cls, x
'''


def test_parameter_passed_positionally_is_its_value_and_axis_sizes_stay():
    code = convert_source(SOURCE).code
    assert "repeat(self.cls_token[...], '1 1 d -> b 1 d', b=x.shape[0])" in code
    assert "h=self.heads)" in code


def test_translation_runs_against_torch():
    torch = pytest.importorskip("torch")
    pytest.importorskip("einops")
    nnx = pytest.importorskip("flax.nnx")
    import numpy as np

    from torch2jax.weights import load_torch_weights

    t_ns: dict = {}
    exec(compile(SOURCE, "<torch>", "exec"), t_ns)
    j_ns: dict = {}
    exec(compile(convert_source(SOURCE).code, "<jax>", "exec"), j_ns)
    t_model = t_ns["Tokens"]()
    j_model = load_torch_weights(j_ns["Tokens"](rngs=nnx.Rngs(0)), t_model)
    x = np.random.default_rng(0).normal(size=(3, 5, 8)).astype(np.float32)
    t_cls, t_x = t_model(torch.from_numpy(x))
    j_cls, j_x = j_model(x)
    np.testing.assert_allclose(np.asarray(j_cls), t_cls.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(j_x), t_x.numpy(), rtol=1e-6)


def test_device_of_a_tensor_and_to_device_with_dtype():
    source = ("import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
              "    def __init__(self):\n        super().__init__()\n        self.pos = nn.Parameter(torch.zeros(4))\n\n"
              "    def forward(self, img):\n        device = img.device\n"
              "        return img + self.pos.to(device, dtype=img.dtype)\n")
    result = convert_source(source)
    assert "        device = jax.devices()[0]\n        return img + self.pos.astype(img.dtype)\n" in result.code
    assert [d.code for d in result.diagnostics] == ["T2J902", "T2J902"]
    assert all(d.severity == "info" for d in result.diagnostics)
