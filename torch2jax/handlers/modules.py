"""Building blocks of modules: Sequential, ModuleList, Identity, Parameter."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, call, code_of, expr, literal


@handler("sequential")
def sequential(rule, node, state, receiver):
    elements = []
    for a in node.args:
        value = a.value
        if a.keyword is not None:
            raise Unsupported("T2J102", "nn.Sequential takes no keyword arguments")
        if a.star != "*" and isinstance(value, cst.Call) and state.qualify(value.func) == "collections.OrderedDict":
            if len(node.args) != 1 or len(value.args) != 1 or not isinstance(value.args[0].value, (cst.List, cst.Tuple)):
                raise Unsupported("T2J102", "nn.Sequential(OrderedDict(...)) needs a literal list of (name, module) pairs")
            names = []
            for el in value.args[0].value.elements:
                pair = el.value
                if not isinstance(pair, (cst.Tuple, cst.List)) or len(pair.elements) != 2:
                    raise Unsupported("T2J102", "nn.Sequential(OrderedDict(...)) needs literal (name, module) pairs")
                names.append(code_of(pair.elements[0].value))
                elements.append(cst.Arg(value=pair.elements[1].value, comma=el.comma))
            state.report(
                "T2J101",
                "nn.Sequential(OrderedDict(...)): nnx.Sequential indexes its layers, so "
                f"{', '.join(names)} become layers[0..{len(names) - 1}] (weight transfer follows the order)",
                handled=True,
                severity="info",
            )
            continue
        elements.append(a)  # as written: commas, line breaks and comments stay
    return node.with_changes(func=state.imports.ref("flax.nnx.Sequential"), args=elements)


@handler("module_list")
def module_list(rule, node, state, receiver):
    if len(node.args) > 1 or (node.args and node.args[0].keyword and node.args[0].keyword.value not in rule.signature):
        raise Unsupported("T2J102", f"`{rule.torch}` takes one iterable of {rule.signature[0]}")
    args = [a.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT) for a in node.args]
    return node.with_changes(func=state.imports.ref(rule.target), args=args)


@handler("passthrough_module")
def passthrough_module(rule, node, state, receiver):
    """nn.Identity(*args) -> lambda x: x (torch ignores its arguments)."""
    return expr("lambda x: x")


@handler("parameter")
def parameter(rule, node, state, receiver):
    bound = bind(rule, node)
    requires_grad = literal(bound["requires_grad"]) if "requires_grad" in bound else True
    if requires_grad is MISSING:
        raise Unsupported("T2J201", "nn.Parameter(requires_grad=<expression>) is not translated")
    target = "flax.nnx.Param" if requires_grad else "flax.nnx.Variable"
    data = bound.get("data")
    if data is None or literal(data) is None:  # torch's default: an empty tensor
        data = call(state.imports.ref("jax.numpy.empty"), [expr("0")])
    return call(state.imports.ref(target), [data])
