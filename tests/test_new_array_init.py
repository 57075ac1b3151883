"""In-place initialisers on a new array (handlers/initializers.py) and random draws a forward makes
through one of the file's functions (analyze: the module's own self.rngs), in the shape of
vit-pytorch's CaiT: `torch.zeros(1, 1, dim).fill_(eps)` as a parameter's start and
`torch.zeros(n).uniform_(0., 1.) < p` in a helper its forward calls."""

import pytest

from numeric import verifier
from torch2jax import convert_source

MODEL = '''
import torch
from torch import nn


def keep_mask(n, p):
    if p == 0:
        return torch.ones(n).fill_(1.0) > 0
    return torch.zeros(n).uniform_(0., 1.) >= p


def offsets(n, dim):
    return torch.zeros(n, dim).fill_(0.25) + torch.ones((n, dim), dtype=torch.float32).zero_()


class Scaled(nn.Module):
    def __init__(self, dim, fn, eps=0.1):
        super().__init__()
        self.scale = nn.Parameter(torch.zeros(1, 1, dim).fill_(eps))
        self.fn = fn

    def forward(self, x):
        return self.fn(x) * self.scale


class Stack(nn.Module):
    def __init__(self, dim=8, depth=3, drop=0.0):
        super().__init__()
        self.blocks = nn.ModuleList([Scaled(dim, nn.Linear(dim, dim)) for _ in range(depth)])
        self.drop = drop

    def forward(self, x):
        x = x + offsets(x.shape[1], x.shape[2])
        keep = keep_mask(len(self.blocks), self.drop)
        for block, kept in zip(self.blocks, keep):
            if kept:
                x = block(x) + x
        return x
'''


def test_new_arrays_are_made_with_their_values():
    code = convert_source(MODEL).code
    assert "self.scale = nnx.Param(jnp.full((1, 1, dim), eps, jnp.float32))" in code
    assert "return jnp.full(n, 1.0, jnp.float32) > 0" in code
    assert ("return jax.random.uniform(rngs.params(), jnp.zeros(n).shape, jnp.float32, minval=0.0, maxval=1.0) >= p"
            in code)
    assert "return jnp.full((n, dim), 0.25, jnp.float32) + jnp.zeros((n, dim), jnp.float32)" in code


def test_a_forward_drawing_through_a_helper_uses_the_modules_stream():
    code = convert_source(MODEL).code
    assert "    def __call__(self, x):\n" in code  # the model is still called model(x)
    assert "keep = keep_mask(len(self.blocks), self.drop, rngs=self.rngs)" in code
    assert "        self.rngs = rngs  # random numbers drawn at call time" in code
    result = convert_source(MODEL)
    assert not [d for d in result.diagnostics if d.severity == "error"], [d.text() for d in result.diagnostics]
    assert convert_source("import torch\n" + code).code.strip() == code.strip()


@pytest.fixture(scope="module")
def check(tmp_path_factory):
    return verifier(tmp_path_factory, "stack.py", MODEL, "Stack()", ["float32[2,4,8]"])


def test_verifies_against_torch(check):
    report = check()
    assert report.ok, report.table()


def test_a_wrong_fill_is_caught(check, tmp_path):
    wrong = tmp_path / "wrong.py"
    wrong.write_text(convert_source(MODEL).code.replace("0.25, jnp.float32)", "0.5, jnp.float32)"))
    assert not check(wrong).ok


def test_a_forward_asking_for_rngs_is_caught(check, tmp_path):
    """What the converter wrote before: `__call__(self, x, *, rngs)`, which `model(x)` cannot call."""
    wrong = tmp_path / "wrong.py"
    wrong.write_text(convert_source(MODEL).code.replace("    def __call__(self, x):\n        x = x + offsets",
                                                        "    def __call__(self, x, *, rngs):\n        x = x + offsets"))
    assert not check(wrong).ok
