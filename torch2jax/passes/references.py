"""torch names used as values, not called: ``torch.float32`` -> ``jnp.float32``, ``F.relu``
passed as an argument -> ``jax.nn.relu``; anything else from torch used as a value is
reported (T2J901).

Types are quiet: in an annotation or the class argument of ``isinstance``, a torch layer is
its Flax class (``isinstance(m, nn.Linear)`` -> ``isinstance(m, nnx.Linear)``); an annotation
naming a torch type with no JAX counterpart becomes a string, so the translation does not
import torch for it."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import target_arguments
from torch2jax.passes.backend_flags import BACKEND_FLAGS, is_assigned_flag
from torch2jax.passes import layer_values
from torch2jax.passes.layers import LAYER_KINDS, is_torch
from torch2jax.registry import on_leave, on_visit
from torch2jax.rule_application import module_function
from torch2jax.state import State
from torch2jax.syntax import code_of

QUIET = ("torch", "torch.nn", "torch.nn.functional")  # modules themselves (kept while something uses them)


@on_leave(cst.Annotation)
def untranslatable_annotation(state: State, original: cst.Annotation, updated: cst.Annotation):
    """``device: torch.device`` -> ``device: "torch.device"``: documentation, not an import."""
    if state.annotations and state.annotations[-1]:
        return updated.with_changes(annotation=cst.SimpleString(repr(code_of(updated.annotation))))
    return None


@on_visit(cst.Comparison)
def compared_operands(state: State, node: cst.Comparison) -> None:
    """``type(m) is nn.Identity``, ``m.__class__ in (nn.Conv2d, nn.Linear)``: classes compared with a
    type are types (``act_layer is nn.ReLU`` compares two values: a held class is its translation)."""
    operands = (node.left, *(c.comparator for c in node.comparisons))
    if not any(_is_type_of(operand) for operand in operands):
        state.compared_values.update(id(o) for o in operands)  # `act_layer is nn.ReLU`: the value is its translation
        return
    for operand in operands:
        items = [e.value for e in operand.elements] if isinstance(operand, (cst.Tuple, cst.List, cst.Set)) else [operand]
        state.compared.update(id(item) for item in items if isinstance(item, (cst.Name, cst.Attribute)))


def _is_type_of(node) -> bool:
    return ((isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "type")
            or (isinstance(node, cst.Attribute) and node.attr.value == "__class__"))


@on_leave(cst.Attribute)
def attribute_reference(state: State, original: cst.Attribute, updated: cst.Attribute):
    if not state.is_value_position(original):
        return None
    return torch_value(state, original, updated)


@on_leave(cst.Name)
def name_reference(state: State, original: cst.Name, updated: cst.Name):
    if not state.is_value_position(original) or id(original) in state.labels or id(original) in state.targets:
        return None
    qname = state.qualify(original)
    if qname and qname.startswith("torch.") and qname in state.rules.by_name:
        return torch_value(state, original, updated)
    return None


def torch_value(state: State, original, updated):
    qname = state.qualify(original)
    if not is_torch(qname):
        return None
    rule = state.rules.get(qname)
    typed = state.in_annotation or state.in_type_check(original) or id(original) in state.compared
    if typed and rule is not None and rule.target.startswith("flax.nnx."):  # a Flax class: nnx.Linear, nnx.Param
        state.applied(rule, len(state.pending))
        return state.imports.ref(rule.target)
    if state.in_annotation and not (rule is not None and rule.kind == "constant"):
        if qname not in QUIET:
            state.annotations[-1] = True  # the annotation becomes a string (see below)
        return None
    if rule is not None and rule.kind == "constant":
        state.applied(rule, len(state.pending))
        return state.imports.source(rule.target)
    if rule is not None and rule.kind == "function" and not rule.handler and not rule.target_is_method:
        # torch's defaults that differ from the target's stay stated: F.gelu -> partial(jax.nn.gelu, approximate=False)
        state.applied(rule, len(state.pending))
        return module_function(state, state.imports.ref(rule.target), target_arguments(rule, {}, state.imports))
    if qname in BACKEND_FLAGS and is_assigned_flag(state, original):  # the statement goes (backend_flags)
        return None
    if qname in QUIET or (rule is not None and rule.target == rule.torch):  # kept as written (torch.utils.data)
        if rule is not None:
            state.applied(rule, len(state.pending))
        return None
    if rule is not None and rule.handler == "torchscript_decorator":  # @torch.jit.unused: the decorator goes (torchscript)
        return None
    if rule is not None and rule.kind in LAYER_KINDS and not typed:  # norm_layer=nn.BatchNorm2d, act_layer=nn.GELU
        held = layer_values.reference(state, rule, original)
        if held is original:
            return None
        if held is not None:
            return held
    if rule is not None:
        state.report("T2J901", f"`{qname}` used as a value (not called) is not translated; left as is", node=original)
    else:
        state.report("T2J901", f"`{qname}` has no rule; left as is", node=original)
    return updated
