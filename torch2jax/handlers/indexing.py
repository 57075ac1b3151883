"""Choosing elements: torch's ``max``/``min`` with a dim (values and indices), and masked_fill."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind, require
from torch2jax.diagnostics import Unsupported
from torch2jax.passes.values_indices import pair
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, call, code_of, literal, simple


@handler("reduce_with_indices")
def reduce_with_indices(rule, node, state, receiver):
    """torch.max(x, dim) returns (values, indices); torch.max(x, y) is elementwise."""
    bound = bind(rule, node, receiver)
    x = bound["input"]
    name = rule.target.rsplit(".", 1)[-1]  # max / min
    keepdim = bound.get("keepdim")
    if "other" in bound:
        return call(state.imports.ref(f"jax.numpy.{name}imum"), [x, bound["other"]])
    if "dim" not in bound:
        return call(state.imports.ref(rule.target), [x])
    dim = bound["dim"]
    by_keyword = any(a.keyword is not None and a.keyword.value == "dim" for a in node.args)
    if not by_keyword and _makes_tensor(state, dim):  # torch.max(torch.le(x, a), torch.gt(x, b)): elementwise
        return call(state.imports.ref(f"jax.numpy.{name}imum"), [x, dim])
    if literal(dim) is MISSING and not by_keyword:  # `x.max(y)` may be elementwise; `x.max(dim=d)` is not
        raise Unsupported("T2J302", f"`{rule.torch}` with a non-literal second argument: dim or tensor? Not translated")
    kwargs = {"axis": dim}
    if keepdim is not None:
        kwargs["keepdims"] = keepdim
    if not simple(x):
        raise Unsupported("T2J302", f"`{rule.torch}(..., dim)` on an expression: bind it to a name first")
    values = call(state.imports.ref(rule.target), [x], dict(kwargs))
    indices = call(state.imports.ref(f"jax.numpy.arg{name}"), [x], dict(kwargs))
    return pair(state, values, indices)


def _makes_tensor(state, node) -> bool:
    """A call of a torch function that returns a tensor (``torch.gt(x, b)``), as the second argument
    of ``torch.max``: that is the other operand, never a dim. (Its translation is already JAX's.)"""
    return isinstance(node, cst.Call) and code_of(node.func).startswith(("jnp.", "jax.numpy.", "jax.nn."))


@handler("masked_fill")
def masked_fill(rule, node, state, receiver):
    bound = bind(rule, node, receiver)
    return call(state.imports.ref("jax.numpy.where"), [bound["mask"], bound["value"], bound["input"]])


@handler("topk")
def topk(rule, node, state, receiver):
    """torch.topk(x, k) -> jax.lax.top_k(x, k): the k largest along the last axis, sorted, with indices."""
    bound = bind(rule, node, receiver)
    x = bound.get("input", receiver)
    dim = literal(bound["dim"]) if "dim" in bound else -1
    if dim != -1:
        raise Unsupported("T2J302", "topk along an axis other than the last: move that axis last first (jax.lax.top_k works on the last)")
    largest = literal(bound["largest"]) if "largest" in bound else True
    if largest is not True and largest is not False:
        raise Unsupported("T2J302", "topk(largest=...) must be a literal to translate")
    if "sorted" in bound and literal(bound["sorted"]) is not True:
        state.report("T2J301", "topk(sorted=False): jax.lax.top_k returns them sorted, which torch allows", node=node,
                     handled=True, severity="info")
    top_k = state.imports.ref("jax.lax.top_k")
    if largest:
        result = call(top_k, [x, bound["k"]])
        # `.values` / `.indices` on the result pick its elements, as on torch's named tuple
        state.pairs[id(result)] = (_item(result, 0), _item(result, 1))
        state.keep_alive.append(result)
        return result
    if not simple(x):
        raise Unsupported("T2J302", "topk(largest=False) on an expression: bind it to a name first")
    # the k smallest: the k largest of -x, values negated back
    negated = call(top_k, [cst.UnaryOperation(cst.Minus(), x), bound["k"]])
    return pair(state, cst.UnaryOperation(cst.Minus(), _item(negated, 0)), _item(negated, 1))


def _item(node, i: int):
    return cst.Subscript(value=node, slice=[cst.SubscriptElement(cst.Index(cst.Integer(str(i))))])


@handler("sort")
def sort(rule, node, state, receiver):
    """torch.sort returns (values, indices): jnp.sort and jnp.argsort along the same axis."""
    bound = bind(rule, node, receiver)
    x = bound.get("input", receiver)
    if not simple(x):
        raise Unsupported("T2J302", "sort on an expression: bind it to a name first (values and indices both read it)")
    kwargs = {"axis": bound.get("dim", cst.UnaryOperation(cst.Minus(), cst.Integer("1")))}
    if "descending" in bound:
        kwargs["descending"] = bound["descending"]
    if "stable" in bound:
        kwargs["stable"] = bound["stable"]
    values = call(state.imports.ref("jax.numpy.sort"), [x], dict(kwargs))
    indices = call(state.imports.ref("jax.numpy.argsort"), [x], dict(kwargs))
    return pair(state, values, indices)


def _index_grid(state, index, dim):
    """``tuple(jnp.indices(index.shape).at[dim].set(index))``: every position of ``index``, with its
    ``dim`` coordinate replaced by the index's value (torch's definition of gather and scatter)."""
    indices = state.imports.ref("jax.numpy.indices")
    grid = call(cst.Attribute(value=cst.Subscript(
        value=cst.Attribute(value=call(indices, [cst.Attribute(value=index, attr=cst.Name("shape"))]), attr=cst.Name("at")),
        slice=[cst.SubscriptElement(cst.Index(dim))]), attr=cst.Name("set")), [index])
    return call(cst.Name("tuple"), [grid])


@handler("gather")
def gather(rule, node, state, receiver):
    """x.gather(dim, index) -> x[tuple(jnp.indices(index.shape).at[dim].set(index))]: torch's index may
    be smaller than x along the other axes too (jnp.take_along_axis would broadcast it instead)."""
    bound = bind(rule, node, receiver)
    if "sparse_grad" in bound and literal(bound["sparse_grad"]) is not False:
        raise Unsupported("T2J302", f"`{rule.torch}` with sparse_grad= is not translated")
    require(bound, "dim", "index")
    x, index, dim = bound.get("input", receiver), bound["index"], bound["dim"]
    if not simple(index):  # read once: jnp.take_along_axis, the same where the index spans the other axes
        state.report("T2J301", f"`{rule.torch}` with an index expression: jnp.take_along_axis broadcasts an index "
                     "of size 1 along another axis where torch takes that one slice; bind the index to a name for "
                     "torch's gather exactly", handled=True, mark=True)
        return call(state.imports.ref("jax.numpy.take_along_axis"), [x, index], {"axis": dim})
    return cst.Subscript(value=x, slice=[cst.SubscriptElement(cst.Index(_index_grid(state, index, dim)))])


@handler("scatter")
def scatter(rule, node, state, receiver):
    """x.scatter(dim, index, src) -> x.at[idx].set(src): idx is the index grid of ``index`` with
    its ``dim`` component replaced by ``index`` itself (scatter_add adds instead of setting)."""
    bound = bind(rule, node, receiver)
    x = bound.get("input", receiver)
    if "reduce" in bound and literal(bound["reduce"]) is not None:
        raise Unsupported("T2J302", f"`{rule.torch}` with reduce= is not translated")
    require(bound, "dim", "index")
    index, dim = bound["index"], bound["dim"]
    if not simple(index):
        raise Unsupported("T2J302", f"`{rule.torch}`: bind the index to a name first (its shape and values are both read)")
    src = bound.get("src", bound.get("value"))
    if src is None:
        raise Unsupported("T2J302", f"`{rule.torch}` needs src or value")
    where = cst.Subscript(value=cst.Attribute(value=x, attr=cst.Name("at")),
                          slice=[cst.SubscriptElement(cst.Index(_index_grid(state, index, dim)))])
    verb = "add" if rule.torch.endswith("scatter_add") else "set"
    return call(cst.Attribute(value=where, attr=cst.Name(verb)), [src])
