"""Classes that subclass a torch layer derive from its translation: nnx.Linear, or the class the
output defines (recurrent layers, attention, nn.Transformer); checked against torch with verify."""

from __future__ import annotations

import pytest

from numeric import verified
from torch2jax import convert_source

SUBCLASSES = '''
import torch
import torch.nn as nn


class MyLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2 + self.weight.sum()


class Scaled(nn.Linear):
    def __init__(self, d, scale=0.5):
        super().__init__(d, d, bias=False)
        self.scale = scale
        self.offset = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        return super().forward(x) * self.scale + self.offset


class Cell(nn.GRU):
    def forward(self, x):
        return super().forward(x)[0]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = MyLinear(3, 4, bias=False)
        self.sc = Scaled(4)
        self.rnn = Cell(4, 5, batch_first=True)

    def forward(self, x):
        return self.rnn(self.sc(self.fc(x)).unsqueeze(1))
'''


def test_subclasses_of_torch_layers():
    code = convert_source(SUBCLASSES).code
    for line in [
        "class MyLinear(nnx.Linear):",
        "        return super().__call__(x) * 2 + self.kernel[...].T.sum()",
        "        super().__init__(d, d, use_bias=False, rngs=rngs)",
        "class Cell(GRU):",
        "        self.fc = MyLinear(3, 4, use_bias=False, rngs=rngs)",  # no __init__ of its own: the layer's arguments
        "        self.rnn = Cell(4, 5, batch_first=True, rngs=rngs)",
    ]:
        assert line in code, line


def test_subclasses_verify(tmp_path):
    report = verified(tmp_path, SUBCLASSES, "Net()", ["float32[2,3]"])
    assert report.ok, report.table()
    assert report.stages["spec"]["weights"] == 1 + 2 + 4  # fc.weight; sc.weight, sc.offset; the GRU's four


@pytest.mark.parametrize("layer", ["ConvTranspose2d", "MaxPool2d"])
def test_a_channels_last_layer_subclassed_is_reported(layer):
    """(nn.Conv2d subclassed derives from a convolution in torch's layout: test_torch_layout_convolution.py.)"""
    result = convert_source(f"import torch.nn as nn\n\n\nclass Layer(nn.{layer}):\n    pass\n")
    assert [d.code for d in result.diagnostics] == ["T2J901"] and f"subclasses `torch.nn.{layer}`" in result.diagnostics[0].message


TRANSFORMER = '''
import torch.nn as nn


class Seq2Seq(nn.Module):
    def __init__(self, vocab=20, d=16):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.transformer = nn.Transformer(d_model=d, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                                          dim_feedforward=32, dropout=0.0, batch_first=True)
        self.out = nn.Linear(d, vocab)

    def forward(self, src, tgt):
        mask = self.transformer.generate_square_subsequent_mask(tgt.size(1))
        return self.out(self.transformer(self.emb(src), self.emb(tgt), tgt_mask=mask))


class EncoderOnly(nn.Transformer):
    """The PyTorch examples' word language model subclasses nn.Transformer and uses its encoder."""

    def __init__(self, vocab=20, d=16):
        super().__init__(d_model=d, nhead=2, dim_feedforward=32, num_encoder_layers=1, num_decoder_layers=1)
        self.emb = nn.Embedding(vocab, d)

    def forward(self, src):
        return self.encoder(self.emb(src), mask=self.generate_square_subsequent_mask(src.size(0)))
'''


def test_nn_transformer_and_a_subclass_of_it(tmp_path):
    result = convert_source(TRANSFORMER)
    assert not [d for d in result.diagnostics if d.severity != "info"], result.diagnostics
    assert "class EncoderOnly(Transformer):" in result.code
    for model, inputs in (("Seq2Seq()", ["int64[2,6]:0..20", "int64[2,5]:0..20"]), ("EncoderOnly()", ["int64[5,2]:0..20"])):
        report = verified(tmp_path, TRANSFORMER, model, inputs)
        assert report.ok, report.table()
