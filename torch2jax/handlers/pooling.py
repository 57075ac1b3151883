"""Pooling: torch's stride defaults to the kernel size; adaptive average pooling to size 1
is a mean over the spatial axes."""

from __future__ import annotations

from torch2jax.arguments import bind, build, target_arguments
from torch2jax.diagnostics import Unsupported
from torch2jax.passes.layout import to_first, to_last
from torch2jax.registry import handler
from torch2jax.rule_application import module_function
from torch2jax.syntax import call, code_of, literal, value_expr


@handler("pool")
def pool(rule, node, state, receiver):
    """nn.MaxPool2d / nn.AvgPool2d / F.max_pool2d ...: channels-last Flax pools, stride = kernel by default."""
    bound = bind(rule, node)
    if "stride" not in bound or literal(bound["stride"]) is None:
        bound["stride"] = bound["kernel_size"]
    kwargs = target_arguments(rule, bound, state.imports)
    target = state.imports.ref(rule.target)
    if rule.kind == "module_fn":
        return module_function(state, target, kwargs)
    x = kwargs.pop("input")
    rank = rule.spatial_dims + 2
    return to_first(state, build(rule, target, kwargs, extra_first=[to_last(state, x, rank)]), rank)


@handler("adaptive_avg_pool")
def adaptive_avg_pool(rule, node, state, receiver):
    bound = bind(rule, node)
    size = literal(bound["output_size"])
    n = rule.spatial_dims
    if size != 1 and size != (1,) * n and size != [1] * n:
        raise Unsupported("T2J102", f"adaptive average pooling to {code_of(bound['output_size'])}: only output size 1 is translated")
    axes = value_expr(tuple(range(2, 2 + n)) if n > 1 else 2)
    target = state.imports.ref("jax.numpy.mean")
    kwargs = {"axis": axes, "keepdims": value_expr(True)}
    if rule.kind == "module_fn":
        return module_function(state, target, kwargs)
    return call(target, [bound["input"]], kwargs)
