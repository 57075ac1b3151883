"""Property tests of the elementwise rules: activations (module and function forms), unary math,
binary arithmetic with broadcasting, comparisons, clamping and selection. Hypothesis draws the input
shapes and each rule's hyperparameters; values, dtypes and gradients are compared against torch
(tests/properties.py)."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import given, strategies as st  # noqa: E402

from numeric import covers  # noqa: E402
from properties import SETTINGS, check, data  # noqa: E402
from strategies import call_args, shapes  # noqa: E402

PLAIN_ACTIVATIONS = {  # module -> function(s), no hyperparameters
    "ReLU": ["F.relu", "torch.relu"], "ReLU6": ["F.relu6"], "SiLU": ["F.silu"], "Sigmoid": ["torch.sigmoid", "F.sigmoid"],
    "Tanh": ["torch.tanh", "F.tanh"], "SELU": ["F.selu", "torch.selu"], "Hardswish": ["F.hardswish"],
    "Hardsigmoid": ["F.hardsigmoid"], "Mish": ["F.mish"], "Softsign": ["F.softsign"], "LogSigmoid": ["F.logsigmoid"],
    "Tanhshrink": ["F.tanhshrink"],
}


@covers(*(f"torch.nn.{m}" for m in PLAIN_ACTIVATIONS),
        "torch.nn.functional.relu", "torch.nn.functional.relu6", "torch.nn.functional.silu", "torch.sigmoid",
        "torch.tanh", "torch.nn.functional.selu", "torch.nn.functional.hardswish", "torch.nn.functional.hardsigmoid",
        "torch.nn.functional.mish", "torch.nn.functional.softsign", "torch.nn.functional.logsigmoid",
        "torch.nn.functional.tanhshrink")
@SETTINGS
@given(shape=shapes(), scale=st.sampled_from([0.5, 3.0, 8.0]), inplace=st.booleans(), seed=st.integers(0, 9))
def test_plain_activations(shape, scale, inplace, seed):
    layers, outputs = {}, []
    for module, functions in PLAIN_ACTIVATIONS.items():
        takes_inplace = module not in ("Sigmoid", "Tanh", "Softsign", "LogSigmoid", "Tanhshrink")
        layers[module.lower()] = f"nn.{module}({'inplace=False' if inplace and takes_inplace else ''})"
        outputs.append(f"self.{module.lower()}(x)")
        outputs += [f"{f}(x)" for f in functions]
    check(outputs, {"x": data(shape, seed, scale)}, layers)


@covers("torch.nn.LeakyReLU", "torch.nn.functional.leaky_relu", "torch.nn.ELU", "torch.nn.functional.elu",
        "torch.nn.CELU", "torch.nn.functional.celu", "torch.nn.GELU", "torch.nn.functional.gelu",
        "torch.nn.Softplus", "torch.nn.functional.softplus", "torch.nn.GLU", "torch.nn.functional.glu",
        "torch.nn.Threshold", "torch.nn.functional.threshold", "torch.nn.Hardtanh", "torch.nn.functional.hardtanh",
        "torch.nn.Hardshrink", "torch.nn.functional.hardshrink", "torch.nn.Softshrink", "torch.nn.functional.softshrink",
        "torch.nn.Softmax2d")
@SETTINGS
@given(shape=shapes(min_rank=3, max_rank=4), scale=st.sampled_from([0.5, 3.0]),
       slope=st.sampled_from([None, 0.01, 0.2, -0.5]), alpha=st.sampled_from([None, 0.5, 1.0, 2.0]),
       approximate=st.sampled_from([None, "none", "tanh"]), beta=st.sampled_from([None, 0.5, 2.0]),
       threshold=st.sampled_from([None, 1.0, 20.0]), lambd=st.sampled_from([None, 0.1, 0.5, 1.5]),
       bounds=st.sampled_from([(None, None), (-2.0, 2.0), (0.0, 6.0)]), cut=st.sampled_from([(0.1, 20.0), (-0.5, -1.0)]),
       seed=st.integers(0, 9), data_=st.data())
def test_activations_with_hyperparameters(shape, scale, slope, alpha, approximate, beta, threshold, lambd, bounds, cut,
                                          seed, data_):
    even = [d for d in range(-len(shape), len(shape)) if shape[d] % 2 == 0]
    glu_dim = data_.draw(st.sampled_from([None] + even)) if even and shape[-1] % 2 == 0 else (
        data_.draw(st.sampled_from(even)) if even else None)
    x = data(shape, seed, scale)
    if glu_dim is None and shape[-1] % 2:
        x = data(shape[:-1] + (shape[-1] + 1,), seed, scale)
    lo, hi = bounds
    outputs, layers = [], {
        "leaky": f"nn.LeakyReLU({call_args(negative_slope=slope)})",
        "elu": f"nn.ELU({call_args(alpha=alpha)})", "celu": f"nn.CELU({call_args(alpha=alpha)})",
        "gelu": f"nn.GELU({call_args(approximate=approximate)})",
        "softplus": f"nn.Softplus({call_args(beta=beta, threshold=threshold)})",
        "glu": f"nn.GLU({call_args(dim=glu_dim)})",
        "threshold": f"nn.Threshold({cut[0]}, {cut[1]})",
        "hardtanh": f"nn.Hardtanh({call_args(min_val=lo, max_val=hi)})",
        "hardshrink": f"nn.Hardshrink({call_args(lambd=lambd)})", "softshrink": f"nn.Softshrink({call_args(lambd=lambd)})",
        "softmax2d": "nn.Softmax2d()",
    }
    outputs = [f"self.{name}(x)" for name in layers]
    outputs += [f"F.leaky_relu(x, {call_args(negative_slope=slope)})", f"F.elu(x, {call_args(alpha=alpha)})",
                f"F.celu(x, {call_args(alpha=alpha)})", f"F.gelu(x, {call_args(approximate=approximate)})",
                f"F.softplus(x, {call_args(beta=beta, threshold=threshold)})", f"F.glu(x, {call_args(dim=glu_dim)})",
                f"F.threshold(x, {cut[0]}, {cut[1]})", f"F.hardtanh(x, {call_args(min_val=lo, max_val=hi)})",
                f"F.hardshrink(x, {call_args(lambd=lambd)})", f"F.softshrink(x, {call_args(lambd=lambd)})"]
    if slope is not None:
        outputs.append(f"F.leaky_relu(x, {slope})")
    if alpha is not None:
        outputs += [f"F.elu(x, {alpha})", f"torch.celu(x, {alpha})"]
    check(outputs, {"x": x}, layers)


UNARY = {  # torch function -> the input it needs
    "torch.abs": "x", "torch.exp": "x", "torch.log": "p", "torch.log1p": "p", "torch.sin": "x", "torch.cos": "x",
    "torch.sqrt": "p", "torch.rsqrt": "p", "torch.floor": "x", "torch.ceil": "x",
}
METHODS = {  # Tensor method -> the input it needs
    "abs": "x", "exp": "x", "log": "p", "log1p": "p", "sin": "x", "cos": "x", "sqrt": "p", "rsqrt": "p", "neg": "x",
    "square": "x", "floor": "x", "ceil": "x", "sign": "x", "isnan": "n", "erf": "x", "reciprocal": "p", "tanh": "x",
    "sigmoid": "x", "relu": "x",
}


@covers(*UNARY, *(f"Tensor.{m}" for m in METHODS))
@SETTINGS
@given(shape=shapes(min_rank=0), scale=st.sampled_from([0.3, 2.0, 10.0]), seed=st.integers(0, 9))
def test_unary(shape, scale, seed):
    outputs = [f"{f}({x})" for f, x in UNARY.items()] + [f"{x}.{m}()" for m, x in METHODS.items()]
    x = data(shape, seed, scale)
    nan = x.copy()
    nan.reshape(-1)[:: 3] = float("nan")
    check(outputs, {"x": x, "p": data(shape, seed + 1, scale, low=0.1), "n": nan}, grads=True)


BROADCAST = st.sampled_from(["same", "last", "scalar_tensor", "leading"])


def _other_shape(shape, how):
    return {"same": shape, "last": shape[-1:], "scalar_tensor": (), "leading": (1,) + shape[1:]}[how]


@covers("torch.pow", "Tensor.pow", "torch.maximum", "Tensor.maximum", "torch.minimum", "Tensor.minimum",
        "Tensor.mul", "Tensor.div", "Tensor.sub", "torch.Tensor.add")
@SETTINGS
@given(shape=shapes(), how=BROADCAST, exponent=st.sampled_from([2, 3, 0.5, -1.5, 2.0]), scalar=st.sampled_from([0.5, -2, 3.0]),
       seed=st.integers(0, 9))
def test_arithmetic(shape, how, exponent, scalar, seed):
    outputs = [f"torch.pow(p, {exponent})", f"p.pow({exponent})", "torch.pow(p, y)", "p.pow(y)", f"torch.pow({scalar}, y)" if scalar > 0 else "p.pow(2)",
               "torch.maximum(x, y)", "x.maximum(y)", "torch.minimum(x, y)", "x.minimum(y)",
               "x.mul(y)", f"x.mul({scalar})", "x.multiply(y)", "x.div(q)", f"x.div({scalar})", "x.divide(q)", "x.true_divide(q)",
               "x.sub(y)", f"x.sub({scalar})", "x.subtract(y)", "x.sub(y, alpha=1)", "x.add(y)", f"x.add({scalar})",
               "x.add(y, alpha=1)"]
    y_shape = _other_shape(shape, how)
    inputs = {"x": data(shape, seed), "y": data(y_shape, seed + 1), "p": data(shape, seed + 2, low=0.2, scale=2.0),
              "q": data(y_shape, seed + 3, low=0.5) * 2 - 1.5}
    check(outputs, inputs)


@covers("torch.matmul", "Tensor.matmul")
@SETTINGS
@given(n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4), batch=st.sampled_from([(), (2,), (3, 1)]),
       seed=st.integers(0, 9))
def test_matmul(n, k, m, batch, seed):
    outputs = ["torch.matmul(a, b)", "a.matmul(b)", "torch.matmul(v, b)", "torch.matmul(a, w)", "torch.matmul(v, w)",
               "torch.mm(a2, b2)", "a2 @ b2"]
    if batch:
        outputs.append("torch.bmm(a3, b3)")
    inputs = {"a": data(batch + (n, k), seed), "b": data(batch + (k, m), seed + 1), "v": data((k,), seed + 2),
              "w": data((k,), seed + 3), "a2": data((n, k), seed + 4), "b2": data((k, m), seed + 5),
              "a3": data((2, n, k), seed + 6), "b3": data((2, k, m), seed + 7)}
    check(outputs, inputs)


COMPARISONS = ["eq", "ne", "lt", "le", "gt", "ge"]


@covers(*(f"torch.{c}" for c in COMPARISONS), *(f"Tensor.{c}" for c in COMPARISONS))
@SETTINGS
@given(shape=shapes(), how=BROADCAST, scalar=st.sampled_from([0, 1, 0.5, -1.0]), seed=st.integers(0, 9))
def test_comparisons(shape, how, scalar, seed):
    outputs = []
    for c in COMPARISONS:
        outputs += [f"torch.{c}(x, y)", f"x.{c}(y)", f"x.{c}({scalar})", f"torch.{c}(i, {int(scalar)})"]
    x = data(shape, seed).round(0)  # small integers in floats: equal values occur
    check(outputs, {"x": x, "y": data(_other_shape(shape, how), seed + 1).round(0),
                    "i": x.astype("int64")})


@covers("torch.clamp", "Tensor.clamp", "torch.where", "torch.Tensor.where", "Tensor.masked_fill")
@SETTINGS
@given(shape=shapes(), how=BROADCAST, low=st.sampled_from([None, -0.5, 0.0]), high=st.sampled_from([None, 0.5, 1.0]),
       value=st.sampled_from([0.0, -1e9, 2.5]), seed=st.integers(0, 9))
def test_clamp_and_select(shape, how, low, high, value, seed):
    if low is None and high is None:
        high = 0.25  # torch: at least one bound
    bounds = call_args(min=low, max=high)
    outputs = [f"torch.clamp(x, {bounds})", f"x.clamp({bounds})", f"torch.clip(x, {bounds})", f"x.clip({bounds})",
               "torch.clamp(x, lo, hi)", "x.clamp(min=lo)", "x.clamp(max=hi)",
               "torch.where(x > y, x, y)", f"torch.where(x > 0, x, {value})", f"torch.where(m, {value}, y)",
               "x.where(m, y)", f"x.where(x < 0, {value})",
               f"x.masked_fill(m, {value})", f"x.masked_fill(x > 0.5, {value})", "x.masked_fill(m, v)"]
    other = _other_shape(shape, how)
    lo = data(other, seed + 2) - 0.5
    inputs = {"x": data(shape, seed), "y": data(other, seed + 1), "lo": lo, "hi": lo + 1.0,
              "m": data(other, seed + 3) > 0, "v": data((), seed + 4)}
    check(outputs, inputs)


MATH_UNARY = {  # torch function (rules/math.toml) -> the input it needs
    "torch.neg": "x", "torch.reciprocal": "p", "torch.square": "x", "torch.sign": "x", "torch.trunc": "x",
    "torch.expm1": "x", "torch.log2": "p", "torch.log10": "p", "torch.sinh": "x", "torch.cosh": "x",
    "torch.isnan": "f", "torch.isinf": "f", "torch.isfinite": "f", "torch.logical_not": "x", "torch.erf": "x",
    "torch.erfinv": "u", "torch.lgamma": "p", "torch.digamma": "p",
}


@covers(*MATH_UNARY)
@SETTINGS
@given(shape=shapes(min_rank=0), scale=st.sampled_from([0.3, 2.0, 6.0]), seed=st.integers(0, 9))
def test_math_unary(shape, scale, seed):
    outputs = [f"{f}({x})" for f, x in MATH_UNARY.items()] + ["torch.negative(x)", "torch.fix(x)"]
    special = data(shape, seed + 3, scale)
    special.reshape(-1)[::3] = float("nan")
    special.reshape(-1)[1::4] = float("inf")
    special.reshape(-1)[2::5] = -float("inf")
    inputs = {"x": data(shape, seed, scale), "p": data(shape, seed + 1, scale, low=0.2),
              "u": data(shape, seed + 2, 1.8, low=-0.9), "f": special}
    check(outputs, inputs, constant=("f",), tol=5e-5)


@covers("torch.mul", "torch.true_divide", "torch.floor_divide", "torch.remainder", "torch.fmod", "torch.atan2",
        "torch.hypot", "torch.logical_and", "torch.logical_or", "torch.logical_xor", "torch.bitwise_and",
        "torch.bitwise_or", "torch.add", "torch.sub", "torch.div")
@SETTINGS
@given(shape=shapes(), how=BROADCAST, scalar=st.sampled_from([0.5, -2, 3.0]), seed=st.integers(0, 9))
def test_math_binary(shape, how, scalar, seed):
    outputs = ["torch.mul(x, y)", f"torch.mul(x, {scalar})", "torch.multiply(x, y)", "torch.true_divide(x, q)",
               "torch.floor_divide(i, j)", "torch.remainder(x, q)", "torch.fmod(x, q)", "torch.remainder(i, j)",
               "torch.fmod(i, j)", "torch.atan2(x, y)", "torch.arctan2(y, x)", "torch.hypot(x, y)",
               "torch.logical_and(x > 0, y > 0)", "torch.logical_or(x > 0, y < 0)", "torch.logical_xor(x > 0, y > 0)",
               "torch.bitwise_and(i, j)", "torch.bitwise_or(i, j)", "torch.add(x, y)", f"torch.add(x, {scalar})",
               "torch.add(x, y, alpha=1)", "torch.sub(x, y)", "torch.subtract(y, x)", "torch.div(x, q)",
               "torch.divide(x, q)"]
    other = _other_shape(shape, how)
    rng = np.random.default_rng(seed)
    q = data(other, seed + 2, 2.0, low=0.5) * np.where(rng.random(other) < 0.5, -1, 1).astype(np.float32)
    inputs = {"x": data(shape, seed, 3.0), "y": data(other, seed + 1), "q": q,
              "i": rng.integers(-20, 20, shape).astype(np.int64),
              "j": (rng.integers(1, 6, other) * np.where(rng.random(other) < 0.5, -1, 1)).astype(np.int64)}
    check(outputs, inputs)


@covers("torch.dot", "torch.inner", "torch.mv", "torch.kron", "torch.trace", "torch.det", "torch.inverse", "torch.diag",
        "torch.diagonal")
@SETTINGS
@given(n=st.integers(1, 4), m=st.integers(1, 4), k=st.sampled_from([None, 0, 1, -1]), data_=st.data(), seed=st.integers(0, 9))
def test_linear_algebra(n, m, k, data_, seed):
    offset = data_.draw(st.integers(-2, 2))
    d1, d2 = data_.draw(st.sampled_from([(0, 1), (-1, -2), (0, 2), (2, 1)]))
    diag = f", {k}" if k is not None else ""
    outputs = ["torch.dot(v, w)", "torch.inner(v, w)", "torch.inner(a, b)", "torch.mv(a, w)", "torch.kron(a, b)",
               "torch.trace(a)", "torch.det(s)", "torch.linalg.det(s)", "torch.inverse(s)", "torch.linalg.inv(s)",
               f"torch.diag(v{diag})", f"torch.diag(a{diag})", f"torch.diagonal(t, {offset}, {d1}, {d2})",
               f"torch.diagonal(t, offset={offset}, dim1={d1}, dim2={d2})", "torch.diagonal(a)"]
    well_conditioned = np.eye(n, dtype=np.float32) * 3 + data((n, n), seed + 4, 0.5)
    inputs = {"v": data((m,), seed), "w": data((m,), seed + 1), "a": data((n, m), seed + 2), "b": data((2, m), seed + 3),
              "s": well_conditioned, "t": data((n, m, 3), seed + 5)}
    check(outputs, inputs, tol=1e-4)


@covers("torch.any", "torch.all", "torch.count_nonzero", "torch.allclose", "torch.isclose", "torch.nan_to_num",
        "torch.movedim", "torch.broadcast_to", "torch.atleast_2d")
@SETTINGS
@given(shape=shapes(), keepdim=st.sampled_from([None, True, False]), data_=st.data(), seed=st.integers(0, 9))
def test_predicates_and_moves(shape, keepdim, data_, seed):
    rank = len(shape)
    dim = data_.draw(st.integers(-rank, rank - 1))
    dest = data_.draw(st.integers(-rank, rank - 1))
    tol = data_.draw(st.sampled_from([None, 1e-3, 0.5]))
    args = call_args(dim=dim, keepdim=keepdim)
    close = call_args(atol=tol, equal_nan=data_.draw(st.sampled_from([None, True, False])))
    comma = ", " if close else ""
    outputs = ["torch.any(m)", f"torch.any(m, {args})", "torch.all(m)", f"torch.all(m, {args})",
               f"torch.any(m, {dim})", "torch.count_nonzero(m)", f"torch.count_nonzero(m, dim={dim})",
               f"torch.allclose(x, y{comma}{close})", f"torch.isclose(x, y{comma}{close})",
               "torch.nan_to_num(f)", "torch.nan_to_num(f, nan=0.5)", "torch.nan_to_num(f, 0.0, 1e3, -1e3)",
               f"torch.movedim(x, {dim}, {dest})", f"torch.moveaxis(x, {dim}, {dest})",
               f"torch.broadcast_to(x, {(2,) + shape})", "torch.atleast_2d(x)"]
    x = data(shape, seed)
    y = x + data(shape, seed + 1, 1e-2)
    f = data(shape, seed + 2)
    f.reshape(-1)[::3] = float("nan")
    f.reshape(-1)[1::4] = float("inf")
    check(outputs, {"x": x, "y": y, "m": data(shape, seed + 3) > 0.3, "f": f}, constant=("f",))
