"""Files that take their torch names and module classes from the project's own modules
(``from .unet_parts import *``): read statically from the sibling files, converted as one project,
and verified as a package (its other modules translated with it)."""

from __future__ import annotations

import pytest

from torch2jax import convert_file, convert_source
from torch2jax.project import convert_tree

PARTS = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class DoubleConv(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.net(x)


class Up(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_in // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(c_in, c_out)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        diffY = torch.tensor([x2.size()[2] - x1.size()[2]])
        diffX = torch.tensor([x2.size()[3] - x1.size()[3]])
        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


def make_head(c, n):
    return nn.Conv2d(c, n, kernel_size=1)
'''

MODEL = '''
from .parts import *
from .parts import make_head


class Net(nn.Module):
    def __init__(self, n_classes=2):
        super().__init__()
        self.inc = DoubleConv(3, 8)
        self.down = nn.MaxPool2d(2)
        self.mid = DoubleConv(8, 16)
        self.up = Up(16, 8)
        self.head = make_head(8, n_classes)

    def forward(self, x):
        x1 = self.inc(x)
        return self.head(self.up(self.mid(self.down(x1)), x1))
'''


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "unet"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "parts.py").write_text(PARTS)
    (root / "model.py").write_text(MODEL)
    return root


def test_names_from_a_sibling_module(package):
    code = convert_file(package / "model.py").code
    for line in ["class Net(nnx.Module):", "def __init__(self, n_classes=2, *, rngs: nnx.Rngs):",
                 "self.inc = DoubleConv(3, 8, rngs=rngs)", "self.head = make_head(8, n_classes, rngs=rngs)",
                 "from .parts import *"]:
        assert line in code, line
    # the same text with no file to read its imports from: nothing of torch in it, left alone (as before)
    assert convert_source(MODEL).code == MODEL


def test_an_absolute_import_of_the_package_the_file_is_in(package):
    """pytorch-tcn's `from pytorch_tcn.conv import TemporalConv1d`, inside pytorch_tcn/: the package's
    own module, found from the top of the package (it was not, and its classes got no rngs)."""
    model = MODEL.replace("from .parts import *\nfrom .parts import make_head", "import torch.nn as nn\n"
                          "from unet.parts import DoubleConv, Up, make_head")
    (package / "absolute.py").write_text(model)
    code = convert_file(package / "absolute.py").code
    for line in ["self.inc = DoubleConv(3, 8, rngs=rngs)", "self.up = Up(16, 8, rngs=rngs)",
                 "self.head = make_head(8, n_classes, rngs=rngs)", "from unet.parts import DoubleConv, Up, make_head"]:
        assert line in code, line
    nowhere = package.parent / "elsewhere"  # the same file outside the package: another library's names
    nowhere.mkdir()
    (nowhere / "absolute.py").write_text(model)
    assert "self.inc = DoubleConv(3, 8)\n" in convert_file(nowhere / "absolute.py").code


def test_shape_arithmetic_stays_static():
    code = convert_source(PARTS).code
    assert "diffY = np.asarray([x2.shape[2] - x1.shape[2]])" in code
    assert "(diffY // 2).item()" in code


def test_the_package_converts_and_verifies(package, tmp_path):
    report = convert_tree(package, tmp_path / "unet_jax")
    assert {f.status for f in report.files} == {"written"}
    pytest.importorskip("torch")
    pytest.importorskip("flax")
    from torch2jax.verify import verify

    for shape in ("float32[1,3,16,16]", "float32[2,3,17,15]"):  # odd sizes: the pads are not zero
        result = verify(package / "model.py", "Net()", [shape])
        assert result.ok, result.table()
        assert any("rest of its package" in n for n in result.notes)
