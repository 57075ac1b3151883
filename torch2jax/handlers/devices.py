"""Devices: JAX places arrays on its default device (the accelerator when there is one), so
``torch.device(...)`` becomes a JAX device and availability checks ask JAX's backend."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.syntax import call, literal, value_expr

PLATFORMS = {"cpu": "cpu", "cuda": "gpu", "mps": "METAL", "xpu": "gpu"}


@handler("device_object")
def device_object(rule, node, state, receiver):
    """``torch.device("cuda:1")`` -> ``jax.devices("gpu")[1]``; a computed name -> the default device."""
    bound = bind(rule, node)
    kind = bound.get("type")
    text = literal(kind) if kind is not None else None
    index = literal(bound["index"]) if "index" in bound else 0
    devices = state.imports.ref("jax.devices")
    if isinstance(text, str) and text.split(":")[0] in PLATFORMS and isinstance(index, int):
        name, _, number = text.partition(":")
        platform = PLATFORMS[name]
        position = int(number) if number.isdigit() else index
        from libcst import Index, Subscript, SubscriptElement

        return Subscript(call(devices, [value_expr(platform)]), [SubscriptElement(Index(value_expr(position)))])
    state.report("T2J902", f"`torch.device(...)` of a computed name: JAX's default device "
                 "(the accelerator when there is one)", handled=True)
    return state.imports.source("jax.devices()[0]")


@handler("backend_check")
def backend_check(rule, node, state, receiver):
    """``torch.cuda.is_available()`` -> ``jax.default_backend() == "gpu"`` (the rule's const.platform)."""
    state.imports.ref("jax.default_backend")
    comparison = rule.const.get("comparison", "==")
    return state.imports.source(f'jax.default_backend() {comparison} {rule.const["platform"]!r}')


@handler("device_count")
def device_count(rule, node, state, receiver):
    state.imports.ref("jax.devices")
    return state.imports.source(f'sum(d.platform == {rule.const["platform"]!r} for d in jax.devices())')


@handler("single_device_model")
def single_device_model(rule, node, state, receiver):
    """``nn.DataParallel(model)`` -> ``model``: JAX runs it on its default device; spreading a batch
    over devices is sharding in JAX (jax.sharding), which the translation does not choose for you."""
    bound = bind(rule, node)
    if "module" not in bound:
        return None
    state.report("T2J902", "`DataParallel` removed: the model runs on JAX's default device (data parallelism "
                 "in JAX is sharding the batch: jax.sharding)", handled=True)
    return bound["module"]


@handler("single_device_call")
def single_device_call(rule, node, state, receiver):
    """``nn.parallel.data_parallel(module, x, device_ids)`` -> ``module(x)`` on JAX's default device."""
    bound = bind(rule, node)
    if "module" not in bound or "inputs" not in bound:
        raise Unsupported("T2J302", f"`{rule.torch}` needs a module and its inputs")
    if "module_kwargs" in bound:
        raise Unsupported("T2J302", f"`{rule.torch}` with module_kwargs is not translated")
    state.report("T2J902", "`data_parallel` removed: the module runs on JAX's default device (data parallelism in "
                 "JAX is sharding the batch: jax.sharding)", handled=True)
    return cst.Call(func=bound["module"], args=[cst.Arg(bound["inputs"])])

