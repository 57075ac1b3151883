"""Hypothesis strategies shared by the property tests: shapes, axes, dtypes, torch literals."""

from __future__ import annotations

from hypothesis import strategies as st


def shapes(min_rank=1, max_rank=4, min_side=1, max_side=5):
    return st.integers(min_rank, max_rank).flatmap(
        lambda rank: st.tuples(*[st.integers(min_side, max_side)] * rank))


def axis(rank: int):
    """An axis of a rank-``rank`` array, negative or not."""
    return st.integers(-rank, rank - 1)


def axes(rank: int, min_size=1):
    """A tuple of distinct axes (some negative)."""
    return st.lists(st.integers(0, rank - 1), min_size=min(min_size, rank), max_size=rank, unique=True).flatmap(
        lambda picked: st.tuples(*[st.sampled_from([a, a - rank]) for a in picked]))


def normalised(dim, rank: int):
    return tuple(d % rank for d in dim) if isinstance(dim, tuple) else dim % rank


def call_args(*positional, **keywords) -> str:
    """Arguments as torch source: ``None`` keywords are left out (torch's default)."""
    parts = [repr(p) for p in positional] + [f"{k}={v if isinstance(v, Src) else repr(v)}"
                                               for k, v in keywords.items() if v is not None]
    return ", ".join(parts)


class Src(str):
    """Source text passed through ``call_args`` as it is (``torch.float64``, a name)."""
