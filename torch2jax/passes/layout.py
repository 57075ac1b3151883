"""NCHW at the interface: torch's convolutions and pools take channels first, Flax's take
channels last. A channels-last layer that is a plain attribute called with one input
(``self.conv(x)``) keeps the plain Flax layer and gets transposes where it is called; any
other one is wrapped so it takes and returns NCHW like torch's. A transpose emitted right
after the opposite one is cancelled here (``pool(relu(conv(x)))`` gets one pair).
"""

from __future__ import annotations

import libcst as cst

from torch2jax.names import dotted_name
from torch2jax.registry import on_leave
from torch2jax.state import State
from torch2jax.syntax import call, value_expr

ELEMENTWISE = {"jax.nn.relu", "jax.nn.gelu", "jax.nn.silu", "jax.nn.sigmoid", "jax.numpy.tanh", "jax.nn.leaky_relu"}


def permutations(rank: int) -> tuple[tuple, tuple]:
    """(NC... -> N...C, N...C -> NC...) axes for arrays of this rank."""
    to_last = (0, *range(2, rank), 1)
    to_first = (0, rank - 1, *range(1, rank - 1))
    return to_last, to_first


def to_last(state: State, x: cst.BaseExpression, rank: int) -> cst.BaseExpression:
    """NC... -> N...C, cancelling a transpose this walk just emitted the other way."""
    found = state.transposed.get(id(x))
    if found and found[1] == rank:
        return found[0]
    if isinstance(x, cst.Call) and len(x.args) == 1 and not x.args[0].keyword:
        inner = state.transposed.get(id(x.args[0].value))
        if inner and inner[1] == rank and dotted_name(x.func) and _elementwise(x.func):
            return x.with_changes(args=[x.args[0].with_changes(value=inner[0])])
    axes, _ = permutations(rank)
    return call(state.imports.ref("jax.numpy.transpose"), [x, value_expr(axes)])


def _elementwise(func) -> bool:
    name = dotted_name(func) or ""
    for prefix, local in (("jax.numpy.", "jnp."), ("jax.nn.", "jax.nn.")):
        if name.startswith(local) and prefix + name[len(local):] in ELEMENTWISE:
            return True
    return False


def to_first(state: State, y: cst.BaseExpression, rank: int) -> cst.BaseExpression:
    """A channels-last result back to torch's channels-first layout (remembered for cancelling)."""
    _, axes = permutations(rank)
    out = call(state.imports.ref("jax.numpy.transpose"), [y, value_expr(axes)])
    state.transposed[id(out)] = (y, rank)
    state.keep_alive.append(out)
    return out


def wrap_layer(state: State, layer: cst.BaseExpression, rank: int) -> cst.BaseExpression:
    """A channels-last Flax layer made to take and return channels-first arrays."""
    before_axes, after_axes = permutations(rank)
    partial = state.imports.ref("functools.partial")
    transpose = state.imports.ref("jax.numpy.transpose")
    before = call(partial, [transpose], {"axes": value_expr(before_axes)})
    after = call(partial, [transpose], {"axes": value_expr(after_axes)})
    return call(state.imports.ref("flax.nnx.Sequential"), [before, layer, after])


@on_leave(cst.Call)
def direct_layer_call(state: State, original: cst.Call, updated: cst.Call):
    """``self.conv(x)`` on a plain channels-last attribute: transposes around the call."""
    func = original.func
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"):
        return None
    if state.scope.cls is None:
        return None
    rank = state.facts.direct_channels_last.get(state.scope.cls, {}).get(func.attr.value)
    if rank is None or len(updated.args) != 1:
        return None
    inner = updated.with_changes(args=[updated.args[0].with_changes(value=to_last(state, updated.args[0].value, rank))])
    return to_first(state, inner, rank)
