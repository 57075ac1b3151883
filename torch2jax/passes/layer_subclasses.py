"""Classes of the file that subclass a torch layer (``class MyLinear(nn.Linear)``,
``class TransformerModel(nn.Transformer)``): they subclass the layer's translation
(``nnx.Linear``, or the class the output defines), so ``forward`` is ``__call__`` as for any
module, and what reaches the layer's constructor speaks Flax:

- ``super().__init__(in_f, out_f, bias=False)`` -> ``super().__init__(in_f, out_f, use_bias=False, rngs=rngs)``
  (the rule applied to the call; a class the output defines takes torch's arguments as they are);
- a subclass with no ``__init__`` of its own is built with the layer's arguments:
  ``MyLinear(3, 4, bias=False)`` -> ``MyLinear(3, 4, use_bias=False, rngs=rngs)``;
- ``self.weight`` inside it is the layer's parameter (``passes.parameters``).

Which classes these are is a fact of ``analyze`` (``layer_subclasses``: only layers whose Flax class
takes torch's layout; a channels-last convolution subclassed is reported)."""

from __future__ import annotations

import libcst as cst

from torch2jax.analyze import layer_base, mro, subclassable
from torch2jax.arguments import bind, build, target_arguments
from torch2jax.containers import CONTAINERS
from torch2jax.layer_values import keeps_signature
from torch2jax.passes.module_classes import _is_super_call
from torch2jax.handlers.support import defined_class
from torch2jax.registry import on_leave, on_statement, on_visit
from torch2jax.rule_application import report_approximate
from torch2jax.state import State
from torch2jax.syntax import arg


def _target(state: State, rule) -> cst.BaseExpression:
    """The class the subclass now derives from: the Flax layer, or the class the output defines."""
    name = defined_class(state, rule) if keeps_signature(rule) else None
    return cst.Name(name) if name else state.imports.ref(rule.target)


@on_visit(cst.ClassDef)
def unsupported_layer_base(state: State, node: cst.ClassDef) -> None:
    """A class subclassing a torch layer that has no Flax class to subclass here: reported."""
    for base in node.bases:
        qname = state.qualify(base.value)
        rule = state.rules.get(qname) if qname else None
        if (rule is not None and rule.kind in ("layer", "module_fn") and not subclassable(rule) and len(state.scopes) == 1
                and qname not in CONTAINERS):  # nn.Sequential / ModuleList / ModuleDict: passes.module_containers
            state.inner.add(id(base.value))  # reported here, not again as a torch name used as a value
            state.report("T2J901", f"`{node.name.value}` subclasses `{qname}`, which is translated where it is built "
                                   "(NCHW transposes, or a handler), not as a class to derive from; left as is",
                         node=base)


@on_leave(cst.ClassDef, exclusive=False)
def layer_base_class(state: State, original: cst.ClassDef, updated: cst.ClassDef):
    qname = state.facts.layer_subclasses.get(original.name.value)
    if qname is None:
        return None
    rule = state.rules.get(qname)
    bases = [b.with_changes(value=_target(state, rule)) if state.facts.imports.qualify(o.value) == qname else b
             for o, b in zip(original.bases, updated.bases)]
    return updated.with_changes(bases=bases)


@on_statement(cst.Expr)
def layer_super_init(state: State, original: cst.Expr, updated: cst.Expr):
    """``super().__init__(torch's arguments)`` in the subclass's ``__init__`` -> the Flax layer's."""
    cls = state.scope.cls
    if cls is None or cls not in state.facts.layer_subclasses or state.scope.key[1] != "__init__":
        return None
    if not (isinstance(original.value, cst.Call) and _is_super_call(original.value.func, "__init__")):
        return None
    rule = state.rules.get(state.facts.layer_subclasses[cls])
    return updated.with_changes(value=_construction(state, rule, original.value, updated.value))


@on_leave(cst.Call)
def layer_subclass_built(state: State, original: cst.Call, updated: cst.Call):
    """``MyLinear(3, 4, bias=False)`` for a subclass with no ``__init__`` of its own: the layer's arguments."""
    func = original.func
    if not isinstance(func, cst.Name) or func.value in state.scope.shadowed:
        return None
    qname = layer_base(state.facts, func.value) if func.value in state.facts.module_classes else None
    if qname is None or any((owner, "__init__") in state.facts.functions for owner in mro(state.facts, func.value)):
        return None
    return _construction(state, state.rules.get(qname), original, updated)


def _construction(state: State, rule, original: cst.Call, updated: cst.Call) -> cst.Call:
    if keeps_signature(rule):
        return state.with_rngs(updated)
    kwargs = target_arguments(rule, bind(rule, updated), state.imports)
    report_approximate(state, rule, original)
    built = build(rule, updated.func, kwargs)
    if rule.rngs:
        built = built.with_changes(args=[*built.args, arg(state.rngs_expr(), "rngs")])
    return built
