"""Type checks narrow what a name holds: inside ``if isinstance(m, nn.Linear):`` (or DCGAN's
``if classname.find('Conv') != -1:`` with ``classname = m.__class__.__name__``), ``m`` is that
layer, so ``m.weight`` is its Flax variable; inside ``if rnn_type in ['LSTM', 'GRU']:`` the name is
one of those strings. The ``else`` branch learns nothing."""

from __future__ import annotations

import libcst as cst

from torch2jax.analyze import Holds
from torch2jax.registry import on_visit
from torch2jax.state import State
from torch2jax.syntax import literal

LAYER_ORDER = ("layer",)


def _layer_rules(state: State, name_part: str) -> list:
    """Layer rules whose torch class name contains ``name_part`` (DCGAN's string checks)."""
    return [r for r in state.rules.rules if r.kind == "layer" and name_part in r.torch.rsplit(".", 1)[-1]]


def _isinstance_narrowing(state: State, test) -> dict:
    """``isinstance(m, nn.Linear)``, ``isinstance(m, (nn.Conv2d, nn.Linear))``, ``isinstance(m, Bottleneck)``
    (one of the file's modules); ``A and B`` narrows by both, ``A or B`` to either layer."""
    if isinstance(test, cst.BooleanOperation):
        left, right = _isinstance_narrowing(state, test.left), _isinstance_narrowing(state, test.right)
        if isinstance(test.operator, cst.And):
            return {**left, **right}
        return {name: _either(left[name], right[name]) for name in left.keys() & right.keys()
                if left[name].kind == right[name].kind == "layer"}
    if not (isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value == "isinstance"
            and len(test.args) == 2 and isinstance(test.args[0].value, cst.Name)):
        return {}
    classes = test.args[1].value
    candidates = [e.value for e in classes.elements] if isinstance(classes, cst.Tuple) else [classes]
    if len(candidates) == 1 and isinstance(classes, cst.Name) and classes.value in state.facts.module_classes:
        return {test.args[0].value.value: Holds("module", classes.value)}
    rules = []
    for c in candidates:
        qname = state.qualify(c)
        rule = state.rules.get(qname) if qname else None
        if rule is None or rule.kind != "layer":
            return {}
        rules.append(rule)
    return {test.args[0].value.value: Holds("layer", rules[0].torch, tuple(r.torch for r in rules))}


def _either(a: Holds, b: Holds) -> Holds:
    alternatives = tuple(dict.fromkeys((*(a.alternatives or (a.name,)), *(b.alternatives or (b.name,)))))
    return Holds("layer", alternatives[0], alternatives)


def _class_name_narrowing(state: State, test) -> dict:
    """``classname.find('Conv') != -1`` / ``'Conv' in classname``, ``classname = m.__class__.__name__``."""
    part = variable = None
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        left = test.left
        if isinstance(target.operator, cst.NotEqual) and literal(target.comparator) == -1 and isinstance(left, cst.Call) \
                and isinstance(left.func, cst.Attribute) and left.func.attr.value == "find" and left.args:
            part, variable = literal(left.args[0].value), left.func.value
        elif isinstance(target.operator, cst.In) and isinstance(literal(left), str):
            part, variable = literal(left), target.comparator
    if not isinstance(part, str) or not isinstance(variable, cst.Name):
        return {}
    holder = state.facts.class_names.get((state.scope.key, variable.value))
    if holder is None:
        return {}
    rules = _layer_rules(state, part)
    if not rules:
        return {}
    return {holder: Holds("layer", rules[0].torch, tuple(r.torch for r in rules))}


def _choice_narrowing(state: State, test) -> dict:
    """``rnn_type in ['LSTM', 'GRU']``: the name holds one of these strings (``getattr(nn, rnn_type)``)."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(test.left, cst.Name)
            and isinstance(test.comparisons[0].operator, cst.In)):
        return {}
    choices = literal(test.comparisons[0].comparator)
    if not isinstance(choices, (list, tuple, set)) or not choices or not all(isinstance(c, str) for c in choices):
        return {}
    return {test.left.value: Holds("choice", "", tuple(choices))}


@on_visit(cst.If)
def narrow(state: State, node: cst.If) -> None:
    state.narrowings.append(_isinstance_narrowing(state, node.test) or _class_name_narrowing(state, node.test)
                            or _choice_narrowing(state, node.test))


@on_visit(cst.Else)
def not_narrowed(state: State, node: cst.Else) -> None:
    state.narrowings.append({})
