"""Calls of torch functions (``torch.cat``, ``F.relu``, ``torch.randn`` ...): the rule's target
with torch's arguments mapped; a torch call with no rule is reported (T2J901) and marked."""

from __future__ import annotations

import libcst as cst

from torch2jax.passes.layers import is_torch
from torch2jax.registry import on_leave
from torch2jax.rule_application import apply_rule
from torch2jax.state import State


@on_leave(cst.Call)
def torch_function_call(state: State, original: cst.Call, updated: cst.Call):
    qname = state.qualify(original.func)
    if not is_torch(qname):
        return None
    if qname == "torch.nn.Module.__init__" and id(original) in state.statement_calls and state.scope.cls is not None:
        return updated  # the statement goes (module_classes.drop_super_init)
    if qname == "torch.manual_seed" and id(original) in state.statement_calls and len(original.args) == 1:
        return updated  # the statement becomes `rngs = nnx.Rngs(seed)` (see randomness)
    rule = state.rules.get(qname)
    if rule is None or rule.kind in ("method", "constant"):
        state.report("T2J901", f"`{qname}` has no rule; left as is", node=original)
        return updated
    return apply_rule(state, rule, original, updated, receiver=None)
