"""Module construction as real code writes it (rngs reach every construction of the file's
own modules), and torch types in annotations and isinstance checks (quiet, translated)."""

import ast

from conftest import ROOT
from torch2jax import convert_source

INPUTS = ROOT / "tests" / "inputs"


def _convert(name):
    result = convert_source((INPUTS / name).read_text(), filename=name)
    ast.parse(result.code)
    return result


def test_rngs_reach_classes_passed_stored_listed_and_looked_up():
    result = _convert("blocks_as_values.py")
    code = result.code
    assert result.diagnostics == []
    for line in [
        "def make(cls, *args, rngs: nnx.Rngs, **kwargs):",  # a factory forwarding *args/**kwargs
        "return cls(*args, **kwargs, rngs=rngs)",
        "def __init__(self, c, block=BasicBlock, kind=\"basic\", depth=2, *, rngs: nnx.Rngs):",  # a default
        "self.first = self.block(c, rngs=rngs)",  # stored in an attribute
        "self.second = self.choices[1](c, rngs=rngs)",  # in a list
        "self.third = BLOCKS[kind](c, rngs=rngs)",  # chosen by a config dict
        "self.fourth = make(BasicBlock, c, rngs=rngs)",
        "self.layers = nnx.List([block(c, rngs=rngs) for _ in range(depth)])",
    ]:
        assert line in code, line


def test_types_are_translated_quietly():
    result = _convert("torch_types.py")
    code = result.code
    assert "device: 'torch.device' = None" in code  # no JAX type: documentation only, no torch import
    assert "def __call__(self, x: jax.Array) -> jax.Array:" in code
    assert "def init(m: nnx.Module, layer: nnx.Linear):" in code
    assert "isinstance(m, (nnx.Linear, nnx.Conv))" in code
    assert "import torch\n" not in code
    # nn.ReLU is a function in JAX, not a class: that check cannot be translated and says so.
    assert [(d.code, d.line) for d in result.diagnostics] == [("T2J901", 17)]


def test_randomness_in_forward_draws_from_the_modules_rngs():
    pytest = __import__("pytest")
    pytest.importorskip("flax")
    import jax.numpy as jnp
    from flax import nnx

    from numeric import load_source

    result = _convert("vae_sampling.py")
    assert result.diagnostics == []
    assert "self.rngs = rngs" in result.code
    assert "eps = jax.random.normal(self.rngs.sample(), std.shape, std.dtype)" in result.code
    assert "nnx.Dropout(0.1)(jax.nn.relu(self.enc(x)), deterministic=self.deterministic, rngs=self.rngs)" in result.code
    module = load_source(result.code, "vae_jax")
    model = module.VAE(rngs=nnx.Rngs(0))
    step = nnx.jit(lambda m, x: m(x)[0])
    x = jnp.ones((3, 8))
    first, second = step(model, x), step(model, x)
    assert first.shape == (3, 8) and not jnp.allclose(first, second)  # a fresh draw at every call
    model.eval()
    _, mu, _ = model(x)
    _, mu_again, _ = model(x)
    assert jnp.allclose(mu, mu_again)  # eval mode: no dropout, deterministic encoder


MODULE_METHODS = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.fc(x)


device = torch.device("cpu")
model = Net().to(device)
n_params = sum(p.numel() for p in model.parameters())
model.zero_grad()
for p in model.parameters():
    p.requires_grad = False
names = [n for n, _ in model.named_parameters()]
"""


def test_module_methods_translated_or_reported():
    result = convert_source(MODULE_METHODS, filename="m.py")
    code = result.code
    assert "for m in (module for _, module in nnx.iter_modules(self)):" in code
    assert "model = Net(rngs=rngs)\n" in code
    assert "n_params = sum(p.size for p in jax.tree.leaves(nnx.state(model, nnx.Param)))" in code
    assert "zero_grad" not in code
    errors = [(d.code, d.line) for d in result.diagnostics if d.severity == "error"]
    assert errors == [("T2J204", 22), ("T2J201", 23)]  # freezing and named_parameters: said, not dropped


NONE_THEN_PARAMETER = """\
import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self, bias=True):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))
        self.b = None
        if bias:
            self.b = nn.Parameter(torch.zeros(3))
        self.register_buffer("mask", None)
        self.act = None

    def forward(self, x):
        y = x * self.w
        return y if self.b is None else y + self.b
"""


def test_attribute_set_to_none_then_to_a_parameter_builds_in_nnx():
    pytest = __import__("pytest")
    pytest.importorskip("flax")
    import jax.numpy as jnp
    from flax import nnx

    from numeric import load_source

    result = convert_source(NONE_THEN_PARAMETER)
    assert "self.b = nnx.data(None)" in result.code
    assert "self.mask = None" in result.code and "self.act = None" in result.code  # never set to a value: static
    module = load_source(result.code, "none_first")
    for bias, expected in ((True, 1.0), (False, 1.0)):
        model = module.M(bias=bias, rngs=nnx.Rngs(0))
        assert float(model(jnp.ones(3))[0]) == expected
        assert len(nnx.state(model, nnx.Param)) == (2 if bias else 1)


def test_explicit_base_init_call_goes_like_super_init():
    source = ("import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def __init__(self):\n"
              "        nn.Module.__init__(self)\n        self.fc = nn.Linear(2, 2)\n\n    def forward(self, x):\n"
              "        return self.fc(x)\n")
    result = convert_source(source)
    assert not result.diagnostics
    assert "__init__(self)" not in result.code.replace("def __init__(self", "")
