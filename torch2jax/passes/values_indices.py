"""torch's ``(values, indices)`` results (``torch.max(x, 1)``, ``x.min(dim=0)``): emitted as a
tuple, and ``.values`` / ``.indices`` / ``[0]`` / ``[1]`` on it pick the element, so the common
``torch.max(out, 1)[1]`` and ``out.max(1).indices`` both read naturally."""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import on_leave
from torch2jax.state import State


def pair(state: State, values: cst.BaseExpression, indices: cst.BaseExpression) -> cst.Tuple:
    """The (values, indices) tuple; ``.values`` / ``.indices`` on it pick one."""
    result = cst.Tuple([cst.Element(values), cst.Element(indices)])
    state.pairs[id(result)] = (values, indices)
    state.keep_alive.append(result)
    return result


@on_leave(cst.Attribute)
def pick(state: State, original: cst.Attribute, updated: cst.Attribute):
    found = state.pairs.get(id(updated.value))
    if found is not None and updated.attr.value in ("values", "indices"):
        return found[updated.attr.value == "indices"]
    return None


@on_leave(cst.Subscript)
def pick_by_index(state: State, original: cst.Subscript, updated: cst.Subscript):
    """``torch.max(x, 1)[1]`` -> ``jnp.argmax(x, axis=1)``."""
    found = state.pairs.get(id(updated.value))
    if found is None or len(updated.slice) != 1 or not isinstance(updated.slice[0].slice, cst.Index):
        return None
    index = updated.slice[0].slice.value
    if isinstance(index, cst.Integer) and index.value in ("0", "1") and not updated.lpar:
        return found[index.value == "1"]
    return None
