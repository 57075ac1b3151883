"""nn.init translated: the same distribution as torch's (fans in torch's convention), the
exact values where the initialiser is deterministic. Checked on large layers by statistics."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("flax")

from flax import nnx  # noqa: E402

from numeric import translate  # noqa: E402

TEMPLATE = """
import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = {layer}
        {init}

    def forward(self, x):
        return self.layer(x)
"""

LAYERS = {
    "linear": ("nn.Linear(384, 128)", "kernel", lambda w: w.T),
    "conv": ("nn.Conv2d(32, 64, 3)", "kernel", lambda w: np.transpose(w, (3, 2, 0, 1))),
    "embedding": ("nn.Embedding(500, 96)", "embedding", lambda w: w),
}
RANDOM = [
    "nn.init.normal_(self.layer.weight, 0.5, 0.02)",
    "nn.init.uniform_(self.layer.weight, -0.3, 0.1)",
    "nn.init.trunc_normal_(self.layer.weight, std=0.5, a=-0.4, b=0.6)",
    "nn.init.xavier_uniform_(self.layer.weight)",
    "nn.init.xavier_normal_(self.layer.weight, gain=2.0)",
    "nn.init.kaiming_uniform_(self.layer.weight, a=0.2)",
    "nn.init.kaiming_normal_(self.layer.weight, mode='fan_out', nonlinearity='relu')",
    "self.layer.weight.data.normal_(0.0, 0.1)",
]


def _weights(kind, init, seed=0):
    layer, path, to_torch_layout = LAYERS[kind]
    tmod, jmod, diags = translate(TEMPLATE.format(layer=layer, init=init))
    assert not [d for d in diags if d.severity == "error"], [d.text() for d in diags]
    torch.manual_seed(seed)
    t = tmod.M().layer.weight.detach().numpy()
    j = to_torch_layout(np.asarray(getattr(jmod.M(rngs=nnx.Rngs(seed)).layer, path)[...]))
    return t, j


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("init", RANDOM)
def test_random_initialisers_match_torch_in_distribution(kind, init):
    t, j = _weights(kind, init)
    assert t.shape == j.shape
    assert abs(j.mean() - t.mean()) <= 0.05 * max(t.std(), 1e-3) + 3 * t.std() / np.sqrt(t.size)
    assert abs(j.std() / t.std() - 1) < 0.05, (j.std(), t.std())  # a wrong fan or gain is off by far more
    assert j.min() >= t.min() - 0.1 * t.std() * 6 and j.max() <= t.max() + 0.1 * t.std() * 6


@pytest.mark.parametrize("init, expected", [
    ("nn.init.constant_(self.layer.weight, 0.25)", lambda t: np.full_like(t, 0.25)),
    ("nn.init.zeros_(self.layer.weight)", np.zeros_like),
    ("nn.init.ones_(self.layer.weight)", np.ones_like),
    ("self.layer.weight.data.fill_(-1.5)", lambda t: np.full_like(t, -1.5)),
    ("nn.init.eye_(self.layer.weight)", lambda t: np.eye(*t.shape, dtype=t.dtype)),
])
def test_deterministic_initialisers_are_exact(init, expected):
    t, j = _weights("linear", init)
    np.testing.assert_array_equal(j, expected(t))
    np.testing.assert_array_equal(t, expected(t))


def test_orthogonal_is_orthogonal_with_torch_gain():
    t, j = _weights("linear", "nn.init.orthogonal_(self.layer.weight, gain=2.0)")
    np.testing.assert_allclose(j @ j.T, 4.0 * np.eye(j.shape[0]), atol=1e-4)  # (128, 384): orthogonal rows, as torch
    np.testing.assert_allclose(t @ t.T, 4.0 * np.eye(t.shape[0]), atol=1e-4)


def test_a_wrong_fan_is_caught():
    """The statistics test can fail: fan_in where torch used fan_out differs by sqrt(384/128)."""
    t, _ = _weights("linear", "nn.init.kaiming_normal_(self.layer.weight, mode='fan_out', nonlinearity='relu')")
    wrong, _ = _weights("linear", "nn.init.kaiming_normal_(self.layer.weight, mode='fan_in', nonlinearity='relu')")
    assert abs(wrong.std() / t.std() - 1) > 0.3


NARROWED = """
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, c, norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = norm_layer(c)

    def forward(self, x):
        return self.bn(self.conv(x)) + x


class Net(nn.Module):
    def __init__(self, block: "type[Block]", c=4):
        super().__init__()
        self.body = nn.Sequential(block(c), block(c))
        self.fc = nn.Linear(c, 2)
        for m in self.modules():
            if isinstance(m, nn.Conv2d) or isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.01)
            if isinstance(m, Block) and m.bn.weight is not None:
                nn.init.constant_(m.bn.weight, 0)

    def forward(self, x):
        return self.fc(self.body(x).mean((2, 3)))
"""


def test_initialisation_through_narrowed_modules_and_their_layers():
    """torchvision's zero_init_residual (`isinstance(m, Bottleneck) and m.bn3.weight is not None`), GoogLeNet's
    `isinstance(m, nn.Conv2d) or isinstance(m, nn.Linear)`, and a block class known by its annotation."""
    tmod, jmod, diags = translate(NARROWED)
    assert not [d for d in diags if d.severity == "error"], diags
    net = jmod.Net(jmod.Block, rngs=nnx.Rngs(0))
    for block in net.body.layers:
        np.testing.assert_array_equal(np.asarray(block.bn.scale[...]), 0.0)
        assert 0 < float(np.std(np.asarray(block.conv.kernel[...]))) < 0.012
    assert 0 < float(np.std(np.asarray(net.fc.kernel[...]))) < 0.012
