"""Weight initialisation: ``nn.init.xavier_uniform_(self.fc.weight)`` (a statement) becomes
``self.fc.kernel[...] = <fresh array>`` (see ``handlers.initializers``), and
``model.apply(init_fn)`` a loop over the submodules, children first as torch's ``apply``:
``for _, module in nnx.iter_modules(model): init_fn(module)``."""

from __future__ import annotations

import libcst as cst

from torch2jax.analyze import mro
from torch2jax.registry import on_leave, on_statement
from torch2jax.state import State
from torch2jax.syntax import code_of


@on_statement(cst.Expr)
def assign_initialised(state: State, original: cst.Expr, updated: cst.Expr):
    target = state.init_targets.get(id(updated.value))
    if target is None:
        return None
    if isinstance(target, cst.Name) and id(target) not in state.variable_names:
        return cst.Assign([cst.AssignTarget(target)], updated.value)
    element = cst.SubscriptElement(cst.Index(cst.Ellipsis()))
    return cst.Assign([cst.AssignTarget(cst.Subscript(value=target, slice=[element]))], updated.value)


def _apply_call(state: State, call: cst.Call):
    """``x.apply(fn)`` on a module (``self`` in a module class, or a variable holding a model)."""
    if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "apply" and len(call.args) == 1
            and not call.args[0].keyword and not call.args[0].star):
        return None
    receiver = call.func.value
    if isinstance(receiver, cst.Name) and receiver.value == "self":
        return receiver if state.scope.cls is not None else None
    holder = state.holds(receiver)
    return receiver if holder is not None and holder.kind in ("module", "layer") else None


@on_leave(cst.Call)
def apply_call(state: State, original: cst.Call, updated: cst.Call):
    """Claimed here (not reported as nn.Module API) when its statement becomes a loop below."""
    if _apply_call(state, original) is not None and id(original) in state.statement_calls:
        return updated
    return None


def _needs_rngs(state: State, fn: cst.BaseExpression) -> bool:
    facts = state.facts
    if isinstance(fn, cst.Name):
        return (None, fn.value) in facts.needs_rngs
    if isinstance(fn, cst.Attribute) and isinstance(fn.value, cst.Name) and fn.value.value == "self" and state.scope.cls:
        return any((c, fn.attr.value) in facts.needs_rngs for c in mro(facts, state.scope.cls))
    return False


@on_leave(cst.SimpleStatementLine, exclusive=False)
def apply_loop(state: State, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
    if len(original.body) != 1 or not isinstance(original.body[0], cst.Expr) or not isinstance(original.body[0].value, cst.Call):
        return None
    receiver = _apply_call(state, original.body[0].value)
    if receiver is None or not isinstance(updated.body[0], cst.Expr):
        return None
    fn = updated.body[0].value.args[0].value
    rngs = f", rngs={code_of(state.rngs_expr())}" if _needs_rngs(state, fn) else ""
    state.imports.ref("flax.nnx.iter_modules")
    text = (f"for _, module in nnx.iter_modules({code_of(updated.body[0].value.func.value)}):\n"
            f"{state.indent}{code_of(fn)}(module{rngs})\n")
    return cst.parse_statement(text).with_changes(leading_lines=updated.leading_lines)
