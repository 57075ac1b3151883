"""Property tests of the reductions (sum, mean, max, norms, variances, cumulative ops, softmax, sorting):
hypothesis draws the input shape and the arguments each rule handles; values, dtypes and gradients are
compared against torch (tests/properties.py)."""

import math

import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import example, given, strategies as st  # noqa: E402

from numeric import covers  # noqa: E402
from properties import SETTINGS, check, data  # noqa: E402
from strategies import Src, axes, axis, call_args, shapes  # noqa: E402

DTYPES = st.sampled_from([None, Src("torch.float32"), Src("torch.float64")])


@st.composite
def reduction(draw, tuple_dims=True):
    """(shape, dim or None, keepdim or None)."""
    shape = draw(shapes())
    rank = len(shape)
    choices = [st.none(), axis(rank)] + ([axes(rank)] if tuple_dims else [])
    return shape, draw(st.one_of(*choices)), draw(st.sampled_from([None, False, True]))


@covers("torch.sum", "Tensor.sum", "torch.mean", "Tensor.mean", "torch.prod", "Tensor.prod")
@SETTINGS
@given(case=reduction(), dtype=DTYPES, seed=st.integers(0, 9))
def test_sum_mean_prod(case, dtype, seed):
    shape, dim, keepdim = case
    if dim is None:
        keepdim = None  # torch: keepdim only with dim
    args = call_args(dim=dim, keepdim=keepdim, dtype=dtype)
    one = dim if not isinstance(dim, tuple) else dim[0]  # prod reduces one axis (or all)
    prod = call_args(dim=one, keepdim=keepdim, dtype=dtype)
    comma = ", " if args else ""
    outputs = [f"torch.sum(x{comma}{args})", f"x.sum({args})", f"torch.mean(x{comma}{args})", f"x.mean({args})",
               f"torch.prod(x{', ' if prod else ''}{prod})", f"x.prod({prod})"]
    if isinstance(dim, int) and keepdim is not None:  # torch's positional forms
        outputs += [f"torch.sum(x, {dim}, {keepdim})", f"x.mean({dim}, {keepdim})", f"x.prod({dim}, {keepdim})"]
    check(outputs, {"x": data(shape, seed, low=0.5) * data(shape, seed + 1).clip(-1, 1)})


@covers("torch.amax", "Tensor.amax", "torch.amin", "Tensor.amin", "torch.logsumexp", "Tensor.logsumexp")
@SETTINGS
@given(case=reduction(), seed=st.integers(0, 9))
def test_amax_amin_logsumexp(case, seed):
    shape, dim, keepdim = case
    dim = dim if dim is not None else tuple(range(len(shape)))  # logsumexp needs dim
    args = call_args(dim=dim, keepdim=keepdim)
    outputs = [f"torch.amax(x, {args})", f"x.amax({args})", f"torch.amin(x, {args})", f"x.amin({args})",
               f"torch.logsumexp(x, {args})", f"x.logsumexp({args})"]
    if keepdim is not None:
        outputs += [f"torch.amax(x, {dim!r}, {keepdim})", f"x.logsumexp({dim!r}, {keepdim})"]
    check(outputs, {"x": data(shape, seed, scale=3.0)})


@covers("torch.max", "Tensor.max", "torch.min", "Tensor.min", "torch.argmax", "Tensor.argmax")
@SETTINGS
@given(case=reduction(tuple_dims=False), seed=st.integers(0, 9), other_shape=st.booleans())
def test_max_min_argmax(case, seed, other_shape):
    shape, dim, keepdim = case
    # (torch.max(x, y) with a tensor y is reported: a name there could be a dim)
    outputs = ["torch.max(x)", "x.min()", "torch.argmax(x)", "x.argmax()", "torch.min(x, other=y)", "x.max(other=y)"]
    if dim is not None:
        args = call_args(dim=dim, keepdim=keepdim)
        outputs += [f"torch.max(x, {args})", f"x.min({args})", f"torch.min(x, {dim})", f"x.max({dim})",
                    f"torch.max(x, {args}).values", f"x.min({args}).indices", f"torch.argmax(x, {args})", f"x.argmax({args})"]
        if keepdim is not None:
            outputs += [f"torch.max(x, {dim}, {keepdim})", f"x.argmax({dim}, {keepdim})"]
    y_shape = shape[-1:] if other_shape else shape  # broadcast against the last axis
    check(outputs, {"x": data(shape, seed), "y": data(y_shape, seed + 1)})


@covers("Tensor.std", "Tensor.var", "torch.std", "torch.var")
@SETTINGS
@given(case=reduction(), unbiased=st.sampled_from([None, True, False]), correction=st.sampled_from([None, 0, 1, 2]),
       seed=st.integers(0, 9))
@example(case=((1,), 0, None), unbiased=None, correction=None, seed=0)  # one value: the positional forms without std
def test_std_var(case, unbiased, correction, seed):
    shape, dim, keepdim = case
    if correction is not None:
        unbiased = None  # torch: one of the two
    n = math.prod(shape) if dim is None else math.prod(shape[d] for d in (dim if isinstance(dim, tuple) else (dim,)))
    ddof = correction if correction is not None else (0 if unbiased is False else 1)
    if n - ddof <= 0:
        ddof = correction = unbiased = None  # fewer values than degrees of freedom: inf/nan on both sides
        if n <= 1:
            unbiased = False
    if dim is None:
        keepdim = None
    args = call_args(dim=dim, unbiased=unbiased, keepdim=keepdim, correction=correction)
    # (the standard deviation of one value has no derivative: left out there)
    comma = ", " if args else ""
    outputs = [f"x.std({args})", f"x.var({args})", f"torch.std(x{comma}{args})"] if n > 1 else [f"x.var({args})"]
    outputs.append(f"torch.var(x{comma}{args})")
    if isinstance(dim, int) and unbiased is not None and correction is None:
        outputs += [f"x.var({dim}, {unbiased})", f"torch.var(x, {dim}, {unbiased}, {bool(keepdim)})"]
        if n > 1:
            outputs.append(f"x.std({dim}, {unbiased}, {bool(keepdim)})")
    check(outputs, {"x": data(shape, seed) + 1.0}, tol=5e-5)


@covers("torch.norm", "torch.Tensor.norm", "torch.nn.functional.normalize")
@SETTINGS
@given(case=reduction(), p=st.sampled_from([None, 1, 2, 3, 1.5, Src("float('inf')"), Src("float('-inf')"), "fro"]),
       eps=st.sampled_from([None, 1e-12, 0.5]), seed=st.integers(0, 9))
def test_norms(case, p, eps, seed):
    shape, dim, keepdim = case
    if dim is None:
        keepdim = None
    if p == "fro" and isinstance(dim, int):
        p = 2
    args = call_args(p=p, dim=dim, keepdim=keepdim)
    one = dim if isinstance(dim, int) else -1
    normalize = call_args(p=p if p not in ("fro",) else None, dim=one, eps=eps)
    outputs = [f"torch.norm(x, {args})" if args else "torch.norm(x)", f"x.norm({args})",
               f"F.normalize(x, {normalize})"]
    check(outputs, {"x": data(shape, seed) + 0.1}, tol=5e-5)


@covers("torch.cumsum", "Tensor.cumsum", "torch.cumprod", "Tensor.cumprod")
@SETTINGS
@given(shape=shapes(), data_=st.data(), dtype=DTYPES, seed=st.integers(0, 9))
def test_cumulative(shape, data_, dtype, seed):
    dim = data_.draw(axis(len(shape)))
    args = call_args(dim=dim, dtype=dtype)
    outputs = [f"torch.cumsum(x, {args})", f"x.cumsum({args})", f"torch.cumprod(x, {args})", f"x.cumprod({args})",
               f"torch.cumsum(x, {dim})", f"x.cumprod({dim})"]
    check(outputs, {"x": data(shape, seed, low=0.5) * data(shape, seed + 1).clip(-1, 1)})


@covers("Tensor.softmax", "Tensor.log_softmax", "torch.nn.functional.softmax", "torch.nn.functional.log_softmax",
        "torch.nn.Softmax", "torch.nn.LogSoftmax", "torch.nn.Softmin", "torch.nn.functional.softmin")
@SETTINGS
@given(shape=shapes(), data_=st.data(), dtype=DTYPES, implicit=st.booleans(), seed=st.integers(0, 9))
def test_softmax(shape, data_, dtype, implicit, seed):
    dim = data_.draw(axis(len(shape)))  # (JAX has no softmax of a 0-d array)
    args = call_args(dim=dim, dtype=dtype)
    outputs = [f"x.softmax({args})", f"x.log_softmax({args})", f"F.softmax(x, {args})", f"F.log_softmax(x, {args})",
               f"F.softmin(x, {call_args(dim=dim)})", f"x.softmax({dim})", f"F.log_softmax(x, {dim})",
               f"torch.softmax(x, {dim})", "self.softmax(x)", "self.log_softmax(x)", "self.softmin(x)"]
    layers = {"softmax": f"nn.Softmax(dim={dim})", "log_softmax": f"nn.LogSoftmax({dim})", "softmin": f"nn.Softmin(dim={dim})"}
    if implicit:  # no dim: torch's deprecated choice by rank
        outputs += ["F.softmax(x)", f"F.log_softmax(x, {call_args(dtype=dtype)})", "self.implicit(x)", "self.implicit_log(x)"]
        layers.update(implicit="nn.Softmax()", implicit_log="nn.LogSoftmax()")
    check(outputs, {"x": data(shape, seed, scale=3.0)}, layers)


@covers("torch.diff", "torch.Tensor.diff")
@SETTINGS
@given(shape=shapes(), data_=st.data(), n=st.sampled_from([None, 1, 2]), ends=st.sampled_from([None, "prepend", "append", "both"]),
       seed=st.integers(0, 9))
def test_diff(shape, data_, n, ends, seed):
    rank = len(shape)
    dim = data_.draw(st.one_of(st.none(), axis(rank)))
    d = -1 if dim is None else dim
    edge = list(shape)
    edge[d] = 2
    extra = {}
    if ends in ("prepend", "both"):
        extra["prepend"] = Src("p")
    if ends in ("append", "both"):
        extra["append"] = Src("a")
    if (n or 1) >= shape[d] + 2 * (ends == "both") + 2 * (ends in ("prepend", "append")):
        n = None  # torch: n at most the length of the axis
    args = call_args(n=n, dim=dim, **extra)
    outputs = [f"torch.diff(x, {args})" if args else "torch.diff(x)", f"x.diff({args})"]
    check(outputs, {"x": data(shape, seed), "p": data(tuple(edge), seed + 1), "a": data(tuple(edge), seed + 2)})
