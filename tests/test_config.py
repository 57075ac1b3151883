"""Project configuration and the flags that share its keys: [tool.torch2jax] found by walking up
from the inputs, flags winning, --select/--ignore prefixes, ignore comments, --exit-zero, -j,
--report (text and JSON, with counts by code)."""

import json
import textwrap

import pytest
from hypothesis import given, strategies as st

from conftest import FIXTURES
from torch2jax import convert_source
from torch2jax.cli import main
from torch2jax.config import ConfigError, code_selected, find_config, load_config
from torch2jax.diagnostics import CODES

# three diagnostics: T2J104 (warning) on line 8, T2J901 (error) on line 11, T2J902 (info) on line 12
MODEL = textwrap.dedent("""\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(4)

        def forward(self, x):
            y = torch.fft.fft(x)
            return self.bn(y.cuda())
""")


def project(tmp_path, table: str = "", model: str = MODEL):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n\n' + textwrap.dedent(table))
    src = tmp_path / "src" / "pkg"
    src.mkdir(parents=True)
    (src / "net.py").write_text(model)
    return src / "net.py"


def codes_of(err: str) -> list[str]:
    return [line.split(": ")[1].split()[0] for line in err.splitlines() if ": T2J" in line]


def test_without_configuration_every_code_is_reported(tmp_path, capsys):
    net = project(tmp_path)
    assert main(["convert", str(net), "-o", str(tmp_path / "out.py")]) == 1
    assert codes_of(capsys.readouterr().err) == ["T2J104", "T2J901", "T2J902"]


def test_configuration_found_by_walking_up_from_the_input(tmp_path, capsys):
    net = project(tmp_path, """\
        [tool.torch2jax]
        ignore = ["T2J9"]
    """)
    assert find_config([str(net)]).path == tmp_path / "pyproject.toml"
    assert main(["convert", str(net), "-o", str(tmp_path / "out.py")]) == 1
    assert codes_of(capsys.readouterr().err) == ["T2J104"]


def test_flags_win_over_the_configuration(tmp_path, capsys):
    net = project(tmp_path, """\
        [tool.torch2jax]
        ignore = ["T2J9"]
        exit-zero = false
    """)
    out = str(tmp_path / "out.py")
    assert main(["convert", str(net), "-o", out, "--ignore", "T2J104"]) == 1
    assert codes_of(capsys.readouterr().err) == ["T2J901", "T2J902"]
    assert main(["convert", str(net), "-o", out, "--select", "T2J1"]) == 1  # config's ignore still applies to T2J9xx
    assert codes_of(capsys.readouterr().err) == ["T2J104"]
    assert main(["convert", str(net), "-o", out, "--exit-zero"]) == 0
    assert codes_of(capsys.readouterr().err) == ["T2J104"]
    assert main(["convert", str(net), "-o", out, "--no-config"]) == 1
    assert codes_of(capsys.readouterr().err) == ["T2J104", "T2J901", "T2J902"]


def test_exit_zero_from_the_configuration(tmp_path, capsys):
    net = project(tmp_path, """\
        [tool.torch2jax]
        exit-zero = true
    """)
    assert main(["convert", str(net), "-o", str(tmp_path / "out.py")]) == 0
    assert "T2J901 error" in capsys.readouterr().err  # still reported


def test_configured_rule_files_are_relative_to_the_pyproject(tmp_path, capsys):
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "fft.toml").write_text(textwrap.dedent("""\
        [[rule]]
        torch = "torch.fft.fft"
        kind = "function"
        target = "jax.numpy.fft.fft"
        signature = ["input", "n", "dim", "norm"]
        positional = ["input", "n"]
        args.dim = { rename = "axis" }
        examples = [{ before = "torch.fft.fft(x)", after = "jnp.fft.fft(x)" }]
    """))
    net = project(tmp_path, """\
        [tool.torch2jax]
        rules = ["tools/fft.toml"]
    """)
    assert main(["convert", str(net)]) == 1
    captured = capsys.readouterr()
    assert "y = jnp.fft.fft(x)" in captured.out
    assert codes_of(captured.err) == ["T2J104", "T2J902"]


@pytest.mark.parametrize(
    "table, message",
    [
        ('[tool.torch2jax]\nselectt = ["T2J1"]\n', "unknown key(s) ['selectt']"),
        ('[tool.torch2jax]\nignore = ["E501"]\n', "unknown code or prefix 'E501'"),
        ('[tool.torch2jax]\nexit-zero = "yes"\n', "exit-zero: expected true or false"),
        ('[tool.torch2jax.sync]\n"models/" = "models/jax/"\n', "overlap"),
        ('[tool.torch2jax\n', "not valid TOML"),
    ],
)
def test_a_bad_configuration_is_named_and_exits_2(tmp_path, capsys, table, message):
    (tmp_path / "pyproject.toml").write_text(table)
    (tmp_path / "m.py").write_text(MODEL)
    code = main(["convert", str(tmp_path / "m.py"), "--config", str(tmp_path / "pyproject.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert str(tmp_path / "pyproject.toml") in err and message in err


def test_unknown_code_on_the_command_line_exits_2(tmp_path, capsys):
    (tmp_path / "m.py").write_text(MODEL)
    assert main(["convert", str(tmp_path / "m.py"), "--select", "T2J7"]) == 2
    assert "unknown code or prefix 'T2J7'" in capsys.readouterr().err


def test_sync_mapping_resolves_twins(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.torch2jax.sync]\n"models/" = "models_jax/"\n')
    config = load_config(tmp_path / "pyproject.toml")
    assert config.twin(tmp_path / "models" / "a" / "net.py") == tmp_path / "models_jax" / "a" / "net.py"
    assert config.twin(tmp_path / "other" / "net.py") is None
    assert config.is_twin(tmp_path / "models_jax" / "net.py")


@given(code=st.sampled_from(sorted(CODES)), select=st.lists(st.sampled_from(["T2J", "T2J1", "T2J9", "T2J104", "T2J901"])),
       ignore=st.lists(st.sampled_from(["T2J", "T2J1", "T2J3", "T2J104", "T2J902"])))
def test_the_most_specific_prefix_decides(code, select, ignore):
    def longest(prefixes):
        return max((len(p) for p in prefixes if code.startswith(p)), default=-1)

    expected_selected = (not select) or longest(select) >= 0
    if expected_selected and longest(ignore) >= 0:
        expected_selected = (longest(select) if select else 0) > longest(ignore)
    assert code_selected(code, select, ignore) == expected_selected


def test_ignore_comments_silence_that_code_on_that_line():
    source = textwrap.dedent("""\
        import torch

        a = torch.fft.fft(x)  # torch2jax: ignore[T2J901]
        b = torch.fft.fft(x)  # torch2jax: ignore[T2J104]
        c = torch.fft.fft(x)  # torch2jax: ignore
        d = torch.fft.fft(x)  # torch2jax: ignore[T2J9, T2J3]
        e = "# torch2jax: ignore"; f = torch.fft.fft(x)
    """)
    result = convert_source(source, filename="m.py")
    assert [(d.code, d.line) for d in result.diagnostics] == [("T2J901", 4), ("T2J901", 7)]
    assert result.code.count("# torch2jax: T2J901") == 5  # silenced, not hidden: the output still marks the spot


def test_report_text_and_json_with_counts_by_code(tmp_path, capsys):
    net = project(tmp_path)
    text_report, json_report = tmp_path / "report.txt", tmp_path / "report.json"
    assert main(["convert", str(FIXTURES / "resnet_block" / "torch_model.py"), str(net), "-o", str(tmp_path / "out"),
                 "--report", str(text_report)]) == 1
    text = text_report.read_text()
    assert "counts by code:" in text and "  T2J104      5  " in text and "  T2J901      1  " in text
    assert "2 files converted: 1 error(s), 5 warning(s), 1 note(s)" in text
    assert main(["convert", str(FIXTURES / "resnet_block" / "torch_model.py"), str(net), "-o", str(tmp_path / "out"),
                 "--report", str(json_report), "-j", "1"]) == 1
    data = json.loads(json_report.read_text())
    assert data["counts"] == {"T2J104": 5, "T2J901": 1, "T2J902": 1}
    assert data["files"] == 2 and data["severities"] == {"error": 1, "warning": 5, "info": 1}
    assert {d["code"] for d in data["diagnostics"]} == {"T2J104", "T2J901", "T2J902"}


def test_jobs_give_the_same_result_in_any_number(tmp_path, capsys):
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        assert main(["convert", str(FIXTURES), "-o", str(out), "-j", jobs]) == 1
        outputs.append({p.relative_to(out): p.read_text() for p in sorted(out.rglob("*.py"))})
        capsys.readouterr()
    assert len(outputs[0]) > 8 and outputs[0] == outputs[1]
    assert main(["convert", str(FIXTURES), "-j", "0"]) == 2
