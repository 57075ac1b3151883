"""Value transforms that rules name in ``args.<name>.transform``.

Each takes the argument's expression and the rule and returns the target's
expression; literals are computed (``momentum=0.1`` becomes ``momentum=0.9``),
other expressions are rewritten symbolically. A transform that cannot express a
value raises Unsupported, and the call is reported and left as it was.
"""

from __future__ import annotations

import ast
from typing import Any, Callable

import libcst as cst

_MISSING = object()


class Unsupported(Exception):
    """A construct the rule cannot translate; carries the diagnostic code and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def code_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def literal(node: cst.BaseExpression) -> Any:
    """The Python value of a literal expression, or _MISSING."""
    try:
        return ast.literal_eval(code_of(node))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _MISSING


def is_literal(node: cst.BaseExpression) -> bool:
    return literal(node) is not _MISSING


def expr(source: str) -> cst.BaseExpression:
    from torch2jax.emit import parse_expr

    return parse_expr(source)


def value_expr(value: Any) -> cst.BaseExpression:
    """An expression for a Python literal value (floats printed shortest-round-trip)."""
    if isinstance(value, float):
        value = round(value, 12)
    from torch2jax.emit import parse_expr

    return parse_expr(repr(value))


def _ntuple(node: cst.BaseExpression, n: int) -> cst.BaseExpression:
    value = literal(node)
    if isinstance(value, int) and not isinstance(value, bool):
        return value_expr((value,) * n)
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise Unsupported("T2J102", f"expected {n} values, got {code_of(node)}")
        return value_expr(tuple(value))
    if isinstance(node, (cst.Tuple, cst.List)):
        return cst.Tuple([cst.Element(e.value) for e in node.elements])
    # A variable: torch accepts an int or a tuple; an int is by far the common case.
    # A tuple variable gives a nested tuple that Flax rejects loudly at construction.
    return cst.Tuple([cst.Element(node)] * n)


def kernel_tuple(node, rule) -> cst.BaseExpression:
    return _ntuple(node, rule.spatial_dims or 1)


def one_minus(node, rule) -> cst.BaseExpression:
    value = literal(node)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value_expr(1 - value)
    if value is None:
        raise Unsupported("T2J102", "momentum=None (cumulative moving average) has no Flax equivalent")
    return expr(f"1 - ({code_of(node)})" if not isinstance(node, (cst.Name, cst.Attribute)) else f"1 - {code_of(node)}")


def padding(node, rule) -> cst.BaseExpression:
    value = literal(node)
    if isinstance(value, str):
        if value.lower() not in ("same", "valid"):
            raise Unsupported("T2J102", f"padding={value!r} is not a torch padding mode")
        return value_expr(value.upper())
    return node  # ints and per-dimension tuples mean the same in nnx.Conv


def pool_padding(node, rule) -> cst.BaseExpression:
    value = literal(node)
    n = rule.spatial_dims or 1
    if isinstance(value, int) and not isinstance(value, bool):
        return value_expr(((value, value),) * n) if value else value_expr("VALID")
    if isinstance(value, (tuple, list)) and len(value) == n:
        return value_expr(tuple((p, p) for p in value))
    raise Unsupported("T2J102", f"pool padding {code_of(node)} must be a literal int or tuple to translate")


def gelu_approximate(node, rule) -> cst.BaseExpression:
    value = literal(node)
    if value in ("none", "tanh"):
        return value_expr(value == "tanh")
    raise Unsupported("T2J302", f"approximate={code_of(node)} must be the literal 'none' or 'tanh'")


def normalized_shape(node, rule) -> cst.BaseExpression:
    value = literal(node)
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise Unsupported("T2J102", "LayerNorm over more than one trailing dimension needs reduction_axes; not translated")
        return value_expr(value[0])
    if isinstance(node, (cst.Tuple, cst.List)):
        if len(node.elements) != 1:
            raise Unsupported("T2J102", "LayerNorm over more than one trailing dimension needs reduction_axes; not translated")
        return node.elements[0].value
    return node


def shape(nodes, rule) -> cst.BaseExpression:
    """torch's ``*size`` varargs (``zeros(2, 3)`` or ``zeros((2, 3))``) as one shape."""
    if isinstance(nodes, cst.BaseExpression):
        return nodes
    if len(nodes) == 1:
        return nodes[0]
    return cst.Tuple([cst.Element(n) for n in nodes])


def unbiased_ddof(node, rule) -> cst.BaseExpression:
    """torch's ``unbiased`` flag as numpy's ``ddof`` (torch defaults to the unbiased estimate)."""
    value = literal(node)
    if isinstance(value, bool):
        return value_expr(int(value))
    return expr(f"int({code_of(node)})")


class NotTorch(Exception):
    """The call only looks like a tensor method (``line.split(",")``); leave it alone."""


VALUE_TRANSFORMS: dict[str, Callable] = {
    "kernel_tuple": kernel_tuple,
    "one_minus": one_minus,
    "padding": padding,
    "pool_padding": pool_padding,
    "gelu_approximate": gelu_approximate,
    "normalized_shape": normalized_shape,
    "shape": shape,
    "unbiased_ddof": unbiased_ddof,
}
