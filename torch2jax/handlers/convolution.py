"""Transposed convolutions: ``nn.ConvTranspose2d`` -> ``nnx.ConvTranspose(..., transpose_kernel=True)``.

torch's ``padding`` removes rows from the full transposed output and ``output_padding`` adds them
back on one side; ``lax.conv_transpose`` pads the stride-dilated input instead. The same output
is ``dilation * (kernel - 1) - padding`` before and that plus ``output_padding`` after, per
spatial dimension. With ``transpose_kernel=True`` Flax flips the kernel and swaps its feature
axes as torch does, so torch's weight (in, out, *k) is Flax's kernel (*k, out, in).
"""

from __future__ import annotations

from torch2jax.arguments import bind, build, target_arguments
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, code_of, literal, value_expr


def _per_dim(bound: dict, name: str, n: int, default: int) -> tuple:
    node = bound.get(name)
    value = default if node is None else literal(node)
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    if isinstance(value, (tuple, list)) and len(value) == n and all(isinstance(v, int) for v in value):
        return tuple(value)
    shown = code_of(node) if node is not None else repr(value)
    if value is MISSING:
        raise Unsupported("T2J102", f"transposed convolution {name}={shown} must be a literal to translate its padding")
    raise Unsupported("T2J102", f"transposed convolution {name}={shown} is not translated")


@handler("conv_transpose")
def conv_transpose(rule, node, state, receiver):
    bound = bind(rule, node)
    n = rule.spatial_dims
    kernel = _per_dim(bound, "kernel_size", n, 1)
    pad = _per_dim(bound, "padding", n, 0)
    extra = _per_dim(bound, "output_padding", n, 0)
    dilation = _per_dim(bound, "dilation", n, 1)
    bound["padding"] = value_expr(tuple(
        (d * (k - 1) - p, d * (k - 1) - p + o) for k, p, o, d in zip(kernel, pad, extra, dilation)
    ))
    kwargs = target_arguments(rule, bound, state.imports)
    kwargs["rngs"] = state.rngs_expr()
    return build(rule, state.imports.ref(rule.target), kwargs)
