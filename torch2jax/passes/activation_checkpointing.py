"""Activation checkpointing: ``torch.utils.checkpoint.checkpoint(fn, *args, use_reentrant=False)``
recomputes ``fn``'s activations in the backward pass instead of keeping them; ``nnx.remat`` (the
NNX form of ``jax.checkpoint``) does the same and computes the same numbers.

An NNX transform sees the modules a function uses only through its arguments: a function that
reaches ``self`` from its closure and updates state there (BatchNorm statistics, dropout's random
stream) fails under the transform ("Cannot mutate ... from a different trace level"). So:

- ``fn`` a method, ``self.bn_function`` -> ``nnx.remat(type(self).bn_function)(self, *args)``;
- ``fn`` a module, ``self.block`` or a name holding one -> ``nnx.remat(lambda module, *args:
  module(*args))(self.block, *args)``;
- ``fn`` a function defined in the method (torchvision's DenseNet: ``def closure(*inputs): return
  self.bn_function(inputs)``) or a lambda, reaching ``self`` -> it takes ``self`` as its first
  parameter, ``nnx.remat(closure)(self, *args)``;
- a function reaching no module (one of the file's, a torch function, a lambda) -> ``nnx.remat(fn)(*args)``.

torch's options go: ``use_reentrant`` and ``preserve_rng_state`` (JAX recomputes with the same
keys), ``determinism_check``, ``debug``. ``context_fn`` is reported. A ``fn`` the file does not say
is a module or a function is called directly, reported: the values are the same, the memory saving
is not kept.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.analyze import mro
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler, on_leave, on_visit
from torch2jax.state import State
from torch2jax.syntax import code_of, expr
from torch2jax.traversal import visit

CHECKPOINT = "torch.utils.checkpoint.checkpoint"
DROPPED = ("use_reentrant", "preserve_rng_state", "determinism_check", "debug")


def _reaches_self(node) -> bool:
    """``self`` appears in the function's body and is not one of its parameters."""
    params = node.params
    if any(p.name.value == "self" for p in (*params.posonly_params, *params.params, *params.kwonly_params)):
        return False
    found = []

    class _Self(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            if name.value == "self":
                found.append(name)

    visit(node.body, _Self())
    return bool(found)


def _uses_of(body, name: str) -> int:
    count = []

    class _Uses(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                count.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            for child in (node.params, node.body, *node.decorators):
                child.visit(self)
            return False  # its own name is not a use

    visit(body, _Uses())
    return len(count)


@on_visit(cst.FunctionDef)
def closures_given_self(state: State, node: cst.FunctionDef) -> None:
    """In a method, the functions defined there and checkpointed by name, that reach ``self``:
    each takes ``self`` as a parameter (see ``self_parameter``), its call passes it."""
    if not state.at_top_level_function or state.scope.cls is None or "checkpoint" not in code_of(node.body):
        return
    nested: dict[str, cst.FunctionDef] = {}
    calls: list[cst.Call] = []

    class _Find(cst.CSTVisitor):
        def visit_FunctionDef(self, inner: cst.FunctionDef) -> None:
            nested[inner.name.value] = inner

        def visit_Call(self, c: cst.Call) -> None:
            if state.qualify(c.func) == CHECKPOINT and c.args and isinstance(c.args[0].value, cst.Name):
                calls.append(c)

    visit(node.body, _Find())
    for c in calls:
        name = c.args[0].value.value
        inner = nested.get(name)
        if inner is not None and _reaches_self(inner) and _uses_of(node.body, name) == sum(
                1 for other in calls if other.args[0].value.value == name):
            state.remat_closures.add(id(inner))
            state.remat_calls.add(id(c))


@on_leave(cst.FunctionDef, exclusive=False)
def self_parameter(state: State, original: cst.FunctionDef, updated: cst.FunctionDef):
    if id(original) not in state.remat_closures:
        return None
    params = updated.params
    return updated.with_changes(params=params.with_changes(params=[cst.Param(cst.Name("self")), *params.params]))


def _function_kind(state: State, original, updated) -> str:
    """"method", "module", "self closure", "function" or "unknown" for checkpoint's first argument."""
    cls = state.scope.cls
    if isinstance(original, cst.Lambda):
        return "self closure" if _reaches_self(original) and cls is not None else "function"
    if isinstance(original, cst.Name) and original.value == "self":
        return "module"
    if id(state.calls[-1]) in state.remat_calls:
        return "self closure"
    if isinstance(original, cst.Attribute) and isinstance(original.value, cst.Name) and original.value.value == "self" \
            and cls is not None and any((c, original.attr.value) in state.facts.functions for c in mro(state.facts, cls)):
        return "method"
    holder = state.holds(original)
    if holder is not None and holder.kind in ("layer", "module"):
        if holder.kind == "layer" and state.rules.get(holder.name).kind != "layer":
            return "function"  # nn.ReLU() held: jax.nn.relu
        return "module"
    qname = state.qualify(original)
    if qname is not None or (isinstance(original, cst.Name) and (None, original.value) in state.facts.functions):
        return "function"
    return "unknown"


@handler("activation_checkpoint")
def activation_checkpoint(rule, node, state, receiver):
    original_call = state.calls[-1]
    if not node.args or node.args[0].keyword or node.args[0].star:
        raise Unsupported("T2J302", "`checkpoint(...)` needs its function as the first positional argument")
    args = []
    for a in node.args[1:]:
        if a.keyword is not None and a.keyword.value in DROPPED:
            continue
        if a.keyword is not None and a.keyword.value == "context_fn":
            raise Unsupported("T2J302", "`checkpoint(..., context_fn=...)`: choose what JAX keeps with "
                              "nnx.remat(fn, policy=jax.checkpoint_policies....)")
        args.append(a)
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    fn = node.args[0].value
    kind = _function_kind(state, original_call.args[0].value, fn)
    remat = state.imports.ref("flax.nnx.remat")
    if kind == "unknown":
        state.report("T2J301", f"`{code_of(original_call.args[0].value)}` is not known to be a module or a function: "
                     "called without checkpointing (same values, without the memory saving); for a module write "
                     "nnx.remat(lambda module, *args: module(*args))(module, ...), for a function nnx.remat(fn)(...)",
                     node=original_call)
        return cst.Call(func=fn, args=args)
    if kind == "method":
        attr = fn.attr.value if isinstance(fn, cst.Attribute) else "__call__"
        attr = "__call__" if attr == "forward" else attr
        func, first = expr(f"type(self).{attr}"), [cst.Arg(cst.Name("self"))]
    elif kind == "module":
        func, first = expr("lambda module, *args: module(*args)"), [cst.Arg(fn)]
    elif kind == "self closure":
        if isinstance(fn, cst.Lambda):
            fn = fn.with_changes(params=fn.params.with_changes(params=[cst.Param(cst.Name("self")), *fn.params.params]))
        func, first = fn, [cst.Arg(cst.Name("self"))]
    else:
        func, first = fn, []
    return cst.Call(func=cst.Call(func=remat, args=[cst.Arg(func)]), args=[*first, *args])
