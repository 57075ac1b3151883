"""Every loss and option against torch: values and input gradients, float32.

The translated expression (``training.losses``) is evaluated with jax/jnp/optax; torch computes
the same loss on the same arrays. Hypothesis draws the options (reduction, weights, smoothing,
ignore_index present in the targets, margins, p, K-dimensional shapes...). Tolerance: rtol 1e-5,
atol 1e-5 (float32, sums of up to a few hundred terms).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from torch2jax.training.losses import loss_expression  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RTOL = ATOL = 1e-5
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
F = torch.nn.functional


INPUTS = {"torch.nn.CosineEmbeddingLoss": 3, "torch.nn.MarginRankingLoss": 3, "torch.nn.TripletMarginLoss": 3}


def _jax_loss(name, arrays, options):
    """The translated loss as a function of the loss's inputs; arrays beyond them (weights) are
    bound to the names ``c`` and ``w`` the options refer to."""
    n = INPUTS.get(name, 2)
    names = ["a", "b", "c"][:n]
    expr = loss_expression(name, names, options).expr
    extra = dict(zip(["c", "w"][: len(arrays) - n], arrays[n:])) if n == 2 else {}
    namespace = {"jnp": jnp, "jax": jax, "optax": optax, **{k: jnp.asarray(v) for k, v in extra.items()}}

    def fn(*inputs):
        return eval(expr, {**namespace, **dict(zip(names, inputs[:n]))})

    return fn, expr


def check(name, torch_fn, arrays, options, grad_inputs=(0,)):
    """Compare values and the gradients w.r.t. the float inputs listed in ``grad_inputs``."""
    fn, expr = _jax_loss(name, arrays, options)
    t_args = [torch.tensor(a, requires_grad=i in grad_inputs) for i, a in enumerate(arrays)]
    t_out = torch_fn(*t_args)
    j_out = fn(*[jnp.asarray(a) for a in arrays])
    np.testing.assert_allclose(np.asarray(j_out), t_out.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=expr)
    t_out.sum().backward()
    grads = jax.grad(lambda *xs: fn(*xs).sum(), argnums=tuple(grad_inputs))(*[jnp.asarray(a) for a in arrays])
    for k, i in enumerate(grad_inputs):
        np.testing.assert_allclose(np.asarray(grads[k]), t_args[i].grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=f"grad {i}: {expr}")
    return expr


def rng(seed=0):
    return np.random.default_rng(seed)


@SETTINGS
@given(reduction=REDUCTIONS, shape=st.sampled_from([(4,), (3, 5), (2, 3, 4)]), seed=st.integers(0, 99))
def test_mse_l1(reduction, shape, seed):
    r = rng(seed)
    x, y = r.normal(size=shape).astype(np.float32), r.normal(size=shape).astype(np.float32)
    opts = {"reduction": repr(reduction)}
    check("torch.nn.MSELoss", lambda a, b: F.mse_loss(a, b, reduction=reduction), [x, y], opts, (0, 1))
    check("torch.nn.functional.l1_loss", lambda a, b: F.l1_loss(a, b, reduction=reduction), [x, y], opts, (0, 1))


@SETTINGS
@given(reduction=REDUCTIONS, beta=st.sampled_from([0.0, 0.5, 1.0, 2.0]), delta=st.sampled_from([0.3, 1.0, 3.0]),
       seed=st.integers(0, 99))
def test_smooth_l1_and_huber(reduction, beta, delta, seed):
    r = rng(seed)
    x, y = (r.normal(size=(6, 4)) * 2).astype(np.float32), r.normal(size=(6, 4)).astype(np.float32)
    check("torch.nn.SmoothL1Loss", lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta), [x, y],
          {"reduction": repr(reduction), "beta": repr(beta)})
    check("torch.nn.HuberLoss", lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta), [x, y],
          {"reduction": repr(reduction), "delta": repr(delta)})


@SETTINGS
@given(reduction=REDUCTIONS, weighted=st.booleans(), ignore=st.sampled_from([None, -100, 1]),
       smoothing=st.sampled_from([0.0, 0.1, 0.3]), kdim=st.booleans(), seed=st.integers(0, 99))
def test_cross_entropy_and_nll(reduction, weighted, ignore, smoothing, kdim, seed):
    r = rng(seed)
    classes = 5
    shape = (4, classes, 3, 2) if kdim else (6, classes)
    x = (r.normal(size=shape) * 2).astype(np.float32)
    target_shape = (shape[0],) + shape[2:]
    y = r.integers(0, classes, size=target_shape).astype(np.int64)
    if ignore is not None:
        y.flat[::3] = ignore  # some targets are ignored
    w = r.uniform(0.5, 2.0, size=classes).astype(np.float32)
    kwargs, opts = {"reduction": reduction}, {"reduction": repr(reduction)}
    arrays = [x, y]
    if weighted:
        kwargs["weight"] = torch.tensor(w)
        opts["weight"] = "c"
        arrays = [x, y, w]
    if ignore is not None:
        kwargs["ignore_index"] = ignore
        opts["ignore_index"] = repr(ignore)
    elif (y == -100).any():
        return
    if smoothing:
        kwargs["label_smoothing"] = smoothing
        opts["label_smoothing"] = repr(smoothing)

    def t_ce(a, b, *rest):
        return F.cross_entropy(a, b, **kwargs)

    check("torch.nn.CrossEntropyLoss", t_ce, arrays, opts)
    nll_kwargs = {k: v for k, v in kwargs.items() if k != "label_smoothing"}
    nll_opts = {k: v for k, v in opts.items() if k != "label_smoothing"}
    logp = np.asarray(jax.nn.log_softmax(x, axis=1))
    check("torch.nn.functional.nll_loss", lambda a, b, *rest: F.nll_loss(a, b, **nll_kwargs), [logp, *arrays[1:]], nll_opts)


def test_cross_entropy_default_notes_unmasked_ignore_index():
    result = loss_expression("torch.nn.CrossEntropyLoss", ["x", "y"], {})
    assert result.expr == "optax.softmax_cross_entropy_with_integer_labels(x, y, axis=1).mean()"
    assert [(c, s) for c, s, _ in result.diagnostics] == [("T2J301", "info")]


@SETTINGS
@given(reduction=REDUCTIONS, weighted=st.booleans(), seed=st.integers(0, 99))
def test_bce_with_saturated_outputs(reduction, weighted, seed):
    r = rng(seed)
    x = r.uniform(0.01, 0.99, size=(5, 3)).astype(np.float32)
    y = r.integers(0, 2, size=(5, 3)).astype(np.float32)
    w = r.uniform(0.5, 2, size=(3,)).astype(np.float32)
    opts, kwargs = {"reduction": repr(reduction)}, {"reduction": reduction}
    arrays = [x, y]
    if weighted:
        opts["weight"], kwargs["weight"], arrays = "c", torch.tensor(w), [x, y, w]
    check("torch.nn.BCELoss", lambda a, b, *rest: F.binary_cross_entropy(a, b, **kwargs), arrays, opts)
    # saturated probabilities: torch clamps each log at -100, so the loss is finite (values only:
    # the gradient at exactly 0 or 1 is torch's 1/eps special case)
    x[0, 0], y[0, 0], x[1, 1], y[1, 1] = 0.0, 1.0, 1.0, 0.0
    fn, _ = _jax_loss("torch.nn.BCELoss", arrays, opts)
    expected = F.binary_cross_entropy(*[torch.tensor(a) for a in arrays[:2]], **kwargs).numpy()
    np.testing.assert_allclose(np.asarray(fn(*arrays)), expected, rtol=RTOL, atol=ATOL)


def test_bce_without_the_clamp_is_caught():
    """A test of the test: the unclamped formula is infinite where torch's is 100."""
    x, y = np.array([0.0, 0.5], np.float32), np.array([1.0, 0.0], np.float32)
    broken = -(y * np.log(x) + (1 - y) * np.log1p(-x))
    assert not np.allclose(broken, F.binary_cross_entropy(torch.tensor(x), torch.tensor(y), reduction="none").numpy())


@SETTINGS
@given(reduction=REDUCTIONS, pos=st.booleans(), weighted=st.booleans(), seed=st.integers(0, 99))
def test_bce_with_logits(reduction, pos, weighted, seed):
    r = rng(seed)
    x = (r.normal(size=(6, 3)) * 4).astype(np.float32)
    y = r.uniform(0, 1, size=(6, 3)).astype(np.float32)
    pw, w = r.uniform(0.5, 3, size=(3,)).astype(np.float32), r.uniform(0.5, 2, size=(3,)).astype(np.float32)
    opts, kwargs, arrays = {"reduction": repr(reduction)}, {"reduction": reduction}, [x, y]
    if pos:
        opts["pos_weight"], kwargs["pos_weight"] = "c", torch.tensor(pw)
        arrays.append(pw)
    if weighted:
        opts["weight"], kwargs["weight"] = ("c" if not pos else "w"), torch.tensor(w)
    if weighted and not pos:
        arrays.append(w)
    if weighted and pos:
        arrays.append(w)
    check("torch.nn.BCEWithLogitsLoss", lambda a, b, *rest: F.binary_cross_entropy_with_logits(a, b, **kwargs),
          arrays, opts)


@SETTINGS
@given(reduction=st.sampled_from(["mean", "sum", "none", "batchmean"]), log_target=st.booleans(), seed=st.integers(0, 99))
def test_kl_div(reduction, log_target, seed):
    r = rng(seed)
    x = np.asarray(jax.nn.log_softmax(r.normal(size=(4, 6)).astype(np.float32), axis=1))
    p = np.array(jax.nn.softmax(r.normal(size=(4, 6)).astype(np.float32), axis=1))
    p[0, 0] = 0.0  # 0 * log 0 = 0, as torch's xlogy
    y = np.log(p + 1e-30).astype(np.float32) if log_target else p
    check("torch.nn.KLDivLoss", lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target), [x, y],
          {"reduction": repr(reduction), "log_target": repr(log_target)})


@SETTINGS
@given(reduction=REDUCTIONS, margin=st.sampled_from([0.0, 0.3, -0.2]), seed=st.integers(0, 99))
def test_cosine_embedding_and_margin_ranking(reduction, margin, seed):
    r = rng(seed)
    a, b = r.normal(size=(6, 4)).astype(np.float32), r.normal(size=(6, 4)).astype(np.float32)
    y = np.array([1, -1, 1, -1, 1, -1], np.float32)
    opts = {"reduction": repr(reduction), "margin": repr(margin)}
    check("torch.nn.CosineEmbeddingLoss", lambda u, v, t: F.cosine_embedding_loss(u, v, t, margin=margin, reduction=reduction),
          [a, b, y], opts, (0, 1))
    s1, s2 = r.normal(size=(6,)).astype(np.float32), r.normal(size=(6,)).astype(np.float32)
    check("torch.nn.MarginRankingLoss", lambda u, v, t: F.margin_ranking_loss(u, v, t, margin=margin, reduction=reduction),
          [s1, s2, y], opts, (0, 1))


@SETTINGS
@given(reduction=REDUCTIONS, margin=st.sampled_from([0.5, 1.0]), p=st.sampled_from([1.0, 2.0, 3.0]),
       swap=st.booleans(), seed=st.integers(0, 99))
def test_triplet_margin(reduction, margin, p, swap, seed):
    r = rng(seed)
    a, pos, neg = (r.normal(size=(5, 4)).astype(np.float32) for _ in range(3))
    opts = {"reduction": repr(reduction), "margin": repr(margin), "p": repr(p), "swap": repr(swap)}
    check("torch.nn.TripletMarginLoss",
          lambda u, v, w: F.triplet_margin_loss(u, v, w, margin=margin, p=p, swap=swap, reduction=reduction),
          [a, pos, neg], opts, (0, 1, 2))


def test_deprecated_size_average_and_reduce():
    r = rng(3)
    x, y = r.normal(size=(3, 4)).astype(np.float32), r.normal(size=(3, 4)).astype(np.float32)
    check("torch.nn.MSELoss", lambda a, b: F.mse_loss(a, b, size_average=False), [x, y], {"size_average": "False"})
    check("torch.nn.MSELoss", lambda a, b: F.mse_loss(a, b, reduce=False), [x, y], {"reduce": "False"})


def test_non_literal_reduction_is_not_translated():
    from torch2jax.training.errors import NotTranslatable

    with pytest.raises(NotTranslatable):
        loss_expression("torch.nn.MSELoss", ["x", "y"], {"reduction": "args.reduction"})


@pytest.mark.parametrize("weighted, ignore", [(False, None), (True, None), (False, 2), (True, 2)])
def test_cross_entropy_smoothing_on_k_dimensional_inputs(weighted, ignore):
    """Always run (hypothesis may not draw it): classes on axis 1, spatial axes after."""
    r = rng(11)
    x = (r.normal(size=(3, 4, 5, 2)) * 2).astype(np.float32)
    y = r.integers(0, 4, size=(3, 5, 2)).astype(np.int64)
    w = r.uniform(0.5, 2.0, size=4).astype(np.float32)
    kwargs, opts, arrays = {"label_smoothing": 0.2}, {"label_smoothing": "0.2"}, [x, y]
    if weighted:
        kwargs["weight"], opts["weight"], arrays = torch.tensor(w), "c", [x, y, w]
    if ignore is not None:
        kwargs["ignore_index"], opts["ignore_index"] = ignore, repr(ignore)
    check("torch.nn.CrossEntropyLoss", lambda a, b, *rest: F.cross_entropy(a, b, **kwargs), arrays, opts)
