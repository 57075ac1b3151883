"""The benchmark scripts run on a tiny input and print their tables (no timing is asserted)."""

import subprocess
import sys

from conftest import FIXTURES, ROOT


def _run(*args: str) -> str:
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_bench_convert_prints_its_table():
    out = _run("benchmarks/bench_convert.py", str(FIXTURES / "lenet" / "torch_model.py"), "--repeat", "1")
    assert "corpus: 1 files" in out
    assert "parse + regenerate (floor)" in out and "x floor" in out


def test_bench_train_step_prints_its_table():
    out = _run("benchmarks/bench_train_step.py", "--quick", "--case", "train_mlp_bce")
    assert "train_mlp_bce, batch 16" in out
    for row in ("translated step (nnx.jit, as emitted)", "hand-written step (nnx.jit)", "torch (CPU)"):
        assert row in out
    assert "translated / first hand-written (async):" in out
