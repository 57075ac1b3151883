"""Every rule's examples convert as written (Fixit-style examples, collected as tests)."""

import libcst as cst
import pytest

from torch2jax import convert_source
from torch2jax.rules import load_rules

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"


def _wrap(rule, before: str) -> str:
    """The example placed where such code lives: layers in __init__, the rest in forward."""
    header = HEADER + ("import einops.layers.torch\n" if rule.torch.startswith("einops.") else "")
    if rule.kind in ("layer", "module_fn") or rule.torch == "torch.nn.Parameter":
        return header + f"class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.m = {before}\n"
    if rule.torch == "torch.randn":  # a local: an array kept as an attribute is nnx.data(...) (passes/array_attributes)
        return header + f"class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        m = {before}\n"
    # initialisers in a method of their own: forward's random draws come from the module's self.rngs
    method = "reset" if rule.handler == "init" else "forward"
    return header + f"class M(nn.Module):\n    def {method}(self, x, a, b, m, w):\n        return {before}\n"


def _converted_expression(code: str) -> str:
    module = cst.parse_module(code)
    cls = next(s for s in module.body if isinstance(s, cst.ClassDef) and s.name.value == "M")  # not a helper it defines
    func = cls.body.body[0]
    stmt = func.body.body[-1].body[0]
    value = stmt.value
    return module.code_for_node(value)


CASES = [
    pytest.param(rule, before, after, id=f"{rule.torch}:{i}")
    for rule in load_rules().rules
    for i, (before, after) in enumerate(rule.examples)
]


@pytest.mark.parametrize("rule, before, after", CASES)
def test_example(rule, before, after):
    result = convert_source(_wrap(rule, before))
    assert _converted_expression(result.code) == after
    if rule.status == "exact" and after != before:
        assert not [d for d in result.diagnostics if d.severity == "error"], result.diagnostics
    if rule.status == "manual":
        assert any(d.code.startswith("T2J") and d.severity == "error" for d in result.diagnostics)
        assert "# torch2jax: T2J" in result.code


def test_every_rule_has_an_example():
    assert all(rule.examples for rule in load_rules().rules)
