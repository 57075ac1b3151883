"""Property tests of the loss rules through the converter: each loss as a module built in ``__init__``
and called in ``forward``, and as its ``F.*`` function, with the options hypothesis draws (reduction,
class weights, ignore_index present among the targets, label smoothing, K-dimensional inputs,
pos_weight, beta, delta, log_target, margins, p, swap...). Values and the gradients with respect to the
inputs are compared against torch (tests/properties.py). (tests/test_losses.py checks the loss
expressions themselves on more cases.)"""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import given, strategies as st  # noqa: E402

from numeric import covers  # noqa: E402
from properties import SETTINGS, check, data  # noqa: E402
from strategies import Src, call_args  # noqa: E402

REDUCTIONS = st.sampled_from([None, "mean", "sum", "none"])


def _both(name, function, inputs, options):
    """The module (``self.<name>``, built with ``options``) and the function, on the same inputs."""
    args = call_args(**options)
    return {name: f"nn.{function[0]}({args})"}, [f"self.{name}({inputs})", f"F.{function[1]}({inputs}{', ' if args else ''}{args})"]


@covers("torch.nn.MSELoss", "torch.nn.functional.mse_loss", "torch.nn.L1Loss", "torch.nn.functional.l1_loss",
        "torch.nn.SmoothL1Loss", "torch.nn.functional.smooth_l1_loss", "torch.nn.HuberLoss", "torch.nn.functional.huber_loss")
@SETTINGS
@given(reduction=REDUCTIONS, beta=st.sampled_from([None, 0.0, 0.5, 2.0]), delta=st.sampled_from([None, 0.3, 1.0, 3.0]),
       shape=st.sampled_from([(4,), (3, 5), (2, 3, 4)]), seed=st.integers(0, 9))
def test_regression_losses(reduction, beta, delta, shape, seed):
    layers, outputs = {}, []
    for name, function, options in (("mse", ("MSELoss", "mse_loss"), {"reduction": reduction}),
                                    ("l1", ("L1Loss", "l1_loss"), {"reduction": reduction}),
                                    ("smooth", ("SmoothL1Loss", "smooth_l1_loss"), {"reduction": reduction, "beta": beta}),
                                    ("huber", ("HuberLoss", "huber_loss"), {"reduction": reduction, "delta": delta})):
        more, calls = _both(name, function, "x, y", options)
        layers.update(more)
        outputs += calls
    check(outputs, {"x": data(shape, seed, 2.0), "y": data(shape, seed + 1)}, layers)


@covers("torch.nn.CrossEntropyLoss", "torch.nn.functional.cross_entropy", "torch.nn.NLLLoss", "torch.nn.functional.nll_loss")
@SETTINGS
@given(reduction=REDUCTIONS, weighted=st.booleans(), ignore=st.sampled_from([None, -100, 1]),
       smoothing=st.sampled_from([None, 0.0, 0.1, 0.3]), kdim=st.booleans(), classes=st.integers(2, 5), seed=st.integers(0, 9))
def test_classification_losses(reduction, weighted, ignore, smoothing, kdim, classes, seed):
    rng = np.random.default_rng(seed)
    shape = (4, classes, 3, 2) if kdim else (6, classes)
    y = rng.integers(0, classes, (shape[0],) + shape[2:]).astype(np.int64)
    if ignore is not None:
        y.flat[::3] = ignore  # some targets are ignored
    w = rng.uniform(0.5, 2.0, classes).astype(np.float32)
    options = {"reduction": reduction, "ignore_index": ignore}
    module = dict(options, weight=Src(f"torch.tensor({w.tolist()})") if weighted else None)
    function = dict(options, weight=Src("w") if weighted else None)
    smooth = {"label_smoothing": smoothing}
    layers = {"ce": f"nn.CrossEntropyLoss({call_args(**module, **smooth)})", "nll": f"nn.NLLLoss({call_args(**module)})"}
    outputs = ["self.ce(x, y)", f"F.cross_entropy(x, y, {call_args(**function, **smooth)})",
               "self.nll(F.log_softmax(x, 1), y)", f"F.nll_loss(F.log_softmax(x, 1), y, {call_args(**function)})"]
    check(outputs, {"x": data(shape, seed, 2.0), "y": y, "w": w}, layers, constant=("w",))


@covers("torch.nn.BCELoss", "torch.nn.functional.binary_cross_entropy", "torch.nn.BCEWithLogitsLoss",
        "torch.nn.functional.binary_cross_entropy_with_logits")
@SETTINGS
@given(reduction=REDUCTIONS, weighted=st.booleans(), pos=st.booleans(), soft=st.booleans(), seed=st.integers(0, 9))
def test_binary_losses(reduction, weighted, pos, soft, seed):
    rng = np.random.default_rng(seed)
    w, pw = rng.uniform(0.5, 2, 3).astype(np.float32), rng.uniform(0.5, 3, 3).astype(np.float32)
    t = rng.uniform(0, 1, (5, 3)).astype(np.float32) if soft else rng.integers(0, 2, (5, 3)).astype(np.float32)
    weight = {"weight": Src(f"torch.tensor({w.tolist()})") if weighted else None}
    pos_weight = {"pos_weight": Src(f"torch.tensor({pw.tolist()})") if pos else None}
    layers = {"bce": f"nn.BCELoss({call_args(reduction=reduction, **weight)})",
              "logits": f"nn.BCEWithLogitsLoss({call_args(reduction=reduction, **weight, **pos_weight)})"}
    fw = {"weight": Src("w") if weighted else None}
    fp = {"pos_weight": Src("q") if pos else None}
    outputs = ["self.bce(p, t)", f"F.binary_cross_entropy(p, t, {call_args(reduction=reduction, **fw)})",
               "self.logits(x, t)", f"F.binary_cross_entropy_with_logits(x, t, {call_args(reduction=reduction, **fw, **fp)})"]
    inputs = {"p": data((5, 3), seed, low=0.02, scale=0.96), "x": data((5, 3), seed + 1, 4.0), "t": t, "w": w, "q": pw}
    # (torch has no derivative of the binary cross-entropy with respect to its target)
    check(outputs, inputs, layers, constant=("t", "w", "q"))


@covers("torch.nn.KLDivLoss", "torch.nn.functional.kl_div")
@SETTINGS
@given(reduction=st.sampled_from([None, "mean", "sum", "none", "batchmean"]), log_target=st.sampled_from([None, False, True]),
       seed=st.integers(0, 9))
def test_kl_div(reduction, log_target, seed):
    options = call_args(reduction=reduction, log_target=log_target)
    target = "F.log_softmax(y, 1)" if log_target else "F.softmax(y, 1)"
    outputs = [f"self.kl(F.log_softmax(x, 1), {target})", f"F.kl_div(F.log_softmax(x, 1), {target}, {options})"]
    check(outputs, {"x": data((4, 6), seed), "y": data((4, 6), seed + 1, 2.0)}, {"kl": f"nn.KLDivLoss({options})"})


@covers("torch.nn.CosineEmbeddingLoss", "torch.nn.functional.cosine_embedding_loss", "torch.nn.MarginRankingLoss",
        "torch.nn.functional.margin_ranking_loss", "torch.nn.TripletMarginLoss", "torch.nn.functional.triplet_margin_loss")
@SETTINGS
@given(reduction=REDUCTIONS, margin=st.sampled_from([None, 0.0, 0.3, -0.2, 1.0]), p=st.sampled_from([None, 1.0, 2.0, 3.0]),
       eps=st.sampled_from([None, 1e-6, 0.1]), swap=st.sampled_from([None, False, True]), seed=st.integers(0, 9))
def test_margin_losses(reduction, margin, p, eps, swap, seed):
    triplet_margin = margin if margin is None or margin > 0 else None  # torch: a positive margin
    options = call_args(reduction=reduction, margin=margin)
    triplet = call_args(reduction=reduction, margin=triplet_margin, p=p, eps=eps, swap=swap)
    layers = {"cosine": f"nn.CosineEmbeddingLoss({options})", "ranking": f"nn.MarginRankingLoss({options})",
              "triplet": f"nn.TripletMarginLoss({triplet})"}
    comma = ", " if options else ""
    outputs = ["self.cosine(a, b, y)", f"F.cosine_embedding_loss(a, b, y{comma}{options})",
               "self.ranking(s, r, y)", f"F.margin_ranking_loss(s, r, y{comma}{options})",
               "self.triplet(a, b, c)", f"F.triplet_margin_loss(a, b, c{', ' if triplet else ''}{triplet})"]
    y = np.array([1, -1, 1, -1, 1, -1], np.float32)
    inputs = {"a": data((6, 4), seed), "b": data((6, 4), seed + 1), "c": data((6, 4), seed + 2), "y": y,
              "s": data((6,), seed + 3), "r": data((6,), seed + 4)}
    check(outputs, inputs, layers, constant=("y",))


def test_cross_entropy_with_probability_targets_fails_instead_of_differing():
    """torch reads a float target of the input's shape as probabilities; the translation writes the
    class-index form (which target it is, is a run-time dtype), which refuses float targets."""
    with pytest.raises(TypeError, match="integer"):
        check(["F.cross_entropy(x, F.softmax(y, 1))"], {"x": data((4, 3)), "y": data((4, 3), 1)})
