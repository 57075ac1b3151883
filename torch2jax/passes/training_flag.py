"""The training flag: ``self.training`` in an nn.Module subclass reads ``not self.deterministic``
(nnx's ``.train()``/``.eval()`` set it, as on Flax's own layers; ``module_classes`` starts it at
False in ``__init__``), and ``self.training = v`` sets ``self.deterministic = not v``."""

from __future__ import annotations

import libcst as cst

from torch2jax.diagnostics import Unsupported
from torch2jax.registry import on_leave, on_statement
from torch2jax.state import State


def _is_training_flag(state: State, node) -> bool:
    return (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == "self"
        and node.attr.value == "training"
        and state.scope.cls is not None
    )


UNPACKED_FLAG = ("`self.training` {how} is not translated; set `self.deterministic` (its negation) "
                 "on its own line instead")


@on_leave(cst.Attribute)
def training_flag(state: State, original: cst.Attribute, updated: cst.Attribute):
    """``self.training`` -> ``not self.deterministic`` (nnx's ``.train()``/``.eval()`` set it)."""
    if not state.is_value_position(original) or not _is_training_flag(state, original):
        return None
    if id(original) in state.targets:  # set, not read: see training_assignment
        if state.statements and not isinstance(state.statements[-1], cst.SimpleStatementLine):
            state.report("T2J201", UNPACKED_FLAG.format(how="set as a loop or `with` target"), node=original)
        return None
    return cst.UnaryOperation(
        operator=cst.Not(),
        expression=cst.Attribute(cst.Name("self"), cst.Name("deterministic")),
        lpar=[cst.LeftParen()],
        rpar=[cst.RightParen()],
    )


@on_statement(cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Del)
def training_assignment(state: State, original, updated):
    """``self.training = v`` -> ``self.deterministic = not v`` (``= True`` -> ``= False``); the flag
    set inside an unpacking, by several targets, augmented or deleted is reported and left as is."""
    targets = [t.target for t in original.targets] if isinstance(original, cst.Assign) else [original.target]
    if not any(_sets_training_flag(state, t) for t in targets):
        return None
    if isinstance(original, (cst.AugAssign, cst.Del)) or len(targets) != 1 or not _is_training_flag(state, targets[0]):
        how = {cst.AugAssign: "set by an augmented assignment", cst.Del: "deleted"}.get(type(original))
        how = how or ("set with other targets" if len(targets) > 1 else "set in an unpacking")
        raise Unsupported("T2J201", UNPACKED_FLAG.format(how=how))
    if updated.value is None:  # `self.training: bool`, an annotation alone
        raise Unsupported("T2J201", UNPACKED_FLAG.format(how="annotated alone"))
    flag = cst.Attribute(cst.Name("self"), cst.Name("deterministic"))
    if isinstance(original, cst.AnnAssign):
        return updated.with_changes(target=flag, value=_negated(updated.value))
    return updated.with_changes(targets=[cst.AssignTarget(flag)], value=_negated(updated.value))


def _sets_training_flag(state: State, target) -> bool:
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_sets_training_flag(state, e.value) for e in target.elements)
    return _is_training_flag(state, target)


def _negated(value: cst.BaseExpression) -> cst.BaseExpression:
    """``not value``, written plainly: ``True`` -> ``False``, ``not x`` -> ``x``."""
    if isinstance(value, cst.Name) and value.value in ("True", "False"):
        return cst.Name("False" if value.value == "True" else "True")
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Not):
        inner = value.expression
        return inner.with_changes(lpar=[], rpar=[]) if isinstance(inner, (cst.Name, cst.Attribute)) else inner
    if not isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Comparison)):
        value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.UnaryOperation(operator=cst.Not(), expression=value)


def _unparenthesised_not(node):
    """``(not self.deterministic)`` as training_flag wrote it, without its parentheses (the user's own
    parentheses stay: they may hold a condition written over several lines)."""
    if (isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not) and node.lpar
            and _is_flag(node.expression)):
        return node.with_changes(lpar=[], rpar=[])
    return None


def _is_flag(node) -> bool:
    return (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"
            and node.attr.value == "deterministic" and not node.lpar)


@on_leave(cst.Arg, cst.Assign, exclusive=False)
def bare_not_in_value(state: State, original, updated):
    """``f(not self.deterministic)``: no parentheses where the grammar needs none."""
    value = _unparenthesised_not(updated.value)
    return updated.with_changes(value=value) if value is not None else None


@on_leave(cst.Return, exclusive=False)
def bare_not_in_return(state: State, original, updated):
    value = _unparenthesised_not(updated.value) if updated.value else None
    return updated.with_changes(value=value) if value is not None else None


@on_leave(cst.If, cst.While, exclusive=False)
def bare_not_in_test(state: State, original, updated):
    test = _unparenthesised_not(updated.test)
    return updated.with_changes(test=test) if test is not None else None
