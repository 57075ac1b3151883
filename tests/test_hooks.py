"""`torch2jax lint` and `torch2jax sync`, the commands behind the pre-commit hooks (the real
pre-commit drives them in test_precommit.py): exit codes, what they skip, what they write."""

import textwrap

import nbformat

from conftest import FIXTURES
from torch2jax import convert_source
from torch2jax.cli import main

LENET = (FIXTURES / "lenet" / "torch_model.py").read_text()
RESNET = (FIXTURES / "resnet_block" / "torch_model.py").read_text()  # T2J104 warnings only
FFT = "import torch\n\n\ndef f(x):\n    return torch.fft.fft(x)\n"  # a T2J901 error


def repo(tmp_path, files: dict[str, str], sync: bool = True):
    text = '[project]\nname = "demo"\n'
    if sync:
        text += '\n[tool.torch2jax.sync]\n"models/" = "models_jax/"\n'
    (tmp_path / "pyproject.toml").write_text(text)
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return tmp_path


def test_lint_exit_codes(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(repo(tmp_path, {"models/lenet.py": LENET, "models/res.py": RESNET, "models/fft.py": FFT,
                                      "tools/plain.py": "print('no torch here')\n"}))
    assert main(["lint", "models/lenet.py", "tools/plain.py"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["lint", "models/res.py"]) == 0  # warnings are shown but do not fail
    assert "models/res.py:14:20: T2J104 warning" in capsys.readouterr().err
    assert main(["lint", "models/res.py", "--fail-on", "warning"]) == 1
    capsys.readouterr()
    assert main(["lint", "models/fft.py", "models/lenet.py"]) == 1
    assert capsys.readouterr().err.splitlines() == ["models/fft.py:5:12: T2J901 error `torch.fft.fft` has no rule; left as is"]
    assert main(["lint", "models/fft.py", "--exit-zero"]) == 0
    assert main(["lint", "models/fft.py", "--ignore", "T2J901"]) == 0
    assert main(["lint"]) == 1  # the whole tree by default
    capsys.readouterr()


def test_lint_skips_twins_and_reports_broken_files(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(repo(tmp_path, {"models_jax/fft.py": FFT, "models/bad.py": "import torch\ndef f(:\n"}))
    assert main(["lint", "models_jax/fft.py"]) == 0  # a twin's leftovers were reported at its source
    assert main(["lint", "models/bad.py"]) == 2
    err = capsys.readouterr().err
    assert "models/bad.py:2:7: T2J001 error syntax error" in err


def test_sync_writes_twins_and_fails_when_it_changed_something(tmp_path, capsys, monkeypatch):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import torch\nx = torch.zeros(3)")]
    monkeypatch.chdir(repo(tmp_path, {"models/lenet.py": LENET, "models/deep/fft.py": FFT, "scripts/run.py": LENET,
                                      "models/nb.ipynb": nbformat.writes(nb)}))
    assert main(["sync", "models/lenet.py", "scripts/run.py"]) == 1
    assert "torch2jax sync: wrote models_jax/lenet.py (from models/lenet.py)" in capsys.readouterr().err
    assert (tmp_path / "models_jax" / "lenet.py").read_text() == (FIXTURES / "lenet" / "expected_jax.py").read_text()
    assert not (tmp_path / "scripts_jax").exists() and sorted(p.name for p in (tmp_path / "models_jax").iterdir()) == ["lenet.py"]
    assert main(["sync", "models/lenet.py"]) == 0  # up to date: nothing written, the hook passes
    assert capsys.readouterr().err == ""

    assert main(["sync", "--check"]) == 1  # every source under the mapping; --check writes nothing
    err = capsys.readouterr().err
    assert "models_jax/deep/fft.py is out of date" in err and "models_jax/nb.ipynb is out of date" in err
    assert not (tmp_path / "models_jax" / "deep").exists()
    assert main(["sync"]) == 1
    assert (tmp_path / "models_jax" / "deep" / "fft.py").read_text() == convert_source(FFT).code
    twin_nb = nbformat.read(tmp_path / "models_jax" / "nb.ipynb", as_version=4)
    assert twin_nb.cells[0].source == "import jax.numpy as jnp\nx = jnp.zeros(3)"
    assert main(["sync"]) == 0

    (tmp_path / "models_jax" / "lenet.py").write_text("# edited by hand\n")
    assert main(["sync", "models/lenet.py"]) == 1  # the twin is generated: a hand edit is overwritten
    assert (tmp_path / "models_jax" / "lenet.py").read_text() == (FIXTURES / "lenet" / "expected_jax.py").read_text()


def test_sync_needs_a_mapping_and_never_writes_a_broken_source(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(repo(tmp_path, {"models/bad.py": "import torch\nx = (\n"}, sync=False))
    assert main(["sync", "models/bad.py"]) == 2
    assert "no [tool.torch2jax.sync] mapping" in capsys.readouterr().err
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.torch2jax.sync]
        "models/" = "models_jax/"
    """))
    assert main(["sync", "models/bad.py"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torch2jax: error: models/bad.py:2:5: T2J001 error syntax error")
    assert err.endswith("; its twin was not touched\n") and err.count("\n") == 1
    assert not (tmp_path / "models_jax").exists()
