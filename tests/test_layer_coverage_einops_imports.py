"""einops layers become einops functions (checked against torch); torch-only libraries are reported."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from layer_check import check, data  # noqa: E402
from torch2jax import convert_source  # noqa: E402

EINOPS = """
import torch
import torch.nn as nn
from einops import rearrange
from einops.layers.torch import Rearrange, Reduce


class M(nn.Module):
    def __init__(self):
        super().__init__()
        # patches as in ViT, then a mean over them
        self.to_patches = nn.Sequential(Rearrange('b c (h p) (w q) -> b (h w) (p q c)', p=2, q=2), nn.Linear(12, 5))
        self.pool = Reduce('b n d -> b d', 'mean')

    def forward(self, x):
        return rearrange(self.pool(self.to_patches(x)), 'b d -> d b')
"""


def test_einops_layers_verify_against_torch():
    result = convert_source(EINOPS)
    assert not result.diagnostics
    assert "import einops\n" in result.code and "einops.layers" not in result.code
    check(None, data((2, 3, 4, 6)), source=EINOPS)


def test_unknown_einops_layer_is_reported():
    code = EINOPS.replace("from einops.layers.torch import Rearrange, Reduce", "from einops.layers.torch import Rearrange, Reduce, EinMix")
    result = convert_source(code)
    assert [d.code for d in result.diagnostics] == ["T2J901"]
    assert "EinMix" in result.diagnostics[0].message


TORCHVISION = """
import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as T
from torchvision.ops import nms


def build():
    transform = T.Compose([T.ToTensor()])  # data pipelines stay torch, quietly
    return torchvision.models.resnet18(), transform
"""


def test_torch_only_libraries_are_reported_where_imported_or_called():
    result = convert_source(TORCHVISION)
    found = sorted((d.line, d.code) for d in result.diagnostics)
    assert found == [(6, "T2J901"), (11, "T2J901")], [d.text() for d in result.diagnostics]
    assert result.code.count("# torch2jax: T2J901") == 2


NEVER_SILENT = """
import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = x.clone()
        z = self.fc(x).index_add(0, y, y)
        return z.type(torch.float32) + torch.histc(y)
"""


def test_tensor_methods_jax_lacks_are_translated_or_reported():
    result = convert_source(NEVER_SILENT)
    assert "y = x\n" in result.code and "z.astype(jnp.float32)" in result.code
    assert sorted(d.code for d in result.diagnostics) == ["T2J901", "T2J901"], [d.text() for d in result.diagnostics]


KNOWN_TENSORS = """
import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.seen = set()

    def forward(self, x, mask):
        blk = self.fc  # a layer, not a tensor: its methods are its own
        h = self.fc(x)
        d = torch.cat([h, h], 1).sum(dim=1)
        self.seen.add(3)  # a set: quiet
        names = {"a": 1}
        return h.is_floating_point() + d.unique() + mask.where(h > 0, 0.0) + blk.norm(h) + h.norm(), names.values()
"""


def test_methods_jax_lacks_on_known_tensors_are_reported():
    result = convert_source(KNOWN_TENSORS)
    reported = sorted(d.message.split("`")[1] for d in result.diagnostics if d.code == "T2J901")
    assert reported == ["d.unique(...)"], [d.text() for d in result.diagnostics]
    assert "jnp.issubdtype(h.dtype, jnp.floating)" in result.code and "jnp.where(h > 0, mask, 0.0)" in result.code
    assert "jnp.linalg.vector_norm(h)" in result.code and "blk.norm(h)" in result.code

