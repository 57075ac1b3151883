"""Every rule has a numeric property test: a hypothesis test that declares the rule with ``@covers``
(tests/numeric.py), whose conversions apply it (checked when the test runs) and which compares the
translation with torch. A new rule without one fails here; so does a declaration of a rule that
does not exist, and an exemption that is no longer needed.

The exemptions are few and each says why it is checked another way."""

import importlib

import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from conftest import ROOT  # noqa: E402
from numeric import DECLARED  # noqa: E402
from torch2jax.rules import load_rules  # noqa: E402

EXEMPT = {
    "Tensor.nonzero": "manual: never translated, only reported with a guideline (its size depends on the data); "
                      "tests/test_rule_examples.py checks the report and the marker",
}


def declared() -> dict[str, set[str]]:
    """The rules declared by the property tests of every test module (imported here if pytest has not)."""
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        if "@covers(" in path.read_text(encoding="utf-8"):
            importlib.import_module(path.stem)
    return {rule: tests for rule, tests in DECLARED.items() if tests}


def uncovered(ruleset) -> list[str]:
    """The rules of ``ruleset`` no property test declares and no exemption names."""
    return sorted({r.torch for r in ruleset.rules} - set(declared()) - set(EXEMPT))


def test_every_rule_has_a_numeric_property_test():
    missing = uncovered(load_rules())
    assert not missing, f"{len(missing)} rule(s) without a property test (@covers): {missing}"


def test_a_new_rule_without_a_property_test_is_caught():
    new = {"torch": "torch.special.expit", "kind": "function", "target": "jax.nn.sigmoid", "signature": ["input"],
           "examples": [{"before": "torch.special.expit(x)", "after": "jax.nn.sigmoid(x)"}]}
    assert uncovered(load_rules([new])) == ["torch.special.expit"]


def test_a_declaration_its_conversions_do_not_apply_fails():
    from hypothesis import given, settings, strategies as st
    from numeric import convert, covers

    @covers("torch.nn.functional.relu", "torch.tanh")
    @settings(max_examples=2, database=None)
    @given(st.integers(0, 1))
    def applies_only_relu(n):
        convert("import torch.nn.functional as F\n\ndef f(x):\n    return F.relu(x)\n")

    with pytest.raises(AssertionError, match=r"never applied: \['torch.tanh'\]"):
        applies_only_relu()
    for rule in ("torch.nn.functional.relu", "torch.tanh"):  # not a real property test: its declaration goes
        DECLARED[rule].discard(f"{__name__}.applies_only_relu")


def test_declarations_and_exemptions_name_real_rules():
    rules = {r.torch: r for r in load_rules().rules}
    covered = declared()
    assert not sorted(set(covered) - set(rules)), "declared but no such rule"
    assert not sorted(set(EXEMPT) - set(rules)), "exempt but no such rule"
    assert not sorted(set(EXEMPT) & set(covered)), "exempt and covered: drop the exemption"
    assert all(rules[name].status == "manual" or reason for name, reason in EXEMPT.items())
