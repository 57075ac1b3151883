"""Shapes: flatten, size, split, ``x.dim()``/``x.t()``/``x.numel()`` as attributes, expand_as,
and methods that have nothing to do on a JAX array (``contiguous``)."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import NotTorch, Unsupported
from torch2jax.registry import handler
from torch2jax.syntax import call, code_of, expr, literal, simple, value_expr


def _int(node, what: str) -> int:
    value = literal(node)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Unsupported("T2J302", f"{what} must be a literal integer to translate, got `{code_of(node)}`")
    return value


@handler("flatten")
def flatten(rule, node, state, receiver):
    bound = bind(rule, node, receiver)
    start = _int(bound["start_dim"], "start_dim") if "start_dim" in bound else (1 if rule.kind == "module_fn" else 0)
    end = _int(bound["end_dim"], "end_dim") if "end_dim" in bound else -1
    if end != -1:
        raise Unsupported("T2J302", "flatten with end_dim other than -1 is not translated")
    if rule.kind == "module_fn":
        return expr(f"lambda x: {_flatten_text('x', start)}")
    x = bound["input"]
    if simple(x):
        return expr(_flatten_text(code_of(x), start))
    return call(state.imports.ref("jax.lax.collapse"), [x, value_expr(start)])


def _flatten_text(x: str, start: int) -> str:
    if start == 0:
        return f"{x}.reshape(-1)"
    if start == 1:
        return f"{x}.reshape({x}.shape[0], -1)"
    return f"{x}.reshape({x}.shape[:{start}] + (-1,))"


@handler("size")
def size(rule, node, state, receiver):
    bound = bind(rule, node, receiver)
    shape = cst.Attribute(value=bound["input"], attr=cst.Name("shape"))
    if "dim" not in bound:
        return shape
    return cst.Subscript(value=shape, slice=[cst.SubscriptElement(cst.Index(bound["dim"]))])


@handler("as_attribute")
def as_attribute(rule, node, state, receiver):
    """x.dim() -> x.ndim, x.t() -> x.T, x.numel() -> x.size."""
    if node.args:
        raise Unsupported("T2J302", f"`{rule.torch}` with arguments is not translated")
    return cst.Attribute(value=receiver, attr=cst.Name(rule.target.lstrip(".")))


@handler("passthrough")
def passthrough(rule, node, state, receiver):
    """x.contiguous() -> x: JAX arrays have no memory layout to fix."""
    return bind(rule, node, receiver)["input"]


@handler("expand_as")
def expand_as(rule, node, state, receiver):
    bound = bind(rule, node, receiver)
    shape = cst.Attribute(value=bound["other"], attr=cst.Name("shape"))
    return call(state.imports.ref("jax.numpy.broadcast_to"), [receiver, shape])


@handler("split")
def split(rule, node, state, receiver):
    """torch splits by chunk size; jnp.split by section count or indices."""
    first = node.args[0].value if node.args else None
    if first is None or isinstance(literal(first), str) or any(
        a.keyword and a.keyword.value in ("sep", "maxsplit") for a in node.args
    ):
        raise NotTorch  # str.split(), str.split(","), str.split(sep=...)
    bound = bind(rule, node, receiver)
    x = bound["input"]
    dim = bound.get("dim", value_expr(0))
    size = bound["split_size_or_sections"]
    value = literal(size)
    if isinstance(value, (list, tuple)):
        bounds, acc = [], 0
        for v in value[:-1]:
            acc += v
            bounds.append(acc)
        return call(state.imports.ref("jax.numpy.split"), [x, value_expr(bounds)], {"axis": dim})
    parts = state.unpacked_into()
    if parts is not None and (simple(size) or isinstance(value, int)):
        # `a, b, c = x.split(s)`: torch's unpacking succeeds only with 3 chunks, so the
        # boundaries are s and 2*s whatever x is.
        if isinstance(value, int):
            bounds = value_expr([value * i for i in range(1, parts)])
        else:
            s = code_of(size)
            bounds = expr("[" + ", ".join(s if i == 1 else f"{i} * {s}" for i in range(1, parts)) + "]")
        return call(state.imports.ref("jax.numpy.split"), [x, bounds], {"axis": dim})
    if not simple(x) or not (simple(size) or isinstance(value, int)):
        raise Unsupported("T2J302", "split by chunk size on an expression: bind it to a name first")
    s, d = code_of(size), code_of(dim)
    indices = expr(f"list(range({s}, {code_of(x)}.shape[{d}], {s}))")
    return call(state.imports.ref("jax.numpy.split"), [x, indices], {"axis": dim})


@handler("unflatten")
def unflatten(rule, node, state, receiver):
    """nn.Unflatten(dim, sizes) / x.unflatten(dim, sizes): one axis reshaped into several."""
    bound = bind(rule, node, receiver)
    sizes_node = bound.get("unflattened_size", bound.get("sizes"))
    if sizes_node is None or "dim" not in bound:
        raise NotTorch  # `treespec.unflatten(leaves)`: torch's unflatten takes a dim and sizes
    dim_node = bound["dim"]
    if rule.kind == "module_fn":
        x = "x"
    else:
        x_node = bound.get("input", receiver)
        if not simple(x_node):
            raise Unsupported("T2J302", "unflatten reads its input's shape: bind the input to a name first")
        x = code_of(x_node)
    sizes = literal(sizes_node)
    if isinstance(sizes, (tuple, list)):
        middle = repr(tuple(sizes))
    else:
        middle = f"tuple({code_of(sizes_node)})"
    dim = literal(dim_node)
    if isinstance(dim, int) and not isinstance(dim, bool):
        before = f"{x}.shape[:{dim}] + " if dim != 0 else ""
        after = "" if dim == -1 else f" + {x}.shape[{dim + 1}:]"
        text = f"{x}.reshape({before}{middle}{after})"
    else:
        d = code_of(dim_node)
        text = f"{x}.reshape({x}.shape[:{d}] + {middle} + {x}.shape[{d}:][1:])"
    return expr(f"lambda x: {text}" if rule.kind == "module_fn" else text)
