"""ReduceLROnPlateau as translated (training/plateau.py, over a real nnx.Optimizer with an injected
rate) sets the same rate as torch's after every step(metric), for hypothesis-drawn options and metric
sequences (plateaus, improvements by less than the threshold, cooldowns, the min_lr floor)."""

import pytest

torch = pytest.importorskip("torch")
nnx = pytest.importorskip("flax.nnx")
optax = pytest.importorskip("optax")

from hypothesis import given, settings, strategies as st  # noqa: E402

from torch2jax.training import plateau  # noqa: E402

NAMESPACE: dict = {}
exec(compile(plateau.SOURCE, "<plateau>", "exec"), NAMESPACE)


def _jax_optimizer(lr):
    model = nnx.Linear(2, 1, rngs=nnx.Rngs(0))
    return nnx.Optimizer(model, optax.inject_hyperparams(optax.sgd)(learning_rate=lr), wrt=nnx.Param)


options = st.fixed_dictionaries({
    "mode": st.sampled_from(["min", "max"]),
    "factor": st.sampled_from([0.1, 0.5, 0.9]),
    "patience": st.integers(0, 3),
    "threshold": st.sampled_from([0.0, 1e-4, 0.05, 0.5]),
    "threshold_mode": st.sampled_from(["rel", "abs"]),
    "cooldown": st.integers(0, 2),
    "min_lr": st.sampled_from([0.0, 1e-3, 0.02]),
})
metrics = st.lists(st.one_of(st.sampled_from([1.0, 1.0, 0.99, 1.01]), st.floats(0.01, 10.0)), min_size=1, max_size=25)


@settings(max_examples=200, deadline=None)
@given(options, metrics)
def test_rate_after_every_step_matches_torch(opts, values):
    lr = 0.1
    t_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    t_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **opts)
    j_opt = _jax_optimizer(lr)
    j_sched = NAMESPACE["ReduceLROnPlateau"](j_opt, **opts)
    for value in values:
        t_sched.step(value)
        j_sched.step(value)
        expected = t_opt.param_groups[0]["lr"]
        assert j_sched.get_last_lr()[0] == pytest.approx(expected, rel=1e-6), (opts, values)


def test_a_rate_that_never_drops_would_be_caught():
    """The comparison above can fail: a scheduler that ignores its patience disagrees with torch."""
    t_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    t_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, patience=1)
    j_sched = NAMESPACE["ReduceLROnPlateau"](_jax_optimizer(0.1), patience=3)
    for value in [1.0, 1.0, 1.0]:
        t_sched.step(value)
        j_sched.step(value)
    assert j_sched.get_last_lr()[0] != pytest.approx(t_opt.param_groups[0]["lr"])


def test_factor_of_one_is_refused_like_torch():
    with pytest.raises(ValueError):
        NAMESPACE["ReduceLROnPlateau"](_jax_optimizer(0.1), factor=1.0)
