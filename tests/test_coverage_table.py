"""COVERAGE.md is `torch2jax rules --markdown` as of now: regenerate it when a rule changes
(`torch2jax rules --markdown > COVERAGE.md`)."""

import re

from conftest import ROOT
from torch2jax.cli import main
from torch2jax.rules import load_rules


def test_coverage_file_is_current(capsys):
    assert main(["rules", "--markdown"]) == 0
    generated = capsys.readouterr().out
    assert (ROOT / "COVERAGE.md").read_text() == generated, "run: torch2jax rules --markdown > COVERAGE.md"


def test_every_rule_has_one_row_with_its_status():
    rows = re.findall(r"^\| `([^`]+)` \| `[^`]*` \| (exact|approximate|manual) \|", (ROOT / "COVERAGE.md").read_text(),
                      flags=re.M)
    rules = load_rules().rules
    assert sorted(name for name, _ in rows) == sorted(r.torch for r in rules)
    assert dict(rows) == {r.torch: r.status for r in rules}
