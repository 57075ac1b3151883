"""The checker is not fooled by float32 rounding, and still catches defects near its tolerance.

A ResNet-50-deep model (tests/realworld/resnet50_deep.py at full width) gives gradient errors of
~2e-5 in float32 against an atol of 1e-5 although its translation is right: verify re-runs both
sides in float64, where they agree to ~1e-13, and passes with a note. A LayerNorm eps defect, whether
its float32 error is a few times the tolerance or thousands, stays a failure, because float64 keeps it.
A failure inside the weight transfer is a failed spec stage (exit 1), with the traceback under --debug.
"""

from __future__ import annotations

import argparse
import textwrap

import pytest

pytest.importorskip("torch")
pytest.importorskip("flax")

from conftest import ROOT  # noqa: E402
from torch2jax.registry import PARAM_TRANSFORMS, param_transform  # noqa: E402
from torch2jax.rules import load_rules  # noqa: E402
from torch2jax.verify import add_arguments, main, verify  # noqa: E402

CASES = ROOT / "tests" / "verify_cases"


def test_resnet50_depth_rounding_is_told_apart_from_an_error():
    report = verify(ROOT / "tests" / "realworld" / "resnet50_deep.py", "ResNet50(width=64)", ["float32[8,3,32,32]"],
                    loss="(out ** 2).sum()", mode="eval")
    numeric = report.stages["numeric"]
    assert report.ok, report.table()
    assert numeric["float32_failed"], "float32 alone is outside the tolerance here (that is the point)"
    assert numeric["float64_recheck"]["ok"] is True
    assert numeric["float64_recheck"]["max_abs_err"] < 1e-9
    assert numeric["float64_recheck"]["tensors"] == len(numeric["tensors"])
    assert any(n.startswith("float32 rounding:") for n in report.notes)


def test_a_defect_a_few_tolerances_wide_survives_the_float64_recheck():
    report = verify(CASES / "models.py", "Normed()", ["float32[4,16]:-0.3..0.3"],
                    translated=CASES / "bad_layernorm_eps.py")
    numeric = report.stages["numeric"]
    worst = max(t["tol_ratio"] for t in numeric["tensors"])
    assert 1 < worst < 1e3  # near the tolerance, as rounding would be
    assert not report.ok
    assert numeric["float64_recheck"]["ok"] is False
    assert numeric["float64_recheck"]["max_abs_err"] > 1e-4
    assert any("mismatch remains" in n for n in report.notes)


def test_a_blatant_defect_fails_in_float64_too():
    """Far outside the tolerance (a ReLU within rounding of zero can put float32 as far off), the
    float64 re-check decides, and keeps the defect."""
    report = verify(CASES / "models.py", "Normed()", ["float32[4,16]:-0.001..0.001"],
                    translated=CASES / "bad_layernorm_eps.py")
    numeric = report.stages["numeric"]
    assert max(t["tol_ratio"] for t in numeric["tensors"]) > 1e3
    assert not report.ok and numeric["float64_recheck"]["ok"] is False


@pytest.fixture
def failing_transform():
    @param_transform("test_raises")
    def raises(array):
        raise ValueError(f"cannot unpack an array of shape {array.shape}")

    yield "test_raises"
    PARAM_TRANSFORMS.pop("test_raises", None)


def test_weight_transfer_failure_is_a_failed_spec_stage(tmp_path, failing_transform, capsys):
    rules = tmp_path / "rules.toml"
    rules.write_text(textwrap.dedent(f"""
        [[rule]]
        torch = "torch.nn.Linear"
        kind = "layer"
        target = "flax.nnx.Linear"
        signature = ["in_features", "out_features", "bias"]
        positional = ["in_features", "out_features"]
        args.bias = {{ rename = "use_bias" }}
        rngs = true
        params.weight = {{ path = "kernel", transform = "{failing_transform}" }}
        params.bias = {{ path = "bias" }}
        examples = [{{ before = "nn.Linear(2, 3)", after = "nnx.Linear(2, 3, rngs=rngs)" }}]
    """))
    report = verify(CASES / "models.py", "Normed()", ["float32[4,16]"], rules=load_rules([rules]))
    spec = report.stages["spec"]
    assert spec["ok"] is False and report.ok is False
    assert "weight transfer raised ValueError" in spec["reason"] and "(4, 16)" in spec["reason"]
    assert report.tracebacks and "cannot unpack" in report.tracebacks[0]

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = [str(CASES / "models.py"), "--model", "Normed()", "--input", "float32[4,16]", "--rules", str(rules)]
    assert main(parser.parse_args(argv)) == 1  # a failed stage, not "could not run"
    assert "Traceback" not in capsys.readouterr().err
    assert main(parser.parse_args([*argv, "--debug"])) == 1
    assert "Traceback" in capsys.readouterr().err


SHIFTED = """
import torch
import torch.nn as nn


class Shifted(nn.Module):
    \"\"\"A softmax does not see a constant added to all its logits: the shift's gradient is zero.\"\"\"

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 32)
        self.shift = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.softmax(self.fc(x) + self.shift, dim=-1)


def train(batches, lr=1e-2):
    torch.manual_seed(0)
    model = Shifted()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for (x,) in batches:
        optimizer.zero_grad()
        loss = (model(x)[:, :3] ** 2).sum()
        loss.backward()
        optimizer.step()
    return model
"""


def test_training_rounding_is_told_apart_from_an_error(tmp_path):
    """Adam turns float32 noise in a gradient that is zero in exact arithmetic into steps of the
    learning rate's size, differently in each framework: training agrees in float64 (the re-check),
    and a wrong learning rate still fails there."""
    source = tmp_path / "shifted.py"
    source.write_text(SHIFTED)
    model = ["float32[8,16]"]
    report = verify(source, "Shifted()", model, optimizer="torch.optim.Adam(model.parameters(), lr=1e-2)",
                    loss="(out[:, :3] ** 2).sum()", steps=5)
    behavioral = report.stages["behavioral"]
    assert report.ok, report.table()
    assert behavioral["float32_failed"] == ["Shifted.shift"]  # float32 alone is outside the tolerance there
    assert behavioral["float64_recheck"]["ok"] and behavioral["float64_recheck"]["max_abs_err"] < 1e-9
    assert any(n.startswith("float32 rounding in training") for n in report.notes)

    run = verify(source, None, [], run="train(B)", batches=["B=5:float32[8,16]"])
    assert run.ok and run.stages["behavioral"]["float32_failed"], run.table()
    from torch2jax import convert_source

    wrong = tmp_path / "wrong.py"
    wrong.write_text(convert_source(SHIFTED).code.replace("lr=1e-2", "lr=1.01e-2"))
    broken = verify(source, None, [], run="train(B)", batches=["B=5:float32[8,16]"], translated=wrong)
    assert not broken.ok and broken.stages["behavioral"]["float64_recheck"]["ok"] is False
    assert any("still differ" in n for n in broken.notes)
