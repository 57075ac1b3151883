"""New tensors made from another one: ``x.new_zeros(2, 3)`` -> ``jnp.zeros((2, 3), x.dtype)``.
torch gives the new tensor the receiver's dtype (and device) unless ``dtype=`` says otherwise;
JAX places arrays itself, so ``device=`` goes."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import VALUE_TRANSFORMS, handler
from torch2jax.syntax import call, code_of, expr, literal

DROPPED = ("device", "requires_grad", "layout", "pin_memory")


@handler("new_like")
def new_like(rule, node, state, receiver):
    """``x.new_zeros/new_ones/new_empty(*size)``, ``x.new_full(size, v)``, ``x.new_tensor(data)``."""
    bound = bind(rule, node, receiver)
    if literal(bound.get("requires_grad", cst.Name("False"))) is not False:
        raise Unsupported("T2J302", f"`{rule.torch}` with requires_grad: differentiate a function of it instead")
    x = bound["input"]
    dtype = bound.get("dtype") or expr(f"{code_of(x)}.dtype")
    target = state.imports.ref(rule.target)
    if "data" in rule.signature:  # new_tensor(data)
        return call(target, [bound["data"], dtype])
    size = VALUE_TRANSFORMS["shape"](bound.get("size", []), rule)
    if isinstance(size, list):  # no size given: torch's empty shape
        size = cst.Tuple([])
    if "fill_value" in rule.signature:
        return call(target, [size, bound["fill_value"], dtype])
    return call(target, [size, dtype])
