"""torch2jax verify: real models, real numbers, no mocks.

It must pass on every fixture, fail on hand-made defective translations
(tests/verify_cases/bad_*.py) naming the tensor that differs, and report what it
cannot run with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("flax")

import torch  # noqa: E402
from flax import nnx  # noqa: E402

from torch2jax import convert_source  # noqa: E402
from torch2jax.verify import (  # noqa: E402
    VerifyError,
    add_arguments,
    load_module,
    main,
    make_inputs,
    parse_input_spec,
    verify,
)
from torch2jax.weights import load_torch_weights  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "verify_cases"
MODELS = CASES / "models.py"


def _fixture_models():
    for case in sorted((ROOT / "fixtures").glob("*/case.toml")):
        for entry in tomllib.loads(case.read_text()).get("model", []):
            yield pytest.param(case.parent / "torch_model.py", entry["expr"], entry["inputs"], id=f"{case.parent.name}:{entry['expr']}")


FIXTURES = list(_fixture_models())


def _failed(report) -> set[str]:
    return set(report.stages["numeric"]["failed"])


# ---------------------------------------------------------------------- passes on the fixtures


def test_fixtures_found():
    assert len(FIXTURES) >= 10


@pytest.mark.parametrize("source, model, inputs", FIXTURES)
def test_fixture_verifies(source, model, inputs):
    # The golden file itself is what is proven (test_fixtures checks conversion == golden).
    report = verify(source, model, inputs, mode="both", translated=source.parent / "expected_jax.py")
    assert report.ok, report.table()
    spec, numeric = report.stages["spec"], report.stages["numeric"]
    assert spec["ok"] is True and numeric["ok"] is True
    modes = {t.get("mode") for t in numeric["tensors"]}
    names = {t["name"] for t in numeric["tensors"]}
    assert {"eval", "train"} <= modes
    assert any(n.startswith("grad:") and "input" not in n for n in names)  # parameter gradients were compared
    assert numeric["max_abs_err"] <= report.atol + report.rtol * 1e3
    assert report.stages["behavioral"]["ok"] is None  # no optimizer given: training is compared separately


def test_batchnorm_running_stats_are_compared():
    report = verify(ROOT / "fixtures/resnet_block/torch_model.py", "BasicBlock(8, 16, stride=2)", ["float32[2,8,8,8]"], mode="train")
    assert report.ok, report.table()
    names = {t["name"] for t in report.stages["numeric"]["tensors"]}
    assert "buffer:bn1.running_mean" in names
    assert "buffer:shortcut.1.running_mean" in names
    assert "buffer:bn1.running_var (bias-corrected)" in names  # strict, after redoing torch's update biased
    # The raw running_var is a documented difference: compared, shown, not a failure.
    known = {k["name"]: k for k in report.to_dict()["known_differences"]}
    assert "buffer:bn1.running_var" in known
    assert known["buffer:bn1.running_var"]["max_abs_err"] > 0
    assert "buffer:bn1.running_var" not in names
    assert any("running_var" in n for n in report.notes)


def test_dropout_is_disabled_in_train_mode_and_said():
    report = verify(ROOT / "fixtures/dropout_mlp/torch_model.py", "DropoutMLP(6, 32, 3)", ["float32[2,6]"], mode="train")
    assert report.ok, report.table()
    assert any("dropout disabled for comparison" in n for n in report.notes)


# ---------------------------------------------------------------------- hand-made translations

CASE_INPUTS = {
    "RawLinear()": ["float32[3,6]"],
    "PaddedConv()": ["float32[2,3,8,8]"],
    # Tiny variance, so LayerNorm's eps matters.
    "Normed()": ["float32[4,16]:-0.001..0.001"],
    "ConvBN()": ["float32[2,3,8,8]"],
}


@pytest.mark.parametrize("model", list(CASE_INPUTS))
@pytest.mark.parametrize("translated", ["models_jax.py", None], ids=["by-hand", "translator"])
def test_correct_translations_pass(model, translated):
    report = verify(MODELS, model, CASE_INPUTS[model], translated=CASES / translated if translated else None)
    assert report.ok, report.table()


def test_defect_matmul_without_transpose_fails():
    report = verify(MODELS, "RawLinear()", CASE_INPUTS["RawLinear()"], translated=CASES / "bad_matmul.py")
    assert not report.ok
    assert report.stages["spec"]["ok"] is True  # square weight: same shapes, wrong numbers
    assert report.stages["numeric"]["ok"] is False
    assert {"output (eval)", "output (train)", "grad:w (eval)", "grad:input[0] (eval)"} <= _failed(report)
    assert "grad:b (eval)" not in _failed(report)  # d loss / d b does not see the transpose
    assert report.stages["numeric"]["worst"] in {"output", "grad:w", "grad:input[0]"}
    assert "FAIL" in report.table()


def test_defect_conv_padding_fails_spec_with_shapes():
    report = verify(MODELS, "PaddedConv()", CASE_INPUTS["PaddedConv()"], translated=CASES / "bad_conv_padding.py")
    assert not report.ok
    spec = report.stages["spec"]
    assert spec["ok"] is False
    assert spec["worst"] == "output"
    assert any("(2, 4, 8, 8)" in p and "(2, 4, 6, 6)" in p for p in spec["problems"])
    assert report.stages["numeric"]["ok"] is None and "spec" in report.stages["numeric"]["reason"]


def test_defect_layernorm_eps_fails():
    report = verify(MODELS, "Normed()", CASE_INPUTS["Normed()"], translated=CASES / "bad_layernorm_eps.py")
    assert not report.ok
    numeric = report.stages["numeric"]
    assert numeric["ok"] is False
    assert {"output (eval)", "output (train)", "grad:norm.weight (eval)", "grad:input[0] (eval)"} <= _failed(report)
    output = next(t for t in numeric["tensors"] if t["name"] == "output" and t["mode"] == "eval")
    assert output["max_abs_err"] > 100 * (report.atol + report.rtol)  # clearly beyond tolerance


def test_layernorm_eps_defect_hides_at_unit_variance():
    """The same defect is within tolerance on unit-variance inputs: input scale matters."""
    report = verify(MODELS, "Normed()", ["float32[4,16]"], translated=CASES / "bad_layernorm_eps.py")
    output = next(t for t in report.stages["numeric"]["tensors"] if t["name"] == "output")
    assert output["max_abs_err"] < 1e-3


def test_defect_batchnorm_momentum_fails_on_running_mean():
    report = verify(MODELS, "ConvBN()", CASE_INPUTS["ConvBN()"], translated=CASES / "bad_bn_momentum.py")
    assert not report.ok
    numeric = report.stages["numeric"]
    assert numeric["worst"] in {"buffer:bn.running_mean", "buffer:bn.running_var (bias-corrected)"}
    assert numeric["worst_mode"] == "train"
    assert "buffer:bn.running_mean (train)" in _failed(report)
    assert "buffer:bn.running_var (bias-corrected) (train)" in _failed(report)  # the strict var check sees it too
    # Outputs and gradients do not depend on the momentum: only the statistics are wrong.
    assert not any(n.startswith(("output", "grad:")) for n in _failed(report))
    # In eval mode alone the defect is invisible.
    assert verify(MODELS, "ConvBN()", CASE_INPUTS["ConvBN()"], translated=CASES / "bad_bn_momentum.py", mode="eval").ok


def test_translation_that_does_not_build_is_a_spec_failure(tmp_path):
    broken = tmp_path / "broken_jax.py"
    broken.write_text(
        "from flax import nnx\n\n"
        "class RawLinear(nnx.Module):\n"
        "    def __init__(self, d=6, *, rngs):\n"
        "        raise RuntimeError('cannot build this')\n"
    )
    report = verify(MODELS, "RawLinear()", ["float32[3,6]"], translated=broken)
    assert report.ok is False
    assert report.stages["spec"]["ok"] is False
    assert "cannot build this" in report.stages["spec"]["reason"]
    assert "broken_jax.py:5" in report.stages["spec"]["reason"]

    broken.write_text("import no_such_module_anywhere\n")
    report = verify(MODELS, "RawLinear()", ["float32[3,6]"], translated=broken)
    assert report.stages["spec"]["ok"] is False
    assert "no_such_module_anywhere" in report.stages["spec"]["reason"]


def test_missing_translated_file_is_written(tmp_path):
    out = tmp_path / "models_jax.py"
    report = verify(MODELS, "ConvBN()", CASE_INPUTS["ConvBN()"], translated=out)
    assert report.ok, report.table()
    assert "class ConvBN(nnx.Module)" in out.read_text()


def test_sibling_imports_and_nothing_written(tmp_path):
    (tmp_path / "sizes.py").write_text("HIDDEN = 8\n")
    (tmp_path / "net.py").write_text(
        "import torch\nimport torch.nn as nn\nfrom sizes import HIDDEN\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, HIDDEN)\n\n"
        "    def forward(self, x):\n"
        "        return torch.tanh(self.fc(x))\n"
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    path_before = list(sys.path)
    report = verify(tmp_path / "net.py", "Net", ["float32[3,4]"])  # a bare class name is called
    assert report.ok, report.table()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no __pycache__, no translation
    assert sys.path == path_before
    assert "sizes" not in sys.modules


# ---------------------------------------------------------------------- errors and specs


def test_input_specs():
    spec = parse_input_spec("int64[4,16]:0..10000")
    assert (spec.dtype, spec.shape, spec.low, spec.high) == ("int64", (4, 16), 0, 10000)
    assert parse_input_spec(" float32[2, 3,32,32] ").shape == (2, 3, 32, 32)
    assert parse_input_spec("bool[4,16]").dtype == "bool"
    assert parse_input_spec("float32[]").shape == ()
    specs = [parse_input_spec(s) for s in ("float32[2,3]", "int64[5]:3..7", "bool[4]", "float64[2]:-1e-3..1e-3", "int32[3]")]
    a, b = make_inputs(specs, seed=0), make_inputs(specs, seed=0)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert [x.dtype.name for x in a] == ["float32", "int64", "bool", "float64", "int32"]
    assert a[1].min() >= 3 and a[1].max() < 7
    assert np.abs(a[3]).max() <= 1e-3
    assert not np.array_equal(make_inputs(specs[:1], seed=1)[0], a[0])


def test_tuple_input_spec():
    """One input that is a tuple of arrays (an LSTM's (h, c)): drawn in order, the same for a seed."""
    spec = parse_input_spec(" (float32[2,3,4], int64[2]:0..5) ")
    assert spec.dtype == "tuple" and not spec.is_float
    assert [(p.dtype, p.shape) for p in spec.parts] == [("float32", (2, 3, 4)), ("int64", (2,))]
    assert [leaf.dtype for leaf in parse_input_spec("((float64[1],bool[1]),float32[2])").leaves()] == ["float64", "bool", "float32"]
    (h, i), = make_inputs([spec], seed=0)
    assert h.shape == (2, 3, 4) and h.dtype == np.float32 and i.dtype == np.int64 and 0 <= i.min() and i.max() < 5
    again, = make_inputs([spec], seed=0)
    assert np.array_equal(again[0], h) and np.array_equal(again[1], i)


@pytest.mark.parametrize(
    "bad",
    ["float32", "float16[2]", "float32[2,x]", "int64[2]:5..5", "int64[2]:0..1.5", "bool[2]:0..1", "float32(2,3)",
     "()", "(float32[2]", "float32[2])", "(float32[2],float16[3])"],
)
def test_bad_input_spec_raises(bad):
    with pytest.raises(VerifyError, match="bad input spec"):
        verify(MODELS, "RawLinear()", [bad])


def test_errors_that_prevent_running():
    with pytest.raises(VerifyError, match="no such file"):
        verify(CASES / "nope.py", "RawLinear()", ["float32[3,6]"])
    with pytest.raises(VerifyError, match="NameError"):
        verify(MODELS, "NoSuchModel()", ["float32[3,6]"])
    with pytest.raises(VerifyError, match="not a Python expression"):
        verify(MODELS, "RawLinear(", ["float32[3,6]"])
    with pytest.raises(VerifyError, match="forward raised"):
        verify(MODELS, "RawLinear()", ["float32[3,5]"])  # wrong input shape for the torch model


# ---------------------------------------------------------------------- CLI glue


def _run(argv, capsys):
    parser = argparse.ArgumentParser(prog="torch2jax verify")
    add_arguments(parser)
    code = main(parser.parse_args(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_main_exit_0_prints_table(capsys):
    code, out, err = _run([str(MODELS), "--model", "RawLinear()", "--input", "float32[3,6]", "--mode", "eval"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert any(line.startswith("spec") and "PASS" in line for line in lines)
    assert any(line.startswith("numeric") and "PASS" in line for line in lines)
    assert any(line.startswith("behavioral") and "not run" in line for line in lines)


def test_main_exit_1_on_mismatch(capsys):
    argv = [str(MODELS), "--model", "ConvBN()", "--input", "float32[2,3,8,8]", "--translated", str(CASES / "bad_bn_momentum.py")]
    code, out, _ = _run(argv, capsys)
    assert code == 1
    assert "buffer:bn.running_mean" in out and "FAIL" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        ([str(CASES / "missing.py"), "--model", "RawLinear()", "--input", "float32[3,6]"], "no such file"),
        ([str(MODELS), "--model", "RawLinear()", "--input", "float32[3;6]"], "bad input spec"),
        ([str(MODELS), "--model", "RawLinear()"], "--input"),
    ],
)
def test_main_exit_2_when_it_cannot_run(argv, message, capsys):
    code, out, err = _run(argv, capsys)
    assert code == 2
    assert err.startswith("torch2jax verify: error:") and message in err
    assert "Traceback" not in err
    assert out == ""


def test_main_debug_prints_traceback(capsys):
    code, _, err = _run([str(MODELS), "--model", "Nope()", "--input", "float32[3,6]", "--debug"], capsys)
    assert code == 2 and "Traceback" in err


def test_main_json(capsys):
    argv = [str(MODELS), "--model", "ConvBN()", "--input", "float32[2,3,8,8]", "--json", "--seed", "3", "--rtol", "1e-3"]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    data = json.loads(out)  # exactly one JSON object on stdout
    assert data["ok"] is True and data["seed"] == 3 and data["rtol"] == 1e-3
    assert set(data["stages"]) == {"spec", "numeric", "behavioral"}
    numeric = data["stages"]["numeric"]
    assert {"ok", "worst", "max_abs_err", "max_rel_err", "tensors"} <= set(numeric)
    assert data["stages"]["behavioral"]["ok"] is None and "--optimizer" in data["stages"]["behavioral"]["reason"]
    assert isinstance(data["notes"], list)
    assert any(k["name"] == "buffer:bn.running_var" for k in data["known_differences"])

    # ConvBN is not defined in bad_matmul.py: a spec failure (exit 1), not a crash.
    argv = [str(MODELS), "--model", "ConvBN()", "--input", "float32[2,3,8,8]", "--json", "--translated", str(CASES / "bad_matmul.py")]
    code, out, _ = _run(argv, capsys)
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["stages"]["spec"]["ok"] is False
    assert data["stages"]["numeric"]["ok"] is None


# ---------------------------------------------------------------------- load_torch_weights round trip


def test_load_torch_weights_round_trip_through_saved_state_dict(tmp_path):
    torch_mod = load_module(MODELS, tag="test_torch")
    jax_mod = load_module(MODELS, code=convert_source(MODELS.read_text()).code, tag="test_jax")
    torch.manual_seed(0)
    model = torch_mod.ConvBN()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    model.train()
    for _ in range(3):  # weights and running statistics move away from their initial values
        x = torch.from_numpy(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
        loss = model(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    state = model.state_dict()
    for name in ("conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"):
        assert not torch.equal(state[name], init[name]), name

    path = tmp_path / "weights.pt"
    torch.save(state, path)
    loaded = torch.load(path, weights_only=True)
    jmodel = load_torch_weights(jax_mod.ConvBN(rngs=nnx.Rngs(0)), loaded)

    model.eval()
    jmodel.eval()
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    actual = np.asarray(jmodel(x))
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(jmodel.bn.var[...]), state["bn.running_var"].numpy())


# ---------------------------------------------------------------------- model expressions, loss, eager fallback

GATED = """\
import torch
import torch.nn as nn


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        y = self.fc(x)
        if y.sum() > 0:  # value-dependent Python control flow: does not trace under jax.jit
            return y * 2
        return torch.tanh(y)


model = Gated()
"""


def test_module_level_object_loss_expression_and_eager_fallback(tmp_path):
    source = tmp_path / "gated.py"
    source.write_text(GATED)
    report = verify(source, "model", ["float32[2,4]"], loss="(out ** 2).mean()")
    assert report.ok, report.table()
    assert any("does not trace under jax.jit" in n for n in report.notes)
    assert any("module-level object" in n for n in report.notes)
    assert any(t["name"] == "grad:fc.weight" for t in report.stages["numeric"]["tensors"])


def _realworld_cases():
    import ast
    import re

    for path in sorted((ROOT / "tests" / "realworld").glob("*.py")):
        match = re.search(r'^# torch2jax-case: model="(.*)" inputs=(\[.*\])$', path.read_text(), re.M)
        yield pytest.param(path, match.group(1), ast.literal_eval(match.group(2)), id=path.stem)


@pytest.mark.parametrize("source, model, inputs", list(_realworld_cases()))
def test_realworld_verifies(source, model, inputs):
    """Models the translator was not tuned on reach a verdict, and it is a pass."""
    report = verify(source, model, inputs, mode="both")
    assert report.ok, report.table()
    assert {t.get("mode") for t in report.stages["numeric"]["tensors"]} >= {"eval", "train"}


def test_an_untied_head_is_caught_by_the_shared_tables_gradient():
    source = ROOT / "fixtures" / "tied_lm" / "torch_model.py"
    assert verify(source, "TinyLM()", ["int64[2,6]:0..50"], translated=ROOT / "fixtures" / "tied_lm" / "expected_jax.py").ok
    report = verify(source, "TinyLM()", ["int64[2,6]:0..50"], translated=CASES / "bad_untied_head.py")
    assert not report.ok
    assert "grad:wte.weight (eval)" in _failed(report)
    assert not any(name.startswith("output") for name in _failed(report))  # the forward alone cannot see it


FACTORY_AND_VERSION = """
import torch.nn as nn


def make_layers(widths, batch_norm=False):
    layers, c = [], 3
    for w in widths:
        layers += [nn.Linear(c, w), nn.ReLU()]
        c = w
    return nn.Sequential(*layers)


class Net(nn.Module):
    _version = 2  # read back by _load_from_state_dict, as torchvision's MNASNet does

    def __init__(self, features, num_classes=4):
        super().__init__()
        self.features = features
        self.head = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.head(self.features(x))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        if local_metadata.get("version", None) != 2:
            raise ValueError("version should be 2")
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
"""


def test_model_expression_with_an_inner_factory_and_a_versioned_state_dict(tmp_path):
    """`Net(make_layers([6, 8]))`: the inner factory of the translation gets rngs too; the torch
    state dict keeps its version metadata when it is loaded back."""
    source = tmp_path / "factory.py"
    source.write_text(FACTORY_AND_VERSION)
    report = verify(source, "Net(make_layers([6, 8]), num_classes=4)", ["float32[2,3]"])
    assert report.ok, report.table()
    assert report.stages["spec"]["weights"] == 6


CELLS_IN_DOUBLE = """
import torch
import torch.nn as nn


class Sequence(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(1, 6)
        self.linear = nn.Linear(6, 1)
        self.dummy_param = nn.Parameter(torch.empty(0))  # only read for its device

    def forward(self, input):
        device = self.dummy_param.device
        h = torch.zeros(input.size(0), 6, dtype=torch.double).to(device)
        c = torch.zeros(input.size(0), 6, dtype=torch.double).to(device)
        outputs = []
        for x in input.split(1, dim=1):
            h, c = self.cell(x, (h, c))
            outputs += [self.linear(h)]
        return torch.cat(outputs, dim=1)
"""


def test_a_model_cast_in_the_expression_and_a_parameters_device(tmp_path):
    """The PyTorch examples' time-sequence model: `Sequence().double()`, and `self.dummy_param.device`
    read under jit (JAX's default device)."""
    source = tmp_path / "seq.py"
    source.write_text(CELLS_IN_DOUBLE)
    result = convert_source(CELLS_IN_DOUBLE)
    assert "device = jax.devices()[0]" in result.code and "jnp.empty(0)" in result.code
    report = verify(source, "Sequence().double()", ["float64[3,5]"])
    assert report.ok, report.table()
    assert any("float64 inputs" in n for n in report.notes)
