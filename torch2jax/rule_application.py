"""Applying one rule to one call: its handler when it names one, else the table (bind the
torch arguments, rename, transform, state defaults, build the target), then the things
every translated call needs (the original line breaks and parentheses kept; approximate
rules reported)."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind, build, target_arguments
from torch2jax.registry import HANDLERS
from torch2jax.rules import Rule
from torch2jax.state import State
from torch2jax.syntax import call, code_of


def apply_rule(state: State, rule: Rule, original: cst.Call, updated: cst.Call, receiver) -> cst.BaseExpression:
    reported_before = len(state.pending)
    if rule.handler:
        new = HANDLERS[rule.handler](rule, updated, state, receiver)
    else:
        new = _from_table(state, rule, updated, receiver)
    new = _keep_layout(updated, new)
    if updated.lpar and isinstance(new, cst.BaseExpression):  # `(x.view(...)\n .sum())` keeps its parentheses
        new = new.with_changes(lpar=updated.lpar, rpar=updated.rpar)
    report_approximate(state, rule, original, reported_before)
    return new


def report_approximate(state: State, rule: Rule, node, reported_before: int | None = None) -> None:
    """An approximate rule says how, where it is applied (handled: nothing to mark). The rule counts as
    applied (``ConversionResult.rules_applied``) unless its application, since ``reported_before``
    diagnostics, reported something it did not handle."""
    if rule.status == "approximate":
        code = "T2J104" if "BatchNorm" in rule.torch else ("T2J101" if rule.kind in ("layer", "module_fn") else "T2J301")
        state.report(code, f"`{rule.torch}`: {rule.note}", node=node, handled=True)
    state.applied(rule, len(state.pending) if reported_before is None else reported_before)


def _from_table(state: State, rule: Rule, updated: cst.Call, receiver) -> cst.BaseExpression:
    kwargs = target_arguments(rule, bind(rule, updated, receiver), state.imports)
    if rule.rngs:
        kwargs["rngs"] = state.rngs_expr()
    if rule.target_is_method:
        x = kwargs.pop("input", None)
        if x is None:
            x = receiver
        method = cst.Name(rule.target[1:])
        if isinstance(updated.func, cst.Attribute):  # the original `.` keeps its line break in a chain
            func = updated.func.with_changes(value=x, attr=method)
        else:
            func = cst.Attribute(value=x, attr=method)
        return build(rule, func, kwargs)
    if rule.kind == "module_fn":
        return module_function(state, state.imports.ref(rule.target), kwargs)
    first = [kwargs.pop("input", receiver)] if rule.kind == "method" else []
    return build(rule, state.imports.ref(rule.target), kwargs, extra_first=first)


def module_function(state: State, target: cst.BaseExpression, kwargs: dict) -> cst.BaseExpression:
    """A parameterless torch module becomes its function, bound with functools.partial."""
    if not kwargs:
        return target
    return call(state.imports.ref("functools.partial"), [target], kwargs)


def _keep_layout(old: cst.Call, new):
    """Carry a multi-line call's line breaks and comments over to its translation (not over to
    the receiver a removed method leaves: ``make().to(device)`` over two lines -> ``make()``)."""
    if not isinstance(new, cst.Call) or not old.args or not new.args or "\n" not in code_of(old):
        return new
    if isinstance(old.func, cst.Attribute) and new is old.func.value:
        return new
    args = list(new.args)
    n_old, n_new = len(old.args), len(args)
    separator = _without_comments(old.args[-2].comma) if n_old >= 2 else cst.MaybeSentinel.DEFAULT
    for i in range(n_new - 1):
        comma = old.args[i].comma if i < n_old - 1 else separator
        args[i] = args[i].with_changes(comma=comma)
    args[-1] = args[-1].with_changes(comma=old.args[-1].comma)
    return new.with_changes(args=args, whitespace_before_args=old.whitespace_before_args)


def _without_comments(comma):
    if not isinstance(comma, cst.Comma) or not isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace):
        return comma
    ws = comma.whitespace_after
    return comma.with_changes(whitespace_after=ws.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[]))
