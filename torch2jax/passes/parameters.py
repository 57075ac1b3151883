"""Parameters read by their torch names: ``model.weight``, ``self.fc1.bias``, ``conv.weight.shape``
become the Flax variable in torch's layout (``model.kernel[...].T``; a conv kernel transposed
back to (out, in, *spatial)), wherever the file says what ``model`` or ``self.fc1`` holds.
``.data`` on such a parameter goes (a JAX array is its own data). Assigning one (weight
tying) is reported.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.analyze import Holds, layer_base
from torch2jax.layer_values import keeps_signature
from torch2jax.registry import on_leave
from torch2jax.state import State
from torch2jax.syntax import call, code_of, value_expr


def _parameter(state: State, node: cst.Attribute):
    """(rule, ParamSpec) when ``node`` is ``<layer>.<torch parameter name>``. A layer narrowed to
    several classes (``isinstance(m, (nn.Conv2d, nn.Linear))``) needs them to agree on the variable."""
    if not isinstance(node, cst.Attribute):
        return None
    holder = state.holds(node.value)
    base = layer_base(state.facts, holder.name) if holder is not None and holder.kind == "module" else None
    if base is not None:  # class X(nn.Linear): the Flax layer's variables; X(nn.Conv2d): torch's, as they are
        if keeps_signature(state.rules.get(base)):
            return None
        holder = Holds("layer", base)
    if holder is None or holder.kind != "layer":
        return None
    found = None
    for name in holder.alternatives or (holder.name,):
        rule = state.rules.get(name)
        spec = (rule.params.get(node.attr.value) or rule.buffers.get(node.attr.value)) if rule is not None else None
        if spec is None:
            return None
        if found is None:
            found = (rule, spec)
        elif found[1].path != spec.path:
            return None
        elif found[1].transform != spec.transform or found[0].spatial_dims != rule.spatial_dims:
            found = (found[0], type(spec)(spec.path, "mixed"))
    return found


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


def _plain(state: State, node) -> bool:
    """``self.conv`` kept as a plain Flax layer (transposes at its call sites), not wrapped; or a name
    narrowed by a type check (the layer itself, as ``nnx.iter_modules`` yields it)."""
    if isinstance(node, cst.Name) and any(node.value in narrowing for narrowing in state.narrowings):
        return True
    return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"
            and state.scope.cls is not None
            and node.attr.value in state.facts.direct_channels_last.get(state.scope.cls, {}))


def _wrapped_layer(node):
    """The Flax layer inside the NCHW wrapper: ``wrapper.layers[1]``."""
    layers = cst.Attribute(value=node, attr=cst.Name("layers"))
    return cst.Subscript(value=layers, slice=[cst.SubscriptElement(cst.Index(cst.Integer("1")))])


INIT_METHODS = {"normal_", "uniform_", "zero_", "fill_", "copy_"}


@on_leave(cst.Comparison, exclusive=False)
def optional_parameter(state: State, original: cst.Comparison, updated: cst.Comparison):
    """``layer.bias is not None``: the variable itself (None when the layer has no bias), not its array."""
    found = state.param_reads.get(id(updated.left))
    if found is None or len(updated.comparisons) != 1:
        return None
    target = updated.comparisons[0]
    if isinstance(target.operator, (cst.Is, cst.IsNot)) and isinstance(target.comparator, cst.Name) \
            and target.comparator.value == "None":
        return updated.with_changes(left=found[0])
    return None


def _initialised_here(state: State) -> bool:
    """The parameter is the argument of ``nn.init.*(...)`` or the receiver of ``.normal_(...)`` & co."""
    if not state.calls:
        return False
    call = state.calls[-1]
    if (state.qualify(call.func) or "").startswith("torch.nn.init."):
        return True
    return isinstance(call.func, cst.Attribute) and call.func.attr.value in INIT_METHODS


@on_leave(cst.Attribute)
def parameter_read(state: State, original: cst.Attribute, updated: cst.Attribute):
    found = _parameter(state, original)
    if found is not None:
        rule, spec = found
        if id(original) in state.targets:
            ties = state.tied.get(state.scope.cls, {})
            if code_of(original.value) in ties or code_of(original.value) in ties.values():
                return updated  # the statement goes (weight_tying)
            state.report("T2J201", f"assigning `{original.attr.value}` of a `{rule.torch}` (weight tying, or a new "
                         f"value) is not translated yet; share the layer, or set its `{spec.path}` in Flax's layout",
                         node=original)
            return updated
        layer = updated.value
        if rule.layout == "channels_last" and not _plain(state, original.value):
            layer = _wrapped_layer(layer)  # built inside the NCHW wrapper: nnx.Sequential(to_nhwc, layer, to_nchw)
        variable = cst.Attribute(value=layer, attr=cst.Name(spec.path))
        array = cst.Subscript(value=variable, slice=[cst.SubscriptElement(cst.Index(cst.Ellipsis()))])
        read = _torch_layout(state, array, spec.transform, rule)
        if read is None and spec.transform == "mixed" and _initialised_here(state):
            read = array  # several layouts: fine for initialisation (see handlers.initializers), not for values
        if read is not None:
            state.param_reads[id(read)] = (variable, rule, spec)
            state.keep_alive.append(read)
        if read is None:
            state.report("T2J201", f"`{original.attr.value}` of a `{rule.torch}` is stored differently in Flax "
                         f"({spec.path}); reading it in torch's layout is not translated", node=original)
            return updated
        return read
    if original.attr.value == "data" and id(original) not in state.targets and _parameter(state, original.value):
        return updated.value  # `layer.weight.data`: the array itself
    return None
