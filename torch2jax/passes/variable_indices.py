"""A module's own variable used as an index: ``biases[self.rel_pos_indices]`` (vit-pytorch's
CrossFormer indexes a table with a buffer). An ``nnx.Variable`` stands in for its array in arithmetic,
but not as an index under ``jit`` (JAX refuses ``__jax_array__`` while tracing), so the index reads
its value: ``biases[self.rel_pos_indices[...]]``. The attributes are the ones the module registers as
buffers or sets to ``nn.Parameter(...)`` (``analyze``: FileFacts.buffers / parameters).
"""

from __future__ import annotations

import libcst as cst

from torch2jax.analyze import mro
from torch2jax.registry import on_leave
from torch2jax.state import State


def _own_variable(state: State, node) -> bool:
    cls = state.scope.cls
    if cls is None or not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
                           and node.value.value == "self"):
        return False
    name = node.attr.value
    return any(name in state.facts.buffers.get(c, ()) or name in state.facts.parameters.get(c, ())
               for c in mro(state.facts, cls))


def _value(node: cst.BaseExpression) -> cst.Subscript:
    return cst.Subscript(value=node, slice=[cst.SubscriptElement(cst.Index(cst.Ellipsis()))])


@on_leave(cst.Subscript, exclusive=False)
def variable_as_index(state: State, original: cst.Subscript, updated: cst.Subscript):
    if id(original) in state.targets:
        return None
    elements = list(updated.slice)
    changed = False
    for i, (before, after) in enumerate(zip(original.slice, updated.slice)):
        if isinstance(before.slice, cst.Index) and _own_variable(state, before.slice.value) \
                and isinstance(after.slice, cst.Index) and isinstance(after.slice.value, cst.Attribute):
            elements[i] = after.with_changes(slice=after.slice.with_changes(value=_value(after.slice.value)))
            changed = True
    return updated.with_changes(slice=elements) if changed else None
