"""Property tests of the indexing rules: gather, index_select, scatter and scatter_add, one_hot, and
the sorting rules (sort, argsort, topk). Hypothesis draws the shapes, the axis and the indices;
values, dtypes and gradients are compared against torch (tests/properties.py)."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import given, strategies as st  # noqa: E402

from numeric import covers  # noqa: E402
from properties import SETTINGS, check, data  # noqa: E402
from strategies import axis, call_args, shapes  # noqa: E402


def _permutations(shape, dim, seed):
    """Indices along ``dim`` that are a permutation in every line: no position is written twice."""
    keys = np.random.default_rng(seed).random(shape)
    return np.argsort(keys, axis=dim).astype(np.int64)


@covers("torch.gather", "Tensor.gather", "torch.index_select", "Tensor.index_select")
@SETTINGS
@given(shape=shapes(), data_=st.data(), seed=st.integers(0, 9))
def test_gather_and_index_select(shape, data_, seed):
    rank = len(shape)
    d = data_.draw(axis(rank))
    rng = np.random.default_rng(seed)
    index_shape = tuple(rng.integers(1, s + 1) if i != d % rank else rng.integers(1, 6) for i, s in enumerate(shape))
    index = rng.integers(0, shape[d], index_shape).astype(np.int64)
    picks = rng.integers(0, shape[d], rng.integers(1, 6)).astype(np.int64)
    outputs = [f"torch.gather(x, {d}, m)", f"x.gather({d}, m)", f"x.gather(dim={d}, index=m)",
               f"torch.gather(x, {d}, m, sparse_grad=False)", f"torch.index_select(x, {d}, p)", f"x.index_select({d}, p)",
               f"x.index_select(dim={d}, index=p)"]
    check(outputs, {"x": data(shape, seed), "m": index, "p": picks})


def test_gather_with_an_index_expression_warns():
    """Read once, the index goes to jnp.take_along_axis (right where it spans the other axes, as here),
    with a warning: a size-1 index axis would be broadcast where torch takes one slice."""
    result = check(["torch.gather(x, 3, torch.argsort(x, dim=3))", "x.gather(1, torch.zeros(2, 1, 8, 6, dtype=torch.long))"],
                   {"x": data((2, 3, 8, 6))}, allow=("T2J301",))
    assert [d.code for d in result.diagnostics] == ["T2J301", "T2J301"]
    assert result.code.count("# torch2jax: T2J301") == 2  # marked in the output


@covers("torch.scatter", "Tensor.scatter", "torch.scatter_add", "Tensor.scatter_add")
@SETTINGS
@given(shape=shapes(), data_=st.data(), value=st.sampled_from([0.0, -1.5, 3]), seed=st.integers(0, 9))
def test_scatter(shape, data_, value, seed):
    rank = len(shape)
    d = data_.draw(axis(rank))
    rng = np.random.default_rng(seed)
    # scatter: a permutation along dim (torch keeps an unspecified one of values written to one position)
    cut = tuple(rng.integers(1, s + 1) if i != d % rank else s for i, s in enumerate(shape))
    perm = _permutations(cut, d, seed)
    many = rng.integers(0, shape[d], cut).astype(np.int64)  # scatter_add: repeated positions add up
    outputs = [f"x.scatter({d}, m, s)", f"torch.scatter(x, {d}, m, s)", f"x.scatter({d}, m, {value})",
               f"torch.scatter(x, {d}, m, value={value})", f"x.scatter(dim={d}, index=m, src=s)",
               f"x.scatter_add({d}, r, s)", f"torch.scatter_add(x, {d}, r, s)", f"x.scatter_add({d}, m, s)", "y", "z"]
    # the in-place forms as statements on a name: `y = y.at[...].add(s)`
    body = f"y = x.clone()\ny.scatter_add_({d}, r, s)\nz = x * 2\nz.scatter_({d}, m, s)\nz.scatter_(dim={d}, index=m, value={value})"
    check(outputs, {"x": data(shape, seed), "m": perm, "r": many, "s": data(cut, seed + 1)}, body=body)


@covers("torch.nn.functional.one_hot")
@SETTINGS
@given(shape=shapes(min_rank=0, max_rank=3), classes=st.integers(1, 6), seed=st.integers(0, 9))
def test_one_hot(shape, classes, seed):
    labels = np.random.default_rng(seed).integers(0, classes, shape).astype(np.int64)
    outputs = [f"F.one_hot(m, {classes})", f"F.one_hot(m, num_classes={classes})", f"F.one_hot(m, {classes}).float() * 2"]
    check(outputs, {"m": labels})


def test_one_hot_without_a_class_count_is_reported():
    """torch's default (-1) counts the classes from the data: no JAX function of static shape does."""
    from torch2jax import convert_source
    result = convert_source("import torch.nn.functional as F\n\ndef f(m):\n    return F.one_hot(m), F.one_hot(m, -1)\n")
    assert [d.code for d in result.diagnostics] == ["T2J302", "T2J302"]
    assert "# torch2jax: T2J302" in result.code and "F.one_hot(m)" in result.code


@covers("torch.sort", "Tensor.sort", "torch.argsort", "Tensor.argsort", "torch.topk", "Tensor.topk")
@SETTINGS
@given(shape=shapes(), data_=st.data(), descending=st.sampled_from([None, False, True]),
       stable=st.sampled_from([None, False, True]), largest=st.sampled_from([None, True, False]),
       sorted_=st.sampled_from([None, True]), ties=st.booleans(), seed=st.integers(0, 9))
def test_sorting(shape, data_, descending, stable, largest, sorted_, ties, seed):
    rank = len(shape)
    d = data_.draw(st.one_of(st.none(), axis(rank)))
    k = data_.draw(st.integers(1, shape[-1]))
    order = call_args(dim=d, descending=descending, stable=stable)
    # stable sorts agree on indices where values repeat; topk and unstable sorts agree on values only
    x = data(shape, seed).round(0) if ties and stable else data(shape, seed)
    top = call_args(largest=largest, sorted=sorted_)
    outputs = [f"torch.sort(x, {order})" if order else "torch.sort(x)", f"x.sort({order})",
               f"torch.sort(x, {order}).values" if order else "torch.sort(x).values", f"x.sort({order})[1]",
               f"torch.argsort(x, {order})" if order else "torch.argsort(x)", f"x.argsort({order})",
               f"torch.topk(x, {k}{', ' if top else ''}{top})", f"x.topk({k}{', ' if top else ''}{top}).values",
               f"x.topk({k}, dim=-1{', ' if top else ''}{top})[1]", f"torch.topk(x, k={k}).indices"]
    if d is not None and descending is not None:
        outputs.append(f"x.sort({d}, {descending})")
    check(outputs, {"x": x})


@covers("torch.searchsorted", "torch.bucketize")
@SETTINGS
@given(n=st.integers(1, 6), values=st.sampled_from([(), (5,), (2, 3)]), batch=st.sampled_from([(), (2,), (2, 3)]),
       right=st.sampled_from([None, False, True]), out_int32=st.sampled_from([None, True]), seed=st.integers(0, 9))
def test_searchsorted_and_bucketize(n, values, batch, right, out_int32, seed):
    """Values drawn from the sequence's own entries too (ties: left and right differ there), sequences with repeats;
    a batch of sequences (..., n) searched row by row with values (..., m)."""
    rng = np.random.default_rng(seed)
    boundaries = np.sort(rng.integers(0, 4, n)).astype(np.float32)  # repeats
    x = rng.integers(-1, 5, values).astype(np.float32)
    rows = np.sort(rng.integers(0, 4, batch + (n,)), axis=-1).astype(np.float32)
    picks = rng.integers(-1, 5, batch + (3,)).astype(np.float32)
    flags = call_args(out_int32=out_int32, right=right)
    extra = f", {flags}" if flags else ""
    side = call_args(side=None if right is None else ("right" if right else "left"), out_int32=out_int32)
    outputs = [f"torch.searchsorted(b, x{extra})", f"torch.searchsorted(b, x, {side})" if side else "torch.searchsorted(b, x)",
               f"torch.searchsorted(rows, picks{extra})", f"torch.bucketize(x, b{extra})",
               f"torch.bucketize(input=x, boundaries=b{extra})", f"torch.searchsorted(b, 2.0{extra})"]
    check(outputs, {"b": boundaries, "x": x, "rows": rows, "picks": picks})


def test_in_place_scatter_on_a_name_is_an_assignment_elsewhere_reported():
    """`y.scatter_add_(...)` as a statement on a name becomes `y = y.at[...].add(...)`; used as a value (`z = x.scatter_(...)`,
    which also changes x in torch) or on an attribute it is reported and left as torch."""
    from numeric import convert

    result = convert("import torch\n\ndef f(x, i, s):\n    y = x.clone()\n    y.scatter_add_(1, i, s)\n"
                     "    z = x.scatter_(0, i, s)\n    f.t.scatter_(0, i, s)\n    return y, z\n")
    assert "    y = y.at[tuple(jnp.indices(i.shape).at[1].set(i))].add(s)\n" in result.code
    assert [(d.code, d.severity) for d in result.diagnostics] == [("T2J202", "info"), ("T2J202", "error"), ("T2J202", "error")]
    assert "z = x.scatter_(0, i, s)" in result.code
