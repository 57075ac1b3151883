"""Property tests of the optimizer and scheduler rules through the converter: a training function
written as torch code (an optimizer over a small model, a scheduler stepped per batch or per epoch,
ReduceLROnPlateau stepped with the epoch's loss) is translated and run on both sides from the same
weights on the same batches; the loss of every step and every parameter at the end are compared.
Hypothesis draws the hyperparameters each rule handles. (tests/test_optimizers.py and
tests/test_schedulers.py check the Optax expressions themselves on more cases.)"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")

from flax import nnx  # noqa: E402
from hypothesis import given, strategies as st  # noqa: E402

from numeric import covers  # noqa: E402
from properties import FEW, both_sides  # noqa: E402
from strategies import Src, call_args  # noqa: E402
from torch2jax.weights import load_torch_weights, plan_transfer  # noqa: E402

SOURCE = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x)


def train(model, batches, epochs):
    optimizer = {optimizer}
{scheduler}    losses = []
    for epoch in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            loss = {sign}F.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
{per_batch}            losses.append(loss.item())
{per_epoch}    return losses
"""
EPOCHS, BATCHES = 4, 3


def run_training(optimizer, scheduler=None, per_batch=False, plateau=None, seed=0, rtol=1e-4, maximize=False):
    """Train on both sides; compare every step's loss and the final parameters (relative to how far
    they moved: rtol of the distance travelled, plus a few float32 ulps). ``maximize``: the loss is
    the negative error (an optimizer with maximize=True climbs it; climbing the error itself diverges
    and float32 rounding grows with it on both sides)."""
    sched = f"    scheduler = {scheduler}\n" if scheduler else ""
    if plateau:
        sched += f"    plateau = {plateau}\n"
    step = "scheduler.step()\n" if scheduler else ""
    code = SOURCE.format(optimizer=optimizer, scheduler=sched, sign="-" if maximize else "",
                         per_batch=" " * 12 + step if per_batch and step else "",
                         per_epoch=(" " * 8 + step if not per_batch and step else "")
                         + (" " * 8 + "plateau.step(losses[-1])\n" if plateau else ""))
    result, tmod, jmod = both_sides(code)
    torch.manual_seed(seed)
    t = tmod.M()
    j = jmod.M(rngs=nnx.Rngs(0))
    load_torch_weights(j, t)
    start = {k: v.detach().numpy().copy() for k, v in t.state_dict().items()}
    rng = np.random.default_rng(seed)
    batches = [(rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 2)).astype(np.float32))
               for _ in range(BATCHES)]
    t_losses = tmod.train(t, [tuple(map(torch.from_numpy, b)) for b in batches], EPOCHS)
    with jax.disable_jit():  # op by op: the same few ops for every example, compiled once
        j_losses = jmod.train(j, batches, EPOCHS)
    np.testing.assert_allclose(np.asarray(j_losses), np.asarray(t_losses), rtol=rtol, atol=1e-6,
                               err_msg=f"losses\n{result.code}")
    end = {k: v.detach().numpy() for k, v in t.state_dict().items()}
    paths = {id(v): path for path, v in nnx.iter_graph(j) if isinstance(v, nnx.Variable)}
    flat = dict(nnx.to_flat_state(nnx.state(j)))
    for (name, variable, expected), (_, _, before) in zip(plan_transfer(j, end)[0], plan_transfer(j, start)[0]):
        actual = np.asarray(flat[paths[id(variable)]][...])
        moved = np.abs(expected - before).max()
        np.testing.assert_allclose(actual - before, expected - before, rtol=rtol, atol=rtol * moved + 1e-6,
                                   err_msg=f"parameter {name}\n{result.code}")
    return result


LR = st.sampled_from([1e-3, 1e-2, 0.1])
WD = st.sampled_from([None, 0, 1e-4, 1e-2, 0.1])
EPS = st.sampled_from([None, 1e-8, 1e-3])
BETAS = st.sampled_from([None, (0.9, 0.999), (0.8, 0.9), (0.5, 0.99)])


@covers("torch.optim.SGD")
@FEW
# (dampening other than 0 is reported: torch's first step is undampened, tests/test_optimizers.py)
@given(lr=LR, momentum=st.sampled_from([None, 0, 0.5, 0.9]), dampening=st.sampled_from([None, 0]), wd=WD,
       nesterov=st.booleans(), maximize=st.sampled_from([None, False, True]), seed=st.integers(0, 9))
def test_sgd(lr, momentum, dampening, wd, nesterov, maximize, seed):
    if nesterov and (not momentum or dampening):
        nesterov = False  # torch: nesterov needs momentum and no dampening
    args = call_args(lr=lr, momentum=momentum, dampening=dampening, weight_decay=wd, nesterov=nesterov or None,
                     maximize=maximize)
    run_training(f"torch.optim.SGD(model.parameters(), {args})", seed=seed, maximize=bool(maximize))


@covers("torch.optim.Adam", "torch.optim.AdamW")
@FEW
@given(name=st.sampled_from(["Adam", "AdamW"]), lr=LR, betas=BETAS, eps=EPS, wd=WD, amsgrad=st.sampled_from([None, False, True]),
       maximize=st.sampled_from([None, True]), seed=st.integers(0, 9))
def test_adam_and_adamw(name, lr, betas, eps, wd, amsgrad, maximize, seed):
    args = call_args(lr=lr, betas=betas, eps=eps, weight_decay=wd, amsgrad=amsgrad, maximize=maximize)
    run_training(f"torch.optim.{name}(model.parameters(), {args})", seed=seed, maximize=bool(maximize))
    other = "AdamW" if name == "Adam" else "Adam"  # both in every example
    run_training(f"torch.optim.{other}(model.parameters(), {args})", seed=seed, maximize=bool(maximize))


@covers("torch.optim.RMSprop", "torch.optim.Adagrad", "torch.optim.Adadelta", "torch.optim.Adamax")
@FEW
@given(lr=LR, alpha=st.sampled_from([None, 0.9, 0.99]), eps=EPS, wd=WD, momentum=st.sampled_from([None, 0, 0.5]),
       centered=st.sampled_from([None, True]), lr_decay=st.sampled_from([None, 0, 0.1]),
       init=st.sampled_from([None, 0.0, 0.1]), rho=st.sampled_from([None, 0.9, 0.95]), betas=BETAS, seed=st.integers(0, 9))
def test_rmsprop_adagrad_adadelta_adamax(lr, alpha, eps, wd, momentum, centered, lr_decay, init, rho, betas, seed):
    run_training(f"torch.optim.RMSprop(model.parameters(), {call_args(lr=lr, alpha=alpha, eps=eps, weight_decay=wd, momentum=momentum, centered=centered)})",
                 seed=seed)
    run_training(f"torch.optim.Adagrad(model.parameters(), {call_args(lr=lr, lr_decay=lr_decay, weight_decay=wd, initial_accumulator_value=init, eps=eps)})",
                 seed=seed)
    run_training(f"torch.optim.Adadelta(model.parameters(), {call_args(lr=lr * 10, rho=rho, eps=eps, weight_decay=wd)})", seed=seed)
    run_training(f"torch.optim.Adamax(model.parameters(), {call_args(lr=lr, betas=betas, eps=eps, weight_decay=wd)})", seed=seed)


@covers("torch.optim.NAdam", "torch.optim.RAdam")
@FEW
@given(lr=LR, betas=BETAS, eps=EPS, wd=WD, decoupled=st.sampled_from([None, False, True]),
       momentum_decay=st.sampled_from([None, 4e-3, 1e-2]), seed=st.integers(0, 9))
def test_nadam_and_radam(lr, betas, eps, wd, decoupled, momentum_decay, seed):
    run_training(f"torch.optim.NAdam(model.parameters(), {call_args(lr=lr, betas=betas, eps=eps, weight_decay=wd, momentum_decay=momentum_decay, decoupled_weight_decay=decoupled)})",
                 seed=seed)
    run_training(f"torch.optim.RAdam(model.parameters(), {call_args(lr=lr, betas=betas, eps=eps, weight_decay=wd, decoupled_weight_decay=decoupled)})",
                 seed=seed)


SGD = "torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)"


@covers("torch.optim.lr_scheduler.StepLR", "torch.optim.lr_scheduler.MultiStepLR", "torch.optim.lr_scheduler.ExponentialLR",
        "torch.optim.lr_scheduler.CosineAnnealingLR")
@FEW
@given(step_size=st.integers(1, 4), gamma=st.sampled_from([None, 0.1, 0.5, 0.9]),
       milestones=st.lists(st.integers(1, 10), min_size=1, max_size=4), t_max=st.integers(1, 12),
       eta_min=st.sampled_from([None, 0.0, 1e-3]), per_batch=st.booleans())
def test_decaying_schedulers(step_size, gamma, milestones, t_max, eta_min, per_batch):
    for scheduler in (f"torch.optim.lr_scheduler.StepLR(optimizer, {call_args(step_size=step_size, gamma=gamma)})",
                      f"torch.optim.lr_scheduler.MultiStepLR(optimizer, {call_args(milestones=sorted(set(milestones)), gamma=gamma)})",
                      f"torch.optim.lr_scheduler.ExponentialLR(optimizer, {gamma or 0.9})",
                      f"torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, {call_args(T_max=t_max, eta_min=eta_min)})"):
        run_training(SGD, scheduler, per_batch=per_batch)


@covers("torch.optim.lr_scheduler.LinearLR", "torch.optim.lr_scheduler.ConstantLR", "torch.optim.lr_scheduler.PolynomialLR",
        "torch.optim.lr_scheduler.LambdaLR")
@FEW
@given(start=st.sampled_from([None, 0.1, 1 / 3, 0.5]), end=st.sampled_from([None, 1.0, 0.5]), total=st.sampled_from([None, 1, 3, 8]),
       factor=st.sampled_from([None, 0.25, 0.5]), power=st.sampled_from([None, 1.0, 2.0, 0.5]),
       decay=st.sampled_from([0.5, 0.9]), per_batch=st.booleans())
def test_warmup_and_polynomial_schedulers(start, end, total, factor, power, decay, per_batch):
    for scheduler in (f"torch.optim.lr_scheduler.LinearLR(optimizer, {call_args(start_factor=start, end_factor=end, total_iters=total)})",
                      f"torch.optim.lr_scheduler.ConstantLR(optimizer, {call_args(factor=factor, total_iters=total)})",
                      f"torch.optim.lr_scheduler.PolynomialLR(optimizer, {call_args(total_iters=total, power=power)})",
                      f"torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: {decay} ** epoch)"):
        run_training(SGD, scheduler, per_batch=per_batch)


@covers("torch.optim.lr_scheduler.OneCycleLR")
@FEW
@given(pct=st.sampled_from([None, 0.25, 0.3, 0.5]), strategy=st.sampled_from([None, "cos", "linear"]),
       div=st.sampled_from([None, 10.0, 25.0]), final=st.sampled_from([None, 1e4, 100.0]), three=st.sampled_from([None, False]),
       momentum=st.sampled_from([None, False]), adam=st.booleans(), by_epochs=st.booleans())
def test_one_cycle(pct, strategy, div, final, three, momentum, adam, by_epochs):
    """(three_phase=True is reported, T2J204.)"""
    steps = {"epochs": EPOCHS, "steps_per_epoch": BATCHES} if by_epochs else {"total_steps": EPOCHS * BATCHES}
    args = call_args(max_lr=0.1, pct_start=pct, anneal_strategy=strategy, div_factor=div, final_div_factor=final,
                     three_phase=three, cycle_momentum=momentum, **steps)
    optimizer = "torch.optim.Adam(model.parameters(), lr=0.01)" if adam else SGD
    run_training(optimizer, f"torch.optim.lr_scheduler.OneCycleLR(optimizer, {args})", per_batch=True)


@covers("torch.optim.lr_scheduler.ReduceLROnPlateau")
@FEW
@given(mode=st.sampled_from([None, "min", "max"]), factor=st.sampled_from([None, 0.5, 0.1]), patience=st.integers(0, 2),
       threshold=st.sampled_from([None, 1e-4, 0.5]), threshold_mode=st.sampled_from([None, "rel", "abs"]),
       cooldown=st.sampled_from([None, 0, 1]), min_lr=st.sampled_from([None, 0.0, 0.05]))
def test_reduce_on_plateau(mode, factor, patience, threshold, threshold_mode, cooldown, min_lr):
    args = call_args(mode=mode, factor=factor, patience=patience, threshold=threshold, threshold_mode=threshold_mode,
                     cooldown=cooldown, min_lr=min_lr)
    run_training("torch.optim.SGD(model.parameters(), lr=0.1)", plateau=f"torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, {args})")
