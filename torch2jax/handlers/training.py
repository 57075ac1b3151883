"""Optimizers, schedulers and losses: the CST side of ``torch2jax.training``.

An optimizer construction becomes ``nnx.Optimizer(model, <optax>, wrt=nnx.Param)`` with the model
the analysis found (``optim.SGD(net.parameters(), ...)`` -> ``net``), the scheduler that drives it
(its schedule as the rate when it is stepped per batch; a settable rate otherwise) and the gradient
clipping found between ``backward()`` and ``step()`` (first in the chain). A loss class becomes a
function (a lambda where an expression is needed, a def for a variable, the expression itself at
each call when its options are literals); a functional loss becomes its expression.
"""

from __future__ import annotations

import re

import libcst as cst

from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.syntax import code_of, expr
from torch2jax.training import losses, optimizers, param_groups, plateau, schedulers
from torch2jax.training.analysis import _parameters_source
from torch2jax.training.errors import NotTranslatable

PREFIXES = {"optax.": "optax.sgd", "jnp.": "jax.numpy.zeros", "jax.": "jax.jit", "np.": "numpy.asarray",
            "nnx.": "flax.nnx.Param"}


def request_imports(state, text: str) -> None:
    """Record the imports a piece of emitted text needs (it is written with the standard prefixes)."""
    for prefix, example in PREFIXES.items():
        if re.search(r"(?<![\w.])" + re.escape(prefix), text):
            state.imports.ref(example)


def parse(state, text: str) -> cst.BaseExpression:
    request_imports(state, text)
    return expr(text)


def bind_texts(node: cst.Call, names: list[str], rule) -> dict[str, str]:
    """Argument source texts by torch name (positional through ``names``)."""
    out: dict[str, str] = {}
    position = 0
    for a in node.args:
        if a.star:
            raise Unsupported("T2J302", f"`*`/`**` arguments to `{rule.torch}` cannot be translated")
        if a.keyword is not None:
            out[a.keyword.value] = code_of(a.value)
            continue
        if position >= len(names):
            raise Unsupported("T2J302", f"too many positional arguments for `{rule.torch}`")
        out[names[position]] = code_of(a.value)
        position += 1
    return out


def _translated(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except NotTranslatable as exc:
        raise Unsupported(exc.code, exc.message) from None


# ---------------------------------------------------------------------- optimizers


def wrt_filter(path: tuple[str, ...]) -> str | None:
    """The NNX filter for ``model.<path>.parameters()``; None for all of the model's parameters."""
    if not path:
        return None
    return f"nnx.All(nnx.Param, lambda path, _: path[:{len(path)}] == {tuple(path)!r})"


@handler("optimizer")
def optimizer(rule, node, state, receiver):
    training = state.facts.training
    original = state.calls[-1]
    binding = training.by_call.get(id(original))
    positional = ["params", *optimizers.SIGNATURES[rule.torch][0]]
    args = bind_texts(node, positional, rule)
    params_node = next((a.value for a in original.args if a.keyword is None or a.keyword.value == "params"), None)
    if param_groups.has_groups(original):
        return _grouped_optimizer(state, rule, original, args, binding)
    model, path = (binding.model, binding.params_path) if binding is not None and binding.model else (
        _parameters_source(params_node) if params_node is not None else (None, ()))
    if model is None:
        raise Unsupported("T2J204", f"`{rule.torch}`: which model's parameters? Pass `model.parameters()`")
    args.pop("params", None)
    scheduler = training.scheduler_of.get(id(original))
    schedule = momentum = None
    settable = id(original) in training.settable
    if scheduler is not None and not settable:
        sched_args = bind_texts(scheduler.call, ["optimizer", *schedulers.SIGNATURES.get(
            scheduler.torch.rsplit(".", 1)[-1], ([], {}))[0]], rule)
        sched_args.pop("optimizer", None)
        found = _translated(schedulers.schedule_for, scheduler.torch, sched_args, args.get("lr", optimizers.SIGNATURES[
            rule.torch][1]["lr"]))
        schedule, momentum = found.expr, found.momentum
        for name in found.support:
            _support(state, name, schedulers.SUPPORT[name])
    clip = _clip(state, training.clipped.get(id(original), []), binding)
    tx = _translated(optimizers.optax_for, rule.torch, args, settable_lr=settable, schedule=schedule, clip=clip,
                     momentum_schedule=momentum)
    for name in tx.support:
        _support(state, name, optimizers.SUPPORT[name])
    filter_text = wrt_filter(path) or "nnx.Param"
    return parse(state, f"nnx.Optimizer({model}, {tx.expr}, wrt={filter_text})")


def _grouped_optimizer(state, rule, original, args, binding):
    """Parameter groups with their own options: one Optax transformation per group (param_groups)."""
    training = state.facts.training
    parsed = param_groups.parse_groups(original)
    if isinstance(parsed, str):
        raise Unsupported("T2J204", parsed)
    if id(original) in training.settable or id(original) in training.scheduler_of:
        raise Unsupported("T2J204", "parameter groups whose rate a scheduler or the loop changes are not translated "
                          "yet (each group would need its own injected rate)")
    model, groups = parsed
    _translated(param_groups.check_groups, groups)
    args.pop("params", None)
    clip = _clip(state, training.clipped.get(id(original), []), binding)
    tx = _translated(param_groups.grouped_optax, rule.torch, args, groups, clip)
    for name in tx.support:
        _support(state, name, optimizers.SUPPORT[name])
    return parse(state, f"nnx.Optimizer({model}, {tx.expr}, wrt=nnx.Param)")


def _clip(state, clips, binding) -> tuple[str, str] | None:
    if not clips:
        return None
    kinds = {kind for kind, _ in clips}
    if len(clips) > 1 and len(kinds) > 1:
        raise Unsupported("T2J204", "both clip_grad_norm_ and clip_grad_value_ before one step are not translated")
    kind, call = clips[0]
    values = [a for a in call.args if a.keyword is None][1:] + [a for a in call.args if a.keyword is not None
                                                                 and a.keyword.value in ("max_norm", "clip_value")]
    extra = [a for a in call.args if a.keyword is not None and a.keyword.value not in ("max_norm", "clip_value",
                                                                                        "parameters", "error_if_nonfinite",
                                                                                        "foreach")]
    norm_type = next((a for a in call.args if a.keyword is not None and a.keyword.value == "norm_type"), None)
    if norm_type is not None and code_of(norm_type.value) not in ("2", "2.0"):
        raise Unsupported("T2J204", "clip_grad_norm_ with norm_type other than 2 is not translated")
    if not values or (extra and norm_type is None):
        raise Unsupported("T2J204", "gradient clipping with these arguments is not translated")
    return kind, code_of(values[0].value)


def _support(state, name: str, source: str) -> None:
    state.support[name] = source
    request_imports(state, source)


# ---------------------------------------------------------------------- schedulers


@handler("scheduler")
def scheduler(rule, node, state, receiver):
    """``StepLR(optimizer, ...)`` -> the schedule (a function of the number of ``step()`` calls)."""
    training = state.facts.training
    original = state.calls[-1]
    binding = training.by_call.get(id(original))
    kind = rule.torch.rsplit(".", 1)[-1]
    args = bind_texts(node, ["optimizer", *schedulers.SIGNATURES.get(kind, ([], {}))[0]], rule)
    args.pop("optimizer", None)
    optimizer_binding = training.lookup(binding.scope, binding.optimizer) if binding is not None and binding.optimizer else None
    base_lr = "0.001"
    if optimizer_binding is not None and optimizer_binding.call is not None:
        opt_args = bind_texts(optimizer_binding.call, ["params", *optimizers.SIGNATURES.get(
            optimizer_binding.torch, ([], {}))[0]], rule)
        base_lr = opt_args.get("lr", optimizers.SIGNATURES.get(optimizer_binding.torch, ([], {"lr": "0.001"}))[1]["lr"])
    found = _translated(schedulers.schedule_for, rule.torch, args, base_lr)
    for name in found.support:
        _support(state, name, schedulers.SUPPORT[name])
    return parse(state, found.expr)


@handler("plateau_scheduler")
def plateau_scheduler(rule, node, state, receiver):
    """``ReduceLROnPlateau(optimizer, ...)`` -> the same over the nnx.Optimizer (training/plateau.py)."""
    training = state.facts.training
    original = state.calls[-1]
    binding = training.by_call.get(id(original))
    args = bind_texts(node, plateau.SIGNATURE, rule)
    _translated(plateau.check_arguments, args)
    args.pop("verbose", None)
    optimizer = training.lookup(binding.scope, binding.optimizer) if binding is not None and binding.optimizer else None
    if optimizer is None or optimizer.call is None or id(optimizer.call) in training.untranslated:
        raise Unsupported("T2J204", "ReduceLROnPlateau over an optimizer built elsewhere (or not translated) is not "
                          "translated; build both in one function")
    _support(state, plateau.NAME, plateau.SOURCE)
    options = [args.pop("optimizer"), *(f"{k}={v}" for k, v in args.items())]
    return parse(state, f"{plateau.NAME}({', '.join(options)})")


# ---------------------------------------------------------------------- losses


def _options(node: cst.Call, names: list[str], rule) -> dict[str, str]:
    return bind_texts(node, names, rule)


@handler("loss")
def loss_class(rule, node, state, receiver):
    """``nn.CrossEntropyLoss(...)`` where a value is needed: ``lambda input, target: <loss>``."""
    kind = losses.kind_of(rule.torch)
    options = _options(node, losses.CLASS_OPTIONS[kind], rule)
    params = losses.SIGNATURES[kind][0]
    found = _translated(losses.loss_expression, rule.torch, params, options)
    return parse(state, f"lambda {', '.join(params)}: {found.expr}")


@handler("loss_function")
def loss_function(rule, node, state, receiver):
    kind = losses.kind_of(rule.torch)
    inputs, options, _ = losses.SIGNATURES[kind]
    bound = _options(node, [*inputs, *options], rule)
    missing = [name for name in inputs if name not in bound]
    if missing:
        raise Unsupported("T2J302", f"`{rule.torch}` without {', '.join(missing)} is not translated")
    found = _translated(losses.loss_expression, rule.torch, [bound.pop(name) for name in inputs], bound)
    for code, severity, message in found.diagnostics:
        state.report(code, message, severity=severity, handled=True)
    return parse(state, found.expr)


def inline_loss(state, binding, call: cst.Call, updated: cst.Call) -> cst.BaseExpression:
    """``criterion(outputs, labels)`` for a loss object built with literal options: the expression itself."""
    kind = losses.kind_of(binding.torch)
    options = bind_texts(binding.call, losses.CLASS_OPTIONS[kind], binding)
    inputs = [code_of(a.value) for a in updated.args if a.keyword is None]
    if len(inputs) != len(losses.SIGNATURES[kind][0]) or any(a.keyword is not None for a in updated.args):
        raise Unsupported("T2J302", f"`{code_of(call.func)}(...)`: call the loss with its inputs in order")
    found = _translated(losses.loss_expression, binding.torch, inputs, options)
    for code, severity, message in found.diagnostics:
        state.report(code, message, severity=severity, handled=True, node=call)
    return parse(state, found.expr)
