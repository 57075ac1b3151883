"""Any input, valid or not, gets a result and never an exception."""

import ast

from hypothesis import given, settings, strategies as st, HealthCheck

from conftest import FIXTURES, REALWORLD, ROOT
from torch2jax import convert_source

SOURCES = [p.read_text() for p in sorted(FIXTURES.glob("*/torch_model.py")) + sorted(REALWORLD.glob("*.py"))]
TRICKY = (ROOT / "tests" / "inputs" / "tricky.py").read_text()


def _check(source: str) -> None:
    result = convert_source(source)
    if result.ok:
        ast.parse(result.code)  # every output parses
    else:
        assert result.code == source and result.diagnostics[0].code in ("T2J001", "T2J002")
    assert not [d for d in result.diagnostics if d.code == "T2J903"], [d.text() for d in result.diagnostics]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text(text):
    _check("import torch\n" + text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(SOURCES) - 1), data=st.data())
def test_truncated_and_spliced_real_files(index, data):
    source = SOURCES[index]
    cut = data.draw(st.integers(0, len(source)))
    other = SOURCES[data.draw(st.integers(0, len(SOURCES) - 1))]
    start = data.draw(st.integers(0, len(other)))
    _check(source[:cut] + other[start:start + 400])


def test_tricky_constructs():
    result = convert_source(TRICKY, filename="tricky.py")
    codes = {d.code for d in result.diagnostics}
    # reflect padding, cuda: each reported, none lost; functional dropout, no_grad and the optimizer translated
    assert {"T2J102", "T2J902", "T2J202"} <= codes
    assert "opt = nnx.Optimizer(model, optax.sgd(0.1), wrt=nnx.Param)" in result.code
    assert "y = nnx.Dropout(0.1)(y, deterministic=self.deterministic, rngs=self.rngs)" in result.code
    assert "with torch.no_grad()" not in result.code
    assert "super().__call__(x)" in result.code
    assert "y = y + 1" in result.code
    assert "y = y.at[0].set(3)" in result.code
    assert "rngs = nnx.Rngs(0)\nmodel = make(rngs=rngs)" in result.code
    assert "def make(d=4, *, rngs: nnx.Rngs):" in result.code
    assert "nn = lambda t: t\n        return nn(y @ self.w)" in result.code  # a local `nn` is not torch.nn
    assert "self.steps = nnx.Variable(jnp.zeros(()))" in result.code
    assert convert_source(result.code).code == result.code


def test_no_torch_file_is_left_alone():
    source = "import numpy as np\n\nx = np.ones(3)  # comment\n"
    result = convert_source(source)
    assert result.code == source and [d.code for d in result.diagnostics] == ["T2J003"]


def test_parenthesized_method_chain_keeps_its_shape():
    source = (
        "import torch\n\n\ndef f(x, b, n):\n    m = (\n        x.view(b, 1, n)\n        .sum(dim=1)\n"
        "        .reshape(b * 2, n)\n    )\n    return m\n"
    )
    result = convert_source(source)
    assert "    m = (\n        x.reshape(b, 1, n)\n        .sum(1)\n        .reshape(b * 2, n)\n    )\n" in result.code


def test_installed_torch_nn_package_converts_cleanly():
    """49k lines of real torch code: every file converts and the output parses (no T2J903 reverts)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("torch")
    assert spec is not None, "the test environment installs torch"
    files = sorted(Path(list(spec.submodule_search_locations)[0], "nn").rglob("*.py"))
    assert len(files) > 100
    for path in files:
        result = convert_source(path.read_text(encoding="utf-8"), filename=str(path))
        assert result.ok and not [d for d in result.diagnostics if d.code == "T2J903"], path
        ast.parse(result.code)


def test_relative_import_before_torch_import():
    source = '"""doc"""\nfrom . import utils\nimport torch\nx = torch.fft.fft(torch.zeros(3))\n'
    result = convert_source(source)
    assert result.code.startswith('"""doc"""\nfrom . import utils\nimport jax.numpy as jnp\nimport torch\n')
    assert [d.code for d in result.diagnostics] == ["T2J901"]


def test_internal_error_gives_the_input_back(monkeypatch):
    import torch2jax.convert as convert_module

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(convert_module, "settle_imports", broken)
    source = (FIXTURES / "mlp" / "torch_model.py").read_text()
    result = convert_source(source, filename="mlp.py")
    assert result.code == source and not result.changed
    assert [d.code for d in result.diagnostics] == ["T2J903"] and "KeyError" in result.diagnostics[0].message


def test_module_api_without_nnx_equivalent_is_reported():
    source = (
        "import torch.nn as nn\n\n\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(2, 2)\n        self.register_forward_hook(self._hook)\n\n    def _hook(self, m, i, o):\n"
        "        return o\n"
    )
    result = convert_source(source, filename="m.py")
    texts = [d.text() for d in result.diagnostics]
    assert texts == [
        "m.py:8:9: T2J201 error `self.register_forward_hook(...)`: NNX has no hooks; call the code explicitly; left as is",
    ]
    assert result.code.count("# torch2jax: T2J") == 1


def test_apply_and_init_are_translated():
    source = (
        "import torch.nn as nn\n\n\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(2, 2)\n        self.apply(self._init)\n\n    def _init(self, m):\n"
        "        if isinstance(m, nn.Linear):\n            nn.init.zeros_(m.bias)\n"
    )
    result = convert_source(source, filename="m.py")
    assert result.diagnostics == []
    assert "for _, module in nnx.iter_modules(self):\n            self._init(module)" in result.code
    assert "if isinstance(m, nnx.Linear):\n            m.bias[...] = jnp.zeros(m.bias.shape, m.bias.dtype)" in result.code
