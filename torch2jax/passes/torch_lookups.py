"""torch names looked up at run time: ``getattr(nn, rnn_type)(ninp, nhid)``. Inside
``if rnn_type in ['LSTM', 'GRU']:`` the candidates are known, and the lookup becomes a dict of
their translations (``{'LSTM': LSTM, 'GRU': GRU}[rnn_type]``), built with ``rngs`` when they are
layers; a literal name is that torch name; anything else is reported."""

from __future__ import annotations

import libcst as cst

from torch2jax.diagnostics import Unsupported
from torch2jax.passes.layers import LAYER_KINDS
from torch2jax.passes import layer_values
from torch2jax.registry import on_leave
from torch2jax.state import State
from torch2jax.syntax import code_of, literal

MODULES = ("torch", "torch.nn", "torch.nn.functional", "torch.optim")


def _lookup(state: State, node) -> tuple[str, list[str], cst.BaseExpression] | None:
    """(torch module, candidate names, the name expression) of ``getattr(<torch module>, name)``."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "getattr"
            and "getattr" not in state.scope.shadowed and len(node.args) == 2 and not any(a.keyword or a.star for a in node.args)):
        return None
    module = state.qualify(node.args[0].value)
    if module not in MODULES:
        return None
    name = node.args[1].value
    value = literal(name)
    if isinstance(value, str):
        return module, [value], name
    held = state.holds(name) if isinstance(name, cst.Name) else None
    if held is not None and held.kind == "choice":
        return module, list(held.alternatives), name
    raise Unsupported("T2J901", f"`{code_of(node)}`: a torch name looked up at run time is not translated "
                                "(name the choices: `if name in ['LSTM', 'GRU']:` around it)")


def _rules(state: State, module: str, names: list[str]):
    rules = [state.rules.get(f"{module}.{n}") for n in names]
    if any(r is None or r.kind not in LAYER_KINDS for r in rules):
        missing = [f"{module}.{n}" for n, r in zip(names, rules) if r is None or r.kind not in LAYER_KINDS]
        raise Unsupported("T2J901", f"`{missing[0]}` looked up with getattr: only layers are translated this way")
    return rules


@on_leave(cst.Call)
def torch_lookup(state: State, original: cst.Call, updated: cst.Call):
    """``getattr(nn, rnn_type)`` -> ``{'LSTM': LSTM, 'GRU': GRU}[rnn_type]`` (or ``nn.ReLU``'s translation)."""
    found = _lookup(state, original)
    if found is None:
        return None
    module, names, name = found
    values = []
    for n, rule in zip(names, _rules(state, module, names)):
        value = layer_values.reference(state, rule, cst.parse_expression(f"{module}.{n}"), at=original)
        if value is None:
            raise Unsupported("T2J901", f"`{module}.{n}` looked up with getattr is not translated as a value")
        values.append(value)
    if len(names) == 1 and literal(name) is not None:
        return values[0]
    table = cst.Dict([cst.DictElement(cst.SimpleString(repr(n)), v) for n, v in zip(names, values)])
    return cst.Subscript(table, [cst.SubscriptElement(cst.Index(updated.args[1].value))])


@on_leave(cst.Call)
def torch_lookup_called(state: State, original: cst.Call, updated: cst.Call):
    """``getattr(nn, rnn_type)(...)``: built with ``rngs`` when the candidates are layers."""
    try:
        found = _lookup(state, original.func)
    except Unsupported:
        return None  # reported at the lookup
    if found is None:
        return None
    module, names, _ = found
    rules = _rules(state, module, names)
    if all(r.kind == "layer" and layer_values.keeps_signature(r) for r in rules):
        return state.with_rngs(updated)
    if all(r.kind == "module_fn" for r in rules) and not original.args:
        return updated.func
    raise Unsupported("T2J302", f"`{code_of(original.func)}(...)`: only recurrent and attention layers (built "
                                "with torch's arguments) or argument-free activations are translated this way")
