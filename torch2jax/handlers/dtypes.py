"""Casts and devices: ``x.float()`` -> ``x.astype(jnp.float32)``, ``x.type_as(y)``, and
``x.cuda()`` / ``x.to(device)`` removed (JAX places arrays on its default device)."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.names import dotted_name
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, call, code_of, literal

DTYPE_NAMES = {
    "float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64", "long", "int32", "int",
    "int16", "short", "int8", "uint8", "bool", "complex64",
}


@handler("device")
def device(rule, node, state, receiver):
    """x.cuda() / x.cpu() / x.to(device): one device in JAX's default placement; x.to(dtype) casts."""
    if rule.torch == "Tensor.to":
        dtype = next((a.value for a in node.args if a.keyword is not None and a.keyword.value == "dtype"), None)
        others = [a for a in node.args if a is not None and not (a.keyword is not None and a.keyword.value in (
            "dtype", "device", "non_blocking", "copy"))]
        if dtype is not None and len(others) <= 1 and all(a.keyword is None for a in others):
            # .to(device, dtype=...) / .to(device=..., dtype=...): the device goes, the cast stays
            if others or any(a.keyword is not None and a.keyword.value == "device" for a in node.args):
                state.report("T2J902", "the device of `x.to(device, dtype=...)` removed: JAX places arrays on its "
                             "default device", handled=True)
            return call(cst.Attribute(value=receiver, attr=cst.Name("astype")), [dtype])
    bound = bind(rule, node, receiver)
    if rule.torch == "Tensor.to":
        target = bound.get("dtype") or bound.get("device")
        # The argument was rewritten already: torch.float32 arrives as jnp.float32.
        dotted = dotted_name(target) if target is not None else None
        dtype_of = isinstance(target, cst.Attribute) and target.attr.value == "dtype"  # x.to(y.dtype)
        if dtype_of or (dotted and dotted.startswith("jnp.") and dotted[4:].rstrip("_") in DTYPE_NAMES):
            return call(cst.Attribute(value=receiver, attr=cst.Name("astype")), [target])
        if (isinstance(target, cst.Attribute) and target.attr.value == "dtype") or (
                isinstance(target, cst.Name) and "dtype" in target.value):  # `.to(x.dtype)`, `.to(dtype)`
            return call(cst.Attribute(value=receiver, attr=cst.Name("astype")), [target])
        if target is None:  # `.to()`, `.to(non_blocking=True)`: neither moved nor cast, the tensor itself
            pass
        elif literal(target) is MISSING and not (isinstance(target, cst.Name) and "device" in target.value):
            if not (isinstance(target, cst.Attribute) and target.attr.value == "device"):
                raise Unsupported("T2J302", f"`.to({code_of(target)})`: a dtype or a device? Not translated")
    state.report("T2J902", f"`{rule.torch.replace('Tensor', 'x')}(...)` removed: JAX places arrays on its default device",
                 handled=True)
    return receiver


@handler("cast")
def cast(rule, node, state, receiver):
    """x.float() -> x.astype(jnp.float32)."""
    if node.args:
        raise Unsupported("T2J302", f"`{rule.torch}` with arguments is not translated")
    return call(cst.Attribute(value=receiver, attr=cst.Name("astype")), [state.imports.source(rule.target)])


@handler("type_as")
def type_as(rule, node, state, receiver):
    bound = bind(rule, node, receiver)
    dtype = cst.Attribute(value=bound["other"], attr=cst.Name("dtype"))
    return call(cst.Attribute(value=receiver, attr=cst.Name("astype")), [dtype])


@handler("type_cast")
def type_cast(rule, node, state, receiver):
    """x.type(torch.float16) -> x.astype(jnp.float16); x.type() (the type's name) is not translated."""
    bound = bind(rule, node, receiver)
    dtype = bound.get("dtype")
    if dtype is None:
        raise Unsupported("T2J302", "`x.type()` returns torch's type name; there is no JAX equivalent")
    if isinstance(literal(dtype), str):
        raise Unsupported("T2J302", f"`x.type({code_of(dtype)})`: a type given by name is not translated")
    return call(cst.Attribute(value=receiver, attr=cst.Name("astype")), [dtype])
