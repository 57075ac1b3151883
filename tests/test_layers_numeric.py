"""Layer and function rules checked numerically against torch.

Hypothesis draws the hyperparameters (kernel, stride, padding, dilation, groups,
bias, eps, momentum, ...); each case writes a one-layer torch module as source,
translates it, transfers the weights and compares outputs (and, for BatchNorm,
the running mean after a training step). A wrong transpose, padding default,
eps or momentum fails here.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402
from hypothesis import given, settings, strategies as st, HealthCheck  # noqa: E402

from numeric import max_error, translate  # noqa: E402
from torch2jax import load_torch_weights  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = 2e-5

TEMPLATE = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = {layer}

    def forward(self, x):
        return {forward}
"""


def check(layer: str, x: np.ndarray, forward: str = "self.layer(x)", train: bool = False, tol: float = TOL):
    tmod, jmod, diags = translate(TEMPLATE.format(layer=layer, forward=forward))
    assert not [d for d in diags if d.severity == "error"], [d.text() for d in diags]
    torch.manual_seed(0)
    t = tmod.M()
    j = jmod.M(rngs=nnx.Rngs(0))
    with torch.no_grad():  # non-trivial affine parameters for norm layers
        for p in t.parameters():
            p.add_(0.1 * torch.randn_like(p))
    load_torch_weights(j, t)
    t.train(train)
    j.train() if train else j.eval()
    with torch.no_grad():
        yt = t(torch.from_numpy(x)).numpy()
    yj = np.asarray(j(jnp.asarray(x)))
    assert max_error(yt, yj) <= tol * max(1.0, float(np.abs(yt).max())), layer
    return t, j


def data(shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


@SETTINGS
@given(
    cin=st.integers(1, 4),
    cout_mult=st.integers(1, 3),
    k=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.one_of(st.integers(0, 2), st.sampled_from(["'same'", "'valid'"])),
    dilation=st.integers(1, 2),
    grouped=st.booleans(),
    bias=st.booleans(),
)
def test_conv2d(cin, cout_mult, k, stride, padding, dilation, grouped, bias):
    if padding == "'same'":
        stride = 1  # torch forbids padding='same' with stride > 1
    groups = cin if grouped else 1
    cout = cin * cout_mult if grouped else cout_mult + 1
    layer = f"nn.Conv2d({cin}, {cout}, {k}, stride={stride}, padding={padding}, dilation={dilation}, groups={groups}, bias={bias})"
    check(layer, data((2, cin, 9, 8)))


@SETTINGS
@given(k=st.integers(1, 4), stride=st.integers(1, 2), padding=st.integers(0, 1), bias=st.booleans())
def test_conv1d(k, stride, padding, bias):
    check(f"nn.Conv1d(3, 5, {k}, stride={stride}, padding={padding}, bias={bias})", data((2, 3, 11)))


@SETTINGS
@given(k=st.integers(1, 3), stride=st.one_of(st.none(), st.integers(1, 3)), padding=st.integers(0, 1), kind=st.sampled_from(["MaxPool2d", "AvgPool2d"]))
def test_pool_modules(k, stride, padding, kind):
    if padding * 2 > k:
        padding = 0  # torch requires pad <= kernel/2
    check(f"nn.{kind}({k}, stride={stride}, padding={padding})", data((2, 3, 9, 8)))


@pytest.mark.parametrize("forward", [
    "F.max_pool2d(x, 2)",
    "F.avg_pool2d(x, 3, stride=2, padding=1)",
    "F.adaptive_avg_pool2d(x, 1)",
    "torch.flatten(x, 1)",
    "x.flatten(2)",
    "x.view(x.size(0), -1)",
    "x.permute(0, 2, 3, 1).reshape(2, -1)",
    "x.transpose(1, 3).contiguous()",
    "torch.cat([x, x * 2], dim=1).sum(dim=2, keepdim=True)",
    "torch.stack([x, x], 0).mean(1)",
    "x.max(1)[0] + x.min(dim=2)[0].sum()",
    "torch.max(x, 3)[1].float()",
    "x.max(dim=1).values + torch.min(x, 1, keepdim=True).indices.float()",
    "x.unsqueeze(1).squeeze(1)",
    "x.tanh() + x.sigmoid().abs() - x.relu() * x.square().sqrt() + x.neg().sign()",
    "x.std(dim=1) + x.var(2, keepdim=True).sum() + x.std(-1, unbiased=False).mean()",
    "x.repeat(1, 2, 1, 1) + x.repeat(1, 2, 1, 1).cumsum(dim=3)",
    "x.clamp(min=-0.5, max=0.5) + x.clamp(max=0.1) + x.clip(-1, 1)",
    "x.softmax(dim=1) + x.log_softmax(-1)",
    "x.expand_as(x) * x.type_as(x)",
    "torch.where(x > 0, x, torch.zeros(2, 3, 8, 6)) + torch.exp(x) * torch.sqrt(x.abs())",
    "torch.matmul(x, x.transpose(2, 3)) + x.matmul(x.transpose(-1, -2)) + x.pow(2).sum()",
    "torch.mm(x[0, 0], x[0, 0].t()) + torch.bmm(x[0], x[0].transpose(1, 2)).sum()",
    "torch.argmax(x, dim=1).float() + x.argmax(dim=1, keepdim=True).float()",
    "x.detach() * torch.ones(8, 6) + torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) * torch.arange(0, 6)",
    "x.to(torch.float32).float() + x.long().float() + x.int().float() + x.bool().float()",
    "x.masked_fill(x > 0.5, 0.0) + torch.tril(x) + torch.cat(x.split(2, dim=3), dim=3)",
    "x.abs().rsqrt() + (x.abs() + 1).log() + x.sin() * x.cos() + x.floor() + x.ceil() + x.isnan().float()",
    "x.abs().log1p() + x.erf() + (x.abs() + 1).reciprocal() + x.exp()",
    "x.size(1) * x.dim() * x.numel() + x.mean() + torch.sum(x, dim=1, keepdim=True) + torch.mean(x, 2, keepdim=True)",
])
def test_tensor_functions(forward):
    check("nn.Identity()", data((2, 3, 8, 6)), forward=forward)


@pytest.mark.parametrize("forward", [
    "F.relu(x)", "torch.relu(x)", "F.gelu(x)", "F.gelu(x, approximate='tanh')", "F.silu(x)",
    "torch.sigmoid(x)", "torch.tanh(x)", "F.softmax(x, dim=-1)", "F.log_softmax(x, dim=1)",
    "F.leaky_relu(x, 0.2)", "F.relu6(x * 4)",
])
def test_activation_functions(forward):
    check("nn.Identity()", data((4, 7), scale=3.0), forward=forward)


@pytest.mark.parametrize("layer", [
    "nn.ReLU()", "nn.GELU()", "nn.GELU(approximate='tanh')", "nn.SiLU()", "nn.Sigmoid()", "nn.Tanh()",
    "nn.Softmax(dim=1)", "nn.LogSoftmax(dim=-1)", "nn.LeakyReLU(0.3)", "nn.ReLU6()", "nn.Flatten()",
    "nn.Sequential(nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 2))",
])
def test_activation_modules(layer):
    check(layer, data((4, 7), scale=3.0))


@SETTINGS
@given(bias=st.booleans(), fin=st.integers(1, 6), fout=st.integers(1, 6))
def test_linear(bias, fin, fout):
    check(f"nn.Linear({fin}, {fout}, bias={bias})", data((3, fin)))


@SETTINGS
@given(eps=st.sampled_from([None, 1e-5, 1e-3, 0.1]), scale=st.sampled_from([1e-3, 1.0]))
def test_layernorm(eps, scale):
    # small-variance inputs make the eps default (torch 1e-5 vs Flax 1e-6) visible
    arg = "" if eps is None else f", eps={eps}"
    check(f"nn.LayerNorm(6{arg})", data((3, 4, 6), scale=scale))


@SETTINGS
@given(momentum=st.sampled_from([None, 0.1, 0.01, 0.5]), eps=st.sampled_from([None, 1e-3]), train=st.booleans())
def test_batchnorm2d(momentum, eps, train):
    args = "".join(f", {k}={v}" for k, v in (("momentum", momentum), ("eps", eps)) if v is not None)
    x = data((4, 3, 5, 5), scale=2.0) + 1.0
    t, j = check(f"nn.BatchNorm2d(3{args})", x, train=train)
    if train:  # the running mean after one step follows torch's momentum convention
        assert max_error(t.layer.running_mean.numpy(), j.layer.mean[...]) < 1e-5
        # running_var differs by the documented biased/unbiased estimate (T2J104)
        n = x.size // x.shape[1]
        m = 0.1 if momentum is None else momentum
        unbiased = t.layer.running_var.numpy()
        biased_expected = (1 - m) * 1.0 + m * (unbiased - (1 - m)) / m * (n - 1) / n
        assert max_error(biased_expected, j.layer.var[...]) < 1e-4


def test_batchnorm1d():
    check("nn.BatchNorm1d(5)", data((6, 5)), train=True)
    check("nn.BatchNorm1d(5)", data((6, 5, 4)), train=False)


def test_embedding():
    tmod, jmod, _ = translate(TEMPLATE.format(layer="nn.Embedding(20, 4)", forward="self.layer(x)"))
    t, j = tmod.M(), jmod.M(rngs=nnx.Rngs(0))
    load_torch_weights(j, t)
    ids = np.random.default_rng(0).integers(0, 20, (3, 5))
    with torch.no_grad():
        yt = t(torch.from_numpy(ids)).numpy()
    assert max_error(yt, j(jnp.asarray(ids))) == 0.0


def test_dropout_eval_is_identity_and_train_drops():
    t, j = check("nn.Dropout(0.5)", data((4, 50)), train=False)
    j.train()
    y = np.asarray(j(jnp.ones((4, 50))))
    assert set(np.unique(y)) <= {0.0, 2.0} and (y == 0).any()


@pytest.mark.parametrize("layer, shape", [
    ("nn.AdaptiveAvgPool2d((1, 1))", (2, 3, 5, 4)),
    ("nn.AdaptiveAvgPool2d(1)", (2, 3, 5, 4)),
    ("nn.AdaptiveAvgPool1d(1)", (2, 3, 7)),
    ("nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())", (2, 3, 6, 6)),
    ("nn.Sequential(nn.Conv1d(3, 4, 3), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 2))", (2, 3, 9)),
])
def test_container_and_pool_modules(layer, shape):
    check(layer, data(shape))


def test_module_dict():
    check("nn.ModuleDict({'a': nn.Linear(4, 3), 'b': nn.Linear(3, 2)})", data((2, 4)),
          forward="self.layer['b'](self.layer['a'](x))")
