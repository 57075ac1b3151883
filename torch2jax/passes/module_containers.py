"""Subclasses of torch's containers, and modules registered under a name (torchvision's DenseNet:
``class _DenseBlock(nn.ModuleDict)`` filled by ``self.add_module("denselayer%d" % (i + 1), layer)``,
``class _Transition(nn.Sequential)`` whose layers are attributes, ``self.features.add_module(...)``).

- ``class B(nn.ModuleList)`` -> ``class B(nnx.List)``, ``class B(nn.ModuleDict)`` -> ``class B(nnx.Dict)``:
  entries, order and iteration (``self.items()``, ``for m in self``) are the same, and so are the
  names weight transfer gives them (``denselayer1.norm1.weight``); their ``super().__init__(...)`` stays;
- ``class S(nn.Sequential)`` given its layers (``super().__init__(*layers)``, ``self.append(m)``) ->
  ``class S(nnx.Sequential)``; ``self.append(m)`` / ``for m in self`` / ``self[i]`` / ``len(self)``
  reach its ``self.layers``;
- ``class S(nn.Sequential)`` whose layers are attributes set in ``__init__`` and that has no
  ``forward`` -> an ``nnx.Module`` with the ``__call__`` torch's Sequential has: the layers in the
  order ``__init__`` set them (``containers.sequential_attributes``); when ``__init__`` sets them
  under a condition or a computed name, the class is reported;
- ``m.add_module(name, module)`` / ``register_module``: an attribute (``setattr(m, name, module)``,
  ``m.name = module`` for a literal name) on a module, an entry on an ``nnx.Dict``, the next layer on
  an ``nnx.Sequential``; ``register_parameter`` / ``register_buffer`` with a computed name are
  attributes as well (``setattr(self, name, nnx.Variable(value))``).
"""

from __future__ import annotations

import keyword

import libcst as cst

from torch2jax.analyze import _held_by, container_kind, mro
from torch2jax.containers import CONTAINERS, NNX_CONTAINERS, is_module_value
from torch2jax.registry import on_leave, on_statement
from torch2jax.state import State
from torch2jax.syntax import call, code_of, literal

REGISTERS = ("add_module", "register_module", "register_parameter", "register_buffer")
SEQUENCE_METHODS = ("append", "extend", "insert", "pop")


def _is_self(node) -> bool:
    return isinstance(node, cst.Name) and node.value == "self"


def _sequential_form(state: State, cls: str | None) -> bool:
    """``cls`` subclasses nn.Sequential and becomes an nnx.Sequential (its layers in ``self.layers``)."""
    return cls is not None and container_kind(state.facts, cls) == "torch.nn.Sequential" and not any(
        c in state.facts.sequential_attributes for c in _mro(state, cls))


def _mro(state: State, cls: str) -> list[str]:
    return mro(state.facts, cls)


# ---------------------------------------------------------------------- the class


@on_leave(cst.ClassDef, exclusive=False)
def container_bases(state: State, original: cst.ClassDef, updated: cst.ClassDef):
    if not state.classes[-1][1] or original.name.value not in state.facts.containers:
        return None
    cls = original.name.value
    qname = state.facts.containers[cls]
    attributes = state.facts.sequential_attributes.get(cls, ()) if cls in state.facts.sequential_attributes else ()
    target = "flax.nnx.Module" if cls in state.facts.sequential_attributes else NNX_CONTAINERS[qname]
    bases = [base.with_changes(value=state.imports.ref(target)) if state.facts.imports.qualify(base.value) in CONTAINERS
             else base for base in updated.bases]
    updated = updated.with_changes(bases=bases)
    if attributes is None:
        state.report("T2J201", f"`{cls}` subclasses nn.Sequential and sets its layers as attributes under a condition, "
                     "in a loop or by a computed name: the order torch's forward runs them in is the run's; "
                     "write its __call__", node=original)
    elif attributes:
        updated = updated.with_changes(body=updated.body.with_changes(
            body=[*updated.body.body, _sequential_call(state, attributes)]))
    return updated


def _sequential_call(state: State, attributes: list[str]) -> cst.FunctionDef:
    layers = ", ".join(f"self.{a}" for a in attributes) + ("," if len(attributes) == 1 else "")
    i = state.indent
    text = (f"def __call__(self, input):  # nn.Sequential's forward: the layers in the order __init__ set them\n"
            f"{i}for module in ({layers}):\n{i}{i}input = module(input)\n{i}return input\n")
    return cst.parse_statement(text).with_changes(leading_lines=[cst.EmptyLine(indent=False)])


@on_statement(cst.Expr)
def keep_container_init(state: State, original: cst.Expr, updated: cst.Expr):
    """``super().__init__(...)`` of a container subclass stays: nnx.List, nnx.Dict and nnx.Sequential set
    up their entries there (the attribute form is a plain nnx.Module: the call goes)."""
    value = original.value
    cls = state.scope.cls
    if not (cls in state.facts.containers and cls not in state.facts.sequential_attributes
            and isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == "__init__" and isinstance(value.func.value, cst.Call)
            and isinstance(value.func.value.func, cst.Name) and value.func.value.func.value == "super"):
        return None
    return updated


# ---------------------------------------------------------------------- registering modules by name


def _receiver_kind(state: State, receiver) -> tuple[bool, str | None] | None:
    """(known, torch container or None for a plain module) of what ``receiver`` holds."""
    if _is_self(receiver):
        return (True, container_kind(state.facts, state.scope.cls)) if state.scope.cls is not None else None
    holder = state.holds(receiver)
    if holder is None:
        return None
    if holder.kind == "layer" and holder.name in CONTAINERS:
        return True, holder.name
    if holder.kind == "module":
        return True, container_kind(state.facts, holder.name) if holder.name in state.facts.module_classes else None
    return None


def _registration(state: State, node: cst.Call):
    """(method, receiver, kind) for ``<module>.add_module(name, value)`` & co that can be translated."""
    func = node.func
    if not (isinstance(func, cst.Attribute) and func.attr.value in REGISTERS and len(node.args) == 2
            and not any(a.star or a.keyword for a in node.args)):
        return None
    method = func.attr.value
    found = _receiver_kind(state, func.value)
    if found is None:
        return None
    kind = found[1]
    if method == "register_buffer" and (kind is not None or isinstance(node.args[0].value, cst.SimpleString)):
        return None  # a literal name is module_classes' (self.name = nnx.Variable(value))
    if method in ("register_parameter", "register_buffer") and kind is not None:
        return None
    if kind == "torch.nn.ModuleList":
        return None
    if kind == "torch.nn.Sequential" and _is_self(func.value) and not _sequential_form(state, state.scope.cls):
        return None  # the attribute form, reported with its class
    return method, func.value, kind


@on_leave(cst.Call)
def registration_call(state: State, original: cst.Call, updated: cst.Call):
    """Claimed here (not reported as an nn.Module method) when its statement becomes an assignment below."""
    if id(original) in state.statement_calls and _registration(state, original) is not None:
        return updated
    return None


@on_statement(cst.Expr)
def registration(state: State, original: cst.Expr, updated: cst.Expr):
    if not isinstance(original.value, cst.Call) or not isinstance(updated.value, cst.Call):
        return None
    found = _registration(state, original.value)
    if found is None:
        return None
    method, _, kind = found
    receiver = updated.value.func.value
    name, value = (a.value for a in updated.value.args)
    if method == "register_buffer":
        value = call(state.imports.ref("flax.nnx.Variable"), [value])
    if kind == "torch.nn.ModuleDict":
        element = cst.SubscriptElement(cst.Index(name))
        return cst.Assign([cst.AssignTarget(cst.Subscript(value=receiver, slice=[element]))], value)
    if kind == "torch.nn.Sequential":
        state.report("T2J101", f"`{code_of(original.value.func)}(...)`: nnx.Sequential indexes its layers, so the layer "
                     f"named {code_of(original.value.args[0].value)} is the next of `.layers` (weight transfer "
                     "follows the order)", node=original, handled=True, severity="info")
        layers = cst.Attribute(value=receiver, attr=cst.Name("layers"))
        return cst.Expr(call(cst.Attribute(value=layers, attr=cst.Name("append")), [value]))
    text = literal(name)
    if isinstance(text, str) and text.isidentifier() and not keyword.iskeyword(text):
        return cst.Assign([cst.AssignTarget(cst.Attribute(value=receiver, attr=cst.Name(text)))], value)
    return cst.Expr(call(cst.Name("setattr"), [receiver, name, value]))


# ---------------------------------------------------------------------- an nnx.Sequential's own layers


def _layers_of_self(state: State, node) -> bool:
    return _is_self(node) and _sequential_form(state, state.scope.cls)


def _layers(node) -> cst.Attribute:
    return cst.Attribute(value=node, attr=cst.Name("layers"))


@on_leave(cst.Call, exclusive=False)
def sequence_method(state: State, original: cst.Call, updated: cst.Call):
    """``self.append(m)`` in an nnx.Sequential subclass -> ``self.layers.append(m)``; ``len(self)`` likewise."""
    func = original.func
    if isinstance(func, cst.Attribute) and func.attr.value in SEQUENCE_METHODS and _layers_of_self(state, func.value) \
            and not any((c, func.attr.value) in state.facts.functions for c in _mro(state, state.scope.cls)):
        return updated.with_changes(func=updated.func.with_changes(value=_layers(updated.func.value)))
    if isinstance(func, cst.Name) and func.value == "len" and len(original.args) == 1 \
            and _layers_of_self(state, original.args[0].value):
        return updated.with_changes(args=[updated.args[0].with_changes(value=_layers(updated.args[0].value))])
    return None


@on_leave(cst.For, exclusive=False)
def iterate_layers(state: State, original: cst.For, updated: cst.For):
    if _layers_of_self(state, original.iter):
        return updated.with_changes(iter=_layers(updated.iter))
    return None


@on_leave(cst.Subscript, exclusive=False)
def index_layers(state: State, original: cst.Subscript, updated: cst.Subscript):
    if _layers_of_self(state, original.value):
        return updated.with_changes(value=_layers(updated.value))
    return None


# ---------------------------------------------------------------------- an nnx.Dict's own attributes


@on_statement(cst.Assign)
def dict_attribute(state: State, original: cst.Assign, updated: cst.Assign):
    """``self.rate = 0.1`` in an nn.ModuleDict subclass: nnx.Dict keeps every attribute as an entry, so
    ``self.items()`` would list it where torch's lists modules only."""
    cls = state.scope.cls
    if cls is None or container_kind(state.facts, cls) != "torch.nn.ModuleDict" or len(original.targets) != 1:
        return None
    target = original.targets[0].target
    if not (isinstance(target, cst.Attribute) and _is_self(target.value)):
        return None
    held_by = lambda value, key: _held_by(state.facts, value, state.rules, key)  # noqa: E731
    if is_module_value(state.facts, state.rules, cls, original.value, held_by) is False:
        state.report("T2J201", f"`self.{target.attr.value}` of `{cls}` (an nn.ModuleDict subclass) is not a module: "
                     "nnx.Dict keeps it as one of its entries, so items(), keys() and values() list it too",
                     node=original)
    return None
