"""Weight tying in the converter (passes/weight_tying.py); numerically in fixtures/tied_lm and
tests/test_verify.py (an untied head is caught by the shared table's gradient)."""

from numeric import verified
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


CONDITIONAL = """
import torch
import torch.nn as nn


class LM(nn.Module):
    \"\"\"Ties only when asked, as the PyTorch examples' word language model does.\"\"\"

    def __init__(self, vocab=12, dim=6, tie_weights=False):
        super().__init__()
        self.encoder = nn.Embedding(vocab, dim)
        self.decoder = nn.Linear(dim, vocab)
        if tie_weights:
            self.decoder.weight = self.encoder.weight

    def forward(self, idx):
        return self.decoder(torch.tanh(self.encoder(idx)))
"""


def test_a_tie_under_a_condition_is_a_flag():
    result = convert_source(CONDITIONAL)
    code = result.code
    assert "    decoder_tied = False" in code and "            self.decoder_tied = True" in code
    assert ("return ((self.encoder.attend(jnp.tanh(self.encoder(idx))) + self.decoder.bias[...]) "
            "if self.decoder_tied else self.decoder(jnp.tanh(self.encoder(idx))))") in code
    assert convert_source("import torch\n" + code).code.strip() == code.strip()


def test_a_tie_under_a_condition_verifies_both_ways(tmp_path):
    pytest = __import__("pytest")
    pytest.importorskip("torch")
    pytest.importorskip("flax")
    from torch2jax.verify import verify

    source = tmp_path / "lm.py"
    source.write_text(CONDITIONAL)
    for tie in (False, True):
        report = verify(source, f"LM(tie_weights={tie})", ["int64[2,5]:0..12"])
        assert report.ok, report.table()
    # an unconditional rewrite (the head always the table) is what the converter did before: caught untied
    wrong = tmp_path / "wrong.py"
    wrong.write_text(convert_source(CONDITIONAL).code.replace("if self.decoder_tied else", "if True else"))
    assert not verify(source, "LM(tie_weights=False)", ["int64[2,5]:0..12"], translated=wrong).ok


REVERSED = """
import torch
import torch.nn as nn


class GPT(nn.Module):
    def __init__(self, vocab=20, dim=8):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(vocab, dim), ln_f=nn.LayerNorm(dim)))
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # nanoGPT writes the tie this way round

    def forward(self, idx):
        return self.lm_head(self.transformer.ln_f(self.transformer.wte(idx)))


class Other(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.b.weight = self.a.weight  # Linear to Linear: not a tie the converter makes

    def forward(self, x):
        return self.b(self.a(x))
"""


def test_a_tie_written_table_first_through_a_module_dict(tmp_path):
    result = convert_source(REVERSED)
    code = result.code
    assert "return self.transformer.wte.attend(self.transformer.ln_f(self.transformer.wte(idx)))" in code
    assert "self.transformer.wte.weight" not in code
    # the other tie is reported and kept as written: its right side is not turned into a copy
    assert [d.code for d in result.diagnostics] == ["T2J201"] and result.diagnostics[0].line == 22
    assert "self.b.weight = self.a.weight" in code
    report = verified(tmp_path, REVERSED, "GPT()", ["int64[2,5]:0..20"])
    assert report.ok, report.table()
