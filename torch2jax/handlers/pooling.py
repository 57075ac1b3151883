"""Pooling: torch's stride defaults to the kernel size; ceil_mode is extra padding on the high
side (exact when no window can lie wholly in it); adaptive pooling to one bin is a mean or max,
to more bins a helper defined once in the output with torch's bins (equal bins are a reshape)."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind, build, target_arguments
from torch2jax.diagnostics import Unsupported
from torch2jax.handlers.support import define_helper, helper_name
from torch2jax.passes.layout import to_first, to_last
from torch2jax.registry import handler
from torch2jax.rule_application import module_function
from torch2jax.syntax import MISSING, call, code_of, expr, literal, simple, value_expr


def _per_dim(bound: dict, name: str, n: int, default) -> tuple:
    node = bound.get(name)
    value = default if node is None else literal(node)
    if value is None:
        value = default
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    if isinstance(value, (tuple, list)) and len(value) == n and all(isinstance(v, int) for v in value):
        return tuple(value)
    raise Unsupported("T2J102", f"pooling with ceil_mode=True needs a literal {name}, got `{code_of(node)}`")


def _ceil_padding(rule, bound: dict, avg: bool):
    """torch's ceil_mode as explicit padding: s - 1 more on the high side of each axis."""
    n = rule.spatial_dims
    kernel = _per_dim(bound, "kernel_size", n, None)
    stride = _per_dim(bound, "stride", n, kernel)
    pad = _per_dim(bound, "padding", n, 0)
    for k, s, p in zip(kernel, stride, pad):
        if k - 1 <= p + s - 2:
            # a last window could start in the padding, where torch drops it and Flax would not
            raise Unsupported("T2J102", f"ceil_mode=True with kernel {k}, stride {s}, padding {p}: a window may lie "
                              "wholly outside the input, which torch drops; not translated")
    if avg and any(pad) and literal(bound.get("count_include_pad", value_expr(True))) is not False:
        raise Unsupported("T2J102", "average pooling with ceil_mode=True, padding and count_include_pad=True: torch "
                          "counts the padding but not the ceil extension in the divisor; not translated")
    return value_expr(tuple((p, p + s - 1) for s, p in zip(stride, pad)))


@handler("pool")
def pool(rule, node, state, receiver):
    """nn.MaxPool2d / nn.AvgPool2d / F.max_pool2d ...: channels-last Flax pools, stride = kernel by default."""
    bound = bind(rule, node)
    if "stride" not in bound or literal(bound["stride"]) is None:
        bound["stride"] = bound["kernel_size"]
    avg = rule.target.endswith("avg_pool")
    ceil = literal(bound.pop("ceil_mode")) if "ceil_mode" in bound else False
    if ceil is MISSING:
        raise Unsupported("T2J102", f"ceil_mode={code_of(node)} must be a literal to translate")
    padding = _ceil_padding(rule, bound, avg) if ceil else None
    kwargs = target_arguments(rule, bound, state.imports)
    if padding is not None:
        kwargs["padding"] = padding
        if avg:  # the ceil extension is never counted; with no other padding, neither is anything else
            kwargs["count_include_pad"] = value_expr(False)
    target = state.imports.ref(rule.target)
    if rule.kind == "module_fn":
        return module_function(state, target, kwargs)
    x = kwargs.pop("input")
    rank = rule.spatial_dims + 2
    return to_first(state, build(rule, target, kwargs, extra_first=[to_last(state, x, rank)]), rank)


@handler("adaptive_avg_pool")
def adaptive_avg_pool(rule, node, state, receiver):
    return _adaptive(rule, node, state, "mean")


@handler("adaptive_max_pool")
def adaptive_max_pool(rule, node, state, receiver):
    bound = bind(rule, node)
    if "return_indices" in bound and literal(bound["return_indices"]) is not False:
        raise Unsupported("T2J102", "adaptive max pooling with return_indices=True is not translated")
    return _adaptive(rule, node, state, "max")


def _adaptive(rule, node, state, reduce: str):
    bound = bind(rule, node)
    n = rule.spatial_dims
    size = literal(bound["output_size"])
    sizes = size if isinstance(size, (tuple, list)) else (size,) * n
    if size is MISSING or len(sizes) != n or not all(s is None or (isinstance(s, int) and s > 0) for s in sizes):
        raise Unsupported("T2J102", f"adaptive pooling to {code_of(bound['output_size'])}: a literal output size is needed")
    if all(s == 1 for s in sizes):
        axes = value_expr(tuple(range(2, 2 + n)) if n > 1 else 2)
        target = state.imports.ref(f"jax.numpy.{reduce}")
        kwargs = {"axis": axes, "keepdims": value_expr(True)}
        if rule.kind == "module_fn":
            return module_function(state, target, kwargs)
        return call(target, [bound["input"]], kwargs)
    name = helper_name(state, "adaptive_pool")
    define_helper(state, name, ADAPTIVE_POOL.replace("def adaptive_pool(", f"def {name}(", 1))
    kwargs = {"output_size": value_expr(tuple(sizes)), "reduce": state.imports.ref(f"jax.numpy.{reduce}")}
    if rule.kind == "module_fn":
        return module_function(state, cst.Name(name), kwargs)
    return call(cst.Name(name), [bound["input"]], kwargs)


# torch's bins: bin i of an axis of length L spans [floor(i * L / n), ceil((i + 1) * L / n)), so bins
# differ in size and overlap when n does not divide L (a 1x1 map pooled to 7x7 is copied 49 times).
ADAPTIVE_POOL = '''def adaptive_pool(x, output_size, reduce):
    """torch's adaptive pooling of the last len(output_size) axes into output_size bins each (None
    keeps an axis): bin i of an axis of length L spans [floor(i * L / n), ceil((i + 1) * L / n))."""
    for axis, n in enumerate(output_size, x.ndim - len(output_size)):
        length = x.shape[axis]
        if n is None or n == length:
            continue
        if length % n == 0:
            x = reduce(x.reshape(*x.shape[:axis], n, length // n, *x.shape[axis + 1:]), axis=axis + 1)
        else:
            bins = [(i * length // n, -(-(i + 1) * length // n)) for i in range(n)]
            x = jnp.stack([reduce(jax.lax.slice_in_dim(x, start, stop, axis=axis), axis=axis) for start, stop in bins], axis)
    return x
'''

