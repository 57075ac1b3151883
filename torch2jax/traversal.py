"""Walking a LibCST tree at a fraction of LibCST's own cost, with the same calls in the same order.

LibCST's ``node.visit(visitor)`` rebuilds every node of the tree (a dataclass construction with
validation per node), also for a read-only ``CSTVisitor`` and for subtrees nothing changes, and it
visits every whitespace, comma and parenthesis (about two nodes in three). Measured on the
installed ``torch/nn`` package, a no-op ``CSTTransformer`` walk costs more than parsing it.

The two walks here make the calls LibCST makes, in its order (taken from LibCST itself: the
field order its ``_visit_and_replace_children`` visits, recorded once per node type), but

- skip subtrees that hold nothing the visitor has a callback for ("inert" node types: whitespace,
  comments, operators, literals, ..., worked out from the node classes' field types), and
- rebuild a node only when one of its children changed; an unchanged subtree comes back as the
  very same object (LibCST returns an equal copy).

``transform`` is for the one walk (``torch2jax.walk``); ``visit`` runs a read-only ``CSTVisitor``
(its ``visit_X``/``leave_X`` methods, or its own ``on_visit``/``on_leave``). Removal and
``FlattenSentinel`` are handled as LibCST does (also its errors), so callbacks cannot tell.

What a field may hold is read from the node classes' type annotations, which parsed trees (all
this is used on) follow.
"""

from __future__ import annotations

import inspect
import typing
from typing import Callable

import libcst as cst
from libcst import CSTValidationError, FlattenSentinel, MaybeSentinel, RemovalSentinel
from libcst._nodes.base import CSTNode

_DEFAULT = MaybeSentinel.DEFAULT
_REQUIRED = object()  # a single-node field that cannot be removed
_SEQUENCES = (tuple, list)
_BODIES = {(cst.Module, "body"), (cst.IndentedBlock, "body")}  # LibCST's visit_body_sequence fields


def _concrete_subclasses(base: type) -> set[type]:
    found, todo = set(), [base]
    while todo:
        cls = todo.pop()
        if not inspect.isabstract(cls):
            found.add(cls)
        todo += cls.__subclasses__()
    return found


def _node_classes_in(annotation) -> set[type]:
    """The concrete CSTNode classes a field's type annotation allows."""
    if isinstance(annotation, type):
        return _concrete_subclasses(annotation) if issubclass(annotation, CSTNode) else set()
    out: set[type] = set()
    for arg in typing.get_args(annotation):
        out |= _node_classes_in(arg)
    return out


_FIELD_TYPES: dict[type, dict[str, tuple[frozenset, object]]] = {}


def _fields(kind: type) -> dict[str, tuple[frozenset, object]]:
    """Field name -> (the node classes it may hold, what LibCST leaves when its node is removed:
    None for ``Optional[...]``, ``MaybeSentinel.DEFAULT`` for ``Union[..., MaybeSentinel]``, else
    _REQUIRED), for the fields that may hold nodes."""
    found = _FIELD_TYPES.get(kind)
    if found is None:
        found = {}
        for name, annotation in typing.get_type_hints(kind).items():
            classes = _node_classes_in(annotation) if not name.startswith("_") else set()
            if classes:
                allowed = typing.get_args(annotation)
                removed = None if type(None) in allowed else _DEFAULT if MaybeSentinel in allowed else _REQUIRED
                found[name] = (frozenset(classes), removed)
        _FIELD_TYPES[kind] = found
    return found


_INERT: dict[frozenset, frozenset] = {}


def inert_types(callback_types) -> frozenset:
    """Node types whose subtrees can hold no node of ``callback_types`` (greatest fixed point)."""
    key = frozenset(callback_types)
    found = _INERT.get(key)
    if found is None:
        every = _concrete_subclasses(CSTNode)
        inert = {t for t in every if t not in key}
        changed = True
        while changed:
            changed = False
            for t in list(inert):
                if any(not classes <= inert for classes, _ in _fields(t).values()):
                    inert.discard(t)
                    changed = True
        found = _INERT[key] = frozenset(inert)
    return found


class _FieldOrder(cst.CSTVisitor):
    """Records the fields LibCST visits for one node, in order, without descending."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def on_visit(self, node) -> bool:
        return False

    def on_visit_attribute(self, node, attribute: str) -> None:
        if not self.names or self.names[-1] != attribute:
            self.names.append(attribute)

    def on_leave_attribute(self, original_node, attribute: str) -> None:
        pass


# (node type, inert set) -> ((field, removal value, is a body sequence), ...) for fields that may
# hold a non-inert node, in LibCST's visiting order.
_PLANS: dict[tuple[type, frozenset], tuple] = {}


def _plan(node: CSTNode, inert: frozenset) -> tuple:
    kind = type(node)
    recorder = _FieldOrder()
    node._visit_and_replace_children(recorder)
    fields = _fields(kind)
    plan = []
    for name in recorder.names:
        classes, removed = fields.get(name, (frozenset(), _REQUIRED))
        if classes <= inert:
            continue
        plan.append((name, removed, (kind, name) in _BODIES))
    plan = tuple(plan)
    if set(recorder.names) >= set(fields):  # LibCST skips a field only when it holds nothing (f-string specs)
        _PLANS[(kind, inert)] = plan
    return plan


def _removed_single(value: CSTNode, result, removed):
    """What LibCST's visit_required / visit_optional / visit_sentinel make of a removal or flattening."""
    if isinstance(result, FlattenSentinel):
        raise TypeError(
            f"We got a FlattenSentinel while visiting a {type(value).__name__}. This "
            + "node's parent does not allow for it to be it to be replaced with a "
            + "sequence."
        )
    if removed is _REQUIRED:
        raise TypeError(
            f"We got a RemovalSentinel while visiting a {type(value).__name__}. This "
            + "node's parent does not allow it to be removed."
        )
    return removed


def _checked(result):
    if not isinstance(result, (CSTNode, RemovalSentinel, FlattenSentinel)):
        raise CSTValidationError(
            "Expected a node of type CSTNode or a RemovalSentinel, "
            + f"but got a return value of {type(result).__name__}"
        )
    return result


def transform(node: CSTNode, on_visit: Callable, on_leave: Callable, inert: frozenset,
              visiting: frozenset | None = None, leaving: frozenset | None = None):
    """``node.visit(transformer)`` for a transformer with these ``on_visit(node) -> bool`` and
    ``on_leave(original, updated)``, whose callbacks see no node of an ``inert`` type. When given,
    ``visiting`` / ``leaving`` are the only node types whose ``on_visit`` / ``on_leave`` do anything
    (for the others, ``on_visit`` would return True and ``on_leave`` the updated node): they are not
    called for the others."""
    plans = _PLANS

    def walk(node):
        kind = node.__class__
        if (visiting is not None and kind not in visiting) or on_visit(node):
            plan = plans.get((kind, inert))
            if plan is None:
                plan = _plan(node, inert)
            changes = None
            for name, removed, body in plan:
                value = getattr(node, name)
                if value is None or value is _DEFAULT:
                    continue
                if value.__class__ in _SEQUENCES:
                    items = None  # the new sequence, made at the first change
                    for i, child in enumerate(value):
                        if child.__class__ in inert:
                            if items is not None:
                                items.append(child)
                            continue
                        new = walk(child)
                        if new is child:
                            if items is not None:
                                items.append(child)
                            continue
                        if items is None:
                            items = list(value[:i])
                        if isinstance(new, RemovalSentinel):
                            continue
                        if isinstance(new, FlattenSentinel):
                            if body:
                                removable = child._is_removable()
                                items.extend(n for n in new if removable or not n._is_removable())
                            else:
                                items.extend(new)
                        elif not (body and not child._is_removable() and new._is_removable()):
                            items.append(new)
                    if items is not None:
                        if changes is None:
                            changes = {}
                        changes[name] = tuple(items)
                elif value.__class__ not in inert:
                    new = walk(value)
                    if new is not value:
                        if isinstance(new, (RemovalSentinel, FlattenSentinel)):
                            new = _removed_single(value, new, removed)
                        if changes is None:
                            changes = {}
                        changes[name] = new
            updated = node if changes is None else node.with_changes(**changes)
        else:
            updated = node
        if leaving is not None and kind not in leaving:
            return updated
        return _checked(on_leave(node, updated))

    return walk(node)


_VISITOR_INERT: dict[frozenset, frozenset | None] = {}
_BY_NAME: dict[str, set[type]] = {}


def _visitor_inert(visitor_class: type) -> frozenset | None:
    """The node types a CSTVisitor class can skip, or None when it must see every node
    (its own on_visit / on_leave, or per-attribute callbacks)."""
    if any(getattr(visitor_class, m) is not getattr(cst.CSTVisitor, m)
           for m in ("on_visit", "on_leave", "on_visit_attribute", "on_leave_attribute")):
        return None
    names = frozenset(name for klass in visitor_class.__mro__ if klass is not cst.CSTVisitor
                      and issubclass(klass, cst.CSTVisitor) for name in vars(klass))
    if names in _VISITOR_INERT:  # classes defined inside a function are new objects at each call
        return _VISITOR_INERT[names]
    if not _BY_NAME:
        for t in _concrete_subclasses(CSTNode):
            _BY_NAME.setdefault(t.__name__, set()).add(t)
    hooked, per_attribute = set(), False
    for name in names:
        prefix, _, rest = name.partition("_")
        if prefix in ("visit", "leave") and rest:
            if rest in _BY_NAME:
                hooked |= _BY_NAME[rest]
            elif rest.partition("_")[0] in _BY_NAME:
                per_attribute = True
    found = None if per_attribute else inert_types(hooked)
    _VISITOR_INERT[names] = found
    return found


def visit(node: CSTNode, visitor: cst.CSTVisitor) -> None:
    """``node.visit(visitor)`` for a read-only CSTVisitor, without rebuilding the tree."""
    inert = _visitor_inert(type(visitor))
    if inert is None:
        node.visit(visitor)
        return
    plans = _PLANS
    methods: dict[type, tuple] = {}  # what CSTVisitor.on_visit / on_leave look up, once per node type

    def walk(node):
        kind = node.__class__
        found = methods.get(kind)
        if found is None:
            name = kind.__name__
            found = methods[kind] = (getattr(visitor, f"visit_{name}", None), getattr(visitor, f"leave_{name}", None))
        enter, leave = found
        if enter is None or enter(node) is not False:
            plan = plans.get((kind, inert))
            if plan is None:
                plan = _plan(node, inert)
            for name, _, _ in plan:
                value = getattr(node, name)
                if value is None or value is _DEFAULT:
                    continue
                if value.__class__ in _SEQUENCES:
                    for child in value:
                        if child.__class__ not in inert:
                            walk(child)
                elif value.__class__ not in inert:
                    walk(value)
        if leave is not None:
            leave(node)

    walk(node)
