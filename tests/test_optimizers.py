"""Every torch optimizer and option against its Optax translation, step by step.

The same parameters (a matrix, a vector, a one-element array) and the same random gradients go
through torch's optimizer and the translated Optax transformation (``training.optimizers``,
evaluated as emitted, with any module-level helper it needs); parameters are compared after each
of 6 steps. Hypothesis draws the hyperparameters. What is compared is the distance travelled,
``p - p0``, with rtol 1e-4 (float32 rounding in Adam-like updates is about 1e-6 of it; a wrong
momentum, decay or eps placement is percents of it) and atol 1e-5 x lr + 1e-6: a few float32
ulps of parameters of magnitude up to 3, the resolution of ``p - p0`` itself (torch's decoupled
decay multiplies by ``1 - lr * wd`` rounded to float32, an error of up to 3e-8 of p per step).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from torch2jax.training.errors import NotTranslatable  # noqa: E402
from torch2jax.training.optimizers import SUPPORT, optax_for, set_lr_statement  # noqa: E402

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STEPS = 6
SHAPES = {"w": (3, 4), "b": (4,), "s": (1,)}


def build(name, args, **kwargs):
    translated = optax_for(name, {k: repr(v) for k, v in args.items()}, **kwargs)
    namespace = {"optax": optax, "jax": jax, "jnp": jnp, "np": np}
    for helper in translated.support:
        exec(SUPPORT[helper], namespace)
    return eval(translated.expr, namespace), translated


def run_both(name, args, seed=0, steps=STEPS, tx=None, lr_changes=None):  # noqa: C901
    """Max relative difference of the parameters over all steps; lr_changes: {step: new lr}."""
    rng = np.random.default_rng(seed)
    init = {k: rng.normal(size=s).astype(np.float32) for k, s in SHAPES.items()}
    grads = [{k: rng.normal(size=s).astype(np.float32) for k, s in SHAPES.items()} for _ in range(steps)]
    t_params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in init.items()}
    t_opt = getattr(torch.optim, name.rsplit(".", 1)[-1])(list(t_params.values()), **args)
    if tx is None:
        tx, _ = build(name, args, settable_lr=bool(lr_changes))
    params = {k: jnp.asarray(v) for k, v in init.items()}
    state = tx.init(params)
    worst = 0.0
    for i, g in enumerate(grads):
        if lr_changes and i in lr_changes:
            for group in t_opt.param_groups:
                group["lr"] = lr_changes[i]
            state.hyperparams["learning_rate"] = jnp.asarray(lr_changes[i])
        for k, p in t_params.items():
            p.grad = torch.tensor(g[k])
        t_opt.step()
        updates, state = tx.update({k: jnp.asarray(v) for k, v in g.items()}, state, params)
        params = optax.apply_updates(params, updates)
        lr = t_opt.param_groups[0]["lr"]
        for k, p in t_params.items():
            expected = p.detach().numpy() - init[k]
            actual = np.asarray(params[k]) - init[k]
            np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5 * lr + 1e-6,
                                       err_msg=f"{name} {args} step {i} param {k}")
            worst = max(worst, float(np.max(np.abs(actual - expected))))
    return worst


LR = st.sampled_from([1e-3, 1e-2, 0.1])
WD = st.sampled_from([0, 1e-4, 1e-2, 0.1])


@SETTINGS
@given(lr=LR, momentum=st.sampled_from([0, 0.5, 0.9]), wd=WD, nesterov=st.booleans(), maximize=st.booleans(),
       seed=st.integers(0, 99))
def test_sgd(lr, momentum, wd, nesterov, maximize, seed):
    if nesterov and not momentum:
        nesterov = False
    run_both("torch.optim.SGD", dict(lr=lr, momentum=momentum, weight_decay=wd, nesterov=nesterov, maximize=maximize), seed)


@SETTINGS
@given(name=st.sampled_from(["torch.optim.Adam", "torch.optim.AdamW"]), lr=LR,
       betas=st.sampled_from([(0.9, 0.999), (0.8, 0.95), (0.5, 0.9)]), eps=st.sampled_from([1e-8, 1e-3]), wd=WD,
       amsgrad=st.booleans(), maximize=st.booleans(), seed=st.integers(0, 99))
def test_adam_and_adamw(name, lr, betas, eps, wd, amsgrad, maximize, seed):
    run_both(name, dict(lr=lr, betas=betas, eps=eps, weight_decay=wd, amsgrad=amsgrad, maximize=maximize), seed)


@SETTINGS
@given(lr=LR, alpha=st.sampled_from([0.9, 0.99]), eps=st.sampled_from([1e-8, 1e-2]), wd=WD,
       momentum=st.sampled_from([0, 0.9]), centered=st.booleans(), seed=st.integers(0, 99))
def test_rmsprop(lr, alpha, eps, wd, momentum, centered, seed):
    run_both("torch.optim.RMSprop", dict(lr=lr, alpha=alpha, eps=eps, weight_decay=wd, momentum=momentum,
                                         centered=centered), seed)


@SETTINGS
@given(lr=LR, lr_decay=st.sampled_from([0, 0.1]), wd=WD, init=st.sampled_from([0.0, 0.1]),
       eps=st.sampled_from([1e-10, 1e-2]), seed=st.integers(0, 99))
def test_adagrad(lr, lr_decay, wd, init, eps, seed):
    run_both("torch.optim.Adagrad", dict(lr=lr, lr_decay=lr_decay, weight_decay=wd, initial_accumulator_value=init,
                                         eps=eps), seed)


@SETTINGS
@given(lr=st.sampled_from([0.1, 1.0]), rho=st.sampled_from([0.9, 0.95]), eps=st.sampled_from([1e-6, 1e-3]), wd=WD,
       seed=st.integers(0, 99))
def test_adadelta(lr, rho, eps, wd, seed):
    run_both("torch.optim.Adadelta", dict(lr=lr, rho=rho, eps=eps, weight_decay=wd), seed)


@SETTINGS
@given(lr=LR, betas=st.sampled_from([(0.9, 0.999), (0.8, 0.9)]), eps=st.sampled_from([1e-8, 1e-2]), wd=WD,
       seed=st.integers(0, 99))
def test_adamax(lr, betas, eps, wd, seed):
    run_both("torch.optim.Adamax", dict(lr=lr, betas=betas, eps=eps, weight_decay=wd), seed)


@SETTINGS
@given(name=st.sampled_from(["torch.optim.NAdam", "torch.optim.RAdam"]), lr=LR,
       betas=st.sampled_from([(0.9, 0.999), (0.8, 0.9)]), eps=st.sampled_from([1e-8, 1e-3]), wd=WD,
       decoupled=st.booleans(), seed=st.integers(0, 99))
def test_nadam_and_radam(name, lr, betas, eps, wd, decoupled, seed):
    args = dict(lr=lr, betas=betas, eps=eps, weight_decay=wd, decoupled_weight_decay=decoupled)
    if name.endswith("NAdam"):
        args["momentum_decay"] = 0.004
    run_both(name, args, seed, steps=8)  # RAdam's rectification starts after step 5


def test_nadam_momentum_decay():
    run_both("torch.optim.NAdam", dict(lr=1e-2, momentum_decay=0.01), 3)


@pytest.mark.parametrize("name, args", [
    ("torch.optim.SGD", dict(lr=0.1, momentum=0.9)),
    ("torch.optim.AdamW", dict(lr=1e-2)),
    ("torch.optim.RAdam", dict(lr=1e-2, weight_decay=0.1)),
])
def test_settable_learning_rate(name, args):
    """The rate changed between steps on both sides (what a scheduler does)."""
    run_both(name, args, 5, lr_changes={2: 0.05, 4: 0.001})


def test_the_comparison_catches_wrong_semantics():
    """Tests of the test: momentum 0.8 for 0.9, Optax's default AdamW decay, RMSprop's eps inside the root."""
    cases = [
        ("torch.optim.SGD", dict(lr=0.1, momentum=0.9), optax.sgd(0.1, momentum=0.8)),
        ("torch.optim.AdamW", dict(lr=0.1), optax.adamw(0.1)),
        ("torch.optim.RMSprop", dict(lr=0.01, eps=1e-2), optax.rmsprop(0.01, decay=0.99, eps=1e-2)),
        ("torch.optim.Adagrad", dict(lr=0.1, eps=1e-2), optax.adagrad(0.1, initial_accumulator_value=0.0, eps=1e-2)),
        ("torch.optim.RAdam", dict(lr=0.1, eps=1e-3), optax.radam(0.1, eps=1e-3)),
    ]
    for name, args, wrong in cases:
        with pytest.raises(AssertionError):
            run_both(name, args, 1, tx=wrong)


def test_through_nnx_optimizer_and_jit():
    """The emitted form as users run it: nnx.Optimizer on a layer, a jitted step, the rate set in between."""
    tx, translated = build("torch.optim.Adam", dict(lr=0.01, weight_decay=0.1), settable_lr=True)
    model = nnx.Linear(4, 3, rngs=nnx.Rngs(0))
    t_model = torch.nn.Linear(4, 3)
    with torch.no_grad():
        t_model.weight.copy_(torch.tensor(np.asarray(model.kernel[...]).T))
        t_model.bias.copy_(torch.tensor(np.asarray(model.bias[...])))
    t_opt = torch.optim.Adam(t_model.parameters(), lr=0.01, weight_decay=0.1)
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, x):
        loss, grads = nnx.value_and_grad(lambda m: (m(x) ** 2).mean())(model)
        optimizer.update(model, grads)
        return loss

    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    for step in range(5):
        if step == 3:
            exec(set_lr_statement("optimizer", "0.002"), {"optimizer": optimizer})
            t_opt.param_groups[0]["lr"] = 0.002
        loss = train_step(model, optimizer, jnp.asarray(x))
        t_opt.zero_grad()
        t_loss = (t_model(torch.tensor(x)) ** 2).mean()
        t_loss.backward()
        t_opt.step()
        np.testing.assert_allclose(float(loss), float(t_loss), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(model.kernel[...]).T, t_model.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_reported_instead_of_approximated():
    with pytest.raises(NotTranslatable, match="dampening"):
        optax_for("torch.optim.SGD", {"lr": "0.1", "momentum": "0.9", "dampening": "0.1"})
    with pytest.raises(NotTranslatable):
        optax_for("torch.optim.LBFGS", {})
    assert optax_for("torch.optim.SGD", {"lr": "0.1", "foreach": "True"}).expr == "optax.sgd(0.1)"
