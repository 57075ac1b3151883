"""Modules built by factories, in the shape of EfficientNet-PyTorch: a classmethod that builds its class
(``cls(...)``, ``model = cls(...)`` then ``model._change_in_channels(...)``, ``cls.from_name(...)``), a
function of a sibling module returning a class or a ``partial`` of one (``Conv2d =
get_same_padding_conv2d(image_size)``), and a sibling's class with only a ``forward`` (built as
written, without ``rngs``). Checked against torch with verify, the package translated with the file."""

import pytest

from torch2jax import convert_file

PARTS = '''
from functools import partial

import torch
from torch import nn


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class PaddedConv(nn.Conv2d):
    def __init__(self, cin, cout, kernel_size, stride=1, image_size=None, **kwargs):
        super().__init__(cin, cout, kernel_size, stride, kernel_size // 2, **kwargs)
        self.image_size = image_size


class PlainConv(nn.Module):
    def __init__(self, cin, cout, kernel_size, stride=1, bias=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride, kernel_size // 2, bias=bias)

    def forward(self, x):
        return self.conv(x)


def conv_for(image_size=None):
    if image_size is None:
        return PlainConv
    return partial(PaddedConv, image_size=image_size)
'''

MODEL = '''
import torch
from torch import nn

from .parts import Swish, conv_for


class Net(nn.Module):
    def __init__(self, width, image_size=None, classes=4):
        super().__init__()
        Conv2d = conv_for(image_size)
        self.stem = Conv2d(3, width, 3, stride=2, bias=False)
        self.act = Swish()
        self.head = nn.Linear(width, classes)

    def _change_in_channels(self, in_channels):
        if in_channels != 3:
            self.stem = conv_for(None)(in_channels, self.head.in_features, 3, stride=2, bias=False)

    def forward(self, x):
        return self.head(self.act(self.stem(x)).mean((2, 3)))

    @classmethod
    def from_name(cls, name, in_channels=3, **override):
        widths = {"small": 8, "large": 16}
        model = cls(widths[name], **override)
        model._change_in_channels(in_channels)
        return model

    @classmethod
    def from_pretrained(cls, name, in_channels=3):
        return cls.from_name(name, in_channels=in_channels, image_size=12)
'''


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("flax")
    root = tmp_path_factory.mktemp("factories") / "nets"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "parts.py").write_text(PARTS)
    (root / "model.py").write_text(MODEL)
    return root


def test_factories_take_rngs(package, tmp_path):
    out = tmp_path / "model_jax.py"
    result = convert_file(package / "model.py", out)
    code = out.read_text()
    for line in ["def from_name(cls, name, in_channels=3, *, rngs: nnx.Rngs, **override):",
                 "model = cls(widths[name], **override, rngs=rngs)",
                 "model._change_in_channels(in_channels, rngs=rngs)",
                 "return cls.from_name(name, in_channels=in_channels, image_size=12, rngs=rngs)",
                 "self.stem = Conv2d(3, width, 3, stride=2, bias=False, rngs=rngs)",
                 "self.act = Swish()"]:
        assert line in code, line
    assert not [d for d in result.diagnostics if d.severity == "error"], [d.text() for d in result.diagnostics]


@pytest.mark.parametrize("expr", ["Net.from_name('small', in_channels=2)", "Net.from_pretrained('large', in_channels=2)"])
def test_factories_verify(package, expr):
    from torch2jax.verify import verify

    report = verify(package / "model.py", expr, ["float32[2,2,12,12]"])
    assert report.ok, report.table()


def test_a_factory_that_skips_the_change_is_caught(package, tmp_path):
    """Without `_change_in_channels` the stem keeps 3 input channels: the weights no longer map."""
    from torch2jax.verify import verify

    out = tmp_path / "model_jax.py"
    convert_file(package / "model.py", out)
    code = out.read_text()
    broken = code.replace("model._change_in_channels(in_channels, rngs=rngs)", "pass")
    assert broken != code
    out.write_text(broken)
    assert not verify(package / "model.py", "Net.from_name('small', in_channels=2)", ["float32[2,2,12,12]"],
                      translated=out).ok
