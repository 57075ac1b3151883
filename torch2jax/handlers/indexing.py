"""Choosing elements: torch's ``max``/``min`` with a dim (values and indices), and masked_fill."""

from __future__ import annotations

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.passes.values_indices import pair
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, call, literal, simple


@handler("reduce_with_indices")
def reduce_with_indices(rule, node, state, receiver):
    """torch.max(x, dim) returns (values, indices); torch.max(x, y) is elementwise."""
    bound = bind(rule, node, receiver)
    x = bound["input"]
    name = rule.target.rsplit(".", 1)[-1]  # max / min
    keepdim = bound.get("keepdim")
    if "other" in bound:
        return call(state.imports.ref(f"jax.numpy.{name}imum"), [x, bound["other"]])
    if "dim" not in bound:
        return call(state.imports.ref(rule.target), [x])
    dim = bound["dim"]
    if literal(dim) is MISSING:
        raise Unsupported("T2J302", f"`{rule.torch}` with a non-literal second argument: dim or tensor? Not translated")
    kwargs = {"axis": dim}
    if keepdim is not None:
        kwargs["keepdims"] = keepdim
    if not simple(x):
        raise Unsupported("T2J302", f"`{rule.torch}(..., dim)` on an expression: bind it to a name first")
    values = call(state.imports.ref(rule.target), [x], dict(kwargs))
    indices = call(state.imports.ref(f"jax.numpy.arg{name}"), [x], dict(kwargs))
    return pair(state, values, indices)


@handler("masked_fill")
def masked_fill(rule, node, state, receiver):
    bound = bind(rule, node, receiver)
    return call(state.imports.ref("jax.numpy.where"), [bound["mask"], bound["value"], bound["input"]])
