"""A module's buffer used as an index (passes/variable_indices.py), in the shape of vit-pytorch's
CrossFormer: a relative-position bias table looked up with indices kept as a buffer."""

import pytest

from torch2jax import convert_source

MODEL = '''
import torch
import torch.nn as nn


class RelativeBias(nn.Module):
    def __init__(self, window=3, heads=2):
        super().__init__()
        self.table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads))
        pos = torch.arange(window)
        grid = torch.stack(torch.meshgrid(pos, pos, indexing="ij")).flatten(1)
        rel = grid[:, :, None] - grid[:, None, :] + window - 1
        index = rel[0] * (2 * window - 1) + rel[1]
        self.register_buffer("index", index, persistent=False)
        self.proj = nn.Linear(heads, heads)

    def forward(self, sim):
        bias = self.table[self.index]
        return sim + self.proj(bias).permute(2, 0, 1)
'''


def test_the_index_reads_the_buffers_value():
    code = convert_source(MODEL).code
    assert "bias = self.table[self.index[...]]" in code
    assert "self.index = nnx.Variable(index)" in code
    assert convert_source("import torch\n" + code).code.strip() == code.strip()


def test_verifies_and_the_variable_as_index_is_caught(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("flax")
    from torch2jax.verify import verify

    source = tmp_path / "bias.py"
    source.write_text(MODEL)
    report = verify(source, "RelativeBias()", ["float32[2,9,9]"])
    assert report.ok, report.table()
    wrong = tmp_path / "wrong.py"
    wrong.write_text(convert_source(MODEL).code.replace("self.table[self.index[...]]", "self.table[self.index]"))
    assert not verify(source, "RelativeBias()", ["float32[2,9,9]"], translated=wrong).ok
