"""New tensors made from another one: ``x.new_zeros(2, 3)`` -> ``jnp.zeros((2, 3), x.dtype)``.
torch gives the new tensor the receiver's dtype (and device) unless ``dtype=`` says otherwise;
JAX places arrays itself, so ``device=`` goes.

``torch.tensor(data)`` is ``jnp.asarray(data)``, except for integers computed from shapes
(U-Net's ``torch.tensor([x2.size()[2] - x1.size()[2]])``): those are known when the step is
traced, so they stay numpy (``np.asarray``) and can size a pad or a reshape under ``jit``."""

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


@handler("tensor_data")
def tensor_data(rule, node, state, receiver):
    """``torch.tensor(data, dtype=...)``: ``jnp.asarray``, or ``np.asarray`` for shape arithmetic."""
    bound = bind(rule, node)
    if "data" not in bound:
        raise Unsupported("T2J302", "`torch.tensor` needs its data")
    if literal(bound.get("requires_grad", cst.Name("False"))) is not False:
        raise Unsupported("T2J302", "`torch.tensor(..., requires_grad=True)`: differentiate a function of it instead")
    data = bound["data"]
    static = isinstance(data, (cst.List, cst.Tuple)) and data.elements and "dtype" not in bound and all(
        _from_shapes(e.value) for e in data.elements)
    target = state.imports.ref("numpy.asarray" if static else "jax.numpy.asarray")
    return call(target, [data], {"dtype": bound["dtype"]} if "dtype" in bound else {})


def _from_shapes(node) -> bool:
    """An integer known at trace time: literals, ``x.shape[i]``, ``x.ndim``, ``len(x)`` and arithmetic of them,
    with at least one shape in it."""
    found = [False]

    def static(n) -> bool:
        if isinstance(n, cst.Integer):
            return True
        if isinstance(n, cst.BinaryOperation):
            return static(n.left) and static(n.right)
        if isinstance(n, cst.UnaryOperation):
            return static(n.expression)
        if isinstance(n, cst.Subscript) and isinstance(n.value, cst.Attribute) and n.value.attr.value == "shape":
            found[0] = True
            return True
        if isinstance(n, cst.Attribute) and n.attr.value == "ndim":
            found[0] = True
            return True
        if isinstance(n, cst.Call) and isinstance(n.func, cst.Name) and n.func.value == "len":
            found[0] = True
            return True
        return False

    return static(node) and found[0]
