"""torch learning-rate schedulers as Optax schedules, changing the rate when torch does.

A torch scheduler sets the optimizer's rate at construction and at every ``scheduler.step()``;
its rate is a function of the number of ``step()`` calls so far. ``schedule_for`` gives that
function as an Optax schedule (or a short ``lambda count: ...``). Two placements, both exact:

- **per batch** (``scheduler.step()`` right after every ``optimizer.step()``): the schedule is the
  optimizer's learning rate (Optax evaluates it at the update count, i.e. the number of
  ``scheduler.step()`` calls before that update), and the ``step()`` call goes;
- **anywhere else** (per epoch, or a LambdaLR whose function is plain Python): the optimizer is
  built with a settable rate (``optax.inject_hyperparams``), the scheduler becomes the schedule
  plus a step counter, and each ``scheduler.step()`` sets the rate (``set_lr_statement``).

OneCycleLR also cycles the momentum (SGD's ``momentum``, Adam's ``b1``) by default: that schedule is
injected into the optimizer the same way. ReduceLROnPlateau depends on the metrics passed to
``step(metric)`` and is reported. Pure Python: no jax/optax/torch import here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from torch2jax.training.errors import NotTranslatable

SIGNATURES: dict[str, tuple[list[str], dict[str, str]]] = {
    "StepLR": (["step_size", "gamma"], {"gamma": "0.1"}),
    "MultiStepLR": (["milestones", "gamma"], {"gamma": "0.1"}),
    "ExponentialLR": (["gamma"], {}),
    "CosineAnnealingLR": (["T_max", "eta_min"], {"eta_min": "0.0"}),
    "LinearLR": (["start_factor", "end_factor", "total_iters"],
                 {"start_factor": "1 / 3", "end_factor": "1.0", "total_iters": "5"}),
    "ConstantLR": (["factor", "total_iters"], {"factor": "1 / 3", "total_iters": "5"}),
    "PolynomialLR": (["total_iters", "power"], {"total_iters": "5", "power": "1.0"}),
    "OneCycleLR": (["max_lr", "total_steps", "epochs", "steps_per_epoch", "pct_start", "anneal_strategy",
                    "cycle_momentum", "base_momentum", "max_momentum", "div_factor", "final_div_factor", "three_phase"],
                   {"pct_start": "0.3", "anneal_strategy": "'cos'", "cycle_momentum": "True", "base_momentum": "0.85",
                    "max_momentum": "0.95", "div_factor": "25.0", "final_div_factor": "10000.0", "three_phase": "False"}),
    "LambdaLR": (["lr_lambda"], {}),
}
MANUAL_ONLY = {"LambdaLR"}  # the user's function may not trace under jit: the rate is set in Python

SUPPORT: dict[str, str] = {
    "one_cycle_schedule": '''def one_cycle_schedule(initial, peak, final, warmup_end, total_end, cosine=True):
    """torch's OneCycleLR shape: from initial to peak until step warmup_end, then to final at total_end."""

    def anneal(start, end, pct):
        if cosine:
            return end + (start - end) / 2.0 * (jnp.cos(jnp.pi * pct) + 1)
        return start * (1 - pct) + end * pct  # exact at both ends in float32 (torch computes in float64)

    def schedule(count):
        rising = anneal(initial, peak, count / warmup_end)
        falling = anneal(peak, final, (count - warmup_end) / (total_end - warmup_end))
        return jnp.where(count <= warmup_end, rising, falling)

    return schedule
''',
}


@dataclass(frozen=True)
class ScheduleExpr:
    expr: str  # a function of the number of scheduler.step() calls
    manual_only: bool = False  # set the rate in Python at each step(), even when stepped per batch
    momentum: str | None = None  # a schedule for the optimizer's momentum / b1 (OneCycleLR)
    support: tuple[str, ...] = ()


def _literal(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError):
        return _EXPRESSION


_EXPRESSION = object()


def _group(text: str) -> str:
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return f"({text})"
    return text if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)) else f"({text})"


def _number(text: str):
    value = _literal(text)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _times(a: str, b: str) -> str:
    """``a * b``, computed when both are numbers."""
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        return repr(x * y)
    return f"{_group(a)} * {_group(b)}"


def schedule_for(torch_name: str, args: dict[str, str], base_lr: str) -> ScheduleExpr:
    """The rate after ``count`` calls of ``scheduler.step()``, for a scheduler built with ``args``."""
    kind = torch_name.rsplit(".", 1)[-1]
    if kind == "ReduceLROnPlateau":
        raise NotTranslatable("T2J204", "ReduceLROnPlateau depends on the metric passed to step(); not translated "
                              "(optax.contrib.reduce_on_plateau scales the updates instead)")
    if kind not in SIGNATURES:
        raise NotTranslatable("T2J204", f"`{torch_name}` is not translated")
    if "last_epoch" in args and _literal(args["last_epoch"]) != -1:
        raise NotTranslatable("T2J204", "resuming a scheduler with last_epoch is not translated")
    full = {**SIGNATURES[kind][1], **{k: v for k, v in args.items() if k not in ("last_epoch", "verbose")}}
    return globals()[f"_{kind.lower()}"](full, base_lr)


def _steplr(a, lr):
    return ScheduleExpr(f"optax.exponential_decay({lr}, transition_steps={a['step_size']}, "
                        f"decay_rate={a['gamma']}, staircase=True)")


def _multisteplr(a, lr):
    milestones = _literal(a["milestones"])
    if not isinstance(milestones, (list, tuple, set)):
        raise NotTranslatable("T2J204", "MultiStepLR milestones must be a literal list to translate")
    counts: dict[int, int] = {}
    for m in milestones:
        counts[m] = counts.get(m, 0) + 1
    gamma = a["gamma"]
    scales = ", ".join(f"{m}: {gamma if n == 1 else f'{_group(gamma)} ** {n}'}" for m, n in sorted(counts.items()))
    return ScheduleExpr(f"optax.piecewise_constant_schedule({lr}, {{{scales}}})")


def _exponentiallr(a, lr):
    return ScheduleExpr(f"optax.exponential_decay({lr}, transition_steps=1, decay_rate={a['gamma']})")


def _cosineannealinglr(a, lr):
    # torch's recursive form follows the closed form, also past T_max (it rises again): so does this.
    eta_min, t_max = a["eta_min"], a["T_max"]
    if _number(eta_min) == 0:
        return ScheduleExpr(f"lambda count: {_group(lr)} * (1 + jnp.cos(jnp.pi * count / {_group(t_max)})) / 2")
    return ScheduleExpr(f"lambda count: {_group(eta_min)} + ({lr} - {_group(eta_min)}) * "
                        f"(1 + jnp.cos(jnp.pi * count / {_group(t_max)})) / 2")


def _linearlr(a, lr):
    start, end = _times(lr, a["start_factor"]), _times(lr, a["end_factor"])
    return ScheduleExpr(f"optax.linear_schedule({start}, {end}, transition_steps={a['total_iters']})")


def _constantlr(a, lr):
    return ScheduleExpr(f"optax.piecewise_constant_schedule({_times(lr, a['factor'])}, "
                        f"{{{a['total_iters']}: 1 / {_group(a['factor'])}}})")


def _polynomiallr(a, lr):
    return ScheduleExpr(f"optax.polynomial_schedule({lr}, 0.0, power={a['power']}, "
                        f"transition_steps={a['total_iters']})")


def _lambdalr(a, lr):
    return ScheduleExpr(f"lambda count: {_group(lr)} * {_group(a['lr_lambda'])}(count)", manual_only=True)


def _onecyclelr(a, lr):
    if _literal(a["three_phase"]) is not False:
        raise NotTranslatable("T2J204", "OneCycleLR with three_phase=True is not translated")
    if "total_steps" in a and _literal(a["total_steps"]) is not None:
        total = a["total_steps"]
    elif "epochs" in a and "steps_per_epoch" in a:
        total = _times(a["epochs"], a["steps_per_epoch"])
    else:
        raise NotTranslatable("T2J204", "OneCycleLR needs total_steps, or epochs and steps_per_epoch")
    strategy = _literal(a["anneal_strategy"])
    if strategy not in ("cos", "linear"):
        raise NotTranslatable("T2J204", "OneCycleLR's anneal_strategy must be a literal 'cos' or 'linear'")
    max_lr, div, final_div = a["max_lr"], a["div_factor"], a["final_div_factor"]
    initial = f"{_group(max_lr)} / {_group(div)}" if _number(max_lr) is None or _number(div) is None else repr(
        _number(max_lr) / _number(div))
    final = f"{_group(initial)} / {_group(final_div)}" if _number(final_div) is None or _number(initial) is None else repr(
        float(initial) / _number(final_div))
    warmup_end = f"{_times(a['pct_start'], total)} - 1"
    total_end = f"{_group(total)} - 1"
    cosine = "" if strategy == "cos" else ", cosine=False"
    schedule = f"one_cycle_schedule({initial}, {max_lr}, {final}, {warmup_end}, {total_end}{cosine})"
    momentum = None
    if _literal(a["cycle_momentum"]) is not False:
        momentum = (f"one_cycle_schedule({a['max_momentum']}, {a['base_momentum']}, {a['max_momentum']}, "
                    f"{warmup_end}, {total_end}{cosine})")
    return ScheduleExpr(schedule, momentum=momentum, support=("one_cycle_schedule",))
