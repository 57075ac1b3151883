"""Resizing images: ``F.interpolate`` and ``nn.Upsample`` (and its two old spellings).

- ``nearest`` by an integer factor and the linear modes (align_corners=False) are
  ``jax.image.resize`` with antialiasing off: both use torch's half-pixel mapping then.
- ``nearest`` to a given size picks ``floor(i * in / out)`` as torch does (``jax.image.resize``
  rounds half-pixel centres instead, which differs unless the ratio is an integer); that is
  ``jnp.take`` per spatial axis.
- ``align_corners=True`` maps the corner pixels onto each other: ``jax.image.scale_and_translate``
  with scale ``(out - 1) / (in - 1)`` and the matching translation. Where a side is 1, torch takes
  the first pixel: the scale ``max(out - 1, 1) / max(in - 1, 0.4)`` keeps every sample on it then
  (an output of 1 samples input position 0; an input of 1 is sampled within 0.4 of its centre, inside
  the half pixel where jax.image keeps samples).
- ``nearest`` by a factor known only at run time (``scale_factor=upsample``) is a helper defined
  once in the output with torch's sizes and indices for any factor.
- ``bicubic`` is reported: torch's cubic kernel (a = -0.75, border pixels repeated) is not
  ``jax.image``'s (a = -0.5, weights renormalised at the border).
"""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.handlers.support import define_helper, helper_name
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, call, code_of, expr, literal, simple

LINEAR_RANK = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer_factor(value) -> int | None:
    if _number(value) and float(value).is_integer() and value >= 1:
        return int(value)
    return None


@handler("interpolate")
def interpolate(rule, node, state, receiver):
    bound = bind(rule, node, receiver)
    for name, value in rule.const.items():
        bound.setdefault(name, expr(repr(value)))
    mode = literal(bound["mode"]) if "mode" in bound else "nearest"
    if mode is MISSING:
        raise Unsupported("T2J302", f"interpolation mode `{code_of(bound['mode'])}` must be a literal to translate")
    align = literal(bound["align_corners"]) if "align_corners" in bound else None
    if align is MISSING:
        raise Unsupported("T2J302", "align_corners must be a literal to translate")
    for flag in ("antialias", "recompute_scale_factor"):
        if flag in bound and literal(bound[flag]) not in (None, False):
            raise Unsupported("T2J302", f"interpolate with {flag}={code_of(bound[flag])} is not translated")
    if mode in ("bicubic", "area"):
        raise Unsupported("T2J302", f"interpolate mode {mode!r} has no exact jax.image equivalent "
                          "(bicubic: torch's kernel uses a=-0.75 and repeats border pixels; area: use adaptive pooling)")
    if mode not in ("nearest", "nearest-exact", *LINEAR_RANK):
        raise Unsupported("T2J302", f"interpolate mode {mode!r} is not translated")
    size, scale = bound.get("size"), bound.get("scale_factor")
    if size is not None and literal(size) is None:
        size = None
    if scale is not None and literal(scale) is None:
        scale = None
    if (size is None) == (scale is None):
        raise Unsupported("T2J302", "interpolate needs exactly one of size and scale_factor")
    rank = LINEAR_RANK.get(mode)
    for node_ in (size, scale):
        value = literal(node_) if node_ is not None else MISSING
        if isinstance(value, (tuple, list)):
            if rank is not None and rank != len(value):
                raise Unsupported("T2J302", f"{mode} interpolation of {len(value)} spatial dimensions")
            rank = len(value)
        elif isinstance(node_, (cst.Tuple, cst.List)):
            rank = len(node_.elements)
    if scale is not None and literal(scale) is MISSING and mode == "nearest":  # scale_factor=upsample
        name = helper_name(state, "interpolate_nearest")
        define_helper(state, name, NEAREST_BY_FACTOR.replace("def interpolate_nearest(", f"def {name}(", 1))
        state.imports.ref("math.floor")
        state.imports.ref("numpy.arange")
        if rule.kind == "module_fn":
            return call(state.imports.ref("functools.partial"), [cst.Name(name)], {"scale_factor": scale})
        return call(cst.Name(name), [bound["input"]], {"scale_factor": scale})
    if rule.kind == "module_fn":
        x_text = "x"
    else:
        x = bound["input"]
        if not simple(x):
            raise Unsupported("T2J302", "interpolate reads its input's shape: bind the input to a name first")
        x_text = code_of(x)
    text = _resize_text(state, x_text, mode, align, size, scale, rank)
    return expr(f"lambda x: {text}" if rule.kind == "module_fn" else text)


# A scale factor known only when the model is built (``nn.Upsample(scale_factor=upsample)``): torch's
# sizes and source indices for any factor, computed as torch computes them (float32 1 / s).
NEAREST_BY_FACTOR = '''def interpolate_nearest(x, scale_factor):
    """torch's nearest interpolation by scale_factor (one for every spatial axis, or one each): the
    output size is floor(n * s) and output i reads input floor(i * float32(1 / s)), except that
    torch's 2-d kernel copies when the size is kept and halves the index when it doubles."""
    factors = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * (x.ndim - 2)
    for axis, s in enumerate(factors, 2):
        n = x.shape[axis]
        size = math.floor(n * s)
        if x.ndim == 4 and size in (n, 2 * n):
            index = np.arange(size) * n // size
        else:
            index = np.minimum(np.floor(np.arange(size, dtype=np.float32) * np.float32(1.0 / s)), n - 1)
        x = jnp.take(x, index.astype(np.int32), axis=axis)
    return x
'''


def _sizes(x: str, size, scale, rank: int | None) -> list[str] | str:
    """The output's spatial sizes, one expression each (or one expression for an unknown rank)."""
    if size is not None:
        value = literal(size)
        if isinstance(value, (tuple, list)):
            return [repr(v) for v in value]
        if isinstance(size, (cst.Tuple, cst.List)):
            return [code_of(e.value) for e in size.elements]
        if rank is None:
            return f"({code_of(size)},) * ({x}.ndim - 2)"
        return [code_of(size)] * rank
    value = literal(scale)
    factors = list(value) if isinstance(value, (tuple, list)) else ([value] * rank if rank else None)
    if value is MISSING or (factors is not None and any(_integer_factor(f) is None for f in factors)) or \
            (factors is None and _integer_factor(value) is None):
        raise Unsupported("T2J302", f"scale_factor={code_of(scale)}: only literal integer factors are translated "
                          "(torch maps coordinates by 1/scale_factor, which matches the output size only then)")
    if factors is None:
        return f"tuple(n * {_integer_factor(value)} for n in {x}.shape[2:])"
    return [f"{x}.shape[{2 + i}] * {_integer_factor(f)}" for i, f in enumerate(factors)]


def _shape(x: str, sizes) -> str:
    if isinstance(sizes, str):
        return f"{x}.shape[:2] + {sizes}"
    return f"{x}.shape[:2] + ({', '.join(sizes)}{',' if len(sizes) == 1 else ''})"


def _resize_text(state, x, mode, align, size, scale, rank) -> str:
    def ref(name):
        return code_of(state.imports.ref(name))

    sizes = _sizes(x, size, scale, rank)
    if mode == "nearest" and size is not None:
        if isinstance(sizes, str):
            raise Unsupported("T2J302", "nearest interpolation to a size: give the size per spatial dimension")
        out = x
        for i, s in enumerate(sizes):
            out = f"{ref('jax.numpy.take')}({out}, {ref('jax.numpy.arange')}({s}) * {x}.shape[{2 + i}] // {s}, axis={2 + i})"
        return out
    method = "nearest" if mode.startswith("nearest") else "linear"
    if not align or method == "nearest":
        return f"{ref('jax.image.resize')}({x}, {_shape(x, sizes)}, {method!r}, antialias=False)"
    if isinstance(sizes, str):
        raise Unsupported("T2J302", "align_corners=True: give the size per spatial dimension")
    def steps(s: str) -> str:  # out - 1, at least 1
        return str(max(int(s) - 1, 1)) if s.isdigit() else f"max({s} - 1, 1)"

    scales = ", ".join(f"{steps(s)} / max({x}.shape[{2 + i}] - 1, 0.4)" for i, s in enumerate(sizes))
    axes = ", ".join(str(2 + i) for i in range(len(sizes)))
    if len(sizes) == 1:
        axes += ","
    scale = f"{ref('jax.numpy.array')}([{scales}])"
    return (f"{ref('jax.image.scale_and_translate')}({x}, {_shape(x, sizes)}, ({axes}), {scale}, 0.5 - 0.5 * {scale}, "
            "'linear', antialias=False)")
