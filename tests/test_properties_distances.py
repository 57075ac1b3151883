"""Property tests of the similarity and distance rules: cosine_similarity (an eps large enough to clamp the
norms, whose clamp torch does not differentiate), pairwise_distance (p, eps, keepdim, broadcasting) and
torch.cdist (p, both compute modes: matrix products past 25 rows, and rows that coincide, where torch's
gradient is zero). Values and the gradients of the inputs are compared against torch (tests/properties.py)."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import given, strategies as st  # noqa: E402

from numeric import covers  # noqa: E402
from properties import FEW, check, data  # noqa: E402
from strategies import Src, call_args  # noqa: E402

NORMS = st.sampled_from([None, 1, 2, 3, 1.5, 0, Src("float('inf')")])


@covers("torch.nn.functional.cosine_similarity", "torch.nn.CosineSimilarity", "torch.nn.functional.pairwise_distance",
        "torch.nn.PairwiseDistance")
@FEW
@given(batch=st.sampled_from([(), (3,), (2, 3)]), features=st.integers(1, 5), dim=st.sampled_from([None, -1, 0]),
       eps=st.sampled_from([None, 1e-6, 3.0]), p=NORMS, keepdim=st.sampled_from([None, False, True]),
       broadcast=st.booleans(), seed=st.integers(0, 9))
def test_similarities(batch, features, dim, eps, p, keepdim, broadcast, seed):
    shape = batch + (features,)
    if dim is None and len(shape) < 2:
        dim = 0  # torch's default dim=1 needs two axes
    cos = call_args(dim=dim, eps=eps)
    pairwise = call_args(p=p, eps=None if eps == 3.0 else eps, keepdim=keepdim)
    layers = {"cos": f"nn.CosineSimilarity({cos})", "dist": f"nn.PairwiseDistance({pairwise})"}
    outputs = [f"F.cosine_similarity(a, b{', ' if cos else ''}{cos})", "self.cos(a, b)", "self.cos(a, c)",
               f"F.pairwise_distance(a, b{', ' if pairwise else ''}{pairwise})", "self.dist(a, b)", "self.dist(a, c)",
               f"torch.cosine_similarity(a, b{', ' if cos else ''}{cos})", f"torch.pairwise_distance(a, b, {p or 2})"]
    # an eps of 3 clamps the norms of some rows (their values are about 1 to 4)
    other = (1,) + shape[1:] if broadcast and len(shape) > 1 else shape
    check(outputs, {"a": data(shape, seed), "b": data(shape, seed + 1), "c": data(other, seed + 2)}, layers, tol=5e-5)


@covers("torch.cdist")
@FEW
@given(batch=st.sampled_from([(), (2,), (2, 1)]), rows=st.sampled_from([(3, 4), (1, 5), (30, 4), (5, 27)]),
       features=st.integers(1, 4), p=st.sampled_from([None, 0, 1, 2, 3, 1.5, Src("float('inf')")]),
       mode=st.sampled_from([None, "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist",
                             "use_mm_for_euclid_dist_if_necessary"]), seed=st.integers(0, 9))
def test_cdist(batch, rows, features, p, mode, seed):
    args = call_args(p=p, compute_mode=mode)
    extra = f", {args}" if args else ""
    outputs = [f"torch.cdist(a, b{extra})", f"torch.cdist(b, a{extra})", "torch.cdist(a, b, 2.0, 'use_mm_for_euclid_dist')"]
    if p not in (None, 2) or mode == "donot_use_mm_for_euclid_dist" or (mode != "use_mm_for_euclid_dist" and max(rows) <= 25):
        outputs.append(f"torch.cdist(a, a{extra})")  # rows that coincide: the differences, a zero gradient there
    inputs = {"a": data(batch + (rows[0], features), seed), "b": data(batch[-1:] + (rows[1], features), seed + 1)}
    check(outputs, inputs, tol=5e-5)
