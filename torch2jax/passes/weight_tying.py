"""Weight tying: ``self.lm_head.weight = self.wte.weight`` (a Linear's weight made an Embedding's table).

Flax's ``nnx.Embed`` has the tied projection itself: ``self.wte.attend(x)`` is ``x @ embedding.T``,
which is torch's ``lm_head(x)`` once the two share the weight. So the assignment goes and every call
``self.lm_head(x)`` in the class becomes ``self.wte.attend(x)`` (plus the head's own bias, if it has
one): one shared variable, trained once. The head layer is still built (its bias, if any, is used;
torch's state dict names the shared tensor under both layers, so weights transfer as they are); its
own kernel is unused.

A tie made only under a condition (``if tie_weights: ...``) becomes a flag: the assignment sets
``self.<head>_tied = True`` (the class says ``<head>_tied = False`` first) and each call is
``(self.wte.attend(x) + ...) if self.<head>_tied else self.lm_head(x)``.

A tie between other layer kinds, or written elsewhere than in the class's methods, is reported by
the parameter pass (T2J201).
"""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import REMOVE, on_leave, on_statement, on_visit
from torch2jax.state import State
from torch2jax.traversal import visit
from torch2jax.syntax import code_of, expr

HEAD, TABLE = "torch.nn.Linear", "torch.nn.Embedding"


def _tie(state: State, cls: str, assign: cst.Assign) -> tuple[str, str] | None:
    """``self.<head>.weight = self.<table>.weight`` -> (head, table) as written, when the kinds fit."""
    if len(assign.targets) != 1:
        return None
    target, value = assign.targets[0].target, assign.value
    if not (isinstance(target, cst.Attribute) and target.attr.value == "weight"
            and isinstance(value, cst.Attribute) and value.attr.value == "weight"):
        return None
    head = state.facts.holds(cls, None, target.value)
    table = state.facts.holds(cls, None, value.value)
    if head is None or table is None or head.kind != "layer" or table.kind != "layer":
        return None
    if not code_of(target.value).startswith("self.") or not code_of(value.value).startswith("self."):
        return None
    if (head.name, table.name) == (HEAD, TABLE):
        return code_of(target.value), code_of(value.value)
    if (head.name, table.name) == (TABLE, HEAD):  # nanoGPT: self.transformer.wte.weight = self.lm_head.weight
        return code_of(value.value), code_of(target.value)
    return None


@on_visit(cst.ClassDef)
def find_ties(state: State, node: cst.ClassDef) -> None:
    """The ties a class makes anywhere in its methods, before any method is rewritten."""
    cls = node.name.value
    if cls not in state.facts.module_classes:
        return
    ties: dict[str, str] = {}
    conditional: set[str] = set()

    class _Assigns(cst.CSTVisitor):
        depth = 0  # compound statements inside the method

        def visit_FunctionDef(self, func) -> None:
            self.depth = 0

        def visit_If(self, n) -> None:
            self.depth += 1

        def leave_If(self, n) -> None:
            self.depth -= 1

        visit_For = visit_While = visit_Try = visit_With = visit_If
        leave_For = leave_While = leave_Try = leave_With = leave_If

        def visit_Assign(self, assign: cst.Assign) -> None:
            found = _tie(state, cls, assign)
            if found is not None:
                ties[found[0]] = found[1]
                if self.depth:
                    conditional.add(found[0])

    visit(node, _Assigns())
    if ties:
        state.tied[cls] = ties
    if conditional:
        state.tied_flags[cls] = conditional


def _unknown_tie(state: State, original: cst.Assign):
    """``x.weight = self.fc.weight`` that is not a tie this pass makes: reported and kept as written
    (its right side would otherwise become a copy in Flax's layout, the sharing lost)."""
    if len(original.targets) != 1:
        return None
    target, value = original.targets[0].target, original.value
    if not (isinstance(target, cst.Attribute) and isinstance(value, cst.Attribute)
            and target.attr.value in ("weight", "bias") and value.attr.value == target.attr.value):
        return None
    held = state.holds(value.value)
    if held is None or held.kind != "layer":
        return None
    target_held = state.holds(target.value)
    if target_held is not None and target_held.kind == "layer":
        return original  # reported where the target is read (passes.parameters)
    state.report("T2J201", f"`{code_of(target)} = {code_of(value)}` shares a parameter in a way not translated "
                           "(ties of a Linear head to an Embedding are); left as is", node=original)
    return original


def _flag(head: str) -> str:
    """``self.decoder`` -> ``decoder_tied``."""
    return head.removeprefix("self.").replace(".", "_") + "_tied"


@on_leave(cst.ClassDef, exclusive=False)
def tie_flags_default(state: State, original: cst.ClassDef, updated: cst.ClassDef):
    """``decoder_tied = False`` first in a class that ties only under a condition."""
    heads = state.tied_flags.get(original.name.value)
    if not heads or not isinstance(updated.body, cst.IndentedBlock):
        return None
    body = list(updated.body.body)
    at = 1 if body and _is_docstring(body[0]) else 0
    defaults = [cst.parse_statement(f"{_flag(h)} = False  # True once __init__ ties it to {state.tied[original.name.value][h]}\n")
                for h in sorted(heads)]
    return updated.with_changes(body=updated.body.with_changes(body=[*body[:at], *defaults, *body[at:]]))


def _is_docstring(stmt) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


@on_statement(cst.Assign)
def tying_statement(state: State, original: cst.Assign, updated: cst.Assign):
    cls = state.scope.cls
    if cls is None:
        return None
    found = _tie(state, cls, original) if cls in state.tied else None
    if found is None:
        return _unknown_tie(state, original)
    if found[0] in state.tied_flags.get(cls, ()):
        return cst.parse_statement(f"self.{_flag(found[0])} = True\n").body[0]
    return REMOVE


@on_leave(cst.Call)
def tied_head_call(state: State, original: cst.Call, updated: cst.Call):
    """``self.lm_head(x)`` -> ``self.wte.attend(x)`` (+ ``self.lm_head.bias[...]``)."""
    cls = state.scope.cls
    ties = state.tied.get(cls) if cls is not None else None
    if not ties or len(updated.args) != 1 or updated.args[0].keyword is not None or updated.args[0].star:
        return None
    head = code_of(original.func)
    table = ties.get(head)
    if table is None:
        return None
    x = code_of(updated.args[0].value)
    text = f"{table}.attend({x})"
    if _has_bias(state, cls, head):
        text = f"({text} + {head}.bias[...])"
    if head in state.tied_flags.get(cls, ()):
        return cst.IfExp(test=expr(f"self.{_flag(head)}"), body=expr(text), orelse=updated,
                         lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expr(text)


def _has_bias(state: State, cls: str, head: str) -> bool:
    """Whether the head Linear was built with a bias (torch's default), from its construction."""
    ctor = state.facts.module_classes.get(cls)
    found = [True]

    class _Find(cst.CSTVisitor):
        def visit_Assign(self, assign: cst.Assign) -> None:
            if len(assign.targets) == 1 and code_of(assign.targets[0].target) == head \
                    and isinstance(assign.value, cst.Call):
                for a in assign.value.args:
                    if a.keyword is not None and a.keyword.value == "bias":
                        found[0] = code_of(a.value) not in ("False", "0")
                positional = [a for a in assign.value.args if a.keyword is None]
                if len(positional) >= 3:
                    found[0] = code_of(positional[2].value) not in ("False", "0")

    if ctor is not None:
        ctor.visit(_Find())
    return found[0]
