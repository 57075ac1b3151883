"""The command line as users drive it: exit codes, stdin, files, safety habits."""

import json
import os
import subprocess
import sys

import pytest

from conftest import FIXTURES
from torch2jax.cli import main

LENET = FIXTURES / "lenet" / "torch_model.py"
EXPECTED = (FIXTURES / "lenet" / "expected_jax.py").read_text()


def run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "torch2jax.cli", *args], input=stdin, capture_output=True, text=True, timeout=120
    )


def test_convert_to_stdout_exit_0():
    proc = run("convert", str(LENET))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == EXPECTED
    assert "0 error(s), 0 warning(s)" in proc.stderr


def test_dash_output_is_standard_output(tmp_path, capsys, monkeypatch):
    """`-o -` writes to standard output (it wrote a file named `-`), for one input only."""
    monkeypatch.chdir(tmp_path)
    assert main(["convert", str(LENET), "-o", "-"]) == 0
    assert capsys.readouterr().out == EXPECTED and not (tmp_path / "-").exists()
    assert main(["convert", str(LENET), str(LENET), "-o", "-"]) == 2
    assert "-o - (standard output) takes one input file" in capsys.readouterr().err
    assert not (tmp_path / "-").exists()


def test_output_file_written_and_input_untouched(tmp_path):
    src = tmp_path / "model.py"
    src.write_text(LENET.read_text())
    out = tmp_path / "model_jax.py"
    assert main(["convert", str(src), "-o", str(out)]) == 0
    assert out.read_text() == EXPECTED
    assert src.read_text() == LENET.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_warnings_exit_1_with_location(capsys):
    code = main(["convert", str(FIXTURES / "resnet_block" / "torch_model.py"), "-o", os.devnull])
    err = capsys.readouterr().err
    assert code == 1
    assert "torch_model.py:14:20: T2J104 warning" in err


def test_untranslated_construct_is_marked(tmp_path, capsys):
    src = tmp_path / "m.py"
    src.write_text("import torch\n\nx = torch.fft.fft(torch.ones(4))\n")
    assert main(["convert", str(src)]) == 1
    captured = capsys.readouterr()
    assert "# torch2jax: T2J901 `torch.fft.fft` has no rule" in captured.out
    assert "m.py:3:5: T2J901 error" in captured.err
    assert "import torch" in captured.out  # still referenced, so still imported


@pytest.mark.parametrize(
    "content, message",
    [
        (b"import torch\ndef f(:\n    pass\n", "T2J001"),
        (b"import torch\nx = '\xff\xfe'\n", "not UTF-8"),
    ],
)
def test_bad_input_exit_2_and_nothing_written(tmp_path, content, message):
    src = tmp_path / "bad.py"
    src.write_bytes(content)
    out = tmp_path / "out.py"
    proc = run("convert", str(src), "-o", str(out))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_missing_file_exit_2():
    proc = run("convert", "does/not/exist.py")
    assert proc.returncode == 2
    assert "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_stdin_to_stdout():
    proc = run("convert", "-", stdin=LENET.read_text())
    assert proc.returncode == 0
    assert proc.stdout == EXPECTED


def test_crlf_kept(tmp_path):
    src = tmp_path / "crlf.py"
    src.write_bytes(LENET.read_text().replace("\n", "\r\n").encode())
    out = tmp_path / "out.py"
    assert main(["convert", str(src), "-o", str(out)]) == 0
    data = out.read_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert data.decode().replace("\r\n", "\n") == EXPECTED


def test_check_and_diff_write_nothing(tmp_path, capsys):
    src = tmp_path / "m.py"
    src.write_text(LENET.read_text())
    assert main(["convert", str(src), "--check"]) == 1
    assert main(["convert", str(src), "--diff"]) == 1
    out = capsys.readouterr().out
    assert "+class LeNet(nnx.Module):" in out
    assert src.read_text() == LENET.read_text()


def test_in_place(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(LENET.read_text())
    assert main(["convert", str(src), "--in-place"]) == 0
    assert src.read_text() == EXPECTED


def test_directory_mirrors_tree(tmp_path):
    out = tmp_path / "out"
    code = main(["convert", str(FIXTURES), "-o", str(out)])
    assert code == 1  # resnet_block has BatchNorm warnings
    assert (out / "lenet" / "torch_model.py").read_text() == EXPECTED
    assert (out / "lenet" / "expected_jax.py").exists()


def test_json_diagnostics(capsys):
    main(["convert", str(FIXTURES / "resnet_block" / "torch_model.py"), "-o", os.devnull, "--format", "json"])
    records = json.loads(capsys.readouterr().err)
    assert {r["code"] for r in records} == {"T2J104"}
    assert all({"path", "line", "column", "severity", "message", "handled"} <= set(r) for r in records)


def test_rules_listing(capsys):
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "torch.nn.Conv2d" in out and "flax.nnx.Conv" in out
    assert "approximate: running variance" in out


def test_bad_rule_file_named(tmp_path, capsys):
    bad = tmp_path / "mine.toml"
    bad.write_text('[[rule]]\ntorch = "torch.nn.Foo"\nkind = "layer"\ntarget = "flax.nnx.Foo"\nstatus = "weird"\n')
    assert main(["rules", "--rules", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "mine.toml: rule torch.nn.Foo: `status` must be one of" in err


def test_user_rule_file_overrides(tmp_path, capsys):
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[[rule]]\ntorch = "torch.nn.functional.relu"\nkind = "function"\ntarget = "flax.nnx.relu"\n'
        'signature = ["input", "inplace"]\npositional = ["input"]\nargs.inplace = { drop = true }\n'
        'examples = [{ before = "F.relu(x)", after = "nnx.relu(x)" }]\n'
    )
    src = tmp_path / "m.py"
    src.write_text("import torch.nn.functional as F\n\ndef f(x):\n    return F.relu(x)\n")
    assert main(["convert", str(src), "--rules", str(mine)]) == 0
    assert "return nnx.relu(x)" in capsys.readouterr().out


def test_codes_table(capsys):
    assert main(["codes"]) == 0
    out = capsys.readouterr().out
    assert "| T2J901 | error |" in out


def test_help_explains_exit_codes():
    proc = run("convert", "--help")
    assert proc.returncode == 0
    assert "exit status: 0 clean, 1 diagnostics need attention" in proc.stdout


def test_usage_error_exit_2():
    proc = run("convert")
    assert proc.returncode == 2


def test_byte_order_mark_kept(tmp_path):
    src = tmp_path / "bom.py"
    src.write_bytes(b"\xef\xbb\xbf" + LENET.read_bytes())
    out = tmp_path / "out.py"
    assert main(["convert", str(src), "-o", str(out)]) == 0
    assert out.read_bytes() == b"\xef\xbb\xbf" + EXPECTED.encode()
