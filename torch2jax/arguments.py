"""From torch's arguments to the target's: bind a call through the rule's torch signature,
rename, drop, transform values, state torch's defaults explicitly, and build the target call."""

from __future__ import annotations

import libcst as cst

from torch2jax.diagnostics import NotTorch, Unsupported
from torch2jax.imports import Imports
from torch2jax.registry import VALUE_TRANSFORMS
from torch2jax.rules import ArgSpec, Rule
from torch2jax.syntax import MISSING, arg, code_of, literal, value_expr


def bind(rule: Rule, node: cst.Call, receiver: cst.BaseExpression | None = None) -> dict:
    """torch arguments by name, positional ones normalised through the signature.

    A ``*name`` entry collects the remaining positional arguments as a list.
    """
    signature = list(rule.signature)
    if receiver is not None and _in_target_form(rule, node):
        raise NotTorch  # `x.sum(axis=1)`, `x.std(1, ddof=1)`: already what the rule emits (a second pass)
    bound: dict = {}
    position = 0
    if receiver is not None and signature and signature[0] in ("input", "self"):
        bound[signature[0]] = receiver
        position = 1
    for a in node.args:
        if a.star == "**":
            raise Unsupported("T2J302", f"`**{code_of(a.value)}` cannot be matched to `{rule.torch}`'s arguments")
        if a.star == "*":
            star = next((s for s in signature[position:] if s.startswith("*")), None)
            if star is None:
                raise Unsupported("T2J302", f"`*{code_of(a.value)}` cannot be matched to `{rule.torch}`'s arguments")
            bound.setdefault(star[1:], []).append(cst.StarredElement(a.value))
            continue
        if a.keyword is not None:
            name = a.keyword.value
            if name not in signature:
                raise Unsupported("T2J302", f"`{rule.torch}` has no argument `{name}` that torch2jax knows")
            if name in bound:
                raise Unsupported("T2J302", f"`{name}` given twice to `{rule.torch}`")
            bound[name] = a.value
            continue
        if position >= len(signature):
            raise Unsupported("T2J302", f"too many positional arguments for `{rule.torch}`")
        name = signature[position]
        if name.startswith("*"):
            bound.setdefault(name[1:], []).append(a.value)
            continue
        bound[name] = a.value
        position += 1
    return bound


def require(bound: dict, *names: str) -> None:
    """A call without arguments torch's API requires is not that API (``AuxLoadVecInfo.gather()``, a
    class's own method named like a tensor's): left alone."""
    if any(name not in bound for name in names):
        raise NotTorch


def _in_target_form(rule: Rule, node: cst.Call) -> bool:
    """A method call whose keywords are the target's names (``keepdims``), not torch's (``keepdim``)."""
    target_names = {spec.rename for spec in rule.args.values() if spec.rename} | set(rule.const)
    return any(
        a.keyword is not None and a.keyword.value in target_names and a.keyword.value not in rule.signature
        for a in node.args
    )


def check_supported(rule: Rule, name: str, spec: ArgSpec, value) -> None:
    if spec.supported is None:
        return
    lit = literal(value) if isinstance(value, cst.BaseExpression) else MISSING
    if lit is MISSING or lit not in spec.supported:
        shown = code_of(value) if isinstance(value, cst.BaseExpression) else str(value)
        allowed = ", ".join(repr(v) for v in spec.supported)
        what = f"only {allowed} can be translated" if spec.supported else f"translated only without `{name}`"
        raise Unsupported(
            "T2J102" if rule.kind in ("layer", "module_fn") else "T2J302",
            f"`{rule.torch}` with {name}={shown}: {what}" + (f"; {spec.note}" if spec.note else ""),
        )


def target_arguments(rule: Rule, bound: dict, imports: Imports) -> dict:
    """Target keyword -> expression, in torch signature order, defaults made explicit."""
    out: dict = {}
    for raw_name in rule.signature:
        name = raw_name.lstrip("*")
        spec = rule.args.get(raw_name, ArgSpec())
        if name in bound:
            value = bound[name]
        elif raw_name in rule.defaults:
            value = value_expr(rule.defaults[raw_name])
        else:
            continue
        check_supported(rule, name, spec, value)
        if spec.drop:
            continue
        if spec.transform:
            value = VALUE_TRANSFORMS[spec.transform](value, rule)
        out[spec.rename or name] = value
    for key, text in rule.const.items():
        out[key] = imports.source(text) if isinstance(text, str) else value_expr(text)
    return out


def build(rule: Rule, target: cst.BaseExpression, kwargs: dict, extra_first=()) -> cst.Call:
    """The target call: the rule's positional arguments first, the rest by keyword."""
    positional = list(extra_first)
    for name in rule.positional:
        if name not in kwargs:
            if name == "input" and extra_first:  # the receiver / input is already first
                continue
            break
        value = kwargs.pop(name)
        if isinstance(value, list):  # varargs kept as varargs
            positional += value
        else:
            positional.append(value)
    args = [cst.Arg(value=v.value, star="*") if isinstance(v, cst.StarredElement) else arg(v) for v in positional]
    for k, v in kwargs.items():
        if isinstance(v, list):
            raise Unsupported("T2J302", f"`{rule.torch}`: variadic `{k}` needs a shape transform")
        args.append(arg(v, k))
    return cst.Call(func=target, args=args)
