"""Arrays kept as plain module attributes: ``self.pos_embedding = posemb_sincos_2d(...)`` (vit-pytorch's
SimpleViT), ``self.mask = torch.ones(n, n).tril()``: neither a parameter nor a buffer in torch, so
not in its state dict, but used by ``forward``.

NNX takes an array attribute for pytree data only when it is assigned a concrete array; built inside
a transformation (``nnx.eval_shape``, a jitted constructor) it is a tracer, kept as a static attribute
and leaked (UnexpectedTracerError at the first call). ``nnx.data(...)`` says it is data either way:
``self.pos_embedding = nnx.data(posemb_sincos_2d(...))``. It is no ``nnx.Variable``, so neither an
optimizer over ``nnx.Param`` nor weight transfer looks for it, as torch's state dict does not hold it.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.passes.tensor_values import _reads_tensor, known_tensors
from torch2jax.registry import on_statement
from torch2jax.state import State
from torch2jax.syntax import call


def _init(state: State) -> cst.FunctionDef | None:
    if state.scope.cls is None or state.scope.key is None or state.scope.key[1] != "__init__" \
            or not state.at_top_level_function:
        return None
    return state.facts.functions.get(state.scope.key)


@on_statement(cst.Assign)
def array_attribute(state: State, original: cst.Assign, updated: cst.Assign):
    if len(original.targets) != 1:
        return None
    target = original.targets[0].target
    if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"):
        return None
    init = _init(state)
    if init is None or not _reads_tensor(state, original.value, known_tensors(state, init)):
        return None
    value = updated.value
    if isinstance(value, cst.Call) and state.qualify(value.func) in ("flax.nnx.data", "flax.nnx.Variable", "flax.nnx.Param"):
        return None  # a second conversion
    return updated.with_changes(value=call(state.imports.ref("flax.nnx.data"), [value]))
