"""Normalisation layers whose torch ``affine`` flag is Flax's two flags (``use_scale``,
``use_bias``), and whose running statistics Flax does not keep (InstanceNorm)."""

from __future__ import annotations

from torch2jax.arguments import bind, build, target_arguments
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, code_of, literal, value_expr


@handler("affine_norm")
def affine_norm(rule, node, state, receiver):
    bound = bind(rule, node)
    affine_node = bound.pop("affine", None)
    default = rule.defaults.get("affine", True)
    affine = default if affine_node is None else literal(affine_node)
    if affine is MISSING:
        raise Unsupported("T2J102", f"`{rule.torch}` with affine={code_of(affine_node)}: a literal is needed")
    if "track_running_stats" in bound and literal(bound["track_running_stats"]) is not False:
        raise Unsupported("T2J102", f"`{rule.torch}` with track_running_stats: Flax instance normalisation keeps "
                          "no running statistics; not translated")
    bound.pop("track_running_stats", None)
    kwargs = target_arguments(rule, bound, state.imports)
    if not affine:
        kwargs["use_scale"] = value_expr(False)
        kwargs["use_bias"] = value_expr(False)
    for key in list(rule.const):  # the layout constants (feature_axes) last, after the flags
        kwargs[key] = kwargs.pop(key)
    kwargs["rngs"] = state.rngs_expr()
    return build(rule, state.imports.ref(rule.target), kwargs)


@handler("embedding")
def embedding(rule, node, state, receiver):
    """nn.Embedding: padding_idx keeps the forward exact; torch's zeroed gradient of that row is reported."""
    bound = bind(rule, node)
    pad = bound.pop("padding_idx", None)
    if pad is not None and literal(pad) is not None:
        state.report("T2J101", f"`nn.Embedding(padding_idx={code_of(pad)})`: the outputs match, but torch keeps that "
                     "row's gradient at zero and nnx.Embed does not (mask the row's update, or keep it fixed)",
                     node=node, handled=True)
    kwargs = target_arguments(rule, bound, state.imports)
    kwargs["rngs"] = state.rngs_expr()
    return build(rule, state.imports.ref(rule.target), kwargs)
