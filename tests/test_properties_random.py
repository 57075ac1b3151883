"""Property tests of the random rules (randn, rand, randint, normal, bernoulli, multinomial, randperm, the
``_like`` forms, dropout): the two frameworks draw different numbers, so what is compared is what the
draw must be. For each output: the shape and dtype torch gives, and the distribution's properties
(support, mean and spread within a few standard errors on thousands of draws, a permutation being a
permutation, whole channels dropped and survivors scaled by 1 / (1 - p)), checked on torch's draws
too so that a wrong expectation cannot pass. Hypothesis draws the sizes, bounds, moments and rates."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402
from hypothesis import given, strategies as st  # noqa: E402

from numeric import covers  # noqa: E402
from properties import FEW, both_sides, NARROWED, check, data, source  # noqa: E402
from strategies import call_args  # noqa: E402

N = 4000  # draws per statistic: a mean is off by more than 6 standard errors with probability ~1e-9


def draw(outputs, inputs, layers=None, train=True, seed=0):
    """(torch's results, JAX's results), one module ``M`` translated, called once in train mode."""
    code = source(outputs, list(inputs), layers)
    _, tmod, jmod = both_sides(code)
    torch.manual_seed(seed)
    t, j = tmod.M(), jmod.M(rngs=nnx.Rngs(seed))
    t.train(train)
    j.train() if train else j.eval()
    with torch.no_grad():
        t_out = [o.numpy() if isinstance(o, torch.Tensor) else o for o in t(*[torch.from_numpy(v) for v in inputs.values()])]
    j_out = [np.asarray(o) for o in j(*[jnp.asarray(v) for v in inputs.values()])]  # op by op: fixed shapes, compiled once
    for expr, a, b in zip(outputs, t_out, j_out):
        assert a.shape == b.shape, f"{expr}: shape {b.shape}, torch {a.shape}"
        assert str(b.dtype) == NARROWED.get(str(a.dtype), str(a.dtype)), f"{expr}: dtype {b.dtype}, torch {a.dtype}"
    return t_out, j_out


def close(value, expected, standard_error, what):
    assert abs(value - expected) <= 6 * standard_error + 1e-6, f"{what}: {value}, expected {expected} +- {standard_error}"


def normal(values, mean, std, what):
    v = values.astype(np.float64).ravel()
    close(v.mean(), mean, std / math.sqrt(v.size), f"{what} mean")
    close(v.std(), std, std * math.sqrt(2 / v.size), f"{what} std")


def uniform(values, low, high, what):
    v = values.astype(np.float64).ravel()
    assert v.min() >= low and v.max() < high, f"{what}: outside [{low}, {high})"
    close(v.mean(), (low + high) / 2, (high - low) / math.sqrt(12 * v.size), f"{what} mean")


def integers(values, low, high, what):
    v = values.ravel()
    assert np.array_equal(v, np.round(v)) and v.min() >= low and v.max() < high, f"{what}: outside [{low}, {high})"
    assert set(np.unique(v).astype(int)) == set(range(low, high)), f"{what}: not every value drawn"
    k = high - low
    close(v.astype(np.float64).mean(), (low + high - 1) / 2, math.sqrt((k * k - 1) / 12 / v.size), f"{what} mean")


@covers("torch.randn", "torch.rand", "torch.randint", "torch.normal", "torch.randn_like", "torch.rand_like",
        "torch.randint_like", "torch.randperm")
@FEW
@given(low=st.integers(-3, 2), span=st.integers(1, 6), mean=st.sampled_from([0.0, -1.5, 2.0]), std=st.sampled_from([0.5, 1.0, 3.0]),
       n=st.integers(1, 30), half=st.booleans(), seed=st.integers(0, 9))
def test_random_numbers(low, span, mean, std, n, half, seed):
    high = low + span
    dtype = "torch.float16" if half else "torch.float32"
    outputs = [f"torch.randn({N})", f"torch.randn(2, {N // 2})", f"torch.rand({N}, dtype={dtype})", f"torch.rand((4, {N // 4}))",
               f"torch.randint({low}, {high}, ({N},))", f"torch.randint({high - low}, ({N},))",
               f"torch.randint(low={low}, high={high}, size=({N},), dtype=torch.int32)",
               f"torch.normal({mean}, {std}, ({N},))", f"torch.normal(m, {std})", f"torch.normal(m, s)",
               "torch.randn_like(x)", f"torch.rand_like(x, dtype={dtype})", f"torch.randint_like(x, {low}, {high})",
               f"torch.randint_like(i, {span})", f"torch.randperm({n})"]
    inputs = {"x": np.zeros((8, N // 8), np.float32), "i": np.zeros(N, np.int64), "m": np.full(N, mean, np.float32),
              "s": np.full(N, std, np.float32)}
    for out in draw(outputs, inputs, seed=seed):
        normal(out[0], 0, 1, "randn")
        normal(out[1], 0, 1, "randn 2-D")
        uniform(out[2], 0, 1, "rand")
        uniform(out[3], 0, 1, "rand tuple")
        integers(out[4], low, high, "randint")
        integers(out[5], 0, high - low, "randint(high, size)")
        integers(out[6], low, high, "randint keywords")
        normal(out[7], mean, std, "normal")
        normal(out[8], mean, std, "normal(tensor, float)")
        normal(out[9], mean, std, "normal(tensor, tensor)")
        normal(out[10], 0, 1, "randn_like")
        uniform(out[11], 0, 1, "rand_like")
        integers(out[12], low, high, "randint_like")
        integers(out[13], 0, span, "randint_like(high)")
        assert sorted(out[14].tolist()) == list(range(n)), "randperm: not a permutation"


@covers("torch.bernoulli", "torch.multinomial")
@FEW
@given(p=st.sampled_from([0.1, 0.5, 0.9]), q=st.sampled_from([0.0, 0.3, 1.0]), classes=st.integers(2, 5),
       samples=st.integers(2, 4), seed=st.integers(0, 9))
def test_bernoulli_and_multinomial(p, q, classes, samples, seed):
    w = np.random.default_rng(seed).uniform(0.5, 2.0, classes).astype(np.float32)
    probs = w / w.sum()
    rows = N // 4
    outputs = ["torch.bernoulli(p)", f"torch.bernoulli(x, {q})", "torch.multinomial(w, 1)",
               "torch.multinomial(w, num_samples=1)", f"torch.multinomial(w, {samples}, replacement=True)",
               f"torch.multinomial(w, {samples}, True)"]
    inputs = {"p": np.full((2, N // 2), p, np.float32), "x": np.zeros(N, np.float32),
              "w": np.tile(w, (rows, 1))}
    for out in draw(outputs, inputs, seed=seed):
        for values, rate, what in ((out[0], p, "bernoulli(p)"), (out[1], q, "bernoulli(x, p)")):
            assert set(np.unique(values)) <= {0.0, 1.0}, what
            close(values.mean(), rate, math.sqrt(rate * (1 - rate) / values.size), what)
        for values, what in ((out[2], "multinomial"), (out[3], "multinomial keyword"), (out[4], "with replacement"),
                             (out[5], "with replacement, positional")):
            assert values.min() >= 0 and values.max() < classes, what
            counts = np.bincount(values.ravel(), minlength=classes) / values.size
            for c in range(classes):
                close(counts[c], probs[c], math.sqrt(probs[c] * (1 - probs[c]) / values.size), f"{what}: class {c}")


DROPOUTS = {"torch.nn.functional.dropout": (0, "F.dropout"), "torch.nn.functional.dropout1d": (1, "F.dropout1d"),
            "torch.nn.functional.dropout2d": (2, "F.dropout2d"), "torch.nn.functional.dropout3d": (3, "F.dropout3d")}


@covers(*DROPOUTS, "torch.nn.Dropout", "torch.nn.Dropout1d", "torch.nn.Dropout2d", "torch.nn.Dropout3d")
@FEW
@given(p=st.sampled_from([0.0, 0.2, 0.5, 0.8]), train=st.booleans(), keyword=st.booleans(), seed=st.integers(0, 9))
def test_dropout(p, train, keyword, seed):
    outputs, inputs = [], {}
    for name, (dims, function) in DROPOUTS.items():
        rate = f"p={p}" if keyword else f"{p}"
        inputs[f"x{dims}"] = np.random.default_rng(seed + dims).uniform(1.0, 2.0, (8, 50) + (3,) * dims).astype(np.float32)
        outputs += [f"{function}(x{dims}, {rate}, training=self.training)", f"{function}(x{dims}, {p}, self.training)"]
    outputs += [f"self.drop{dims}(x{dims})" for dims in (1, 2, 3)]  # the channel dropout modules
    outputs += [f"torch.dropout(x0, {p}, self.training)", "self.drop(x0)"]
    layers = {"drop": f"nn.Dropout({call_args(p=p)})", **{f"drop{n}": f"nn.Dropout{n}d({call_args(p=p)})" for n in (1, 2, 3)}}
    cases = [(d, inputs[f"x{d}"]) for d in range(4) for _ in range(2)] + [(d, inputs[f"x{d}"]) for d in (1, 2, 3)]
    for out in draw(outputs, inputs, layers, train=train, seed=seed):
        for k, (dims, x) in enumerate(cases):
            y = out[k]
            if not train or p == 0:
                np.testing.assert_allclose(y, x, rtol=1e-6, err_msg="identity in eval mode (or p=0)")
                continue
            kept = y != 0
            np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-5, err_msg="survivors scaled by 1 / (1 - p)")
            if dims:  # whole channels: every element of a (batch, channel) map kept or dropped together
                per_map = kept.reshape(8, 50, -1)
                assert np.all(per_map.all(-1) | ~per_map.any(-1)), "channel dropout drops whole maps"
                kept = per_map[..., 0]
            close(1 - kept.mean(), p, math.sqrt(p * (1 - p) / kept.size), "fraction dropped")
        for y in out[-2:]:
            if train and p:
                close((y == 0).mean(), p, math.sqrt(p * (1 - p) / y.size), "torch.dropout / nn.Dropout")
            else:
                np.testing.assert_allclose(y, inputs["x0"], rtol=1e-6)


ALPHA = 1.7580993408473766  # SELU's scale * alpha


def alpha_dropped(x, y, p, what, channels=False):
    """``y`` is alpha dropout of ``x`` (standard normal): each value a * x + alpha * a * p (kept) or
    alpha * a * (p - 1) (dropped), a fraction p dropped (whole (sample, channel) maps with ``channels``),
    and zero mean and unit variance kept."""
    if p == 1:
        np.testing.assert_array_equal(y, np.zeros_like(x), err_msg=f"{what}: p=1 zeroes everything")
        return
    a = ((ALPHA ** 2 * p + 1) * (1 - p)) ** -0.5
    dropped = np.isclose(y, ALPHA * a * (p - 1), rtol=1e-6, atol=1e-6)  # a survivor there has x within 1e-6 of -alpha
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] + ALPHA * a * p, rtol=1e-5, atol=1e-5,
                               err_msg=f"{what}: survivors are a * x + alpha * a * p")
    if channels:
        per_map = dropped.reshape(x.shape[0], x.shape[1], -1)
        assert np.all(per_map.all(-1) | ~per_map.any(-1)), f"{what}: whole channels dropped"
        dropped = per_map[..., 0]
    close(dropped.mean(), p, math.sqrt(p * (1 - p) / dropped.size), f"{what}: fraction dropped")
    if channels:  # values of a map are dropped together: about one independent value per map
        close(y.mean(), 0, 1 / math.sqrt(dropped.size), f"{what}: mean")
    else:
        normal(y, 0, 1, f"{what}: SELU's moments")


@covers("torch.nn.functional.alpha_dropout", "torch.nn.functional.feature_alpha_dropout", "torch.nn.AlphaDropout",
        "torch.nn.FeatureAlphaDropout", "torch.nn.functional.rrelu", "torch.nn.RReLU")
@FEW
@given(p=st.sampled_from([0.0, 0.2, 0.5, 0.8, 1.0]), bounds=st.sampled_from([None, (0.1, 0.3), (0.0, 1.0), (0.25, 0.25)]),
       keyword=st.booleans(), seed=st.integers(0, 9))
def test_alpha_dropout_and_rrelu_in_training(p, bounds, keyword, seed):
    """Train mode draws (compared as distributions, on torch's draws too); eval mode, and the functional forms
    without ``training`` (torch's default False), compute what torch does then: the identity and a leaky ReLU."""
    rate = f"p={p}" if keyword else f"{p}"
    slopes = call_args(lower=bounds[0], upper=bounds[1]) if bounds and keyword else ", ".join(map(str, bounds or ()))
    sep = ", " if slopes else ""
    outputs = [f"F.alpha_dropout(x, {p}, self.training)", f"F.alpha_dropout(x, {rate}, training=self.training)",
               f"F.feature_alpha_dropout(m, {rate}, training=self.training)", "self.drop(x)", "self.drop_maps(m)",
               f"F.alpha_dropout(x, {rate})", f"F.rrelu(x{sep}{slopes}, training=self.training)", "self.act(x)",
               f"F.rrelu(x{sep}{slopes})"]
    layers = {"drop": f"nn.AlphaDropout({call_args(p=p)})", "drop_maps": f"nn.FeatureAlphaDropout({rate})",
              "act": f"nn.RReLU({slopes})"}
    inputs = {"x": np.random.default_rng(seed).standard_normal(N).astype(np.float32),
              "m": np.random.default_rng(seed + 1).standard_normal((40, 50, 3)).astype(np.float32)}
    lower, upper = bounds or (1 / 8, 1 / 3)
    x, m = inputs["x"], inputs["m"]
    leaky = np.where(x >= 0, x, x * (lower + upper) / 2)
    for train, out in [(train, out) for train in (True, False) for out in draw(outputs, inputs, layers, train, seed)]:
        for k, (source, channels) in enumerate([(x, False), (x, False), (m, True), (x, False), (m, True)]):
            if train and p:
                alpha_dropped(source, out[k], p, outputs[k], channels)
            else:
                np.testing.assert_allclose(out[k], source, rtol=1e-6, err_msg=f"{outputs[k]}: the identity")
        np.testing.assert_allclose(out[5], x, rtol=1e-6, err_msg="F.alpha_dropout without training: the identity")
        for k in (6, 7):
            if not train:
                np.testing.assert_allclose(out[k], leaky, rtol=1e-6, err_msg=f"{outputs[k]} in eval mode: a leaky ReLU")
                continue
            negative = x < 0
            np.testing.assert_array_equal(out[k][~negative], x[~negative], err_msg=f"{outputs[k]}: x where x >= 0")
            drawn = out[k][negative] / x[negative]
            assert drawn.min() >= lower - 1e-6 and drawn.max() <= upper + 1e-6, f"{outputs[k]}: slopes outside [lower, upper]"
            close(drawn.mean(), (lower + upper) / 2, (upper - lower) / math.sqrt(12 * drawn.size), f"{outputs[k]}: slopes")
            assert upper == lower or len(np.unique(drawn.round(5))) > 100, f"{outputs[k]}: one slope per element"
        np.testing.assert_allclose(out[8], leaky, rtol=1e-6, err_msg="F.rrelu without training: a leaky ReLU")


@covers("torch.nn.functional.alpha_dropout", "torch.nn.functional.feature_alpha_dropout", "torch.nn.AlphaDropout",
        "torch.nn.FeatureAlphaDropout", "torch.nn.functional.rrelu", "torch.nn.RReLU")
@FEW
@given(p=st.sampled_from([None, 0.2, 0.5]), bounds=st.sampled_from([None, (0.1, 0.3), (0.0, 1.0), (-0.5, 0.5)]),
       shape=st.sampled_from([(5,), (2, 3, 4)]), seed=st.integers(0, 9))
def test_alpha_dropout_and_rrelu_in_eval(p, bounds, shape, seed):
    """Eval mode, values and gradients against torch: the identity, and a leaky ReLU of slope (lower + upper) / 2."""
    slopes = ", ".join(map(str, bounds or ()))
    layers = {"drop": f"nn.AlphaDropout({call_args(p=p)})", "drop_maps": f"nn.FeatureAlphaDropout({call_args(p=p)})",
              "act": f"nn.RReLU({slopes})"}
    rate = f", {p}" if p is not None else ""
    outputs = ["self.drop(x)", "self.drop_maps(x) * 2", f"F.alpha_dropout(x{rate}, training=self.training)",
               f"F.feature_alpha_dropout(x{rate}, training=self.training)", f"F.alpha_dropout(x{rate})", "self.act(x)",
               f"F.rrelu(x{', ' if slopes else ''}{slopes})", f"F.rrelu(x, {call_args(lower=bounds and bounds[0])})",
               "F.rrelu(x, training=self.training)"]
    check(outputs, {"x": data(shape, seed)}, layers)
