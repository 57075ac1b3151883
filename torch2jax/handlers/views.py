"""Views a one-line JAX expression does not give: ``nn.Unfold`` / ``F.unfold`` (vit-pytorch's PiT
and T2T cut images into overlapping patches with them), their inverse ``nn.Fold`` / ``F.fold`` (the
transpose of unfold, overlapping blocks summed) and ``x.expand(*sizes)`` (class tokens broadcast to
the batch). ``jax.lax.conv_general_dilated_patches`` takes the blocks in torch's
NCHW layout and orders each block's values as torch does (channel outermost, then kernel rows and
columns), so a helper defined once in the output reshapes its (N, C*kh*kw, oh, ow) to torch's (N, C*kh*kw, L)."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.handlers.support import define_helper, helper_name
from torch2jax.registry import handler
from torch2jax.syntax import call, expr

UNFOLD = '''def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """torch's nn.Unfold / F.unfold: the sliding blocks of an (N, C, H, W) input as columns, (N, C * kh * kw, L)."""
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)  # noqa: E731
    ph, pw = pair(padding)
    patches = jax.lax.conv_general_dilated_patches(
        input, pair(kernel_size), pair(stride), [(ph, ph), (pw, pw)], rhs_dilation=pair(dilation),
        dimension_numbers=("NCHW", "OIHW", "NCHW"), precision=jax.lax.Precision.HIGHEST)
    return patches.reshape(patches.shape[0], patches.shape[1], -1)
'''
ARGUMENTS = ("kernel_size", "dilation", "padding", "stride")


@handler("unfold")
def unfold(rule, node, state, receiver):
    """``nn.Unfold(k, stride=s)`` -> ``functools.partial(unfold, kernel_size=k, stride=s)``;
    ``F.unfold(x, k, ...)`` -> ``unfold(x, k, ...)``."""
    name = helper_name(state, "unfold")
    define_helper(state, name, UNFOLD.replace("def unfold(", f"def {name}(", 1))
    bound = bind(rule, node)
    keywords = {a: bound[a] for a in ARGUMENTS if a in bound}
    if rule.kind == "module_fn":
        return call(state.imports.ref("functools.partial"), [expr(name)], keywords)
    return call(expr(name), [bound["input"]], keywords)


FOLD = '''def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """torch's nn.Fold / F.fold: the columns of an (N, C * kh * kw, L) input (or (C * kh * kw, L)) added back as
    the blocks of an (N, C, H, W) output, overlapping blocks summed: the transpose of unfold, which is linear."""
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)  # noqa: E731
    columns = input if input.ndim == 3 else input[None]
    kh, kw = pair(kernel_size)
    shape = (columns.shape[0], columns.shape[1] // (kh * kw)) + pair(output_size)
    blocks = functools.partial(unfold, kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    (out,) = jax.linear_transpose(blocks, jax.ShapeDtypeStruct(shape, columns.dtype))(columns)
    return out if input.ndim == 3 else out[0]
'''
FOLD_ARGUMENTS = ("output_size", "kernel_size", "dilation", "padding", "stride")


@handler("fold")
def fold(rule, node, state, receiver):
    """``nn.Fold(o, k, stride=s)`` -> ``functools.partial(fold, output_size=o, kernel_size=k, stride=s)``;
    ``F.fold(x, o, k, ...)`` -> ``fold(x, output_size=o, kernel_size=k, ...)``: unfold's transpose, beside it."""
    blocks = helper_name(state, "unfold")
    define_helper(state, blocks, UNFOLD.replace("def unfold(", f"def {blocks}(", 1))
    name = helper_name(state, "fold")
    define_helper(state, name, FOLD.replace("def fold(", f"def {name}(", 1).replace("partial(unfold,", f"partial({blocks},"),
                  needs=(blocks,))
    bound = bind(rule, node)
    keywords = {a: bound[a] for a in FOLD_ARGUMENTS if a in bound}
    if rule.kind == "module_fn":
        return call(state.imports.ref("functools.partial"), [expr(name)], keywords)
    return call(expr(name), [bound["input"]], keywords)


EXPAND = '''def expand(input, *sizes):
    """torch's x.expand(*sizes): a view broadcast to sizes, -1 keeping the size; new axes go in front."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    lead = len(sizes) - input.ndim
    return jnp.broadcast_to(input, tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes)))
'''


@handler("expand")
def expand(rule, node, state, receiver):
    """``cls_token.expand(b, -1, -1)`` -> ``expand(cls_token, b, -1, -1)``: -1 is the receiver's own size,
    which only the array knows (new leading axes shift it), so a helper defined once does the lookup."""
    if any(a.keyword for a in node.args):
        from torch2jax.diagnostics import Unsupported

        raise Unsupported("T2J302", "`x.expand(size=...)` by keyword is not translated")
    name = helper_name(state, "expand")
    define_helper(state, name, EXPAND.replace("def expand(", f"def {name}(", 1))
    return node.with_changes(func=expr(name), args=[cst.Arg(receiver), *node.args])
