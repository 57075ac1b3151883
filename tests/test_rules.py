"""The rule format: validation names the file, the entry and the reason; rules ship in the wheel."""

import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT
from torch2jax.rules import RuleError, load_rules

GOOD = '''
[[rule]]
torch = "torch.nn.Foo"
kind = "layer"
target = "flax.nnx.Foo"
signature = ["a", "b"]
args.b = { rename = "c" }
examples = [{ before = "nn.Foo(1, 2)", after = "nnx.Foo(1, c=2)" }]
'''


@pytest.mark.parametrize(
    "mutation, reason",
    [
        (("kind = \"layer\"", "kind = \"gadget\""), "`kind` must be one of"),
        (("examples = [", "examplez = ["), "unknown key(s) ['examplez']"),
        (("args.b = { rename = \"c\" }", "args.z = { rename = \"c\" }"), "`args.z` is not in the signature"),
        (("args.b = { rename = \"c\" }", "args.b = { transform = \"nope\" }"), "is not a known transform"),
        (("examples = [{ before = \"nn.Foo(1, 2)\", after = \"nnx.Foo(1, c=2)\" }]", "examples = []"), "at least one example"),
        (("target = \"flax.nnx.Foo\"", "target = \"flax.nnx.Foo\"\nstatus = \"approximate\""), "needs a `note`"),
        (("kind = \"layer\"", "kind = \"layer\"\nhandler = \"nope\""), "is not a known handler"),
        (("[[rule]]", "[[rule]\n"), "not valid TOML"),
    ],
)
def test_bad_entry_reported_with_file_entry_and_reason(tmp_path, mutation, reason):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(*mutation))
    with pytest.raises(RuleError) as info:
        load_rules([path])
    message = str(info.value)
    assert str(path) in message and reason in message
    if "TOML" not in reason:
        assert "rule torch.nn.Foo" in message


def test_good_user_rule_loads_and_overrides(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    rules = load_rules([path])
    assert rules.get("torch.nn.Foo").args["b"].rename == "c"
    assert rules.get("torch.nn.Linear") is not None  # built-ins still there
    assert load_rules().get("torch.nn.Foo") is None  # and not changed for others


def test_builtin_rules_valid_and_cover_the_core_set():
    rules = load_rules()
    for name in ["torch.nn.Linear", "torch.nn.Conv1d", "torch.nn.Conv2d", "torch.nn.MaxPool2d", "torch.nn.AvgPool2d",
                 "torch.nn.AdaptiveAvgPool2d", "torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d", "torch.nn.LayerNorm",
                 "torch.nn.Dropout", "torch.nn.Embedding", "torch.nn.Identity", "torch.nn.Flatten",
                 "torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ReLU", "torch.nn.GELU", "torch.nn.SiLU",
                 "torch.nn.Sigmoid", "torch.nn.Tanh", "torch.nn.Softmax", "torch.nn.LogSoftmax", "torch.nn.LeakyReLU",
                 "torch.nn.functional.relu", "torch.nn.functional.gelu", "torch.nn.functional.silu", "torch.sigmoid",
                 "torch.tanh", "torch.nn.functional.softmax", "torch.nn.functional.log_softmax",
                 "torch.nn.functional.leaky_relu", "Tensor.view", "Tensor.reshape", "Tensor.flatten", "Tensor.size",
                 "Tensor.permute", "Tensor.transpose", "Tensor.squeeze", "Tensor.unsqueeze", "torch.cat",
                 "torch.stack", "Tensor.sum", "Tensor.mean", "Tensor.max", "torch.matmul", "Tensor.float",
                 "torch.flatten", "torch.sum", "torch.mean", "torch.max"]:
        assert rules.get(name) is not None, name


def test_rules_ship_inside_the_wheel(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("torch2jax-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.rsplit("/", 1)[-1] for n in names if n.startswith("torch2jax/rules/")}
    assert shipped == {p.name for p in (ROOT / "rules").glob("*.toml")}
