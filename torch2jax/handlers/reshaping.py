"""Shapes taken from another array: ``x.view_as(y)`` / ``x.reshape_as(y)`` -> ``x.reshape(y.shape)``."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.registry import handler
from torch2jax.syntax import call


@handler("reshape_as")
def reshape_as(rule, node, state, receiver):
    bound = bind(rule, node, receiver)
    shape = cst.Attribute(value=bound["other"], attr=cst.Name("shape"))
    return call(cst.Attribute(value=receiver, attr=cst.Name("reshape")), [shape])
