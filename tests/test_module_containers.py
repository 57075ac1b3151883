"""Subclasses of torch's containers and modules registered by name (passes/module_containers.py),
and activation checkpointing (passes/activation_checkpointing.py), in the shape torchvision's
DenseNet writes them: a ModuleDict filled by add_module with computed names and iterated with
items(), a Sequential whose layers are attributes, an OrderedDict Sequential extended by
add_module, checkpoint(closure, *inputs) over a closure reaching self."""

import pytest

from conftest import converted_twice
from numeric import model_file
from torch2jax import convert_source

MODEL = '''
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp


class Unit(nn.Module):
    def __init__(self, c_in, growth, checkpointed=False):
        super().__init__()
        self.bn = nn.BatchNorm2d(c_in)
        self.conv = nn.Conv2d(c_in, growth, 3, padding=1, bias=False)
        self.checkpointed = checkpointed

    def squeeze(self, parts):
        return self.conv(F.relu(self.bn(torch.cat(parts, 1))))

    def forward(self, parts):
        if self.checkpointed:
            def run(*xs):
                return self.squeeze(xs)

            return cp.checkpoint(run, *parts, use_reentrant=False)
        return self.squeeze(parts)


class Stage(nn.ModuleDict):
    def __init__(self, n, c_in, growth, checkpointed):
        super().__init__()
        for k in range(n):
            self.add_module("unit%d" % k, Unit(c_in + k * growth, growth, checkpointed))

    def forward(self, x):
        parts = [x]
        for _, unit in self.items():
            parts.append(unit(parts))
        return torch.cat(parts, 1)


class Shrink(nn.Sequential):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.bn = nn.BatchNorm2d(c_in)
        self.act = nn.ReLU()
        self.width = c_out
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.pool = nn.AvgPool2d(2)


class ConvBNReLU(nn.Sequential):
    def __init__(self, c_in, c_out):
        super().__init__(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())
        self.out_channels = c_out


class Heads(nn.ModuleList):
    def __init__(self, c, n):
        super().__init__([nn.Linear(c, 3) for _ in range(n)])

    def forward(self, x):
        return sum(head(x) for head in self)


class Net(nn.Module):
    def __init__(self, checkpointed=False):
        super().__init__()
        self.body = nn.Sequential(OrderedDict([("stem", ConvBNReLU(3, 8))]))
        c = 8
        for i in range(2):
            self.body.add_module("stage%d" % i, Stage(2, c, 4, checkpointed))
            c += 2 * 4
            self.body.add_module("shrink%d" % i, Shrink(c, c // 2))
            c //= 2
        self.register_module("norm", nn.BatchNorm2d(c))
        self.add_module("proj%d" % 0, nn.Linear(c, c))
        self.heads = Heads(c, 2)

    def forward(self, x):
        y = F.relu(self.norm(self.body(x)))
        y = F.adaptive_avg_pool2d(y, 1).flatten(1)
        return self.heads(getattr(self, "proj0")(y))
'''


def _stable(source: str):
    """Converted, and converting the output again (with torch still imported, so it really runs) changes nothing."""
    result = convert_source(source)
    assert convert_source("import torch\n" + result.code).code.strip() == result.code.strip()
    assert not [d for d in result.diagnostics if d.code == "T2J903"]
    return result


def test_containers_keep_their_kind_and_registrations_become_entries():
    result = _stable(MODEL)
    code = result.code
    assert "class Stage(nnx.Dict):" in code and '            self["unit%d" % k] = Unit(' in code
    assert "        super().__init__()\n        for k in range(n):" in code  # nnx.Dict's own __init__ stays
    assert "class ConvBNReLU(nnx.Sequential):\n    def __init__(self, c_in, c_out, *, rngs: nnx.Rngs):\n        super().__init__(" in code
    assert "class Heads(nnx.List):" in code and "return sum(head(x) for head in self)" in code
    assert "self.body.layers.append(Stage(2, c, 4, checkpointed, rngs=rngs))" in code
    assert "self.norm = nnx.BatchNorm(c" in code and 'setattr(self, "proj%d" % 0, nnx.Linear(c, c, rngs=rngs))' in code
    assert not [d for d in result.diagnostics if d.severity == "error"], [d.text() for d in result.diagnostics]


def test_a_sequential_of_attributes_runs_them_in_the_order_init_set_them():
    code = convert_source(MODEL).code
    assert "class Shrink(nnx.Module):" in code
    assert ("    def __call__(self, input):  # nn.Sequential's forward: the layers in the order __init__ set them\n"
            "        for module in (self.bn, self.act, self.conv, self.pool):\n"
            "            input = module(input)\n        return input\n") in code
    # its conv is called by that loop: it keeps torch's layout inside its wrapper
    assert "self.conv = nnx.Sequential(functools.partial(jnp.transpose, axes=(0, 2, 3, 1)), nnx.Conv(c_in, c_out" in code


def test_a_closure_reaching_self_takes_it_under_remat():
    code = convert_source(MODEL).code
    assert "            def run(self, *xs):\n                return self.squeeze(xs)\n" in code
    assert "return nnx.remat(run)(self, *parts)" in code


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    source = model_file(tmp_path_factory, "net.py", MODEL)
    from torch2jax.verify import verify

    def run(model, translated=None):
        return verify(source, model, ["float32[2,3,16,16]"], translated=translated)

    return source, run


@pytest.mark.parametrize("checkpointed", [False, True])
def test_verifies_against_torch(verified, checkpointed):
    _, run = verified
    report = run(f"Net(checkpointed={checkpointed})")
    assert report.ok, report.table()


def test_layers_run_out_of_order_are_caught(verified, tmp_path):
    _, run = verified
    wrong = tmp_path / "wrong.py"
    wrong.write_text(convert_source(MODEL).code.replace("(self.bn, self.act, self.conv", "(self.act, self.bn, self.conv"))
    assert not run("Net()", wrong).ok


def test_a_closure_keeping_its_own_self_is_caught(verified, tmp_path):
    """The closure left reaching the outer `self` updates BatchNorm statistics from inside remat's trace."""
    _, run = verified
    wrong = tmp_path / "wrong.py"
    wrong.write_text(convert_source(MODEL).code.replace("def run(self, *xs):", "def run(*xs):")
                     .replace("nnx.remat(run)(self, *parts)", "nnx.remat(run)(*parts)"))
    assert not run("Net(checkpointed=True)", wrong).ok


REPORTED = '''
import torch.nn as nn
import torch.utils.checkpoint as cp


class Gated(nn.Sequential):
    def __init__(self, c, pool):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 1)
        if pool:
            self.pool = nn.MaxPool2d(2)


class Table(nn.ModuleDict):
    def __init__(self, c):
        super().__init__()
        self.rate = 0.5
        self.fc = nn.Linear(c, c)


class Net(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.blocks = nn.ModuleList([nn.Linear(2, 2)])
        self.blocks.add_module("extra", nn.Linear(2, 2))

    def forward(self, x):
        x = cp.checkpoint(self.fn, x, use_reentrant=False)
        return cp.checkpoint(self.fn, x, context_fn=lambda: None)
'''


def test_what_cannot_be_listed_or_checkpointed_is_reported():
    result = converted_twice(REPORTED)
    found = {(d.code, d.line) for d in result.diagnostics}
    assert ("T2J201", 6) in found  # Gated: a layer set under a condition
    assert ("T2J201", 17) in found  # Table: `rate` would be one of nnx.Dict's entries
    assert ("T2J201", 26) in found  # add_module on a ModuleList: said, not guessed
    assert ("T2J301", 29) in found  # self.fn: a module or a function? called directly, said so
    assert ("T2J302", 30) in found  # context_fn
    assert "x = self.fn(x)" in result.code
    for d in result.diagnostics:
        if not d.handled:
            assert f"# torch2jax: {d.code}" in result.code


PARAMETER_LISTS = '''
import torch
import torch.nn as nn


class Scaled(nn.Module):
    def __init__(self, d=6, depth=3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(d, d) for _ in range(depth)])
        self.scales = nn.ParameterList([nn.Parameter(torch.ones(d) * 0.5) for _ in range(depth)])
        self.gates = nn.ParameterList([])
        for _ in range(depth):
            self.gates.append(nn.ParameterList([nn.Parameter(torch.zeros(d)), nn.Parameter(torch.ones(d))]))
        self.extra = nn.ParameterDict({"shift": nn.Parameter(torch.zeros(d))})

    def forward(self, x):
        for layer, scale, (a, b) in zip(self.layers, self.scales, self.gates):
            x = x + scale * torch.tanh(layer(x) * b + a)
        return x + self.extra["shift"]
'''


def test_parameter_lists_hold_params_under_torchs_names(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("flax")
    from torch2jax.verify import verify

    code = convert_source(PARAMETER_LISTS).code
    assert "self.scales = nnx.List([nnx.Param(jnp.ones(d) * 0.5) for _ in range(depth)])" in code
    assert "self.extra = nnx.Dict({\"shift\": nnx.Param(jnp.zeros(d))})" in code
    source = tmp_path / "scaled.py"
    source.write_text(PARAMETER_LISTS)
    report = verify(source, "Scaled()", ["float32[4,6]"])
    assert report.ok, report.table()
    # the per-layer entries in another order: caught (weight transfer fills them by index)
    wrong = tmp_path / "wrong.py"
    wrong.write_text(code.replace("zip(self.layers, self.scales, self.gates)", "zip(self.layers, self.scales[::-1], self.gates)"))
    assert not verify(source, "Scaled()", ["float32[4,6]"], translated=wrong).ok
