"""The behavioral stage: training compared step by step with torch, on the file's own training code
(``--run``) and on a model trained with a given optimizer (``--optimizer``/``--loss``/``--steps``).

It must pass on every training fixture's golden translation and fail, naming the step or the
tensor, on translations broken on purpose (tests/verify_cases/bad_train_*.py).
"""

from __future__ import annotations

import argparse
import json
import tomllib

import pytest

pytest.importorskip("torch")
pytest.importorskip("flax")

from conftest import FIXTURES, ROOT  # noqa: E402
from torch2jax.verify import add_arguments, main, verify  # noqa: E402

CASES = ROOT / "tests" / "verify_cases"


def _runs():
    for case in sorted(FIXTURES.glob("*/case.toml")):
        for entry in tomllib.loads(case.read_text()).get("run", []):
            yield pytest.param(case.parent, entry, id=f"{case.parent.name}:{entry['expr'] or 'script'}")


RUNS = list(_runs())


def _verify_run(directory, entry, translated=None, **extra):
    return verify(
        directory / "torch_model.py", run=entry["expr"] or True, data=entry.get("data", []),
        batches=entry.get("batches", []), translated=translated or directory / "expected_jax.py", **extra,
    )


def test_every_training_fixture_has_a_run():
    names = {p.values[0].name for p in RUNS}
    assert {"train_cnn", "train_mlp_bce", "train_sequential", "train_linreg", "train_adamw_cosine",
            "train_sequence", "autograd_leaves"} <= names


@pytest.mark.parametrize("directory, entry", RUNS)
def test_training_fixture_agrees_step_by_step(directory, entry):
    report = _verify_run(directory, entry)
    behavioral = report.stages["behavioral"]
    assert report.ok, report.table()
    assert behavioral["tensors"], "something was compared"
    assert len(behavioral["losses"]["torch"]) == len(behavioral["losses"]["jax"])
    training = not entry["expr"].startswith("accuracy")  # the accuracy run compares its returned value only
    if training:
        assert behavioral["losses"]["torch"], "the run computed losses"
    if training and directory.name != "autograd_leaves":  # plain autograd makes no optimizer step
        assert behavioral["steps"]["torch"] == behavioral["steps"]["jax"] >= 5
    scale = max([1.0] + [abs(v) for v in behavioral["losses"]["torch"]])  # a summed loss (the VAE's) is ~100
    assert behavioral["max_abs_err"] < 1e-5 * scale


def test_momentum_broken_on_purpose_is_caught():
    directory, entry = FIXTURES / "train_cnn", {"expr": "train(Net(), B)", "batches": ["B=4:float32[4,3,32,32],int64[4]:0..10"]}
    report = _verify_run(directory, entry, translated=CASES / "bad_train_momentum.py")
    behavioral = report.stages["behavioral"]
    assert not report.ok
    assert behavioral["ok"] is False
    failed = behavioral["failed"]
    assert "loss[0]" not in failed  # the first step uses no momentum yet
    assert any(name.startswith("loss[") for name in failed)  # later losses differ
    assert any(name.startswith("Net.") for name in failed)  # and the parameters end up elsewhere


def test_adamw_default_decay_is_caught():
    directory = FIXTURES / "train_adamw_cosine"
    entry = {"expr": "train(Classifier(), B, epochs=6)", "batches": ["B=4:float32[8,8],int64[8]:0..3"]}
    report = _verify_run(directory, entry, translated=CASES / "bad_train_adamw_decay.py")
    failed = report.stages["behavioral"]["failed"]
    assert not report.ok
    assert any(name.startswith("Classifier.") and name.endswith("weight") for name in failed), failed


def test_bce_without_the_clamp_is_caught_on_saturated_outputs():
    directory = FIXTURES / "train_mlp_bce"
    entry = {"expr": "fit(x, y)", "data": ["x=float32[16,5]:-1000..1000", "y=float32[16]:0..1"]}
    correct = _verify_run(directory, entry, steps=1)
    assert correct.stages["behavioral"]["losses"]["jax"][0] == pytest.approx(
        correct.stages["behavioral"]["losses"]["torch"][0], rel=1e-5)  # saturated, yet finite: torch's -100 clamp
    broken = _verify_run(directory, entry, translated=CASES / "bad_train_bce_unclamped.py", steps=1)
    assert not broken.ok
    assert "loss[0]" in broken.stages["behavioral"]["failed"]


@pytest.mark.parametrize("optimizer", [
    "torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)",
    "torch.optim.AdamW(model.parameters(), lr=1e-2)",
])
def test_model_trained_with_a_given_optimizer(optimizer):
    report = verify(FIXTURES / "mlp" / "torch_model.py", "MLP(6, 16, 3)", ["float32[8,6]"], optimizer=optimizer,
                    loss="(out ** 2).mean()", steps=5)
    behavioral = report.stages["behavioral"]
    assert report.ok, report.table()
    assert behavioral["steps"] == {"torch": 5, "jax": 5}
    assert len(behavioral["losses"]["torch"]) == 5
    assert any(t["name"].startswith("MLP.fc1") for t in behavioral["tensors"])


def test_given_optimizer_with_a_scheduler_and_a_torch_loss():
    report = verify(FIXTURES / "mlp" / "torch_model.py", "MLP(6, 16, 3)", ["float32[8,6]"],
                    optimizer="torch.optim.SGD(model.parameters(), lr=0.1)",
                    scheduler="torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)",
                    loss="F.cross_entropy(out, y)", data=["y=int64[8]:0..3"], steps=6)
    assert report.ok, report.table()


def _cli(argv, capsys):
    parser = argparse.ArgumentParser(prog="torch2jax verify")
    add_arguments(parser)
    code = main(parser.parse_args(argv))
    return code, *capsys.readouterr()


def test_cli_run_json_reports_losses_of_both_sides(capsys):
    directory = FIXTURES / "train_sequential"
    code, out, _ = _cli([str(directory / "torch_model.py"), "--run", "train_epoch(B)", "--batches",
                         "B=3:float32[8,4],float32[8,1]", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["ok"] is True
    behavioral = data["stages"]["behavioral"]
    assert len(behavioral["losses"]["torch"]) == len(behavioral["losses"]["jax"]) == 3
    assert {"worst", "max_abs_err", "tensors", "steps"} <= set(behavioral)


def test_cli_run_fails_with_exit_1_naming_the_tensor(capsys):
    directory = FIXTURES / "train_cnn"
    code, out, _ = _cli([str(directory / "torch_model.py"), "--run", "train(Net(), B)", "--batches",
                         "B=3:float32[4,3,32,32],int64[4]:0..10", "--translated", str(CASES / "bad_train_momentum.py")],
                        capsys)
    assert code == 1
    assert "behavioral: mismatch Net." in out


def test_cli_steps_and_device(capsys):
    directory = FIXTURES / "train_linreg"
    code, out, _ = _cli([str(directory / "torch_model.py"), "--run", "--steps", "3", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["stages"]["behavioral"]["steps"] == {"torch": 3, "jax": 3}
    code, _, err = _cli([str(directory / "torch_model.py"), "--run", "--device", "cuda"], capsys)
    assert code == 2 and "--device cuda" in err


def test_cli_needs_a_model_or_a_run(capsys):
    code, _, err = _cli([str(FIXTURES / "mlp" / "torch_model.py")], capsys)
    assert code == 2 and "--run" in err


def _readme_verify_commands():
    """The `torch2jax verify fixtures/...` commands of the README's training section, as written."""
    import re
    import shlex

    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    section = text[text.index("**Training, both ways.**"):]
    section = section[:section.index("\n## ")]
    for line in re.findall(r"^torch2jax verify fixtures/.*$", section, flags=re.M):
        yield shlex.split(line.split("  #")[0])[2:]


@pytest.mark.parametrize("argv", list(_readme_verify_commands()), ids=lambda a: a[0].split("/")[1])
def test_readme_training_commands_pass(argv, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = _cli(argv, capsys)
    assert code == 0, out
    assert "behavioral" in out and "PASS" in out.split("behavioral", 1)[1].splitlines()[0]


def test_a_parameter_outside_every_group_updated_is_caught():
    directory = FIXTURES / "train_param_groups"
    entry = {"expr": "fit(Net(), B)", "batches": ["B=4:float32[8,4],int64[8]:0..2"]}
    assert _verify_run(directory, entry).ok
    report = _verify_run(directory, entry, translated=CASES / "bad_train_group_frozen.py")
    failed = report.stages["behavioral"]["failed"]
    assert not report.ok
    assert "Net.extra.bias" in failed and "Net.extra.weight" in failed


DROPOUT_TRAINING = '''
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x):
        return self.fc2(self.drop(torch.relu(self.fc1(x))))


def train(batches):
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for x, y in batches:
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return model
'''


def test_dropout_is_disabled_for_a_run_and_said(tmp_path):
    source = tmp_path / "dropout_training.py"
    source.write_text(DROPOUT_TRAINING)
    report = verify(source, run="train(B)", batches=["B=5:float32[4,6],float32[4,1]"])
    assert report.ok, report.table()
    assert report.stages["behavioral"]["steps"] == {"torch": 5, "jax": 5}
    assert any("dropout disabled in the models the run built (1 torch layer(s), 1 JAX)" in n for n in report.notes)


def test_dropout_is_disabled_for_a_given_optimizer():
    report = verify(FIXTURES / "dropout_mlp" / "torch_model.py", "DropoutMLP(6, 32, 3)", ["float32[2,6]"],
                    loss="(out ** 2).mean()", optimizer="torch.optim.Adam(model.parameters(), lr=1e-2)", steps=5)
    assert report.ok, report.table()
    assert any(n.startswith("behavioral: dropout disabled while training (2 torch, 2 NNX") for n in report.notes)
