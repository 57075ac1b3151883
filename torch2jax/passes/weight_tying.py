"""Weight tying: ``self.lm_head.weight = self.wte.weight`` (a Linear's weight made an Embedding's table).

Flax's ``nnx.Embed`` has the tied projection itself: ``self.wte.attend(x)`` is ``x @ embedding.T``,
which is torch's ``lm_head(x)`` once the two share the weight. So the assignment goes and every call
``self.lm_head(x)`` in the class becomes ``self.wte.attend(x)`` (plus the head's own bias, if it has
one): one shared variable, trained once. The head layer is still built (its bias, if any, is used;
torch's state dict names the shared tensor under both layers, so weights transfer as they are); its
own kernel is unused.

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
    if head.name != HEAD or table.name != TABLE:
        return None
    if not code_of(target.value).startswith("self.") or not code_of(value.value).startswith("self."):
        return None
    return code_of(target.value), code_of(value.value)


@on_visit(cst.ClassDef)
def find_ties(state: State, node: cst.ClassDef) -> None:
    """The ties a class makes anywhere in its methods, before any method is rewritten."""
    cls = node.name.value
    if cls not in state.facts.module_classes:
        return
    ties: dict[str, str] = {}

    class _Assigns(cst.CSTVisitor):
        def visit_Assign(self, assign: cst.Assign) -> None:
            found = _tie(state, cls, assign)
            if found is not None:
                ties[found[0]] = found[1]

    visit(node, _Assigns())
    if ties:
        state.tied[cls] = ties


@on_statement(cst.Assign)
def tying_statement(state: State, original: cst.Assign, updated: cst.Assign):
    cls = state.scope.cls
    if cls is None or cls not in state.tied or _tie(state, cls, original) is None:
        return None
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
