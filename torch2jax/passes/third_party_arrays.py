"""Parameters handed to a library that works on arrays: ``repeat(self.cls_token, '1 1 d -> b 1 d', b=b)``.

An ``nnx.Param`` (or any nnx.Variable) is not an array to einops, which dispatches on the type of its
argument, so a module attribute passed positionally (the tensors; keywords are axis sizes) to an einops
function is passed as its value:
``repeat(self.cls_token[...], ...)``. (``[...]`` on a plain array is the array itself.)
"""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import on_leave
from torch2jax.state import State
from torch2jax.syntax import code_of

ARRAY_LIBRARIES = ("einops.",)


def _value(node: cst.BaseExpression) -> cst.BaseExpression:
    return cst.Subscript(value=node, slice=[cst.SubscriptElement(cst.Index(cst.Ellipsis()))])


@on_leave(cst.Call, exclusive=False)
def attribute_to_array_library(state: State, original: cst.Call, updated: cst.Call):
    qname = state.qualify(original.func)
    if not qname or not qname.startswith(ARRAY_LIBRARIES):
        return None
    args = list(updated.args)
    changed = False
    for i, a in enumerate(args):
        if a.keyword is None and not a.star and isinstance(a.value, cst.Attribute) and code_of(a.value).startswith("self."):
            args[i] = a.with_changes(value=_value(a.value))
            changed = True
    return updated.with_changes(args=args) if changed else None
