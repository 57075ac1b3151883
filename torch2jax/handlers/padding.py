"""Padding: ``F.pad`` and the padding layers as ``jnp.pad``.

torch lists the pads from the last axis backwards, ``(left, right, top, bottom, ...)``; numpy
wants a ``(before, after)`` pair for every axis, first axis first. Modes: constant, reflect
(the edge not repeated, as numpy's ``reflect``), replicate (``edge``), circular (``wrap``).
"""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.traversal import visit
from torch2jax.syntax import MISSING, code_of, expr, literal, simple

MODES = {"constant": None, "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pads(node, n: int | None, state=None) -> list[str]:
    """torch's flat pad list as expressions, expanded from one int for ``n`` axes (a layer)."""
    value = literal(node)
    if isinstance(value, int) and not isinstance(value, bool) and n:
        return [str(value)] * (2 * n)
    if isinstance(value, (tuple, list)) and all(isinstance(v, int) for v in value):
        return [str(v) for v in value]
    if isinstance(node, (cst.Tuple, cst.List)):
        arrays = _tensor_names(state) if state is not None else set()
        return [f"({code_of(e.value)}).item()" if _reads(e.value, arrays) else code_of(e.value) for e in node.elements]
    if n and value is MISSING and simple(node):  # a layer's padding given by a name: one int, as usual
        return [code_of(node)] * (2 * n)
    raise Unsupported("T2J302", f"padding `{code_of(node)}` must be written out (a literal or a list) to translate")


@handler("pad")
def pad(rule, node, state, receiver):
    bound = bind(rule, node, receiver)
    for name, value in rule.const.items():
        bound.setdefault(name, expr(repr(value)))
    mode = literal(bound["mode"]) if "mode" in bound else "constant"
    if mode not in MODES:
        raise Unsupported("T2J302", f"padding mode `{code_of(bound['mode'])}` is not translated")
    pads = _pads(bound["padding" if "padding" in bound else "pad"], rule.spatial_dims or None, state)
    if len(pads) % 2:
        raise Unsupported("T2J302", "torch pads come in (before, after) pairs")
    pairs = [f"({pads[i]}, {pads[i + 1]})" for i in range(len(pads) - 2, -1, -2)]
    if rule.kind == "module_fn":
        x = "x"
    else:
        if not simple(bound["input"]):
            raise Unsupported("T2J302", "F.pad reads its input's rank: bind the input to a name first")
        x = code_of(bound["input"])
    width = f"(({', '.join(pairs)}{',' if len(pairs) == 1 else ''}))"
    width = f"((0, 0),) * ({x}.ndim - {len(pairs)}) + {width[1:-1]}" if len(pairs) > 1 else f"((0, 0),) * ({x}.ndim - 1) + ({pairs[0]},)"
    args = [x, width]
    if MODES[mode]:
        args.append(f"mode={MODES[mode]!r}")
    elif "value" in bound and literal(bound["value"]) not in (None, 0, 0.0):
        args.append(f"constant_values={code_of(bound['value'])}")
    text = f"{code_of(state.imports.ref('jax.numpy.pad'))}({', '.join(args)})"
    return expr(f"lambda x: {text}" if rule.kind == "module_fn" else text)


def _tensor_names(state) -> set[str]:
    """Names the enclosing function assigns ``torch.tensor(...)``: a pad computed from one is a
    one-element array (U-Net's ``diffY = torch.tensor([...])``), which jnp.pad takes as its ``.item()``."""
    function = next((n for n in reversed(state.statements) if isinstance(n, cst.FunctionDef)), None)
    found: set[str] = set()
    if function is None:
        return found

    class _Assigns(cst.CSTVisitor):
        def visit_Assign(self, assign: cst.Assign) -> None:
            if isinstance(assign.value, cst.Call) and state.qualify(assign.value.func) in ("torch.tensor", "torch.as_tensor"):
                found.update(t.target.value for t in assign.targets if isinstance(t.target, cst.Name))

    visit(function, _Assigns())
    return found


def _reads(node, names: set[str]) -> bool:
    if not names:
        return False
    seen = []

    class _Names(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            seen.append(n.value)

    visit(node, _Names())
    return bool(names & set(seen))
