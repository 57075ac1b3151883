"""Assignments a rewrite left saying nothing: ``data, target = data.to(device), target.to(device)``
becomes ``data, target = data, target`` once device moves are removed, and is then dropped (its
comments move on). An assignment written that way in the source is kept as written."""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import REMOVE, on_statement
from torch2jax.state import State


@on_statement(cst.Assign)
def self_assignment(state: State, original: cst.Assign, updated: cst.Assign):
    if updated is original or len(updated.targets) != 1:
        return None
    target, value = _names(updated.targets[0].target), _names(updated.value)
    if target is None or target != value or _names(original.value) == value:
        return None
    return REMOVE


def _names(node) -> tuple[str, ...] | None:
    """``a`` -> ("a",), ``a, b`` / ``(a, b)`` -> ("a", "b"); anything else None."""
    if isinstance(node, cst.Name):
        return (node.value,)
    if isinstance(node, cst.Tuple) and all(isinstance(e, cst.Element) and not isinstance(e, cst.StarredElement)
                                           and isinstance(e.value, cst.Name) for e in node.elements):
        return tuple(e.value.value for e in node.elements)
    return None
