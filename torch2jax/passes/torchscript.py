"""TorchScript decorators on definitions (rules with the ``torchscript_decorator`` handler):
``@torch.jit.unused`` / ``ignore`` / ``export`` / ``script`` go and the function stays;
a ``@torch.jit._overload_method`` stub goes with its decorator (the real definition follows)."""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import on_leave
from torch2jax.state import State

STUBS = {"torch.jit._overload_method", "torch.jit._overload"}


def _decorator_rule(state: State, decorator: cst.Decorator):
    qname = state.qualify(decorator.decorator)
    rule = state.rules.get(qname) if qname else None
    return rule if rule is not None and rule.handler == "torchscript_decorator" else None


@on_leave(cst.FunctionDef, exclusive=False)
def torchscript_decorators(state: State, original: cst.FunctionDef, updated: cst.FunctionDef):
    marked = [(d, _decorator_rule(state, o)) for d, o in zip(updated.decorators, original.decorators)]
    if not any(rule for _, rule in marked):
        return None
    for _, rule in marked:
        if rule is not None:
            state.applied(rule, len(state.pending))
    if any(rule is not None and rule.torch in STUBS for _, rule in marked):
        return cst.RemoveFromParent()
    return updated.with_changes(decorators=[d for d, rule in marked if rule is None])
