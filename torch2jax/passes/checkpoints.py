"""Checkpoints: ``torch.save(model.state_dict(), PATH)`` and ``model.load_state_dict(torch.load(PATH))``
become Orbax (installed with Flax) saving and restoring ``nnx.state(model)``; the same for an
optimizer. Orbax writes a directory at an absolute path, and overwrites like ``torch.save``
(``force=True``). Other uses of ``torch.save``/``torch.load``/``load_state_dict`` are reported.
Trained torch weights are brought over with ``torch2jax.load_torch_weights`` instead.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import on_leave
from torch2jax.state import State
from torch2jax.syntax import code_of


def _state_dict_of(node) -> cst.BaseExpression | None:
    """``model.state_dict()`` -> ``model``."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "state_dict" \
            and not node.args:
        return node.func.value
    return None


def _statement_call(stmt: cst.SimpleStatementLine) -> cst.Call | None:
    if len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, cst.Call):
        return stmt.body[0].value
    return None


@on_leave(cst.Call)
def checkpoint_calls(state: State, original: cst.Call, updated: cst.Call):
    """``torch.save``/``torch.load`` are reported unless their statement is rewritten (below)."""
    qname = state.qualify(original.func)
    if qname in ("torch.save", "torch.load"):
        if id(original) not in state.statement_calls and not _is_restore(state, original):
            state.report("T2J901", f"`{qname}` of anything but a `model.state_dict()` is not translated; "
                         "save `nnx.state(model)` with Orbax (orbax.checkpoint)", node=original)
        return updated
    if isinstance(original.func, cst.Attribute) and original.func.attr.value == "state_dict" and not original.args:
        holder = state.holds(original.func.value)
        if holder is not None and holder.kind in ("layer", "module") and not state.in_module_class:
            return updated  # handled with the torch.save around it
    return None


def _is_restore(state: State, call: cst.Call) -> bool:
    """``torch.load(PATH)`` as the argument of a ``model.load_state_dict(...)`` statement."""
    if len(state.calls) < 2 or not call.args:
        return False
    outer = state.calls[-2]
    return (isinstance(outer.func, cst.Attribute) and outer.func.attr.value == "load_state_dict"
            and id(outer) in state.statement_calls and len(outer.args) >= 1 and outer.args[0].value is call)


@on_leave(cst.SimpleStatementLine, exclusive=False)
def save_and_restore(state: State, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
    call = _statement_call(original)
    if call is None:
        return None
    qname = state.qualify(call.func)
    if qname == "torch.save" and len(call.args) >= 2 and not any(a.keyword for a in call.args[:2]):
        target = _state_dict_of(call.args[0].value)
        if target is None:
            state.report("T2J901", "`torch.save` of anything but `x.state_dict()` is not translated; save "
                         "`nnx.state(model)` with Orbax (orbax.checkpoint)", node=original)
            return None
        state.imports.ref("orbax.checkpoint.StandardCheckpointer")
        state.imports.ref("os.path")
        state.imports.ref("flax.nnx.state")
        path = code_of(updated.body[0].value.args[1].value)
        text = (f"with ocp.StandardCheckpointer() as checkpointer:\n"
                f"{state.indent}checkpointer.save(os.path.abspath({path}), nnx.state({code_of(target)}), force=True)\n")
        return cst.parse_statement(text).with_changes(leading_lines=updated.leading_lines)
    if (isinstance(call.func, cst.Attribute) and call.func.attr.value == "load_state_dict" and call.args
            and isinstance(call.args[0].value, cst.Call) and state.qualify(call.args[0].value.func) == "torch.load"):
        load = call.args[0].value
        if not load.args:
            return None
        target = code_of(call.func.value)
        state.imports.ref("orbax.checkpoint.StandardCheckpointer")
        state.imports.ref("os.path")
        state.imports.ref("flax.nnx.update")
        path = code_of(load.args[0].value)
        text = (f"nnx.update({target}, ocp.StandardCheckpointer().restore(os.path.abspath({path}), "
                f"nnx.state({target})))\n")
        return cst.parse_statement(text).with_changes(leading_lines=updated.leading_lines)
    return None
