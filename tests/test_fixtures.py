"""Golden pairs: each fixture converts to its expected file, with the expected diagnostics.

The expected files are proven right numerically in test_verify.py (verify runs on
each fixture's expected translation), so a golden file cannot freeze a wrong one.
"""

import ast

import pytest

from conftest import FIXTURES
from torch2jax import convert_file, convert_source

ALLOWED_IMPORTS = {"jax", "flax", "optax", "numpy", "functools", "math", "collections", "typing", "dataclasses"}
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "torch_model.py").exists())


def test_there_are_fixtures():
    assert {"mlp", "lenet", "sequential_mlp", "text_classifier", "resnet_block", "dropout_mlp",
            "modulelist", "param_buffer"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_conversion_matches_golden(case):
    d = FIXTURES / case
    result = convert_file(d / "torch_model.py")
    assert result.code == (d / "expected_jax.py").read_text()
    got = "".join(x.text().replace(str(d / "torch_model.py"), "torch_model.py") + "\n" for x in result.diagnostics)
    assert got == (d / "expected_diagnostics.txt").read_text()


@pytest.mark.parametrize("case", CASES)
def test_output_imports_only_jax_stack(case):
    tree = ast.parse((FIXTURES / case / "expected_jax.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots = {(node.module or "").split(".")[0]}
        else:
            continue
        assert roots <= ALLOWED_IMPORTS, (case, roots)


@pytest.mark.parametrize("case", CASES)
def test_comments_survive(case):
    source = (FIXTURES / case / "torch_model.py").read_text()
    output = (FIXTURES / case / "expected_jax.py").read_text()
    comments = [line.strip() for line in source.splitlines() if line.strip().startswith("#")]
    assert comments, "fixtures carry comments so this test means something"
    for comment in comments:
        assert comment in output


@pytest.mark.parametrize("case", CASES)
def test_second_conversion_changes_nothing(case):
    once = (FIXTURES / case / "expected_jax.py").read_text()
    assert convert_source(once).code == once
