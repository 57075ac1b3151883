"""The README's examples for whole repositories, run as written: the migration script, the
configuration block, and the flags it shows."""

import re
import subprocess
import sys
import textwrap

from conftest import FIXTURES, ROOT
from torch2jax.cli import main
from torch2jax.config import load_config

README = (ROOT / "README.md").read_text()


def block(language: str, first_line: str) -> str:
    """The README's fenced block in ``language`` whose first line starts with ``first_line``."""
    for match in re.finditer(rf"```{language}\n(.*?)```", README, re.S):
        if match.group(1).startswith(first_line):
            return match.group(1)
    raise AssertionError(f"no ```{language} block starting with {first_line!r} in README.md")


FFT_MODEL = "import torch\n\n\n# spectra along the batch axis\ndef spectrum(x):\n    return torch.fft.fft(x, dim=0)\n"


def test_the_migration_script_runs_as_written(tmp_path):
    script = block("python", "# migrate.py")
    models = tmp_path / "models"
    models.mkdir()
    (models / "lenet.py").write_text((FIXTURES / "lenet" / "torch_model.py").read_text())
    (models / "resnet_block.py").write_text((FIXTURES / "resnet_block" / "torch_model.py").read_text())  # T2J104 only
    (models / "spectral.py").write_text(FFT_MODEL)
    (tmp_path / "migrate.py").write_text(script)

    proc = subprocess.run([sys.executable, "migrate.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for name in ("lenet", "resnet_block", "spectral"):
        assert f"written   models/{name}.py -> models_jax/{name}.py  0 diagnostic(s)" in out
    assert "3 files converted: 0 error(s), 0 warning(s), 0 note(s)" in out
    assert (tmp_path / "models_jax" / "lenet.py").read_text() == (FIXTURES / "lenet" / "expected_jax.py").read_text()
    assert "return jnp.fft.fft(x, axis=0)" in (tmp_path / "models_jax" / "spectral.py").read_text()  # the house rule
    assert re.search(r"^numeric .* PASS$", out, re.M) and re.search(r"^spec .* PASS$", out, re.M)

    again = subprocess.run([sys.executable, "migrate.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert again.stdout.count("unchanged ") == 3 and "written " not in again.stdout


def test_the_configuration_block_works_as_documented(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text(block("toml", "[tool.torch2jax]"))
    (tmp_path / "tools").mkdir()
    rule = block("python", "# migrate.py").split("house_rules = [")[1].split("]\n\nreport")[0]
    entry = eval(rule.strip().rstrip(","))  # the same house rule, as a rule file
    (tmp_path / "tools" / "house_rules.toml").write_text(textwrap.dedent(f"""\
        [[rule]]
        torch = "{entry['torch']}"
        kind = "{entry['kind']}"
        target = "{entry['target']}"
        signature = {entry['signature']!r}
        positional = {entry['positional']!r}
        args.dim = {{ rename = "axis" }}
        examples = [{{ before = "torch.fft.fft(x, dim=0)", after = "jnp.fft.fft(x, axis=0)" }}]
    """).replace("'", '"'))
    config = load_config(tmp_path / "pyproject.toml")
    assert config.ignore == ("T2J104", "T2J90") and config.select == ("T2J",)
    assert config.twin(tmp_path / "models" / "a.py") == tmp_path / "models_jax" / "a.py"

    src = tmp_path / "src"
    src.mkdir()
    (src / "spectral.py").write_text(FFT_MODEL + "\n\ndef move(x):\n    return x.cuda()\n")  # T2J902, ignored
    (src / "block.py").write_text((FIXTURES / "resnet_block" / "torch_model.py").read_text())  # T2J104, ignored
    report = tmp_path / "migration.json"
    assert main(["convert", str(src), "-o", str(tmp_path / "out"), "-j", "4", "--report", str(report)]) == 0
    assert "jnp.fft.fft(x, axis=0)" in (tmp_path / "out" / "spectral.py").read_text()
    assert '"counts": {}' in report.read_text()
    capsys.readouterr()
    # the second command line of the README: flags replace the configured ignore list
    assert main(["convert", str(src), "-o", str(tmp_path / "out"), "--ignore", "T2J104", "--exit-zero"]) == 0
    err = capsys.readouterr().err
    assert "T2J902 info" in err and "T2J104" not in err
