"""Property tests of the initialisation rules (nn.init.*, weight.data.normal_() & co, calculate_gain):
a module initialises its layers' parameters in ``__init__``; the translation's parameters, read back in
torch's layout, must follow the distribution torch's follow (support, mean and spread within a few
standard errors, fans in torch's convention for Linear, conv and Embedding weights), the deterministic
initialisers must give torch's values exactly, and orthogonal matrices must be orthogonal with torch's
gain. Every expectation is checked on torch's parameters too. Hypothesis draws the sizes and each
initialiser's arguments."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("jax")

from flax import nnx  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

from numeric import covers  # noqa: E402
from properties import FEW, both_sides, HEADER  # noqa: E402
from strategies import call_args  # noqa: E402

MODULE = HEADER + """

class M(nn.Module):
    def __init__(self):
        super().__init__()
{layers}
{inits}

    def forward(self, x):
        return ({reads},)
"""


def initialised(layers: dict, inits: list[str], reads: list[str], seed: int):
    """(torch's values, the translation's values) of ``reads`` after ``__init__``."""
    code = MODULE.format(layers="\n".join(f"        self.{k} = {v}" for k, v in layers.items()),
                         inits="\n".join(f"        {i}" for i in inits), reads=", ".join(reads))
    _, tmod, jmod = both_sides(code)
    torch.manual_seed(seed)
    t = tmod.M()
    j = jmod.M(rngs=nnx.Rngs(seed))
    with torch.no_grad():
        t_out = [o.numpy() if isinstance(o, torch.Tensor) else o for o in t(torch.zeros(1))]
    j_out = [np.asarray(o) if not isinstance(o, float) else o for o in j(np.zeros(1, np.float32))]
    for expr, a, b in zip(reads, t_out, j_out):
        assert np.shape(a) == np.shape(b), f"{expr}: shape {np.shape(b)}, torch {np.shape(a)}"
    return t_out, j_out, t


def close(value, expected, standard_error, what):
    assert abs(value - expected) <= 6 * standard_error + 1e-7, f"{what}: {value}, expected {expected} +- {standard_error}"


def spread(values, mean, std, what, bound=None):
    v = np.asarray(values, np.float64).ravel()
    close(v.mean(), mean, std / math.sqrt(v.size), f"{what}: mean")
    close(v.std(), std, std * math.sqrt(2 / v.size) * (1 if bound is None else 0.8), f"{what}: std")
    if bound is not None:
        assert np.abs(v - mean).max() <= bound * (1 + 1e-6), f"{what}: beyond the bound {bound}"


def fans(weight):
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.from_numpy(np.ascontiguousarray(weight)))


# a few sizes, so that the initialisers' operations compile once for all examples (op by op, per shape)
SIZES_IN, SIZES_OUT = st.sampled_from([48, 96]), st.sampled_from([32, 80])
NONLINEARITIES = st.sampled_from([None, "relu", "leaky_relu", "tanh", "linear", "sigmoid", "selu", "conv2d"])


@covers("torch.nn.init.uniform_", "torch.nn.init.normal_", "torch.nn.init.trunc_normal_", "torch.nn.init.constant_",
        "torch.nn.init.zeros_", "torch.nn.init.ones_", "torch.nn.init.eye_", "Tensor.normal_", "Tensor.uniform_",
        "Tensor.zero_", "Tensor.fill_")
@FEW
@given(fin=SIZES_IN, fout=SIZES_OUT, low=st.sampled_from([-1.0, -0.1, 0.0]), width=st.sampled_from([0.2, 1.0, 3.0]),
       mean=st.sampled_from([None, 0.0, 0.5, -1.0]), std=st.sampled_from([None, 0.02, 0.5, 2.0]), cut=st.sampled_from([None, 1.0, 2.5]),
       value=st.sampled_from([0.25, -1.5, 3]), seed=st.integers(0, 9))
def test_distributions_and_constants(fin, fout, low, width, mean, std, cut, value, seed):
    m, s = mean or 0.0, 1.0 if std is None else std
    trunc = {} if cut is None else {"a": m - cut * s, "b": m + cut * s}
    layers = {f"l{i}": f"nn.Linear({fin}, {fout})" for i in range(11)}
    inits = [f"nn.init.uniform_(self.l0.weight, {low}, {low + width})", f"nn.init.normal_(self.l1.weight, {call_args(mean=mean, std=std)})",
             f"nn.init.trunc_normal_(self.l2.weight, {call_args(mean=mean, std=std, **trunc)})",
             f"nn.init.constant_(self.l3.weight, {value})", "nn.init.zeros_(self.l4.weight)", "nn.init.ones_(self.l4.bias)",
             "nn.init.eye_(self.l5.weight)", f"self.l6.weight.data.normal_({m}, {s})", f"self.l7.weight.data.uniform_({low}, {low + width})",
             "self.l8.bias.data.zero_()", f"self.l8.weight.data.fill_({value})", f"self.l9.weight.data.normal_(std={s})",
             f"nn.init.uniform_(self.l10.weight)"]
    reads = [f"self.l{i}.weight" for i in range(11)] + ["self.l4.bias", "self.l8.bias"]
    t_out, j_out, _ = initialised(layers, inits, reads, seed)
    for out in (t_out, j_out):
        v = out[0]
        assert v.min() >= low and v.max() < low + width
        close(v.mean(), low + width / 2, width / math.sqrt(12 * v.size), "uniform_: mean")
        spread(out[1], m, s, "normal_")
        if cut is None:  # torch's default bounds, [-2, 2], far from the mean in units of std or not
            assert out[2].min() >= -2 - 1e-6 and out[2].max() <= 2 + 1e-6, "trunc_normal_: default bounds"
        else:  # cut at mean +- cut * std: the truncated normal's spread, as torch's draws show it
            assert np.abs(out[2] - m).max() <= cut * s * (1 + 1e-5), "trunc_normal_: bounds"
            z = math.sqrt(2) * cut
            var = 1 - 2 * cut * math.exp(-cut * cut / 2) / (math.sqrt(2 * math.pi) * math.erf(z / 2))
            spread(out[2], m, s * math.sqrt(var), "trunc_normal_")
        spread(out[6], m, s, "weight.data.normal_")
        assert out[7].min() >= low and out[7].max() < low + width, "weight.data.uniform_"
        spread(out[9], 0.0, s, "normal_(std=)")
        assert out[10].min() >= 0 and out[10].max() < 1, "uniform_ default [0, 1)"
    for k in (3, 4, 5, 8, 11, 12):  # the deterministic ones: torch's values
        np.testing.assert_array_equal(j_out[k], t_out[k], err_msg=reads[k])


@covers("torch.nn.init.xavier_uniform_", "torch.nn.init.xavier_normal_", "torch.nn.init.kaiming_uniform_",
        "torch.nn.init.kaiming_normal_", "torch.nn.init.orthogonal_", "torch.nn.init.calculate_gain")
@settings(FEW, max_examples=6)  # each gain and mode is a new initialiser for JAX to compile
@given(fin=SIZES_IN, fout=SIZES_OUT, cin=st.sampled_from([3, 6]), k=st.sampled_from([1, 3]),
       gain=st.sampled_from([None, 1.0, 2.0, 0.5]), a=st.sampled_from([None, 0.0, 0.2, math.sqrt(5)]),
       mode=st.sampled_from([None, "fan_in", "fan_out"]), nonlinearity=NONLINEARITIES, slope=st.sampled_from([None, 0.1, 0.3]),
       seed=st.integers(0, 9))
def test_scaled_initialisers(fin, fout, cin, k, gain, a, mode, nonlinearity, slope, seed):
    layers = {"lin": f"nn.Linear({fin}, {fout})", "conv": f"nn.Conv2d({cin}, 32, {k})", "emb": f"nn.Embedding({fout * 4}, {fin})",
              "xu": f"nn.Linear({fin}, {fout})", "xn": f"nn.Conv2d({cin}, 16, {k})", "ku": f"nn.Linear({fin}, {fout})",
              "ku_conv": f"nn.Conv2d({cin}, 24, {k})", "ortho": f"nn.Linear({fin}, {fout})", "ortho_tall": f"nn.Linear({fout}, {fin})"}
    kaiming = call_args(a=a, mode=mode, nonlinearity=nonlinearity if nonlinearity != "conv2d" else None)
    g = call_args(gain=gain)
    inits = [f"nn.init.kaiming_normal_(self.lin.weight, {kaiming})", f"nn.init.kaiming_normal_(self.conv.weight, {kaiming})",
             f"nn.init.kaiming_uniform_(self.emb.weight, {kaiming})", f"nn.init.xavier_uniform_(self.xu.weight, {g})",
             f"nn.init.xavier_normal_(self.xn.weight, {g})", f"nn.init.kaiming_uniform_(self.ku.weight, {kaiming})",
             f"nn.init.kaiming_uniform_(self.ku_conv.weight, {kaiming})", f"nn.init.orthogonal_(self.ortho.weight, {g})",
             f"nn.init.orthogonal_(self.ortho_tall.weight, {g})"]
    gain_args = f"'{nonlinearity or 'relu'}'" + (f", {slope}" if nonlinearity == "leaky_relu" and slope is not None else "")
    reads = ["self.lin.weight", "self.conv.weight", "self.emb.weight", "self.xu.weight", "self.xn.weight", "self.ku.weight",
             "self.ku_conv.weight", "self.ortho.weight", "self.ortho_tall.weight", f"nn.init.calculate_gain({gain_args})",
             "nn.init.calculate_gain('leaky_relu')", "nn.init.calculate_gain('tanh')"]
    t_out, j_out, t = initialised(layers, inits, reads, seed)
    negative = 0.0 if a is None else a
    given = nonlinearity if nonlinearity != "conv2d" else None  # (conv2d only for calculate_gain)
    kaiming_gain = torch.nn.init.calculate_gain(given or "leaky_relu", negative)
    xgain = 1.0 if gain is None else gain
    for out in (t_out, j_out):
        for i, uniform in ((0, False), (1, False), (2, True), (5, True), (6, True)):
            fan_in, fan_out = fans(t_out[i])
            std = kaiming_gain / math.sqrt(fan_out if mode == "fan_out" else fan_in)
            spread(out[i], 0.0, std, reads[i], bound=math.sqrt(3) * std if uniform else None)
        for i, uniform in ((3, True), (4, False)):
            fan_in, fan_out = fans(t_out[i])
            std = xgain * math.sqrt(2.0 / (fan_in + fan_out))
            spread(out[i], 0.0, std, reads[i], bound=math.sqrt(3) * std if uniform else None)
        for i in (7, 8):
            w = out[i].astype(np.float64)
            small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            np.testing.assert_allclose(small, xgain ** 2 * np.eye(len(small)), atol=1e-4 * xgain ** 2, err_msg=reads[i])
    for k in (9, 10, 11):
        assert abs(j_out[k] - t_out[k]) <= 1e-9 * abs(t_out[k]), f"{reads[k]}: {j_out[k]}, torch {t_out[k]}"
