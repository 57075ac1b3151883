"""``torch.randn(*size)`` -> ``jax.random.normal(key, shape)``: JAX needs an explicit key."""

from __future__ import annotations

from torch2jax.arguments import bind, build, target_arguments
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler


@handler("random")
def random(rule, node, state, receiver):
    key = state.key_expr()
    if key is None:
        raise Unsupported("T2J203", f"`{rule.torch}` needs a random key; pass an nnx.Rngs into this function")
    kwargs = target_arguments(rule, bind(rule, node), state.imports)
    return build(rule, state.imports.ref(rule.target), kwargs, extra_first=[key])
