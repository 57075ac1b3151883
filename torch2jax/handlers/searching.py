"""``torch.searchsorted`` and ``torch.bucketize``: where values go in a sorted sequence.

Both are ``jnp.searchsorted`` with ``side`` for torch's ``right`` (the same meaning in both: ``right=True``
puts a value after the entries equal to it, ``boundaries[i-1] <= x < boundaries[i]``). ``bucketize``'s
boundaries are one axis, as ``jnp.searchsorted`` takes them; ``searchsorted`` also takes a batch of
sequences (..., n) searched row by row (NeRF's hierarchical sampling), which ``jnp.searchsorted`` does
not, so it is a helper defined once in the output that vectorises over the leading axes."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.handlers.support import define_helper, helper_name
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, call, code_of, expr, literal, simple, value_expr

SEARCHSORTED = '''def searchsorted(sorted_sequence, input, side="left"):
    """torch.searchsorted: where input's values go in sorted_sequence to keep it sorted (side="right": after the
    values equal to them). A sequence of more than one axis, (..., n), is searched row by row for input (..., m)."""
    search = functools.partial(jnp.searchsorted, side=side)
    if jnp.ndim(sorted_sequence) > 1:
        search = jnp.vectorize(search, signature="(n),(m)->(m)")
    return search(sorted_sequence, input)
'''


def _side(rule, bound) -> cst.BaseExpression | None:
    """``side=`` for torch's ``right`` / ``side`` (None: jnp's default, the left)."""
    if "side" in bound and literal(bound["side"]) is not None:
        side = literal(bound["side"])
        if side not in ("left", "right", MISSING):
            raise Unsupported("T2J302", f"`{rule.torch}` with side={side!r}: torch takes 'left' or 'right'")
        return None if side == "left" else bound["side"]
    right = literal(bound["right"]) if "right" in bound else False
    if right is MISSING:
        text = code_of(bound["right"])
        return expr(f"'right' if {text if simple(bound['right']) else f'({text})'} else 'left'")
    return value_expr("right") if right else None


def _checked(rule, bound) -> None:
    for name in ("sorter", "out"):
        if name in bound and literal(bound[name]) is not None:
            raise Unsupported("T2J302", f"`{rule.torch}` with {name}= is not translated")
    if "out_int32" in bound and literal(bound["out_int32"]) not in (True, False):
        raise Unsupported("T2J302", f"`{rule.torch}` with out_int32={code_of(bound['out_int32'])}: a literal is needed")


def _int32(rule, state, bound, result: cst.BaseExpression) -> cst.BaseExpression:
    if "out_int32" in bound and literal(bound["out_int32"]) is True:
        return call(cst.Attribute(value=result, attr=cst.Name("astype")), [state.imports.ref("jax.numpy.int32")])
    return result


@handler("searchsorted")
def searchsorted(rule, node, state, receiver):
    """``torch.searchsorted(seq, x, right=True)`` -> ``searchsorted(seq, x, side='right')``."""
    bound = bind(rule, node)
    _checked(rule, bound)
    side = _side(rule, bound)
    name = helper_name(state, "searchsorted")
    define_helper(state, name, SEARCHSORTED.replace("def searchsorted(", f"def {name}(", 1))
    found = call(cst.Name(name), [bound["sorted_sequence"], bound["input"]], {"side": side} if side is not None else {})
    return _int32(rule, state, bound, found)


@handler("bucketize")
def bucketize(rule, node, state, receiver):
    """``torch.bucketize(x, boundaries, right=True)`` -> ``jnp.searchsorted(boundaries, x, side='right')``."""
    bound = bind(rule, node)
    _checked(rule, bound)
    side = _side(rule, bound)
    found = call(state.imports.ref("jax.numpy.searchsorted"), [bound["boundaries"], bound["input"]],
                 {"side": side} if side is not None else {})
    return _int32(rule, state, bound, found)
