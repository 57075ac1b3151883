"""Softmax and log-softmax where torch's arguments say more than ``jax.nn.softmax``'s: ``dtype``
(torch casts the input first; jax.nn.softmax takes none) and a missing ``dim`` (torch's deprecated
implicit choice: axis 0 for inputs of rank 0, 1 and 3, axis 1 otherwise; JAX's default is the last)."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind, build, target_arguments
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.syntax import call, code_of, expr, simple

IMPLICIT_AXIS = "0 if {x}.ndim in (0, 1, 3) else 1"


@handler("softmax")
def softmax(rule, node, state, receiver):
    bound = bind(rule, node, receiver)
    if rule.kind == "module_fn":  # nn.Softmax(dim) / nn.LogSoftmax(dim): a function of the input
        if "dim" in bound:
            kwargs = target_arguments(rule, bound, state.imports)
            return call(state.imports.ref("functools.partial"), [state.imports.ref(rule.target)], kwargs)
        target = code_of(state.imports.ref(rule.target))
        return expr(f"lambda x: {target}(x, axis={IMPLICIT_AXIS.format(x='x')})")
    x = bound.pop("input", receiver)
    dtype = bound.pop("dtype", None)
    kwargs = target_arguments(rule, bound, state.imports)
    if "dim" not in bound:
        if not simple(x):
            raise Unsupported("T2J302", f"`{rule.torch}` without dim on an expression: torch picks the axis by the "
                              "input's rank; give dim")
        kwargs["axis"] = expr(IMPLICIT_AXIS.format(x=code_of(x)))
    if dtype is not None:
        x = call(cst.Attribute(value=x, attr=cst.Name("astype")), [dtype])
    return build(rule, state.imports.ref(rule.target), kwargs, extra_first=[x])
