"""Parameters read by their torch names: ``model.weight``, ``self.fc1.bias``, ``conv.weight.shape``
become the Flax variable in torch's layout (``model.kernel[...].T``; a conv kernel transposed
back to (out, in, *spatial)), wherever the file says what ``model`` or ``self.fc1`` holds.
``.data`` on such a parameter goes (a JAX array is its own data). Assigning one (weight
tying) is reported.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import on_leave
from torch2jax.state import State
from torch2jax.syntax import call, value_expr


def _parameter(state: State, node: cst.Attribute):
    """(rule, ParamSpec) when ``node`` is ``<layer>.<torch parameter name>``."""
    if not isinstance(node, cst.Attribute):
        return None
    holder = state.holds(node.value)
    if holder is None or holder.kind != "layer":
        return None
    rule = state.rules.get(holder.name)
    if rule is None:
        return None
    spec = rule.params.get(node.attr.value) or rule.buffers.get(node.attr.value)
    return (rule, spec) if spec is not None else None


def _torch_layout(state: State, value: cst.BaseExpression, transform: str, rule) -> cst.BaseExpression | None:
    if transform == "none":
        return value
    if transform == "transpose":
        return cst.Attribute(value=value, attr=cst.Name("T"))
    if transform == "conv_kernel":
        n = rule.spatial_dims
        axes = (n + 1, n, *range(n))
        return call(state.imports.ref("jax.numpy.transpose"), [value, value_expr(axes)])
    return None


@on_leave(cst.Attribute)
def parameter_read(state: State, original: cst.Attribute, updated: cst.Attribute):
    found = _parameter(state, original)
    if found is not None:
        rule, spec = found
        if id(original) in state.targets:
            state.report("T2J201", f"assigning `{original.attr.value}` of a `{rule.torch}` (weight tying) is not "
                         "translated yet; share the layer or the nnx.Param instead", node=original)
            return updated
        variable = cst.Attribute(value=updated.value, attr=cst.Name(spec.path))
        array = cst.Subscript(value=variable, slice=[cst.SubscriptElement(cst.Index(cst.Ellipsis()))])
        read = _torch_layout(state, array, spec.transform, rule)
        if read is None:
            state.report("T2J201", f"`{original.attr.value}` of a `{rule.torch}` is stored differently in Flax "
                         f"({spec.path}); reading it in torch's layout is not translated", node=original)
            return updated
        return read
    if original.attr.value == "data" and _parameter(state, original.value) is not None:
        return updated.value  # `layer.weight.data`: the array itself
    return None
