"""Randomness is explicit in JAX: ``torch.manual_seed(s)`` as a statement becomes
``rngs = nnx.Rngs(s)``, the ``rngs`` that constructions in that scope then use. (Layers
receive ``rngs`` through ``module_classes``; ``torch.randn`` & co draw from
``rngs.params()`` through the ``random`` handler.)"""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import on_statement
from torch2jax.state import State
from torch2jax.syntax import call


@on_statement(cst.Expr)
def manual_seed(state: State, original: cst.Expr, updated: cst.Expr):
    c = original.value
    if not isinstance(c, cst.Call) or state.qualify(c.func) != "torch.manual_seed" or len(c.args) != 1:
        return None
    if state.scope.key is None:
        state.module_rngs = True
    return cst.Assign(
        targets=[cst.AssignTarget(cst.Name("rngs"))],
        value=call(state.imports.ref("flax.nnx.Rngs"), [c.args[0].value]),
    )
