"""Arrays kept as plain module attributes (passes/array_attributes.py) and tensors known through
the file's own helper functions (passes/tensor_values.py), in the shape of vit-pytorch's SimpleViT:
a sin-cos position table built by a module-level helper in __init__, and a helper called from
forward that reads its argument's device."""

import pytest

from numeric import verifier
from torch2jax import convert_source

MODEL = '''
import torch
from torch import nn


def sincos_table(n, dim, base=10000.0):
    pos = torch.arange(n)
    freq = 1.0 / (base ** (torch.arange(dim // 2) / (dim // 2)))
    angles = pos[:, None] * freq[None, :]
    return torch.cat((angles.sin(), angles.cos()), dim=1).type(torch.float32)


def scaled_offsets(tokens, scale):
    n, device, dtype = tokens.shape[1], tokens.device, tokens.dtype
    steps = torch.arange(n, device=device).to(dtype)
    return (steps / n * scale)[None, :, None]


class Tagger(nn.Module):
    def __init__(self, n=6, dim=8, classes=3):
        super().__init__()
        self.table = sincos_table(n, dim)
        self.causal = torch.ones(n, n).tril()
        self.steps = n
        self.proj = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        device = x.device
        x = self.proj(x) + self.table.to(device, dtype=x.dtype)
        x = x + scaled_offsets(x, 0.5)
        mixed = (self.causal / self.causal.sum(-1, keepdim=True)) @ x
        return self.head(mixed.tanh())
'''


def test_array_attributes_are_data_and_helper_arguments_are_tensors():
    result = convert_source(MODEL)
    code = result.code
    assert "self.table = nnx.data(sincos_table(n, dim))" in code
    assert "self.causal = nnx.data(jnp.tril(jnp.ones((n, n))))" in code
    assert "self.steps = n\n" in code  # not an array
    assert "n, device, dtype = tokens.shape[1], jax.devices()[0], tokens.dtype" in code
    assert not [d for d in result.diagnostics if d.severity == "error"], [d.text() for d in result.diagnostics]
    again = convert_source("import torch\n" + code).code
    assert again.strip() == code.strip()


@pytest.fixture(scope="module")
def check(tmp_path_factory):
    return verifier(tmp_path_factory, "tagger.py", MODEL, "Tagger()", ["float32[2,6,8]"])


def test_verifies_against_torch(check):
    report = check()
    assert report.ok, report.table()


def test_a_plain_array_attribute_is_caught(check, tmp_path):
    """Without nnx.data the arrays built under nnx.eval_shape stay tracers and leak."""
    wrong = tmp_path / "wrong.py"
    wrong.write_text(convert_source(MODEL).code.replace("self.table = nnx.data(sincos_table(n, dim))",
                                                        "self.table = sincos_table(n, dim)")
                     .replace("self.causal = nnx.data(jnp.tril(jnp.ones((n, n))))", "self.causal = jnp.tril(jnp.ones((n, n)))"))
    assert not check(wrong).ok


def test_a_device_left_on_a_traced_argument_is_caught(check, tmp_path):
    wrong = tmp_path / "wrong.py"
    wrong.write_text(convert_source(MODEL).code.replace("jax.devices()[0], tokens.dtype", "tokens.device, tokens.dtype"))
    assert not check(wrong).ok
