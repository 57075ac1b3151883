"""The few torch APIs that a table cannot express.

A rule names its handler (``handler = "sequential"``); each handler receives the
rule, the (already rewritten) call, its receiver for tensor methods, and the
conversion context, and returns the replacement expression or raises Unsupported.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.emit import bind, build, call, target_arguments
from torch2jax.transforms import NotTorch, Unsupported, code_of, expr, literal, value_expr, _MISSING


def _simple(node: cst.BaseExpression) -> bool:
    """Cheap to evaluate twice and without effects."""
    return isinstance(node, (cst.Name, cst.Attribute)) or (
        isinstance(node, cst.Subscript) and _simple(node.value)
    )


def _int(node, what: str) -> int:
    value = literal(node)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Unsupported("T2J302", f"{what} must be a literal integer to translate, got `{code_of(node)}`")
    return value


def _module_fn(ctx, target: cst.BaseExpression, kwargs: dict) -> cst.BaseExpression:
    """A parameterless torch module becomes its function, bound with functools.partial."""
    if not kwargs:
        return target
    return call(ctx.imports.ref("functools.partial"), [target], kwargs)


def sequential(rule, node, ctx, receiver):
    elements = []
    for a in node.args:
        value = a.value
        if a.keyword is not None:
            raise Unsupported("T2J102", "nn.Sequential takes no keyword arguments")
        if a.star != "*" and isinstance(value, cst.Call) and ctx.qualify(value.func) == "collections.OrderedDict":
            if len(node.args) != 1 or len(value.args) != 1 or not isinstance(value.args[0].value, (cst.List, cst.Tuple)):
                raise Unsupported("T2J102", "nn.Sequential(OrderedDict(...)) needs a literal list of (name, module) pairs")
            names = []
            for el in value.args[0].value.elements:
                pair = el.value
                if not isinstance(pair, (cst.Tuple, cst.List)) or len(pair.elements) != 2:
                    raise Unsupported("T2J102", "nn.Sequential(OrderedDict(...)) needs literal (name, module) pairs")
                names.append(code_of(pair.elements[0].value))
                elements.append(cst.Arg(value=pair.elements[1].value, comma=el.comma))
            ctx.report(
                "T2J101",
                "nn.Sequential(OrderedDict(...)): nnx.Sequential indexes its layers, so "
                f"{', '.join(names)} become layers[0..{len(names) - 1}] (weight transfer follows the order)",
                handled=True,
                severity="info",
            )
            continue
        elements.append(a)  # as written: commas, line breaks and comments stay
    return node.with_changes(func=ctx.imports.ref("flax.nnx.Sequential"), args=elements)


def module_list(rule, node, ctx, receiver):
    if len(node.args) > 1 or (node.args and node.args[0].keyword and node.args[0].keyword.value != "modules"):
        raise Unsupported("T2J102", "nn.ModuleList takes one iterable of modules")
    return node.with_changes(func=ctx.imports.ref(rule.target), args=[a.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT) for a in node.args])


def pool(rule, node, ctx, receiver):
    """nn.MaxPool2d / nn.AvgPool2d: torch's stride defaults to the kernel size."""
    bound = bind(rule, node)
    if "stride" not in bound or literal(bound["stride"]) is None:
        bound["stride"] = bound["kernel_size"]
    kwargs = target_arguments(rule, bound, ctx.imports)
    target = ctx.imports.ref(rule.target)
    if rule.kind == "module_fn":
        return _module_fn(ctx, target, kwargs)
    x = kwargs.pop("input")
    return ctx.channels_last(build(rule, target, kwargs, extra_first=[ctx.to_last(x, rule.spatial_dims + 2)]),
                             rule.spatial_dims + 2)


def adaptive_avg_pool(rule, node, ctx, receiver):
    bound = bind(rule, node)
    size = literal(bound["output_size"])
    n = rule.spatial_dims
    if size != 1 and size != (1,) * n and size != [1] * n:
        raise Unsupported("T2J102", f"adaptive average pooling to {code_of(bound['output_size'])}: only output size 1 is translated")
    axes = value_expr(tuple(range(2, 2 + n)) if n > 1 else 2)
    target = ctx.imports.ref("jax.numpy.mean")
    kwargs = {"axis": axes, "keepdims": value_expr(True)}
    if rule.kind == "module_fn":
        return _module_fn(ctx, target, kwargs)
    return call(target, [bound["input"]], kwargs)


def flatten(rule, node, ctx, receiver):
    bound = bind(rule, node, receiver)
    start = _int(bound["start_dim"], "start_dim") if "start_dim" in bound else (1 if rule.kind == "module_fn" else 0)
    end = _int(bound["end_dim"], "end_dim") if "end_dim" in bound else -1
    if end != -1:
        raise Unsupported("T2J302", "flatten with end_dim other than -1 is not translated")
    if rule.kind == "module_fn":
        return expr(f"lambda x: {_flatten_text('x', start)}")
    x = bound["input"]
    if _simple(x):
        return expr(_flatten_text(code_of(x), start))
    return call(ctx.imports.ref("jax.lax.collapse"), [x, value_expr(start)])


def _flatten_text(x: str, start: int) -> str:
    if start == 0:
        return f"{x}.reshape(-1)"
    if start == 1:
        return f"{x}.reshape({x}.shape[0], -1)"
    return f"{x}.reshape({x}.shape[:{start}] + (-1,))"


def size(rule, node, ctx, receiver):
    bound = bind(rule, node, receiver)
    shape = cst.Attribute(value=bound["input"], attr=cst.Name("shape"))
    if "dim" not in bound:
        return shape
    return cst.Subscript(value=shape, slice=[cst.SubscriptElement(cst.Index(bound["dim"]))])


def as_attribute(rule, node, ctx, receiver):
    """x.dim() -> x.ndim, x.t() -> x.T, x.numel() -> x.size."""
    if node.args:
        raise Unsupported("T2J302", f"`{rule.torch}` with arguments is not translated")
    return cst.Attribute(value=receiver, attr=cst.Name(rule.target.lstrip(".")))


def passthrough(rule, node, ctx, receiver):
    """x.contiguous() -> x: JAX arrays have no memory layout to fix."""
    bound = bind(rule, node, receiver)
    return bound["input"]


def reduce_with_indices(rule, node, ctx, receiver):
    """torch.max(x, dim) returns (values, indices); torch.max(x, y) is elementwise."""
    bound = bind(rule, node, receiver)
    x = bound["input"]
    name = rule.target.rsplit(".", 1)[-1]  # max / min
    keepdim = bound.get("keepdim")
    if "other" in bound:
        return call(ctx.imports.ref(f"jax.numpy.{name}imum"), [x, bound["other"]])
    if "dim" not in bound:
        return call(ctx.imports.ref(rule.target), [x])
    dim = bound["dim"]
    if literal(dim) is _MISSING:
        raise Unsupported("T2J302", f"`{rule.torch}` with a non-literal second argument: dim or tensor? Not translated")
    kwargs = {"axis": dim}
    if keepdim is not None:
        kwargs["keepdims"] = keepdim
    if not _simple(x):
        raise Unsupported("T2J302", f"`{rule.torch}(..., dim)` on an expression: bind it to a name first")
    values = call(ctx.imports.ref(rule.target), [x], dict(kwargs))
    indices = call(ctx.imports.ref(f"jax.numpy.arg{name}"), [x], dict(kwargs))
    return ctx.values_indices(values, indices)


def parameter(rule, node, ctx, receiver):
    bound = bind(rule, node)
    requires_grad = literal(bound["requires_grad"]) if "requires_grad" in bound else True
    if requires_grad is _MISSING:
        raise Unsupported("T2J201", "nn.Parameter(requires_grad=<expression>) is not translated")
    target = "flax.nnx.Param" if requires_grad else "flax.nnx.Variable"
    return call(ctx.imports.ref(target), [bound["data"]])


def random(rule, node, ctx, receiver):
    """torch.randn(*size) -> jax.random.normal(key, shape): JAX needs an explicit key."""
    key = ctx.key_expr()
    if key is None:
        raise Unsupported("T2J203", f"`{rule.torch}` needs a random key; pass an nnx.Rngs into this function")
    bound = bind(rule, node)
    kwargs = target_arguments(rule, bound, ctx.imports)
    return build(rule, ctx.imports.ref(rule.target), kwargs, extra_first=[key])


def device(rule, node, ctx, receiver):
    """x.cuda() / x.cpu() / x.to(device): one device in JAX's default placement."""
    bound = bind(rule, node, receiver)
    if rule.torch == "Tensor.to":
        target = bound.get("dtype") or bound.get("device")
        from torch2jax.names import dotted_name

        # The argument was rewritten already: torch.float32 arrives as jnp.float32.
        dotted = dotted_name(target) if target is not None else None
        if dotted and dotted.startswith("jnp.") and dotted[4:].rstrip("_") in DTYPE_NAMES:
            return call(cst.Attribute(value=receiver, attr=cst.Name("astype")), [target])
        if literal(target) is _MISSING and not (isinstance(target, cst.Name) and "device" in target.value):
            if not (isinstance(target, cst.Attribute) and target.attr.value == "device"):
                raise Unsupported("T2J302", f"`.to({code_of(target)})`: a dtype or a device? Not translated")
    ctx.report("T2J902", f"`{rule.torch.replace('Tensor', 'x')}(...)` removed: JAX places arrays on its default device", handled=True)
    return receiver


DTYPE_NAMES = {
    "float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64", "long", "int32", "int",
    "int16", "short", "int8", "uint8", "bool", "complex64",
}


def cast(rule, node, ctx, receiver):
    """x.float() -> x.astype(jnp.float32)."""
    if node.args:
        raise Unsupported("T2J302", f"`{rule.torch}` with arguments is not translated")
    return call(cst.Attribute(value=receiver, attr=cst.Name("astype")), [ctx.imports.source(rule.target)])


def masked_fill(rule, node, ctx, receiver):
    bound = bind(rule, node, receiver)
    return call(ctx.imports.ref("jax.numpy.where"), [bound["mask"], bound["value"], bound["input"]])


def split(rule, node, ctx, receiver):
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
        return call(ctx.imports.ref("jax.numpy.split"), [x, value_expr(bounds)], {"axis": dim})
    parts = ctx.unpacked_into()
    if parts is not None and (_simple(size) or isinstance(value, int)):
        # `a, b, c = x.split(s)`: torch's unpacking succeeds only with 3 chunks, so the
        # boundaries are s and 2*s whatever x is.
        if isinstance(value, int):
            bounds = value_expr([value * i for i in range(1, parts)])
        else:
            s = code_of(size)
            bounds = expr("[" + ", ".join(s if i == 1 else f"{i} * {s}" for i in range(1, parts)) + "]")
        return call(ctx.imports.ref("jax.numpy.split"), [x, bounds], {"axis": dim})
    if not _simple(x) or not (_simple(size) or isinstance(value, int)):
        raise Unsupported("T2J302", "split by chunk size on an expression: bind it to a name first")
    s, d = code_of(size), code_of(dim)
    indices = expr(f"list(range({s}, {code_of(x)}.shape[{d}], {s}))")
    return call(ctx.imports.ref("jax.numpy.split"), [x, indices], {"axis": dim})


def passthrough_module(rule, node, ctx, receiver):
    """nn.Identity(*args) -> lambda x: x (torch ignores its arguments)."""
    return expr("lambda x: x")


def type_as(rule, node, ctx, receiver):
    bound = bind(rule, node, receiver)
    return call(cst.Attribute(value=receiver, attr=cst.Name("astype")), [cst.Attribute(value=bound["other"], attr=cst.Name("dtype"))])


def expand_as(rule, node, ctx, receiver):
    bound = bind(rule, node, receiver)
    return call(ctx.imports.ref("jax.numpy.broadcast_to"), [receiver, cst.Attribute(value=bound["other"], attr=cst.Name("shape"))])


def manual(rule, node, ctx, receiver):
    raise Unsupported("T2J201" if rule.kind in ("layer", "module_fn") else "T2J302", f"`{rule.torch}`: {rule.note}")


HANDLERS = {
    "sequential": sequential,
    "module_list": module_list,
    "pool": pool,
    "adaptive_avg_pool": adaptive_avg_pool,
    "flatten": flatten,
    "size": size,
    "as_attribute": as_attribute,
    "passthrough": passthrough,
    "reduce_with_indices": reduce_with_indices,
    "parameter": parameter,
    "random": random,
    "device": device,
    "cast": cast,
    "masked_fill": masked_fill,
    "split": split,
    "passthrough_module": passthrough_module,
    "type_as": type_as,
    "expand_as": expand_as,
    "manual": manual,
}
