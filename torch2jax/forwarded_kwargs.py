"""Keyword arguments forwarded to a torch layer: torchvision's ``BasicConv2d(in, out, **kwargs)``
builds ``nn.Conv2d(in, out, bias=False, **kwargs)``, and its callers pass the convolution's own
arguments (``conv_block(3, 64, kernel_size=7, stride=2, padding=3)``).

The analysis finds the functions (and module classes' ``__init__``) whose ``**kwargs`` go, whole
and only, to one torch layer built from the rule table. The rewrite (``passes/forwarded_kwargs``)
then translates those keywords where they are written, at each call, with the layer's rule
(``kernel_size=(7, 7), strides=2, padding=3``, and torch's defaults the call leaves out, such as
``padding=0``), and the layer inside takes them as they come (``nnx.Conv(in, out, use_bias=False,
**kwargs)``). It edits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from torch2jax.names import ImportTable
from torch2jax.traversal import visit
from torch2jax.rules import RuleSet

FuncKey = tuple  # (class name or None, function name)


@dataclass(frozen=True)
class Forwarding:
    kwargs: str  # the ``**`` parameter's name
    rule: str  # the torch layer its keywords reach
    given: frozenset  # torch arguments the layer's construction passes itself
    call: int  # id of that construction
    params: tuple  # the function's own parameter names (self excluded), positional first


def find_forwardings(imports: ImportTable, rules: RuleSet, functions: dict) -> dict:
    """FuncKey -> Forwarding, for every function forwarding its ``**kwargs`` to one table-built layer."""
    found = {}
    for key, func in functions.items():
        star = func.params.star_kwarg
        if star is None:
            continue
        name = star.name.value
        uses, calls = _uses(func.body, name)
        if len(calls) != 1 or uses != 1:
            continue  # used otherwise, or spread into several calls: nothing to translate at the call sites
        call = calls[0]
        qname = imports.qualify(call.func)
        rule = rules.get(qname) if qname else None
        if rule is None or rule.kind != "layer" or rule.handler or any(a.star == "*" for a in call.args):
            continue
        given = _given(rule, call)
        if given is None:
            continue
        params = [p.name.value for p in (*func.params.posonly_params, *func.params.params)]
        if key[0] is not None and params:
            params = params[1:]
        params += [p.name.value for p in func.params.kwonly_params]
        found[key] = Forwarding(name, rule.torch, frozenset(given), id(call), tuple(params))
    return found


def _uses(body, name: str) -> tuple[int, list[cst.Call]]:
    """How often ``name`` is read in ``body``, and the calls it is spread into with ``**``."""
    calls: list[cst.Call] = []
    count = [0]

    class _Visitor(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                count[0] += 1

        def visit_Call(self, node: cst.Call) -> None:
            if any(a.star == "**" and isinstance(a.value, cst.Name) and a.value.value == name for a in node.args):
                calls.append(node)

    visit(body, _Visitor())
    return count[0], calls


def _given(rule, call: cst.Call) -> list[str] | None:
    """The torch arguments the construction passes itself, by name (None if it cannot be told)."""
    names, position = [], 0
    for a in call.args:
        if a.star:
            continue
        if a.keyword is not None:
            if a.keyword.value not in rule.signature:
                return None
            names.append(a.keyword.value)
        else:
            if position >= len(rule.signature) or rule.signature[position].startswith("*"):
                return None
            names.append(rule.signature[position])
            position += 1
    return names
