"""einops layers as the einops functions they wrap: ``Rearrange('b c h w -> b (c h w)')`` is
``functools.partial(einops.rearrange, pattern='b c h w -> b (c h w)')`` (einops works on JAX arrays)."""

from __future__ import annotations

import libcst as cst

from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.rule_application import module_function
from torch2jax.syntax import code_of


@handler("einops_layer")
def einops_function(rule, node, state, receiver):
    """The layer's arguments as keywords of the function (pattern, reduction, axis lengths)."""
    names = list(rule.signature)
    kwargs = {}
    for a in node.args:
        if a.star:
            raise Unsupported("T2J102", f"`{rule.torch}` with `{code_of(a)}`: write the arguments out")
        if a.keyword is None:
            if not names:
                raise Unsupported("T2J102", f"too many positional arguments for `{rule.torch}`")
            kwargs[names.pop(0)] = a.value
        else:
            kwargs[a.keyword.value] = a.value
    return module_function(state, cst.parse_expression(rule.target), kwargs)
