"""Tensor methods (``x.view(...)``, ``x.sum(dim=1)``, ``x.float()``): a call on a receiver that
is not an imported name is looked up by method name in the ``Tensor.*`` rules. A method JAX
arrays do not have (``rules/untranslated.toml``) is reported instead of failing at run time."""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import on_leave
from torch2jax.rule_application import apply_rule
from torch2jax.state import State


def _indexed_update(node: cst.BaseExpression) -> bool:
    """``x.at[i]``: JAX's indexed update, whose ``.set``/``.add``/``.multiply``/``.min`` are JAX's own."""
    return isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute) and node.value.attr.value == "at"


def _method_receiver(state: State, original: cst.Call):
    """The receiver's node when this is a method call on a value (not on an imported name)."""
    func = original.func
    if not isinstance(func, cst.Attribute) or not state.facts.imports.imports_torch:
        return None
    if state.qualify(func.value) is not None or _indexed_update(func.value):
        return None
    if isinstance(func.value, cst.Name) and func.value.value == "self" and (
        state.scope.cls is not None or state.self_is_an_instance
    ):
        return None  # a method of the module (or class) itself, or a submodule called as `self.split(x)`
    holder = state.holds(func.value)
    if holder is not None and holder.kind in ("layer", "module"):
        return None  # a layer or module, not a tensor: `self.encoder.split(x)` is its own method
    return func.value


@on_leave(cst.Call)
def tensor_method(state: State, original: cst.Call, updated: cst.Call):
    if _method_receiver(state, original) is None:
        return None
    rule = state.rules.method(original.func.attr.value)
    if rule is None:
        return None
    return apply_rule(state, rule, original, updated, receiver=updated.func.value)


@on_leave(cst.Call)
def untranslated_method(state: State, original: cst.Call, updated: cst.Call):
    receiver = _method_receiver(state, original)
    if receiver is None or (isinstance(receiver, cst.Name) and receiver.value == "self"):
        return None
    name = original.func.attr.value
    if name.endswith("_") and not name.endswith("__"):
        return None  # in-place methods: see inplace
    why = state.rules.untranslated_methods.get(name)
    if why is None:
        return None
    state.report("T2J901", f"`.{name}(...)`: {why}; left as is", node=original)
    return updated
