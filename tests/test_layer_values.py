"""torch layer classes held as values (torchvision's ``norm_layer``, timm's ``act_layer``): the value
is the Flax layer's partial or the activation's function, the call that builds it gets ``rngs`` or
goes; what cannot be held so is reported. Checked against torch with verify."""

from __future__ import annotations

import re

import pytest

from numeric import verified
from torch2jax import convert_source

SOURCE = '''
from functools import partial
from typing import Callable, Optional

import torch.nn as nn


class Block(nn.Module):
    def __init__(self, dim, norm_layer: Optional[Callable[..., nn.Module]] = None, act_layer=nn.GELU):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm1d
        self.fc = nn.Linear(dim, dim)
        self.norm = norm_layer(dim)
        self.act = act_layer(inplace=True) if act_layer is nn.ReLU else act_layer()

    def forward(self, x):
        return self.act(self.norm(self.fc(x)))


class Net(nn.Module):
    def __init__(self, dim=8, norm_layer=partial(nn.LayerNorm, eps=1e-3), drop=partial(nn.LeakyReLU, 0.2)):
        super().__init__()
        self._norm_layer = norm_layer
        self.blocks = nn.Sequential(*[self._make(dim) for _ in range(2)])
        self.block = Block(dim, norm_layer=partial(nn.BatchNorm1d, momentum=0.3), act_layer=nn.ReLU)
        self.last = Block(dim)
        self.act = drop()
        self.head = nn.Linear(dim, 3)

    def _make(self, dim):
        norm_layer = self._norm_layer
        return nn.Sequential(nn.Linear(dim, dim), norm_layer(dim))

    def forward(self, x):
        return self.head(self.act(self.last(self.block(self.blocks(x)))))
'''


def test_values_and_the_calls_that_build_them():
    result = convert_source(SOURCE)
    code = result.code
    for line in [
        "def __init__(self, dim, norm_layer: Optional[Callable[..., nnx.Module]] = None, "
        "act_layer=functools.partial(jax.nn.gelu, approximate=False), *, rngs: nnx.Rngs):",
        "norm_layer = functools.partial(nnx.BatchNorm, momentum=0.9, axis=1, use_fast_variance=False)",
        "self.norm = norm_layer(dim, rngs=rngs)",
        "self.act = act_layer if act_layer is jax.nn.relu else act_layer",
        "norm_layer=functools.partial(nnx.LayerNorm, epsilon=1e-3, use_fast_variance=False)",
        "drop=functools.partial(jax.nn.leaky_relu, negative_slope=0.2)",
        "self.block = Block(dim, norm_layer=functools.partial(nnx.BatchNorm, momentum=0.7, axis=1, use_fast_variance=False), "
        "act_layer=jax.nn.relu, rngs=rngs)",
        "self.act = drop",
        "return nnx.Sequential(nnx.Linear(dim, dim, rngs=rngs), norm_layer(dim, rngs=rngs))",
    ]:
        assert line in code, line
    assert not re.search(r"(?<![\w.])nn\.", code)  # no torch left
    assert {d.code for d in result.diagnostics} == {"T2J104"}  # BatchNorm's running variance, said once a value
    again = convert_source("import torch\n" + code)  # as if torch were still imported: nothing changes
    assert again.code.strip() == code.strip() and not again.diagnostics


def test_verified_against_torch(tmp_path):
    report = verified(tmp_path, SOURCE, "Net()", ["float32[4,8]"])
    assert report.ok, report.table()
    assert report.stages["spec"]["weights"] == 22  # 5 Linear, 2 LayerNorm, 2 BatchNorm with their statistics


@pytest.mark.parametrize("body, code, words", [
    ("self.norm = norm_layer(8, eps=1e-3)", "T2J302", "keyword arguments"),
    ("self.norm = norm_layer(8, 1e-3)", "T2J302", "more positional arguments"),
])
def test_calls_that_cannot_be_translated_are_reported(body, code, words):
    source = ("import torch.nn as nn\n\n\nclass M(nn.Module):\n    def __init__(self, norm_layer=nn.BatchNorm2d):\n"
              f"        super().__init__()\n        {body}\n")
    result = convert_source(source)
    assert [(d.code, words in d.message) for d in result.diagnostics if d.code != "T2J104"] == [(code, True)]
    assert f"# torch2jax: {code}" in result.code


@pytest.mark.parametrize("value", ["nn.ConvTranspose2d", "nn.GroupNorm", "partial(nn.GroupNorm, 4)"])
def test_layers_that_cannot_be_held_as_values_are_reported(value):
    source = ("from functools import partial\nimport torch.nn as nn\n\n\n"
              f"class M(nn.Module):\n    def __init__(self, layer={value}):\n        super().__init__()\n"
              "        self.layer = layer(8, 8)\n")
    result = convert_source(source)
    assert [d.code for d in result.diagnostics] == ["T2J901"]
    assert re.search(r"(?<![\w.])nn\.", result.code)  # left as torch, and marked
    assert "# torch2jax: T2J901" in result.code


def test_type_checks_are_not_values():
    source = "import torch.nn as nn\n\ndef f(m):\n    return isinstance(m, nn.ReLU), isinstance(m, nn.BatchNorm2d)\n"
    result = convert_source(source)
    assert "isinstance(m, nnx.BatchNorm)" in result.code
    assert [d.code for d in result.diagnostics] == ["T2J901"]  # nn.ReLU is a function in JAX: no class to check


LOOKUP = '''
import torch.nn as nn


class LM(nn.Module):
    def __init__(self, rnn_type="GRU", cell=nn.LSTM, act="Tanh"):
        super().__init__()
        if rnn_type in ["LSTM", "GRU"]:
            self.rnn = getattr(nn, rnn_type)(4, 6, 2, batch_first=True)
        self.cell = cell(6, 6, batch_first=True)
        self.act = getattr(nn, "Tanh")()

    def forward(self, x):
        out = self.rnn(x)[0]
        return self.act(self.cell(out)[0])
'''


def test_torch_classes_looked_up_by_name_and_recurrent_classes_as_values(tmp_path):
    """The PyTorch examples' word language model: `getattr(nn, rnn_type)(...)` inside
    `if rnn_type in ['LSTM', 'GRU']:`; a recurrent class held as a value is the class the output defines."""
    result = convert_source(LOOKUP)
    code = result.code
    assert "self.rnn = {'LSTM': LSTM, 'GRU': GRU}[rnn_type](4, 6, 2, batch_first=True, rngs=rngs)" in code
    assert "def __init__(self, rnn_type=\"GRU\", cell=LSTM, act=\"Tanh\", *, rngs: nnx.Rngs):" in code
    assert "self.cell = cell(6, 6, batch_first=True, rngs=rngs)" in code and "self.act = jnp.tanh" in code
    assert not result.diagnostics
    pytest.importorskip("torch")
    pytest.importorskip("flax")
    from torch2jax.verify import verify

    source = tmp_path / "lm.py"
    source.write_text(LOOKUP)
    for model in ("LM()", "LM('LSTM')"):
        report = verify(source, model, ["float32[2,5,4]"])
        assert report.ok, report.table()


def test_a_lookup_with_unknown_choices_is_reported():
    source = "import torch.nn as nn\n\n\ndef make(kind):\n    return getattr(nn, kind)(4, 4)\n"
    result = convert_source(source)
    assert [d.code for d in result.diagnostics] == ["T2J901"]
    assert "# torch2jax: T2J901" in result.code and "getattr(nn, kind)(4, 4)" in result.code


def test_classes_compared_with_a_type_are_types():
    """`type(m) is nn.Identity` (torch's own fx passes): a type check, not a held value."""
    source = "import torch.nn as nn\n\n\ndef f(m):\n    return type(m) is nn.Linear, m.__class__ in (nn.Identity,)\n"
    result = convert_source(source)
    assert "type(m) is nnx.Linear" in result.code and "m.__class__ in (nn.Identity,)" in result.code
    assert [d.code for d in result.diagnostics] == ["T2J901"]  # Identity is a function in JAX: no class to compare


def test_an_activation_held_where_its_building_call_is_not_followed_is_reported():
    """linformer: `GELU = nn.GELU if hasattr(nn, 'GELU') else GELU_` at module level, built later through
    a helper (`activation = default(activation, GELU); activation()`). The value becomes the function,
    and the call that builds it cannot be found from there: said where the value is, not silent."""
    source = ("import torch.nn as nn\n\n\ndef default(val, d):\n    return val if val is not None else d\n\n\n"
              "GELU = nn.GELU if hasattr(nn, 'GELU') else None\n\n\n"
              "class FeedForward(nn.Module):\n    def __init__(self, activation=None):\n        super().__init__()\n"
              "        self.act = default(activation, GELU)()\n\n    def forward(self, x):\n        return self.act(x)\n")
    result = convert_source(source)
    assert [(d.code, d.line) for d in result.diagnostics] == [("T2J101", 8)], [d.text() for d in result.diagnostics]
    assert "# torch2jax: T2J101 `nn.GELU` held here becomes the function" in result.code
    table = "import torch.nn as nn\n\nacts = dict(relu=nn.ReLU)\n\n\ndef make(kind):\n    return acts[kind]()\n"
    assert [d.code for d in convert_source(table).diagnostics] == ["T2J101"]  # pytorch-tcn's activation_fn table
    followed = convert_source(SOURCE)  # defaults, arguments and assignments in functions: followed, quiet
    assert {d.code for d in followed.diagnostics} == {"T2J104"}
