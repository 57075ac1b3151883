"""Layers called as functions with their weights given: ``F.linear``, ``F.embedding``,
``F.conv1d/2d/3d``, ``F.layer_norm``, ``F.group_norm``, ``F.rms_norm`` (nanoGPT's LayerNorm with an
optional bias, a convolution written with ``nn.Parameter`` kernels).

The weights stay in torch's layout (they are the user's own ``nnx.Param``), so a convolution
keeps NCHW / OIHW (``jax.lax.conv_general_dilated`` takes torch's dimension order as it is) and
``F.linear`` multiplies by the transpose. The normalisations are helpers defined once in the output
with torch's arguments; a Flax variable passed in is read as an array (``jnp.asarray``).
"""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.handlers.support import define_helper, helper_name
from torch2jax.registry import handler
from torch2jax.syntax import call, code_of, expr, literal, simple

HELPERS = {
    "layer_norm": '''def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    """torch's F.layer_norm: normalise over the last len(normalized_shape) axes (biased variance)."""
    axes = tuple(range(-len(normalized_shape), 0)) if isinstance(normalized_shape, (tuple, list)) else (-1,)
    mean = input.mean(axes, keepdims=True)
    out = (input - mean) / jnp.sqrt(((input - mean) ** 2).mean(axes, keepdims=True) + eps)
    if weight is not None:
        out = out * jnp.asarray(weight)
    return out if bias is None else out + jnp.asarray(bias)
''',
    "rms_norm": '''def rms_norm(input, normalized_shape, weight=None, eps=None):
    """torch's F.rms_norm: divide by the root mean square over the last len(normalized_shape) axes;
    eps defaults to the dtype's machine epsilon."""
    axes = tuple(range(-len(normalized_shape), 0)) if isinstance(normalized_shape, (tuple, list)) else (-1,)
    eps = jnp.finfo(input.dtype).eps if eps is None else eps
    out = input * jax.lax.rsqrt((input * input).mean(axes, keepdims=True) + eps)
    return out if weight is None else out * jnp.asarray(weight)
''',
    "group_norm": '''def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    """torch's F.group_norm: channels (axis 1) in num_groups groups, each normalised over its
    channels and the spatial axes (biased variance); weight and bias per channel."""
    n, c = input.shape[:2]
    grouped = input.reshape(n, num_groups, -1)
    mean = grouped.mean(-1, keepdims=True)
    out = ((grouped - mean) / jnp.sqrt(((grouped - mean) ** 2).mean(-1, keepdims=True) + eps)).reshape(input.shape)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * jnp.asarray(weight).reshape(shape)
    return out if bias is None else out + jnp.asarray(bias).reshape(shape)
''',
    "conv": '''def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch's F.conv1d/2d/3d in torch's layout (N, C, *spatial and O, I / groups, *kernel)."""
    weight = jnp.asarray(weight)
    n = weight.ndim - 2
    per_axis = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * n  # noqa: E731
    if isinstance(padding, str):
        padding = padding.upper()
    else:
        padding = [(p, p) for p in per_axis(padding)]
    spatial = "DHW"[-n:] if n <= 3 else None
    out = jax.lax.conv_general_dilated(
        input, weight, per_axis(stride), padding, rhs_dilation=per_axis(dilation), feature_group_count=groups,
        dimension_numbers=("NC" + spatial, "OI" + spatial, "NC" + spatial))
    return out if bias is None else out + jnp.asarray(bias).reshape((1, -1) + (1,) * n)
''',
}


def _helper(state, base: str) -> cst.Name:
    name = helper_name(state, base)
    define_helper(state, name, HELPERS[base].replace(f"def {base}(", f"def {name}(", 1))
    return cst.Name(name)


def _as_call(rule, node, state, base: str, names: list[str]):
    """The helper called with torch's arguments as written, in its own order."""
    bound = bind(rule, node)
    positional, keywords = [], {}
    for i, name in enumerate(names):
        if name in bound:
            if len(positional) == i:
                positional.append(bound[name])
            else:
                keywords[name] = bound[name]
    extra = set(bound) - set(names)
    if extra:
        raise Unsupported("T2J302", f"`{rule.torch}` with {sorted(extra)[0]}= is not translated")
    return call(_helper(state, base), positional, keywords)


@handler("functional_norm")
def functional_norm(rule, node, state, receiver):
    """``F.layer_norm`` / ``F.rms_norm`` / ``F.group_norm`` -> the helper with torch's signature."""
    base = rule.target
    return _as_call(rule, node, state, base, [s for s in rule.signature if s not in ("memory_format",)])


@handler("functional_conv")
def functional_conv(rule, node, state, receiver):
    """``F.conv2d(x, w, b, stride, padding, dilation, groups)`` -> ``conv(...)`` in torch's layout."""
    bound = bind(rule, node)
    padding = literal(bound["padding"]) if "padding" in bound else 0
    if isinstance(padding, str) and padding not in ("same", "valid"):
        raise Unsupported("T2J302", f"`{rule.torch}` with padding={padding!r} is not translated")
    return _as_call(rule, node, state, "conv", list(rule.signature))


@handler("functional_linear")
def functional_linear(rule, node, state, receiver):
    """``F.linear(x, w, b)`` -> ``x @ w.T + b`` (torch's weight is (out, in))."""
    bound = bind(rule, node)
    x, w = bound["input"], bound["weight"]
    product = f"{_operand(x)} @ {_operand(w)}.T"
    bias = bound.get("bias")
    if bias is None or literal(bias) is None:
        return expr(product)
    return expr(f"{product} + {_operand(bias)}")


@handler("functional_embedding")
def functional_embedding(rule, node, state, receiver):
    """``F.embedding(idx, table)`` -> ``jnp.take(table, idx, axis=0)``; the training-time options are reported."""
    bound = bind(rule, node)
    for name in ("max_norm", "padding_idx"):
        if name in bound and literal(bound[name]) is not None:
            raise Unsupported("T2J302", f"`{rule.torch}` with {name}= is not translated (use nn.Embedding's rule)")
    for name in ("scale_grad_by_freq", "sparse"):
        if name in bound and literal(bound[name]) is not False:
            raise Unsupported("T2J302", f"`{rule.torch}` with {name}= is not translated")
    return call(state.imports.ref("jax.numpy.take"), [bound["weight"], bound["input"]], {"axis": expr("0")})


def _operand(node) -> str:
    text = code_of(node)
    return text if simple(node) or isinstance(node, (cst.Call, cst.Subscript)) else f"({text})"
