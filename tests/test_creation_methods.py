"""x.new_zeros / new_ones / new_empty / new_full / new_tensor against torch: shape and dtype taken
from the receiver unless dtype= says otherwise, values exact (new_empty: shape and dtype only)."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from layer_check import check, data  # noqa: E402
from numeric import covers  # noqa: E402

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
SIZES = st.lists(st.integers(1, 4), min_size=0, max_size=3)


@covers("Tensor.new_zeros", "Tensor.new_ones", "Tensor.new_full", "Tensor.new_tensor", "Tensor.new_empty")
@SETTINGS
@given(size=SIZES, star=st.booleans(), fill=st.floats(-3, 3, width=32), dtype=st.sampled_from(["", "torch.float32", "torch.int64"]))
def test_new_tensors_take_the_receivers_dtype(size, star, fill, dtype):
    shape = ", ".join(map(str, size)) if star else f"({', '.join(map(str, size))}{',' if len(size) == 1 else ''})"
    if star and not size:
        shape = "()"
    kw = f", dtype={dtype}" if dtype else ""
    forward = (f"(x.new_zeros({shape}{kw}).sum() + x.new_ones({shape}{kw}).sum() + x.new_full({shape if not star else f'({shape},)' if size else '()'}, {fill!r}{kw}).sum()"
               f" + x.new_tensor([1.5, -2.0]).sum() + (x.new_empty({shape}{kw}).shape == {tuple(size)!r})) * x")
    check("nn.Identity()", data((2, 3)), forward=forward)


def test_int_receiver():
    """An integer tensor makes integer tensors: new_tensor truncates like torch."""
    check("nn.Identity()", np.arange(6).reshape(2, 3).astype(np.int64), grads=False,
          forward="x + x.new_ones(2, 3) * 2 + x.new_tensor([1, 2, 3]) + x.new_full((3,), 7)")
