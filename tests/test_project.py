"""convert_tree, the migration API: statuses per file, failed files write nothing, rules as data,
select/ignore, dry runs, and the report's text and JSON."""

import json

import nbformat
import pytest

from conftest import FIXTURES
import torch2jax
from torch2jax import InputError, RuleError, convert_tree

LENET = (FIXTURES / "lenet" / "torch_model.py").read_text()
FFT = "import torch\n\n\n# spectra\ndef f(x):\n    return torch.fft.fft(x, dim=0)\n"
FFT_RULE = {
    "torch": "torch.fft.fft", "kind": "function", "target": "jax.numpy.fft.fft",
    "signature": ["input", "n", "dim", "norm"], "positional": ["input", "n"], "args": {"dim": {"rename": "axis"}},
    "examples": [{"before": "torch.fft.fft(x, dim=0)", "after": "jnp.fft.fft(x, axis=0)"}],
}


@pytest.fixture()
def tree(tmp_path):
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "__init__.py").write_text("")
    (src / "pkg" / "lenet.py").write_text(LENET)
    (src / "pkg" / "fft.py").write_text(FFT)
    (src / "broken.py").write_text("import torch\nx = (\n")
    (src / "latin.py").write_bytes("import torch\nname = 'M\u00fcller'\n".encode("latin-1"))
    (src / "notes.txt").write_text("not code\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import torch\nx = torch.ones(2)")]
    nbformat.write(nb, src / "explore.ipynb")
    return src


def test_statuses_and_what_is_written(tree, tmp_path):
    dst = tmp_path / "dst"
    report = convert_tree(tree, dst)
    status = {str(f.source.relative_to(tree)): f.status for f in report.files}
    assert status == {"broken.py": "failed", "explore.ipynb": "written", "latin.py": "failed",
                      "pkg/__init__.py": "written", "pkg/fft.py": "written", "pkg/lenet.py": "written"}
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*") if p.is_file()) == [
        "explore.ipynb", "pkg/__init__.py", "pkg/fft.py", "pkg/lenet.py"]
    assert (dst / "pkg" / "lenet.py").read_text() == (FIXTURES / "lenet" / "expected_jax.py").read_text()
    assert report.counts() == {"T2J001": 1, "T2J002": 1, "T2J003": 1, "T2J901": 1}  # T2J003: the empty __init__.py
    assert not report.ok and len(report.failed) == 2
    data = json.loads(report.to_json())
    assert data["summary"] == {"files": 6, "written": 4, "unchanged": 0, "failed": 2}
    assert "counts by code:" in report.text() and "4 written, 0 unchanged, 2 failed" in report.text()

    again = convert_tree(tree, dst)
    assert [f.status for f in again.files if f.status != "failed"] == ["unchanged"] * 4


def test_rules_as_data_and_selection(tree, tmp_path):
    report = convert_tree(tree, tmp_path / "dst", rules=[FFT_RULE], ignore=["T2J0"])
    assert "return jnp.fft.fft(x, axis=0)" in (tmp_path / "dst" / "pkg" / "fft.py").read_text()
    assert report.counts() == {"T2J001": 1, "T2J002": 1}  # input errors are never silenced; T2J003 is
    single = convert_tree(tree / "pkg", tmp_path / "single", rules=FFT_RULE)  # one rule, not in a list
    assert single.ok and single.counts() == {"T2J003": 1}


def test_dry_run_writes_nothing(tree, tmp_path):
    report = convert_tree(tree, tmp_path / "dst", dry_run=True)
    assert len(report.written) == 4 and not (tmp_path / "dst").exists()


def test_bad_arguments_raise_before_any_work(tree, tmp_path):
    with pytest.raises(InputError, match="inside"):
        convert_tree(tree, tree / "jax")
    with pytest.raises(InputError, match="not a directory"):
        convert_tree(tree / "pkg" / "fft.py", tmp_path / "dst")
    with pytest.raises(RuleError, match="at least one example"):
        convert_tree(tree, tmp_path / "dst", rules=[{**FFT_RULE, "examples": []}])
    assert not (tmp_path / "dst").exists()


def test_exported():
    assert {"convert_tree", "TreeReport", "FileReport", "convert_notebook", "verify"} <= set(torch2jax.__all__)
