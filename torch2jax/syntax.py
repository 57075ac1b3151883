"""Small LibCST helpers every concern uses: a node's source text, literal values, parsed
snippets (cached) and call construction."""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any

import libcst as cst
from libcst._nodes.internal import CodegenState

MISSING = object()  # "not a literal" (None is a literal)
_EMPTY_MODULE = cst.Module(body=[])


def code_of(node: cst.CSTNode) -> str:
    return _EMPTY_MODULE.code_for_node(node)


class ModuleCode:
    """``module.code``, generated per top-level statement and remembered: the module after import
    settling shares all but a few statements with the draft, and only those are generated again."""

    def __init__(self) -> None:
        self._parts: dict[int, tuple[cst.CSTNode, str, str]] = {}  # id -> (node, its code, its last token)

    def __call__(self, module: cst.Module) -> str:
        parts = []
        for node in (*module.header, *module.body, *module.footer):
            part = self._parts.get(id(node))
            if part is None or part[0] is not node:
                state = CodegenState(default_indent=module.default_indent, default_newline=module.default_newline)
                node._codegen(state)
                part = self._parts[id(node)] = (node, "".join(state.tokens), state.tokens[-1] if state.tokens else "")
            parts.append(part)
        code = "".join(text for _, text, _ in parts)
        # What Module._codegen_impl does at the end of the file, on the last token generated.
        last = next((token for _, text, token in reversed(parts) if text), None)
        if module.has_trailing_newline:
            return code if last is not None else module.default_newline
        return code[: len(code) - len(last)] if last is not None else code


def literal(node: cst.BaseExpression) -> Any:
    """The Python value of a literal expression, or MISSING."""
    try:
        return ast.literal_eval(code_of(node))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return MISSING


def is_literal(node: cst.BaseExpression) -> bool:
    return literal(node) is not MISSING


@lru_cache(maxsize=4096)
def parse_expr(text: str) -> cst.BaseExpression:
    """Parsed once per text: CST nodes are immutable, so one instance can stand in many places."""
    return cst.parse_expression(text)


def expr(source: str) -> cst.BaseExpression:
    return parse_expr(source)


def value_expr(value: Any) -> cst.BaseExpression:
    """An expression for a Python literal value (floats printed shortest-round-trip)."""
    if isinstance(value, float):
        value = round(value, 12)
    return parse_expr(repr(value))


def arg(value: cst.BaseExpression, keyword: str | None = None) -> cst.Arg:
    if keyword is None:
        return cst.Arg(value=value)
    return cst.Arg(
        value=value,
        keyword=cst.Name(keyword),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )


def call(func: cst.BaseExpression, positional=(), keywords=None) -> cst.Call:
    args = [arg(v) for v in positional] + [arg(v, k) for k, v in (keywords or {}).items()]
    return cst.Call(func=func, args=args)


def simple(node: cst.BaseExpression) -> bool:
    """Cheap to evaluate twice and without effects (a name, an attribute, a subscript of one)."""
    return isinstance(node, (cst.Name, cst.Attribute)) or (isinstance(node, cst.Subscript) and simple(node.value))
