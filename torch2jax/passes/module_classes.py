"""nn.Module subclasses become nnx.Module subclasses.

- bases: ``nn.Module`` -> ``nnx.Module`` (local module bases stay);
- ``forward`` -> ``__call__`` (and ``self.forward(...)`` / ``super().forward(...)`` with it);
- ``rngs``: every ``__init__`` of a module class, and every function that builds layers
  (directly or through calls, see ``analyze``), takes a keyword-only ``rngs: nnx.Rngs`` and
  passes it on to each construction of the file's own modules;
- ``super().__init__()`` of a direct subclass goes (``nnx.Module`` needs no call);
- ``register_buffer`` -> an ``nnx.Variable`` attribute; ``self.training`` is ``training_flag``'s;
- other nn.Module methods on ``self`` are ``module_methods``'s.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.analyze import builds_module, classmethod_receiver, mro
from torch2jax.names import dotted_name
from torch2jax.registry import REMOVE, on_leave, on_statement, on_visit
from torch2jax.state import State
from torch2jax.syntax import arg, call, literal

TRAINING_FLAG = "self.deterministic = False  # nnx: .train()/.eval() set this"
RNG_STREAM = "self.rngs = rngs  # random numbers drawn at call time (dropout, sampling) come from here"


# ---------------------------------------------------------------------- the class


@on_visit(cst.ClassDef)
def keep_bases_for_the_class(state: State, node: cst.ClassDef) -> None:
    if state.classes[-1][1]:  # bases are rewritten on leaving the class, not as torch references
        state.inner.update(id(base.value) for base in node.bases)
        for base in node.bases:  # a torch mixin beside the module base has no translation: said, as anywhere
            qname = state.qualify(base.value)
            if (qname and qname.startswith("torch.") and qname != "torch.nn.Module"
                    and qname != state.facts.layer_subclasses.get(node.name.value) and qname not in state.rules.by_name):
                state.report("T2J901", f"`{qname}` has no rule; left as is", node=base.value)


@on_leave(cst.ClassDef, exclusive=False)
def module_bases(state: State, original: cst.ClassDef, updated: cst.ClassDef):
    if not state.classes[-1][1]:
        return None
    bases = []
    for base in updated.bases:
        if state.facts.imports.qualify(base.value) == "torch.nn.Module":
            bases.append(base.with_changes(value=state.imports.ref("flax.nnx.Module")))
        else:
            bases.append(base)
    return updated.with_changes(bases=bases)


@on_leave(cst.FunctionDef, exclusive=False)
def method_shape(state: State, original: cst.FunctionDef, updated: cst.FunctionDef):
    """``forward`` -> ``__call__``, the ``rngs`` parameter, the training flag in ``__init__``."""
    if not state.at_top_level_function:
        return None
    scope = state.scope
    name, cls = scope.key[1], scope.cls
    if cls is not None and name == "forward":
        updated = updated.with_changes(name=cst.Name("__call__"))
    if scope.key in state.facts.needs_rngs:
        updated = add_rngs_parameter(state, updated)
    if cls is not None and name == "__init__" and cls in state.facts.uses_training:
        updated = insert_first(updated, cst.parse_statement(TRAINING_FLAG))
    if cls is not None and name == "__init__" and cls in state.facts.draws_at_call and not _holds_rngs(state, cls):
        updated = insert_first(updated, cst.parse_statement(RNG_STREAM))
    return updated


def _holds_rngs(state: State, cls: str) -> bool:
    """A base class of the file sets ``self.rngs`` already, or the class assigns it itself."""
    facts = state.facts
    return any(base in facts.draws_at_call for base in mro(facts, cls)[1:]) or "rngs" in facts.attributes.get(cls, {})


def add_rngs_parameter(state: State, func: cst.FunctionDef) -> cst.FunctionDef:
    params = func.params
    names = {p.name.value for p in (*params.params, *params.kwonly_params, *params.posonly_params)}
    if "rngs" in names:
        return func
    new = cst.Param(name=cst.Name("rngs"), annotation=cst.Annotation(state.imports.ref("flax.nnx.Rngs")))
    star = params.star_arg if not isinstance(params.star_arg, cst.MaybeSentinel) else cst.ParamStar()
    return func.with_changes(params=params.with_changes(kwonly_params=[*params.kwonly_params, new], star_arg=star))


def insert_first(func: cst.FunctionDef, stmt) -> cst.FunctionDef:
    """Insert ``stmt`` at the top of the body, after a docstring."""
    body = list(func.body.body)
    index = 0
    if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(body[0].body[0], cst.Expr) and isinstance(
        body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString)
    ):
        index = 1
    body.insert(index, stmt)
    return func.with_changes(body=func.body.with_changes(body=body))


# ---------------------------------------------------------------------- statements


def _is_super_call(func, method: str) -> bool:
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == method
        and isinstance(func.value, cst.Call)
        and dotted_name(func.value.func) == "super"
    )


@on_statement(cst.Expr)
def drop_super_init(state: State, original: cst.Expr, updated: cst.Expr):
    """``super().__init__()`` of a direct nn.Module subclass: nnx.Module needs no call."""
    if not isinstance(original.value, cst.Call) or state.scope.cls is None:
        return None
    if _is_super_call(original.value.func, "__init__") and not state.facts.class_bases.get(state.scope.cls):
        return REMOVE
    if state.qualify(original.value.func) == "torch.nn.Module.__init__":  # `nn.Module.__init__(self)`
        return REMOVE
    return None


@on_statement(cst.Expr)
def register_buffer(state: State, original: cst.Expr, updated: cst.Expr):
    """``self.register_buffer("name", value)`` -> ``self.name = nnx.Variable(value)``."""
    c = original.value
    if not (
        isinstance(c, cst.Call)
        and isinstance(c.func, cst.Attribute)
        and c.func.attr.value == "register_buffer"
        and state.scope.cls is not None
        and isinstance(updated.value, cst.Call)
    ):
        return None
    args = updated.value.args
    if len(args) < 2 or not isinstance(args[0].value, cst.SimpleString) or args[0].keyword:
        state.report("T2J201", "register_buffer with a computed name is not translated", node=original)
        return original
    name = literal(args[0].value)
    target = cst.AssignTarget(cst.Attribute(cst.Name("self"), cst.Name(name)))
    value = args[1].value
    if isinstance(value, cst.Name) and value.value == "None":
        return cst.Assign(targets=[target], value=_none_value(state, name))
    return cst.Assign(targets=[target], value=call(state.imports.ref("flax.nnx.Variable"), [value]))


def _none_value(state: State, attr: str) -> cst.BaseExpression:
    """``None`` for an attribute that is set to a parameter or a layer elsewhere: ``nnx.data(None)``
    (NNX otherwise takes the attribute for static and refuses the value later)."""
    cls = state.scope.cls
    if cls is not None and attr in state.facts.none_first.get(cls, ()):
        return call(state.imports.ref("flax.nnx.data"), [cst.Name("None")])
    return cst.Name("None")


@on_statement(cst.Assign)
def none_before_value(state: State, original: cst.Assign, updated: cst.Assign):
    if len(updated.targets) != 1 or not (isinstance(updated.value, cst.Name) and updated.value.value == "None"):
        return None
    target = updated.targets[0].target
    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
        value = _none_value(state, target.attr.value)
        return updated.with_changes(value=value) if value is not updated.value and not isinstance(value, cst.Name) else None
    return None


# ---------------------------------------------------------------------- calls


def with_rngs(state: State, node: cst.Call) -> cst.Call:
    return state.with_rngs(node)


@on_leave(cst.Call)
def construction(state: State, original: cst.Call, updated: cst.Call):
    """A module class of this file (also one passed in, stored or looked up), or a function that builds layers."""
    func = original.func
    scope = state.scope
    if isinstance(func, cst.Name) and func.value not in scope.shadowed and (
            (None, func.value) in state.facts.needs_rngs or func.value in state.facts.external_rngs_functions):
        return with_rngs(state, updated)
    if builds_module(state.facts, scope.cls, scope.key, func, scope.shadowed):
        return with_rngs(state, updated)
    return None


@on_leave(cst.Call)
def self_call(state: State, original: cst.Call, updated: cst.Call):
    """``self.forward(x)`` -> ``self(x)``; ``self.make_layer(...)`` gets rngs, as do ``cls.from_name(...)`` in a
    classmethod and ``Model.from_name(...)``, factories that build the module."""
    func = original.func
    scope = state.scope
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)) or func.value.value in scope.shadowed:
        return None
    receiver = func.value.value
    if receiver in state.facts.module_classes:
        owner = receiver
    elif receiver == "self" or receiver == classmethod_receiver(state.facts, scope.key):
        owner = scope.cls
    else:  # `model._change_in_channels(3)` on a variable holding one of the file's modules
        held = state.facts.holds(scope.cls, scope.key, func.value)
        if held is None or held.kind != "module" or held.name not in state.facts.module_classes:
            return None
        owner = held.name
    if owner is None:
        return None
    attr = func.attr.value
    if attr == "forward" and receiver == "self":
        return updated.with_changes(func=cst.Name("self"))
    owners = mro(state.facts, owner)
    if any((c, attr) in state.facts.needs_rngs for c in owners):
        return with_rngs(state, updated)
    return None


@on_leave(cst.Call)
def super_call(state: State, original: cst.Call, updated: cst.Call):
    """``super().forward(x)`` -> ``super().__call__(x)``; ``super().__init__`` of a local base gets rngs."""
    func = original.func
    if state.scope.cls is None:
        return None
    if _is_super_call(func, "forward"):
        return updated.with_changes(func=updated.func.with_changes(attr=cst.Name("__call__")))
    if _is_super_call(func, "__init__") and state.facts.class_bases.get(state.scope.cls):
        return with_rngs(state, updated)
    return None
