"""``einops.layers.torch`` layers (``Rearrange``, ``Reduce``) become the einops functions they
wrap, which work on JAX arrays (the handler is ``handlers/einops_layers``); one without a rule
is reported."""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import on_leave
from torch2jax.rule_application import apply_rule
from torch2jax.state import State

PREFIX = "einops.layers.torch."


@on_leave(cst.Call)
def einops_layer(state: State, original: cst.Call, updated: cst.Call):
    qname = state.qualify(original.func)
    if qname is None or not qname.startswith(PREFIX):
        return None
    rule = state.rules.get(qname)
    if rule is None:
        state.report("T2J901", f"`{qname}` has no rule; left as is", node=original)
        return updated
    return apply_rule(state, rule, original, updated, receiver=None)
