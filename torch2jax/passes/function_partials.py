"""torch functions bound with ``functools.partial``: ``partial(torch.cat, dim=-1)`` ->
``functools.partial(jnp.concatenate, axis=-1)`` (denoising-diffusion's memory key/values,
``map(partial(torch.cat, dim=-2), pairs)``). The bound keywords are written in the target's terms,
as a call's are, with torch's defaults that differ made explicit; a rule that needs a handler, or
a partial binding arguments by position, is reported."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind, target_arguments
from torch2jax.diagnostics import Unsupported
from torch2jax.layer_values import PARTIAL
from torch2jax.registry import on_leave
from torch2jax.state import State
from torch2jax.syntax import call


@on_leave(cst.Call)
def bound_torch_function(state: State, original: cst.Call, updated: cst.Call):
    if state.qualify(original.func) != PARTIAL or not original.args or original.args[0].keyword is not None:
        return None
    qname = state.qualify(original.args[0].value)
    rule = state.rules.get(qname) if qname else None
    if rule is None or rule.kind != "function":
        return None
    if rule.handler or rule.target_is_method:
        raise Unsupported("T2J302", f"`functools.partial({qname}, ...)`: the arguments of `{qname}` are translated "
                                    "where it is called; call it in a lambda instead")
    bound_args = updated.args[1:]
    if any(a.keyword is None for a in bound_args):
        raise Unsupported("T2J302", f"`functools.partial({qname}, ...)` binding arguments by position is not "
                                    "translated; bind them by keyword")
    kwargs = target_arguments(rule, bind(rule, cst.Call(func=original.args[0].value, args=bound_args)), state.imports)
    state.applied(rule, len(state.pending))
    return call(state.imports.ref("functools.partial"), [state.imports.ref(rule.target)], kwargs)
