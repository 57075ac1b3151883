"""``**kwargs`` forwarded to a torch layer (see ``torch2jax.forwarded_kwargs``): the layer inside
takes the keywords as they come, and every call that fills them writes them in the layer's Flax
terms: ``conv_block(3, 64, kernel_size=7, stride=2)`` -> ``conv_block(3, 64, kernel_size=(7, 7),
strides=2, padding=0, rngs=rngs)``."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind, build, target_arguments
from torch2jax.diagnostics import Unsupported
from torch2jax.passes.layout import wrap_layer
from torch2jax.registry import on_leave
from torch2jax.rule_application import report_approximate
from torch2jax.state import State
from torch2jax.syntax import arg, code_of


def _target_name(rule, torch_name: str) -> str:
    spec = rule.args.get(torch_name)
    return (spec.rename if spec is not None and spec.rename else None) or torch_name


@on_leave(cst.Call)
def forwarding_layer(state: State, original: cst.Call, updated: cst.Call):
    """``nn.Conv2d(in, out, bias=False, **kwargs)`` -> ``nnx.Conv(in, out, use_bias=False, **kwargs, rngs=rngs)``:
    torch's defaults are written at the calls that leave them out, not here."""
    forwarding = state.facts.forwardings.get(state.scope.key)
    if forwarding is None or forwarding.call != id(original):
        return None
    rule = state.rules.get(forwarding.rule)
    own = [a for a in updated.args if a.star != "**"]
    bound = bind(rule, updated.with_changes(args=own))
    kwargs = target_arguments(rule, bound, state.imports)
    for torch_name in rule.defaults:
        if torch_name not in bound:
            kwargs.pop(_target_name(rule, torch_name), None)
    new = build(rule, state.imports.ref(rule.target), kwargs)
    new = new.with_changes(args=[*new.args, cst.Arg(value=cst.Name(forwarding.kwargs), star="**")])
    if rule.rngs:
        new = new.with_changes(args=[*new.args, arg(state.rngs_expr(), "rngs")])
    report_approximate(state, rule, original)
    if rule.layout == "channels_last" and id(original) not in state.facts.direct_layer_calls:
        new = wrap_layer(state, new, rule.spatial_dims + 2)
    return new


def _callee(state: State, func) -> tuple | None:
    facts = state.facts
    if isinstance(func, cst.Name) and func.value not in state.scope.shadowed:
        if func.value in facts.module_classes:
            return (func.value, "__init__")
        if (None, func.value) in facts.functions:
            return (None, func.value)
    held = state.holds(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
    if held is not None and held.kind == "class" and held.name:
        return (held.name, "__init__")
    return None


@on_leave(cst.Call)
def forwarded_call_site(state: State, original: cst.Call, updated: cst.Call):
    """A call whose keywords fill a ``**kwargs`` that goes to a torch layer: those keywords in Flax's terms."""
    key = _callee(state, original.func)
    forwarding = state.facts.forwardings.get(key) if key is not None else None
    if forwarding is None:
        return None
    rule = state.rules.get(forwarding.rule)
    kept, forwarded = [], {}
    positional = 0
    for a, new in zip(original.args, updated.args):
        if a.star:
            raise Unsupported("T2J302", f"`{code_of(a.value)}` spread into `{code_of(original.func)}(...)`, whose "
                                        f"**{forwarding.kwargs} goes to `{rule.torch}`: not translated")
        if a.keyword is None:
            positional += 1
            kept.append(new)
        elif a.keyword.value in forwarding.params or a.keyword.value == "rngs":
            kept.append(new)
        elif a.keyword.value in forwarding.given:
            raise Unsupported("T2J302", f"`{a.keyword.value}=` is given twice to `{rule.torch}`")
        else:
            forwarded[a.keyword.value] = new.value
    unknown = [k for k in forwarded if k not in rule.signature]
    if unknown:
        raise Unsupported("T2J302", f"`{unknown[0]}=` reaches `{rule.torch}` through **{forwarding.kwargs}, "
                                    "which has no such argument")
    kwargs = target_arguments(rule, forwarded, state.imports)
    for name in rule.const:
        kwargs.pop(name, None)
    for torch_name in forwarding.given:
        kwargs.pop(_target_name(rule, torch_name), None)
    args = [*kept, *(arg(v, k) for k, v in kwargs.items())]
    if args and kept and len(args) > len(kept):
        args[len(kept) - 1] = args[len(kept) - 1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    new = updated.with_changes(args=args)
    return state.with_rngs(new) if key[1] == "__init__" else new
