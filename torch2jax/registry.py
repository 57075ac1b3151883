"""Where code registers itself, and what the engine and the rule loader read.

Three kinds of entries, all filled when their modules are imported (``torch2jax.convert``
imports every concern, handler and transform module; the order of ``torch2jax.passes`` is
the order callbacks run in):

- rule **handlers** by name: ``@handler("pool")``, named by a rule's ``handler = "pool"``;
- **value transforms** by name: ``@value_transform("one_minus")``, named by ``args.x.transform``;
- **parameter transforms** by name: ``@param_transform("conv_kernel")``, named by a layer rule's
  ``params.<torch name>.transform`` and applied by weight transfer to torch's numpy array;
- **walk callbacks** by node type: ``@on_leave(cst.Call)``, ``@on_visit(cst.ClassDef)`` and
  ``@on_statement(cst.Expr)``, called by the one walk (``torch2jax.walk``) as it meets each node.

This module imports nothing from the package, so anything may register here.
"""

from __future__ import annotations

from typing import Callable

HANDLERS: dict[str, Callable] = {}
VALUE_TRANSFORMS: dict[str, Callable] = {}
PARAM_TRANSFORMS: dict[str, Callable] = {}
VISIT: dict[type, list[Callable]] = {}
LEAVE: dict[type, list[tuple[Callable, bool]]] = {}
STATEMENT: dict[type, list[Callable]] = {}


def _named(table: dict, kind: str, name: str):
    def register(fn):
        if name in table:
            raise ValueError(f"{kind} {name!r} registered twice ({table[name].__module__} and {fn.__module__})")
        table[name] = fn
        return fn

    return register


def handler(name: str):
    """Register ``fn(rule, call, state, receiver) -> expression`` as the rule handler ``name``."""
    return _named(HANDLERS, "handler", name)


def value_transform(name: str):
    """Register ``fn(expression, rule) -> expression`` as the argument transform ``name``."""
    return _named(VALUE_TRANSFORMS, "value transform", name)


def param_transform(name: str):
    """Register ``fn(torch_array) -> array in the Flax variable's layout`` for weight transfer."""
    return _named(PARAM_TRANSFORMS, "parameter transform", name)


def on_visit(*node_types: type):
    """Register ``fn(state, node)``, called when the walk enters a node of these types (for context)."""

    def register(fn):
        for t in node_types:
            VISIT.setdefault(t, []).append(fn)
        return fn

    return register


def on_leave(*node_types: type, exclusive: bool = True):
    """Register ``fn(state, original, updated) -> node | None``, called when the walk leaves a node.

    Callbacks run in registration order on the node as the previous ones left it. None
    means "not mine". A node returned by an ``exclusive`` callback is final for this node
    (the node is claimed: later callbacks do not see it); a non-exclusive callback only
    refines it and the next callbacks still run.
    """

    def register(fn):
        for t in node_types:
            LEAVE.setdefault(t, []).append((fn, exclusive))
        return fn

    return register


REMOVE = object()  # returned by a statement callback: drop the statement (its comments move on)


class Lines(list):
    """Returned by a statement callback: these small statements, each on its own line (when the
    statement was alone on its line; otherwise they share it, separated by semicolons)."""


def on_statement(*node_types: type):
    """Register ``fn(state, original, updated) -> statement | REMOVE | None`` for small statements
    (``cst.Expr``, ``cst.Assign``, ...), called when the walk leaves the line holding them. The
    first callback that returns something other than None decides."""

    def register(fn):
        for t in node_types:
            STATEMENT.setdefault(t, []).append(fn)
        return fn

    return register


def order_callbacks(modules: list[str]) -> None:
    """Put every walk callback in the order of ``modules`` (its module's place; callbacks of one module
    keep the order they were defined in), whatever order the modules happened to be imported in
    (a concern importing a helper from another registers that one first)."""
    rank = {name: i for i, name in enumerate(modules)}

    def place(fn) -> int:
        return rank.get(fn.__module__, len(rank))

    for table in (VISIT, STATEMENT):
        for key, callbacks in table.items():
            callbacks.sort(key=place)
    for key, entries in LEAVE.items():
        entries.sort(key=lambda entry: place(entry[0]))

