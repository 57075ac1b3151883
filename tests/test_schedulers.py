"""Every scheduler against torch: the rate each optimizer update uses, per batch and per epoch.

torch runs SGD (or Adam, for OneCycleLR's momentum) with the scheduler stepped where the user
would step it; the translation is the schedule (``training.schedulers``) placed the way the
converter places it: as the optimizer's rate (per batch) or set from a counter (per epoch)
through a real ``nnx.Optimizer`` built with ``optax.inject_hyperparams``. Rates compared with
rtol 1e-5 (Optax evaluates schedules in float32: a cosine of a large argument loses ~1e-6 of it;
a rate one step early or late is off by percents).
"""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from torch2jax.training.errors import NotTranslatable  # noqa: E402
from torch2jax.training.schedulers import SUPPORT, schedule_for  # noqa: E402

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EPOCHS, BATCHES = 4, 3


def torch_rates(kind, args, per_batch, optimizer="SGD", momentum=False):
    """(lr, momentum) used by every optimizer step in torch."""
    p = torch.nn.Parameter(torch.zeros(2))
    opt = getattr(torch.optim, optimizer)([p], lr=0.1, **({"momentum": 0.9} if optimizer == "SGD" else {}))
    sched = getattr(torch.optim.lr_scheduler, kind)(opt, **args)
    rates = []
    for _ in range(EPOCHS):
        for _ in range(BATCHES):
            group = opt.param_groups[0]
            rates.append((group["lr"], group["betas"][0] if optimizer == "Adam" else group.get("momentum")))
            p.grad = torch.ones(2)
            opt.step()
            if per_batch:
                sched.step()
        if not per_batch:
            sched.step()
    return rates


def jax_rates(kind, args, per_batch, optimizer="SGD"):
    """The same, from the translation through an nnx.Optimizer (rates read back from its state)."""
    texts = {k: ("user_function" if callable(v) else repr(v)) for k, v in args.items()}
    translated = schedule_for(f"torch.optim.lr_scheduler.{kind}", texts, "0.1")
    namespace = {"optax": optax, "jnp": jnp, "jax": jax, "math": math}
    namespace.update({"user_function": v for v in args.values() if callable(v)})
    for name in translated.support:
        exec(SUPPORT[name], namespace)
    schedule = eval(translated.expr, namespace)
    momentum = eval(translated.momentum, namespace) if translated.momentum else None
    model = nnx.Linear(2, 1, rngs=nnx.Rngs(0))
    inject = {"learning_rate": schedule if per_batch and not translated.manual_only else 0.1}
    if optimizer == "SGD":
        inject["momentum"] = momentum if momentum is not None else 0.9
        tx = optax.inject_hyperparams(optax.sgd)(**inject)
    else:
        inject["b1"] = momentum if momentum is not None else 0.9
        tx = optax.inject_hyperparams(optax.adam)(**inject)
    opt = nnx.Optimizer(model, tx, wrt=nnx.Param)
    manual = not per_batch or translated.manual_only
    steps = 0
    if manual:  # construction: the rate at step 0
        opt.opt_state.hyperparams["learning_rate"][...] = schedule(0)
    rates = []
    grads = jax.tree.map(jnp.ones_like, nnx.state(model, nnx.Param))
    for _ in range(EPOCHS):
        for _ in range(BATCHES):
            hp = opt.opt_state.hyperparams
            count = opt.opt_state.count[...] if hasattr(opt.opt_state, "count") else None
            lr = float(schedule(count)) if (per_batch and not translated.manual_only) else float(hp["learning_rate"][...])
            mom_key = "momentum" if optimizer == "SGD" else "b1"
            mom = float(momentum(count)) if (momentum is not None and per_batch) else float(hp[mom_key][...])
            rates.append((lr, mom))
            opt.update(model, grads)
            if per_batch and translated.manual_only:
                steps += 1
                opt.opt_state.hyperparams["learning_rate"][...] = schedule(steps)
        if not per_batch:
            steps += 1
            opt.opt_state.hyperparams["learning_rate"][...] = schedule(steps)
    return rates


def compare(kind, args, per_batch=True, optimizer="SGD", momentum=False):
    expected = torch_rates(kind, args, per_batch, optimizer)
    actual = jax_rates(kind, args, per_batch, optimizer)
    np.testing.assert_allclose([lr for lr, _ in actual], [lr for lr, _ in expected], rtol=1e-5, atol=1e-9,
                               err_msg=f"{kind} {args} per_batch={per_batch}")
    if momentum:
        np.testing.assert_allclose([m for _, m in actual], [m for _, m in expected], rtol=1e-5)


PLACEMENT = st.booleans()


@SETTINGS
@given(step_size=st.integers(1, 4), gamma=st.sampled_from([0.1, 0.5, 0.9]), per_batch=PLACEMENT)
def test_step_lr(step_size, gamma, per_batch):
    compare("StepLR", dict(step_size=step_size, gamma=gamma), per_batch)


@SETTINGS
@given(milestones=st.lists(st.integers(1, 10), min_size=1, max_size=4), gamma=st.sampled_from([0.1, 0.5]),
       per_batch=PLACEMENT)
def test_multistep_lr(milestones, gamma, per_batch):
    compare("MultiStepLR", dict(milestones=milestones, gamma=gamma), per_batch)


@SETTINGS
@given(gamma=st.sampled_from([0.5, 0.9, 0.99]), per_batch=PLACEMENT)
def test_exponential_lr(gamma, per_batch):
    compare("ExponentialLR", dict(gamma=gamma), per_batch)


@SETTINGS
@given(t_max=st.integers(1, 12), eta_min=st.sampled_from([0.0, 1e-3]), per_batch=PLACEMENT)
def test_cosine_annealing_lr(t_max, eta_min, per_batch):
    compare("CosineAnnealingLR", dict(T_max=t_max, eta_min=eta_min), per_batch)  # also past T_max


@SETTINGS
@given(start=st.sampled_from([0.1, 1 / 3, 0.5]), end=st.sampled_from([1.0, 0.5]), total=st.integers(1, 8),
       per_batch=PLACEMENT)
def test_linear_constant_polynomial(start, end, total, per_batch):
    compare("LinearLR", dict(start_factor=start, end_factor=end, total_iters=total), per_batch)
    compare("ConstantLR", dict(factor=start, total_iters=total), per_batch)
    compare("PolynomialLR", dict(total_iters=total, power=2.0), per_batch)


@SETTINGS
@given(pct=st.sampled_from([0.25, 0.3, 0.5]), strategy=st.sampled_from(["cos", "linear"]),
       div=st.sampled_from([25.0, 10.0]), optimizer=st.sampled_from(["SGD", "Adam"]))
def test_one_cycle_lr_with_momentum(pct, strategy, div, optimizer):
    args = dict(max_lr=0.5, total_steps=EPOCHS * BATCHES, pct_start=pct, anneal_strategy=strategy, div_factor=div)
    compare("OneCycleLR", args, True, optimizer, momentum=True)


def test_lambda_lr():
    compare("LambdaLR", dict(lr_lambda=lambda epoch: 0.9 ** epoch), False)
    compare("LambdaLR", dict(lr_lambda=lambda step: min(1.0, (step + 1) / 5)), True)  # plain Python min: set eagerly


def test_an_off_by_one_is_caught():
    """A test of the test: the schedule read one step late is a different rate sequence."""
    expected = torch_rates("StepLR", dict(step_size=2, gamma=0.5), True)
    late = [expected[0]] + expected[:-1]
    assert not np.allclose([r for r, _ in late], [r for r, _ in expected])


def test_reported():
    with pytest.raises(NotTranslatable):
        schedule_for("torch.optim.lr_scheduler.ReduceLROnPlateau", {}, "0.1")
    with pytest.raises(NotTranslatable):
        schedule_for("torch.optim.lr_scheduler.StepLR", {"step_size": "2", "last_epoch": "5"}, "0.1")
