"""**kwargs forwarded to a torch layer (torchvision's BasicConv2d): the keywords are translated at
the calls that write them, torch's defaults added there; verified against torch."""

from __future__ import annotations

import pytest

from numeric import verified
from torch2jax import convert_source

SOURCE = '''
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Head(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc = nn.Linear(c, 2)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))


class Net(nn.Module):
    def __init__(self, blocks=None):
        super().__init__()
        if blocks is None:
            blocks = [BasicConv2d, Head]
        conv_block = blocks[0]
        self.stem = conv_block(3, 8, kernel_size=3, stride=2, padding=1)
        self.mix = BasicConv2d(8, 8, kernel_size=(1, 3), padding=(0, 1), dilation=1)
        self.point = conv_block(8, 4, kernel_size=1)
        self.head = blocks[1](4)

    def forward(self, x):
        return self.head(self.point(self.mix(self.stem(x))))
'''


def test_keywords_are_written_in_flax_terms_where_they_are_given():
    result = convert_source(SOURCE)
    code = result.code
    for line in [
        "self.conv = nnx.Conv(in_channels, out_channels, use_bias=False, **kwargs, rngs=rngs)",
        "self.stem = conv_block(3, 8, kernel_size=(3, 3), strides=2, padding=1, rngs=rngs)",
        "self.mix = BasicConv2d(8, 8, kernel_size=(1, 3), padding=(0, 1), kernel_dilation=1, rngs=rngs)",
        "self.point = conv_block(8, 4, kernel_size=(1, 1), padding=0, rngs=rngs)",  # torch's default padding, written
    ]:
        assert line in code, line
    assert {d.code for d in result.diagnostics} == {"T2J104"}
    assert convert_source("import torch\n" + code).code.strip() == code.strip()


def test_verified_against_torch(tmp_path):
    report = verified(tmp_path, SOURCE, "Net()", ["float32[2,3,9,9]"])
    assert report.ok, report.table()


@pytest.mark.parametrize("call, words", [
    ("BasicConv2d(3, 8, kernel=3)", "no such argument"),
    ("BasicConv2d(3, 8, bias=True, kernel_size=1)", "given twice"),
    ("BasicConv2d(3, 8, **options)", "spread into"),
])
def test_what_cannot_reach_the_layer_is_reported(call, words):
    source = SOURCE + f"\n\ndef make(options):\n    return {call}\n"
    result = convert_source(source)
    found = [d for d in result.diagnostics if d.code == "T2J302"]
    assert len(found) == 1 and words in found[0].message, result.diagnostics
