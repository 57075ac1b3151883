"""TorchScript's questions and markers, which mean nothing to JAX (see rules/torchscript.toml);
decorators are removed from definitions by ``passes/torchscript``."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler


@handler("torchscript_constant")
def torchscript_constant(rule, node, state, receiver):
    """``torch.jit.is_scripting()`` -> ``False``: the translation is never scripted or traced by torch."""
    if node.args:
        raise Unsupported("T2J302", f"`{rule.torch}` takes no arguments")
    return cst.Name(rule.target)


@handler("torchscript_annotate")
def torchscript_annotate(rule, node, state, receiver):
    """``torch.jit.annotate(T, value)`` -> ``value``."""
    bound = bind(rule, node)
    if "the_value" not in bound:
        raise Unsupported("T2J302", "`torch.jit.annotate` needs a type and a value")
    return bound["the_value"]


@handler("torchscript_decorator")
def torchscript_decorator(rule, node, state, receiver):
    """``torch.jit.script(f)`` called as a function -> ``f`` (as a decorator, the pass removes it)."""
    if len(node.args) != 1 or node.args[0].keyword is not None or node.args[0].star:
        raise Unsupported("T2J302", f"`{rule.torch}` with other than one argument is not translated")
    return node.args[0].value
