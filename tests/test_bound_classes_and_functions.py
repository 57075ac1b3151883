"""Classes and torch functions bound with functools.partial, in the shape of denoising-diffusion's Unet:
``resnet_block = partial(ResnetBlock, dropout=dropout)``, ``attn_klass = FullAttention if full else
LinearAttention`` (built later with rngs), and ``map(partial(torch.cat, dim=-2), pairs)`` (the bound
keywords in jnp's terms: passes/function_partials.py). Checked against torch with verify."""

import pytest

from numeric import verifier
from torch2jax import convert_source

MODEL = '''
from functools import partial

import torch
from torch import nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dim, scale=1.0):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.scale = scale

    def forward(self, x):
        return self.fc(x) * self.scale


class Mixer(nn.Module):
    def __init__(self, dim, heads=2):
        super().__init__()
        self.mem = nn.Parameter(torch.randn(1, 2, dim))
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        mem = self.mem.expand(x.shape[0], -1, -1)
        (tokens,) = map(partial(torch.cat, dim=-2), ((mem, x),))
        return F.gelu(self.fc(tokens))[:, 2:]


class Net(nn.Module):
    def __init__(self, dim=8, stages=(True, False)):
        super().__init__()
        block = partial(Block, scale=2.0)
        Full = partial(Mixer, heads=4)
        self.layers = nn.ModuleList([])
        for full in stages:
            klass = Full if full else block
            self.layers.append(nn.ModuleList([block(dim), klass(dim)]))

    def forward(self, x):
        for a, b in self.layers:
            x = b(a(x))
        return x
'''


def test_bound_classes_are_built_with_rngs_and_bound_functions_in_jax_terms():
    result = convert_source(MODEL)
    code = result.code
    for line in ["(tokens,) = map(functools.partial(jnp.concatenate, axis=-2), ((mem, x),))",
                 "self.layers.append(nnx.List([block(dim, rngs=rngs), klass(dim, rngs=rngs)]))"]:
        assert line in code, line
    assert not [d for d in result.diagnostics if d.severity == "error"], [d.text() for d in result.diagnostics]
    again = convert_source("import torch\n" + code).code
    assert again.strip() == code.strip()


def test_a_bound_function_with_arguments_by_position_is_reported():
    result = convert_source("from functools import partial\nimport torch\n\ncat = partial(torch.cat, (1, 2))\n")
    assert "T2J302" in [d.code for d in result.diagnostics]


@pytest.fixture(scope="module")
def check(tmp_path_factory):
    return verifier(tmp_path_factory, "bound.py", MODEL, "Net()", ["float32[2,5,8]"])


def test_verifies_against_torch(check):
    report = check()
    assert report.ok, report.table()


def test_the_memory_joined_on_the_wrong_axis_is_caught(check, tmp_path):
    wrong = tmp_path / "wrong.py"
    code = convert_source(MODEL).code
    broken = code.replace("functools.partial(jnp.concatenate, axis=-2)", "functools.partial(jnp.concatenate, axis=-3)")
    assert broken != code
    wrong.write_text(broken)
    assert not check(wrong).ok
