"""Torch APIs that are a short formula of jax functions (``nn.Tanhshrink`` is ``x - tanh(x)``):
the rule's ``target`` is the formula as a lambda of ``x``, written with qualified names, whose
other free names are the torch arguments (``lambda x: jax.numpy.where(x > threshold, x, value)``).

A module (``nn.Threshold(0.1, 20.0)``) becomes the lambda with its arguments filled in; a
function call (``F.threshold(h, 0.1, 20.0)``) becomes the lambda's body applied to its input.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind, check_supported
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.rules import ArgSpec
from torch2jax.syntax import MISSING, code_of, literal, simple, value_expr

ATOMIC = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float, cst.SimpleString)


def _grouped(node: cst.BaseExpression) -> cst.BaseExpression:
    """The expression parenthesised when it is not atomic, so it keeps its meaning in the formula."""
    if isinstance(node, ATOMIC) or node.lpar:
        return node
    if isinstance(node, cst.UnaryOperation) and isinstance(node.expression, (cst.Integer, cst.Float)):
        return node  # -1.0 (a formula never raises a substituted value to a power)
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


class _Fill(cst.CSTTransformer):
    def __init__(self, values: dict[str, cst.BaseExpression]):
        self.values = values
        self.uses: dict[str, int] = {}

    def leave_Name(self, original, updated):
        value = self.values.get(updated.value)
        if value is None:
            return updated
        self.uses[updated.value] = self.uses.get(updated.value, 0) + 1
        return _grouped(value)


def formula_values(rule, node, receiver) -> dict:
    """The torch arguments by name, defaults filled in and unsupported values reported."""
    bound = bind(rule, node, receiver)
    values = {}
    for raw in rule.signature:
        name = raw.lstrip("*")
        spec = rule.args.get(raw, ArgSpec())
        if name in bound:
            value = bound[name]
        elif raw in rule.defaults:
            value = value_expr(rule.defaults[raw])
        else:
            continue
        check_supported(rule, name, spec, value)
        if not spec.drop:
            values[name] = value
    return values


def fill(state, rule, text: str, values: dict) -> cst.BaseExpression:
    """``text`` (qualified names) with the free names replaced by ``values``."""
    lam = state.imports.source(text)
    if not isinstance(lam, cst.Lambda):
        raise Unsupported("T2J302", f"formula `{text}` is not a lambda")
    params = [p.name.value for p in lam.params.params]
    own = {k: v for k, v in values.items() if k not in params}
    filler = _Fill(own)
    lam = lam.visit(filler)
    free = {n.value for n in _names(lam.body)}
    missing = [raw.lstrip("*") for raw in rule.signature if raw.lstrip("*") in free and raw.lstrip("*") not in own
               and raw.lstrip("*") not in params and raw.lstrip("*") not in filler.uses]
    if missing:
        raise Unsupported("T2J302", f"`{rule.torch}` needs {', '.join(missing)} given to translate")
    return lam, dict(filler.uses)


def _names(node):
    found = []

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, n):
            found.append(n)

        def visit_Attribute(self, n):  # `jnp.where`: only the head is a free name
            n.value.visit(self)
            return False

    node.visit(_Collect())
    return found


def apply_formula(state, rule, node, receiver, text: str | None = None) -> cst.BaseExpression:
    text = text or rule.target
    values = formula_values(rule, node, receiver)
    lam, uses = fill(state, rule, text, values)
    if rule.kind == "module_fn":
        return lam
    x = values.get("input", receiver)
    params = [p.name.value for p in lam.params.params]
    if not params:  # a function of its named arguments only (torch.polar(abs, angle))
        _check_reuse(rule, uses, values)
        return lam.body
    if x is None:
        raise Unsupported("T2J302", f"`{rule.torch}` without its input")
    (param,) = params
    filler = _Fill({param: x})
    body = lam.body.visit(filler)
    _check_reuse(rule, {**uses, param: filler.uses.get(param, 0)}, {**values, param: x})
    return body


def _check_reuse(rule, uses: dict, values: dict) -> None:
    for name, count in uses.items():
        value = values.get(name)
        if count > 1 and value is not None and not simple(value) and literal(value) is MISSING:
            raise Unsupported("T2J302", f"`{rule.torch}` uses `{code_of(value)}` twice: bind it to a name first")


@handler("formula")
def formula(rule, node, state, receiver):
    return apply_formula(state, rule, node, receiver)


@handler("softplus")
def softplus(rule, node, state, receiver):
    """Softplus(beta=1) is jax.nn.softplus; another beta scales in and out. torch returns x
    itself where beta * x > threshold: at the default threshold (20) softplus already equals
    x in float32 there, so the switch is written out only for another threshold."""
    values = formula_values(rule, node, receiver)
    beta, threshold = literal(values["beta"]), literal(values["threshold"])
    if threshold not in (20, 20.0):
        text = "lambda x: jax.numpy.where(beta * x > threshold, x, jax.nn.softplus(beta * x) / beta)"
    elif beta in (1, 1.0):
        if rule.kind == "module_fn":
            return state.imports.ref("jax.nn.softplus")
        return cst.Call(func=state.imports.ref("jax.nn.softplus"), args=[cst.Arg(values["input"])])
    else:
        text = "lambda x: jax.nn.softplus(beta * x) / beta"
    return apply_formula(state, rule, node, receiver, text)
