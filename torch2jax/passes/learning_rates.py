"""Reading and setting an optimizer's rate through ``param_groups``.

The optimizer of a translated step is built with ``optax.inject_hyperparams`` when the loop reads or
sets its rate (see training.analysis), so:

- ``optimizer.param_groups[0]['lr']`` -> ``optimizer.opt_state.hyperparams['learning_rate'][...]``;
- ``optimizer.param_groups[0]['lr'] = v`` (or ``*=``) sets it there;
- ``for g in optimizer.param_groups: g['lr'] = v`` (the usual way to set it) becomes the setting.

Any other use of ``param_groups`` (another option, the number of groups) is reported.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import REMOVE, Lines, on_leave, on_statement
from torch2jax.state import State
from torch2jax.syntax import code_of
from torch2jax.training.optimizers import get_lr_expression, set_lr_statement


def _settable_optimizer(state: State, node) -> str | None:
    """``node`` is ``OPT.param_groups`` of a translated optimizer whose rate is settable: OPT's code."""
    if not (isinstance(node, cst.Attribute) and node.attr.value == "param_groups"):
        return None
    from torch2jax.passes.training import _binding_of

    binding = _binding_of(state, node.value)
    training = state.facts.training
    if binding is None or binding.kind != "optimizer" or binding.call is None:
        return None
    if id(binding.call) not in training.settable or id(binding.call) in training.untranslated:
        return None
    return code_of(node.value)


def _key(node) -> str | None:
    """``x['lr']`` -> "lr"."""
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        value = node.slice[0].slice.value
        if isinstance(value, cst.SimpleString):
            return value.evaluated_value
    return None


def _group_rate(state: State, node) -> str | None:
    """``OPT.param_groups[0]['lr']`` (a literal group index) -> OPT."""
    if _key(node) != "lr" or not isinstance(node.value, cst.Subscript):
        return None
    return _settable_optimizer(state, node.value.value)


def _loop_group(state: State, node, key: str | None = "lr") -> str | None:
    """``g['lr']`` (``g[key]``; any key for None) inside ``for g in OPT.param_groups:`` -> OPT."""
    if (key is not None and _key(node) != key) or not isinstance(node, cst.Subscript) \
            or not isinstance(node.value, cst.Name):
        return None
    for statement in reversed(state.statements):
        if isinstance(statement, cst.For) and isinstance(statement.target, cst.Name) \
                and statement.target.value == node.value.value:
            return _settable_optimizer(state, statement.iter)
    return None


@on_statement(cst.Assign)
def set_rate(state: State, original: cst.Assign, updated: cst.Assign):
    if len(original.targets) != 1:
        return None
    target = original.targets[0].target
    optimizer = _group_rate(state, target) or _loop_group(state, target)
    if optimizer is None:
        if _loop_group(state, target, key=None) is not None:
            return updated  # another option of a group: the loop is reported as a whole (group_loop)
        return None
    return Lines(cst.parse_statement(set_lr_statement(optimizer, code_of(updated.value)) + "\n").body)


@on_statement(cst.AugAssign)
def scale_rate(state: State, original: cst.AugAssign, updated: cst.AugAssign):
    optimizer = _group_rate(state, original.target) or _loop_group(state, original.target)
    if optimizer is None:
        return None
    rate = get_lr_expression(optimizer)
    return cst.parse_statement(f"{rate} {code_of(original.operator).strip()} {code_of(updated.value)}\n").body[0]


@on_leave(cst.Subscript)
def read_rate(state: State, original: cst.Subscript, updated: cst.Subscript):
    optimizer = _group_rate(state, original) or _loop_group(state, original)
    if optimizer is None:
        return None
    if _is_assigned(state, original):
        return updated  # the statement callbacks above rewrite it
    return cst.parse_expression(get_lr_expression(optimizer))


@on_leave(cst.For)
def group_loop(state: State, original: cst.For, updated: cst.For):
    """``for g in OPT.param_groups:`` whose body only set the rate: the settings themselves."""
    if _settable_optimizer(state, original.iter) is None or not isinstance(updated.body, cst.IndentedBlock):
        return None
    name = original.target.value if isinstance(original.target, cst.Name) else None
    used = [n for n in _names(updated.body) if n == name]
    if used or original.orelse is not None:
        state.report("T2J204", "a loop over `param_groups` that does more than set 'lr' is not translated "
                     "(only the rate can be set on the translated optimizer)", node=original)
        return None
    body = list(updated.body.body)
    body[0] = body[0].with_changes(leading_lines=[*updated.leading_lines, *body[0].leading_lines])
    return cst.FlattenSentinel(body)


@on_leave(cst.Attribute)
def other_group_use(state: State, original: cst.Attribute, updated: cst.Attribute):
    """``OPT.param_groups`` used any other way: reported (the rate uses are claimed above)."""
    if original.attr.value != "param_groups":
        return None
    if _settable_optimizer(state, original) is None:
        if any(b.kind == "optimizer" for bindings in state.facts.training.bindings.values() for b in bindings.values()):
            state.report("T2J204", "`param_groups` of an optimizer built in another function is not translated; "
                         "read or set the rate where the optimizer is built", node=original)
        return None
    if _rate_use(state, original):
        return None
    state.report("T2J204", "`param_groups` of a translated optimizer: only reading and setting 'lr' is "
                 "translated", node=original)
    return None


def _rate_use(state: State, node) -> bool:
    """``node`` (OPT.param_groups) appears as ``OPT.param_groups[i]['lr']`` or as the iterable of a
    ``for`` loop over groups, in the statement being rewritten."""
    for statement in reversed(state.statements):
        if isinstance(statement, cst.For) and statement.iter is node:
            return True
    finder = _ParentFinder(node)
    if state.statements:
        state.statements[-1].visit(finder)
    if len(finder.parents) < 2:
        return False
    grandparent, parent = finder.parents[-2:]
    return isinstance(parent, cst.Subscript) and _key(grandparent) == "lr"


class _ParentFinder(cst.CSTVisitor):
    """The nodes enclosing ``target``, outermost first, within the visited statement."""

    def __init__(self, target) -> None:
        self.target, self.stack, self.parents = target, [], []

    def on_visit(self, node) -> bool:
        if node is self.target:
            self.parents = list(self.stack)
            return False
        self.stack.append(node)
        return True

    def on_leave(self, original) -> None:
        if self.stack and self.stack[-1] is original:
            self.stack.pop()


def _is_assigned(state: State, node) -> bool:
    line = state.statements[-1] if state.statements else None
    small = getattr(line, "body", None)
    if not isinstance(small, (list, tuple)) or len(small) != 1:
        return False
    stmt = small[0]
    if isinstance(stmt, cst.Assign):
        return any(t.target is node for t in stmt.targets)
    return isinstance(stmt, cst.AugAssign) and stmt.target is node


def _names(node) -> list[str]:
    found: list[str] = []

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.append(n.value)

    node.visit(_Collect())
    return found
