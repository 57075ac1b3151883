"""Convolution classes used as classes (handlers/torch_layout_convolution.py): a class of the file
subclassing nn.Conv2d / nn.Conv1d that reads torch's attributes and calls F.conv2d or super().forward
itself (EfficientNet's TensorFlow-style "same" padding, a TCN's causal convolution), and a
convolution class bound with functools.partial and built later (MLP-Mixer's token mixing). They
derive from, or build, a module the output defines in torch's layout."""

import pytest

from numeric import verifier
from torch2jax import convert_source

MODEL = '''
import math
from functools import partial

import torch
from torch import nn
import torch.nn.functional as F


class SamePadConv(nn.Conv2d):
    """Pads like TensorFlow's 'SAME' for whatever input size it meets."""

    def __init__(self, cin, cout, k, stride=1, bias=True):
        super().__init__(cin, cout, k, stride, 0, 1, 1, bias)

    def forward(self, x):
        ih, iw = x.size()[-2:]
        kh, kw = self.weight.size()[-2:]
        sh, sw = self.stride
        oh, ow = math.ceil(ih / sh), math.ceil(iw / sw)
        pad_h = max((oh - 1) * sh + (kh - 1) * self.dilation[0] + 1 - ih, 0)
        pad_w = max((ow - 1) * sw + (kw - 1) * self.dilation[1] + 1 - iw, 0)
        x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class CausalConv1d(nn.Conv1d):
    def forward(self, x):
        return super().forward(F.pad(x, [self.dilation[0] * (self.kernel_size[0] - 1), 0]))


class ReflectConv(nn.Conv1d):
    pass


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = SamePadConv(3, 8, 3, stride=2)
        self.b = CausalConv1d(8, 4, 3, dilation=2)
        self.r = ReflectConv(4, 4, 3, padding=1, padding_mode="reflect", groups=2)
        point = partial(nn.Conv1d, kernel_size=1)
        self.c = point(4, 5)

    def forward(self, x):
        y = self.a(x).flatten(2) * self.a.weight.shape[-1]
        return self.c(self.r(self.b(y)))
'''


def test_subclasses_derive_from_a_torch_layout_convolution():
    result = convert_source(MODEL)
    code = result.code
    assert "class SamePadConv(Conv2d):" in code and "class CausalConv1d(Conv1d):" in code
    assert "super().__init__(cin, cout, k, stride, 0, 1, 1, bias, rngs=rngs)" in code
    assert "kh, kw = self.weight.shape[-2:]" in code  # torch's (out, in, kH, kW), not a kernel transposed
    assert "self.r = ReflectConv(4, 4, 3, padding=1, padding_mode=\"reflect\", groups=2, rngs=rngs)" in code
    assert "point = partial(Conv1d, kernel_size=1)" in code
    assert code.count("class Conv1d(nnx.Module):") == 1 and code.count("def conv(") == 1
    assert not [d for d in result.diagnostics if d.severity == "error"], [d.text() for d in result.diagnostics]
    again = convert_source("import torch\n" + code).code
    assert again.strip() == code.strip()


@pytest.fixture(scope="module")
def check(tmp_path_factory):
    return verifier(tmp_path_factory, "convs.py", MODEL, "Net()", ["float32[2,3,10,12]"])


def test_verifies_against_torch(check):
    report = check()
    assert report.ok, report.table()


def test_padding_on_the_wrong_side_is_caught(check, tmp_path):
    """TensorFlow's 'SAME' puts the odd row after the input (10 rows, stride 2: one row of padding); swapped,
    the output shifts."""
    wrong = tmp_path / "wrong.py"
    code = convert_source(MODEL).code
    swapped = code.replace("((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2))",
                           "((pad_h - pad_h // 2, pad_h // 2), (pad_w - pad_w // 2, pad_w // 2))")
    assert swapped != code
    wrong.write_text(swapped)
    assert not check(wrong).ok


def test_reflect_padding_as_zeros_is_caught(check, tmp_path):
    wrong = tmp_path / "wrong.py"
    code = convert_source(MODEL).code
    zeros = code.replace('mode = {"reflect": "reflect",', 'mode = {"reflect": "constant",')
    assert zeros != code
    wrong.write_text(zeros)
    assert not check(wrong).ok
