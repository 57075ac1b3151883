"""Weight tying in the converter (passes/weight_tying.py); numerically in fixtures/tied_lm and
tests/test_verify.py (an untied head is caught by the shared table's gradient)."""

from torch2jax import convert_source

TIED = """import torch.nn as nn
class LM(nn.Module):
    def __call__(self, x):
        return self.lm_head(x)
    def __init__(self):
        super().__init__()
        self.lm_head = nn.Linear(4, 10, bias=False)
        self.wte = nn.Embedding(10, 4)
        self.lm_head.weight = self.wte.weight  # tie
"""


def test_forward_before_init_still_uses_the_shared_table():
    result = convert_source(TIED.replace("__call__", "forward"))
    assert not result.diagnostics
    assert "return self.wte.attend(x)" in result.code
    assert "self.lm_head.weight" not in result.code and "# tie" in result.code


def test_a_tie_between_other_kinds_is_reported():
    source = TIED.replace("nn.Embedding(10, 4)", "nn.Linear(10, 4)").replace("__call__", "forward")
    result = convert_source(source)
    assert [d.code for d in result.diagnostics] == ["T2J201"]
    assert "return self.lm_head(x)" in result.code


def test_converting_twice_changes_nothing():
    once = convert_source(TIED.replace("__call__", "forward")).code
    assert convert_source(once).code == once
