"""Whole training scripts written the way real ones are (an MNIST example with argparse and an
epoch-stepped StepLR, a CIFAR script with module-level state, DataParallel, cudnn flags and a
checkpoint): they convert with the step jitted and only notes left, and the translation runs."""

import ast
import subprocess
import sys

import pytest

from conftest import REALWORLD
from torch2jax import convert_file, convert_source

SCRIPTS = ["mnist_main", "cifar_train"]
ALLOWED = {"jax", "flax", "optax", "orbax", "numpy", "functools", "os", "argparse", "math"}


def imported_roots(code: str) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            roots |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add(node.module)
    return roots


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_converts_with_a_jitted_step_and_no_torch(name):
    result = convert_file(REALWORLD / f"{name}.py")
    assert [d.text() for d in result.diagnostics if d.severity != "info"] == [d.text() for d in result.diagnostics
                                                                              if d.code == "T2J104"]
    assert "@nnx.jit\ndef train_step(" in result.code
    assert "nnx.value_and_grad(loss_fn" in result.code and "optimizer.update(" in result.code
    roots = imported_roots(result.code)
    torch_roots = {r for r in roots if r.split(".")[0] == "torch"}
    assert torch_roots == {"torch.utils.data"}, roots
    assert {r.split(".")[0] for r in roots} - {"torch"} <= ALLOWED, roots
    assert ".backward()" not in result.code and "zero_grad" not in result.code and "torch.save" not in result.code


def test_epoch_scheduler_is_counted_on_its_own_lines():
    code = convert_file(REALWORLD / "mnist_main.py").code
    assert ("        scheduler_steps += 1\n"
            "        optimizer.opt_state.hyperparams['learning_rate'][...] = scheduler(scheduler_steps)\n") in code
    assert ";" not in code.replace("';'", "")


def test_device_moves_leave_no_self_assignment():
    code = convert_file(REALWORLD / "cifar_train.py").code
    assert "inputs, targets = inputs, targets" not in code
    assert "DataParallel" not in code and "cudnn" not in code


@pytest.mark.parametrize("name, args, expect", [
    ("mnist_main", ["--epochs", "2", "--log-interval", "2", "--save-model"], "Test set: Average loss"),
    ("cifar_train", [], "Saving.."),
])
def test_translated_script_runs(tmp_path, name, args, expect):
    (tmp_path / "script.py").write_text(convert_file(REALWORLD / f"{name}.py").code)
    run = subprocess.run([sys.executable, "script.py", *args], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert expect in run.stdout
    losses = [float(line.rsplit(" ", 1)[-1]) for line in run.stdout.splitlines() if "Loss:" in line]
    if name == "mnist_main":
        assert len(losses) == 4 and all(0 < x < 100 for x in losses)
        assert (tmp_path / "mnist_cnn.pt").is_dir()  # an Orbax checkpoint directory
    else:
        assert (tmp_path / "checkpoint" / "ckpt.pth").is_dir()


def test_statement_split_keeps_comments_and_order():
    source = (
        "import torch\n"
        "def fit(model, batches, optimizer):\n"
        "    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2)\n"
        "    for epoch in range(3):\n"
        "        # after every epoch\n"
        "        scheduler.step()  # the rate drops\n"
        "        print(epoch)\n"
    )
    code = convert_source(source).code
    assert ("        # after every epoch\n"
            "        scheduler_steps += 1\n"
            "        optimizer.opt_state.hyperparams['learning_rate'][...] = scheduler(scheduler_steps)  # the rate drops\n"
            "        print(epoch)\n") in code


def test_removed_line_keeps_its_trailing_comment():
    source = ("import torch\ndevice = torch.device('cpu')\n"
              "def f(x):\n    x = x.to(device)  # move it\n    return x\n")
    assert convert_source(source).code.endswith("def f(x):\n    # move it\n    return x\n")


def test_self_assignment_written_by_the_user_is_kept():
    source = "import torch\ndef f(x):\n    x = x\n    return torch.relu(x)\n"
    assert "    x = x\n" in convert_source(source).code


def test_tensor_dataset_and_kept_utilities():
    source = (
        "import torch\n"
        "from torch.utils.data import DataLoader, Dataset, TensorDataset, random_split\n"
        "class Rows(Dataset):\n"
        "    def __len__(self):\n        return 4\n"
        "data = TensorDataset(torch.zeros(8, 3), torch.ones(8))\n"
        "train, val = random_split(data, [6, 2])\n"
        "loader = DataLoader(train, batch_size=2)\n"
    )
    result = convert_source(source)
    assert not result.diagnostics
    assert "data = list(zip(np.array(jnp.zeros((8, 3))), np.array(jnp.ones(8))))" in result.code
    assert "class Rows(Dataset):" in result.code and "random_split(data, [6, 2])" in result.code
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    batches = list(namespace["loader"])
    assert len(batches) == 3 and batches[0][0].shape == (2, 3) and type(batches[0][0]).__module__ == "numpy"


def test_backend_flags_removed_and_read_reported():
    source = ("import torch\ntorch.backends.cudnn.benchmark = True\n"
              "print(torch.backends.cudnn.benchmark)\n")
    result = convert_source(source)
    assert "cudnn.benchmark = True" not in result.code
    assert [d.code for d in result.diagnostics] == ["T2J902", "T2J901"]


def _train_with(body: str) -> str:
    return (
        "import torch\n"
        "def fit(model, batches, lr=0.1):\n"
        "    optimizer = torch.optim.SGD(model.parameters(), lr=lr)\n"
        "    for x, y in batches:\n"
        "        optimizer.zero_grad()\n"
        "        loss = torch.nn.functional.mse_loss(model(x), y)\n"
        "        loss.backward()\n"
        "        optimizer.step()\n"
        f"{body}"
    )


def test_param_groups_other_options_are_reported():
    result = convert_source(_train_with("    for g in optimizer.param_groups:\n        g['momentum'] = 0.5\n"))
    assert [d.code for d in result.diagnostics] == ["T2J204"]
    assert "param_groups" in result.code and "# torch2jax: T2J204" in result.code


def test_param_groups_of_an_optimizer_from_elsewhere_are_reported():
    source = _train_with("") + "def rate(optimizer):\n    return optimizer.param_groups[0]['lr']\n"
    result = convert_source(source)
    assert [(d.code, d.line) for d in result.diagnostics] == [("T2J204", 10)]


def test_parameter_groups_with_a_scheduler_are_reported_whole():
    source = _train_with("").replace(
        "torch.optim.SGD(model.parameters(), lr=lr)",
        "torch.optim.SGD([{'params': model.a.parameters()}, {'params': model.b.parameters(), 'lr': 1.0}], lr=lr)\n"
        "    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2)")
    result = convert_source(source)
    assert {d.code for d in result.diagnostics} == {"T2J204"}
    assert "optimizer.step()" in result.code and "train_step" not in result.code and "scheduler_steps" not in result.code


def test_overlapping_parameter_groups_are_reported():
    source = _train_with("").replace(
        "torch.optim.SGD(model.parameters(), lr=lr)",
        "torch.optim.SGD([{'params': model.parameters()}, {'params': model.b.parameters(), 'lr': 1.0}], lr=lr)")
    result = convert_source(source)
    assert any(d.code == "T2J204" and "share parameters" in d.message for d in result.diagnostics)


def test_item_assignment_on_python_containers_stays():
    source = ("import torch\nfrom collections import defaultdict\n"
              "def evaluate(x):\n    stats = {}\n    counts = defaultdict(int)\n"
              "    stats['acc'] = 1.0\n    counts['seen'] += 1\n    x[0] = 2\n    return x, stats\n"
              "history = []\nhistory[0] = 3\n")
    result = convert_source(source)
    assert "    stats['acc'] = 1.0\n    counts['seen'] += 1\n    x = x.at[0].set(2)\n" in result.code
    assert "history[0] = 3" in result.code
    assert [d.line for d in result.diagnostics] == [8]
