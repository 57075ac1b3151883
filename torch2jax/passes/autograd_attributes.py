"""Reads of autograd's per-tensor state: ``t.requires_grad``, ``t.grad_fn``, ``t.is_leaf``.

JAX arrays carry none of it: what is differentiated is what a transformation is asked for
(``jax.grad``'s argnums, ``nnx.grad``'s filter), so a test like torchvision DenseNet's
``if tensor.requires_grad:`` has no value to translate to. Reported, never left silently (the
read raises AttributeError on a JAX array). ``self.<...>`` chains are left alone: a module's own
attribute of that name is the user's. Leaf tensors of plain autograd are ``training``'s.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import on_leave
from torch2jax.state import State

AUTOGRAD_STATE = {"requires_grad", "grad_fn", "is_leaf"}


def _from_self(node) -> bool:
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return isinstance(node, cst.Name) and node.value == "self"


@on_leave(cst.Attribute)
def autograd_state_read(state: State, original: cst.Attribute, updated: cst.Attribute):
    if original.attr.value not in AUTOGRAD_STATE or id(original) in state.targets or _from_self(original.value):
        return None
    if not state.is_value_position(original) or state.qualify(original) is not None:
        return None
    state.report("T2J201", f"`{original.attr.value}` of a tensor: JAX arrays carry no autograd state (what is "
                 "differentiated is what jax.grad / nnx.grad are asked for); left as is", node=original)
    return updated
