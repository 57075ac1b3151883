"""The pre-commit hooks driven by the real `pre-commit`, installed as the git hook of a temporary
repository, through failing and passing commits.

The hook repository is a fresh git repository holding this working tree's package files (not
HEAD), so what is tested is what is being changed. pre-commit builds the hooks' environment from
it exactly as it would from GitHub: a virtualenv with torch2jax and its one core dependency.
"""

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT
from torch2jax import convert_source

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
README = (ROOT / "README.md").read_text()
HOOK_FILES = ["torch2jax", "rules", "pyproject.toml", "README.md", ".pre-commit-hooks.yaml"]

MODEL = textwrap.dedent("""\
    import torch
    import torch.nn as nn

    # a two-layer perceptron
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.fc2 = nn.Linear(8, 2)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))
""")
UNTRANSLATABLE = "import torch\n\n\ndef spectrum(x):\n    return torch.fft.fft(x)\n"


def git(cwd, *args, check=True):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    proc = subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=900)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("hooks")
    for name in HOOK_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "working tree")
    return repo, git(repo, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture()
def project(tmp_path, hook_repo, tmp_path_factory, monkeypatch):
    repo_path, rev = hook_repo
    work = tmp_path / "project"
    work.mkdir()
    git(work, "init", "-q")
    (work / "pyproject.toml").write_text('[project]\nname = "demo"\n\n[tool.torch2jax.sync]\n"models/" = "models_jax/"\n')
    # the README's example, pointed at the hook repository built from this working tree
    example = re.search(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", README, re.S).group(1)
    config = re.sub(r"repo: \S+", f"repo: {repo_path}", re.sub(r"rev: \S+", f"rev: {rev}", example))
    assert "id: torch2jax-lint" in config and "id: torch2jax-sync" in config
    (work / ".pre-commit-config.yaml").write_text(config)
    (work / "models").mkdir()
    env_home = tmp_path_factory.getbasetemp() / "pre-commit-home"  # one hook environment for the module
    monkeypatch.setenv("PRE_COMMIT_HOME", str(env_home))
    proc = subprocess.run([str(PRE_COMMIT), "install"], cwd=work, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    git(work, "add", "pyproject.toml", ".pre-commit-config.yaml")
    git(work, "commit", "-q", "-m", "set up")  # no Python file staged: both hooks are skipped
    return work


def commit(work, message):
    proc = git(work, "commit", "-m", message, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_hooks_fail_then_pass_as_the_twin_and_the_code_are_fixed(project):
    work = project
    (work / "models" / "mlp.py").write_text(MODEL)
    git(work, "add", "models/mlp.py")

    # 1. lint passes, sync writes the missing twin and so fails the commit
    code, out = commit(work, "add the model")
    assert code != 0, out
    assert "torch2jax lint" in out and "torch2jax sync" in out
    assert "wrote models_jax/mlp.py (from models/mlp.py)" in out
    twin = work / "models_jax" / "mlp.py"
    assert twin.read_text() == convert_source(MODEL).code
    assert "class MLP(nnx.Module):" in twin.read_text()
    assert git(work, "log", "--oneline").stdout.count("\n") == 1  # nothing committed

    # 2. with the twin staged both hooks pass and the commit goes through
    git(work, "add", "models_jax/mlp.py")
    code, out = commit(work, "add the model")
    assert code == 0, out
    assert git(work, "log", "--oneline").stdout.count("\n") == 2

    # 3. an untranslatable construct fails lint, naming the file, line and code
    (work / "models" / "spectral.py").write_text(UNTRANSLATABLE)
    git(work, "add", "models/spectral.py")
    code, out = commit(work, "spectral")
    assert code != 0
    assert "models/spectral.py:5:12: T2J901 error `torch.fft.fft` has no rule" in out
    git(work, "add", "models_jax/spectral.py")
    code, out = commit(work, "spectral")
    assert code != 0 and "T2J901" in out  # the twin is up to date now, but lint still fails

    # 4. silenced on its line, the file passes (after its twin, whose comment changed too, is staged)
    (work / "models" / "spectral.py").write_text(UNTRANSLATABLE.replace("fft(x)\n", "fft(x)  # torch2jax: ignore[T2J901]\n"))
    git(work, "add", "models/spectral.py")
    code, out = commit(work, "spectral, reviewed")
    assert code != 0 and "wrote models_jax/spectral.py" in out and "T2J901" not in out
    git(work, "add", "models_jax/spectral.py")
    code, out = commit(work, "spectral, reviewed")
    assert code == 0, out


def test_a_file_outside_the_mapping_is_linted_but_gets_no_twin(project):
    work = project
    (work / "train.py").write_text(MODEL.replace("torch.relu", "torch.special.erfcx"))
    git(work, "add", "train.py")
    code, out = commit(work, "script")
    assert code != 0
    assert "train.py:12:" in out and "T2J901" in out
    assert not (work / "models_jax").exists()
    (work / "train.py").write_text(MODEL)
    git(work, "add", "train.py")
    code, out = commit(work, "script")
    assert code == 0, out
