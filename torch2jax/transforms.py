"""Value transforms that rules name in ``args.<name>.transform``.

Each takes the argument's expression and the rule and returns the target's
expression; literals are computed (``momentum=0.1`` becomes ``momentum=0.9``),
other expressions are rewritten symbolically. A transform that cannot express a
value raises Unsupported, and the call is reported and left as it was. Each
registers itself by name; the rule loader rejects a name nobody registered.
"""

from __future__ import annotations

import libcst as cst

from torch2jax import param_transforms_layers  # noqa: F401  (registers the layers' weight transforms)
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import value_transform
from torch2jax.syntax import code_of, expr, literal, value_expr


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


@value_transform("kernel_tuple")
def kernel_tuple(node, rule) -> cst.BaseExpression:
    return _ntuple(node, rule.spatial_dims or 1)


@value_transform("one_minus")
def one_minus(node, rule) -> cst.BaseExpression:
    value = literal(node)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value_expr(1 - value)
    if value is None:
        raise Unsupported("T2J102", "momentum=None (cumulative moving average) has no Flax equivalent")
    return expr(f"1 - ({code_of(node)})" if not isinstance(node, (cst.Name, cst.Attribute)) else f"1 - {code_of(node)}")


@value_transform("padding")
def padding(node, rule) -> cst.BaseExpression:
    value = literal(node)
    if isinstance(value, str):
        if value.lower() not in ("same", "valid"):
            raise Unsupported("T2J102", f"padding={value!r} is not a torch padding mode")
        return value_expr(value.upper())
    return node  # ints and per-dimension tuples mean the same in nnx.Conv


@value_transform("pool_padding")
def pool_padding(node, rule) -> cst.BaseExpression:
    value = literal(node)
    n = rule.spatial_dims or 1
    if isinstance(value, int) and not isinstance(value, bool):
        return value_expr(((value, value),) * n) if value else value_expr("VALID")
    if isinstance(value, (tuple, list)) and len(value) == n:
        return value_expr(tuple((p, p) for p in value))
    raise Unsupported("T2J102", f"pool padding {code_of(node)} must be a literal int or tuple to translate")


@value_transform("gelu_approximate")
def gelu_approximate(node, rule) -> cst.BaseExpression:
    value = literal(node)
    if value in ("none", "tanh"):
        return value_expr(value == "tanh")
    raise Unsupported("T2J302", f"approximate={code_of(node)} must be the literal 'none' or 'tanh'")


@value_transform("normalized_shape")
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


@value_transform("shape")
def shape(nodes, rule) -> cst.BaseExpression:
    """torch's ``*size`` varargs (``zeros(2, 3)`` or ``zeros((2, 3))``) as one shape."""
    if isinstance(nodes, cst.BaseExpression):
        return nodes
    if len(nodes) == 1:
        return nodes[0]
    return cst.Tuple([cst.Element(n) for n in nodes])


@value_transform("axes")
def axes(nodes, rule) -> cst.BaseExpression:
    """``x.permute(1, 0)`` or ``x.permute((1, 0))`` as one tuple of axes; ``x.permute(0)`` (a 1-D
    array) as ``(0,)``: jnp.transpose takes no bare integer."""
    if isinstance(nodes, list) and len(nodes) == 1 and isinstance(literal(nodes[0]), int):
        return cst.Tuple([cst.Element(nodes[0])])
    return shape(nodes, rule)


@value_transform("sequence_items")
def sequence_items(nodes, rule):
    """``torch.meshgrid([a, b])`` / ``torch.einsum(eq, [a, b])``: torch also takes the tensors as one
    list or tuple; the jnp function takes them one by one."""
    if isinstance(nodes, list) and len(nodes) == 1 and isinstance(nodes[0], (cst.List, cst.Tuple)):
        return [e.value for e in nodes[0].elements]
    return nodes


@value_transform("unbiased_ddof")
def unbiased_ddof(node, rule) -> cst.BaseExpression:
    """torch's ``unbiased`` flag as numpy's ``ddof`` (torch defaults to the unbiased estimate)."""
    value = literal(node)
    if isinstance(value, bool):
        return value_expr(int(value))
    return expr(f"int({code_of(node)})")


@value_transform("vector_norm_ord")
def vector_norm_ord(node, rule) -> cst.BaseExpression:
    """torch.norm's ``p`` as ``jnp.linalg.vector_norm``'s ``ord``: ``'fro'`` is the 2-norm of the
    elements; the nuclear norm is a matrix norm, not translated here."""
    value = literal(node)
    if value == "fro":
        return value_expr(2)
    if isinstance(value, str):
        raise Unsupported("T2J302", f"p={value!r} is a matrix norm: write jnp.linalg.norm(x, {value!r}, axis=...) "
                          "over the two axes")
    return node


@value_transform("class_count")
def class_count(node, rule) -> cst.BaseExpression:
    """F.one_hot's ``num_classes``: torch's default, -1, is the largest label + 1, a value of the data."""
    if literal(node) == -1:
        raise Unsupported("T2J302", "F.one_hot without num_classes (or -1) counts the classes from the data; "
                          "give the number of classes")
    return node
