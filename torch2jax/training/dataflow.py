"""Which names a piece of code reads and writes, for moving statements into a step function.

Variables are plain names and ``self.<attr>`` (an attribute of the object whose method this
is), both written the way the code writes them. Reads come in order of first appearance,
because they become the step's parameters in that order.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst

from torch2jax.syntax import code_of


@dataclass
class Names:
    reads: list[str] = field(default_factory=list)  # before any write in the same code, in order
    writes: set[str] = field(default_factory=set)
    called: set[str] = field(default_factory=set)  # variables used as a callee: f(...)
    all_reads: set[str] = field(default_factory=set)  # every read, also after a write


def _variable(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return f"self.{node.attr}"
    return None


class _Collector(ast.NodeVisitor):
    def __init__(self):
        self.names = Names()
        self._bound: list[set[str]] = [set()]  # names local to a lambda / comprehension / nested def

    def _local(self, name: str) -> bool:
        return any(name in scope for scope in self._bound[1:])

    def _read(self, name: str) -> None:
        if not self._local(name):
            self.names.all_reads.add(name)
        if self._local(name) or name in self.names.writes or name in self.names.reads:
            return
        self.names.reads.append(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._read(node.id)
        elif not self._local(node.id):
            self.names.writes.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        var = _variable(node)
        if var is None:
            self.generic_visit(node)
            return
        if isinstance(node.ctx, ast.Load):
            self._read("self")  # `self` itself is read too
            self._read(var)
        else:
            self.names.writes.add(var)

    def visit_Call(self, node: ast.Call) -> None:
        var = _variable(node.func)
        if var is not None:
            self.names.called.add(var)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        var = _variable(node.target)
        if var is not None:
            self._read(var)
        self.visit(node.value)
        self.visit(node.target)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)  # the value is read before the targets are written
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    def _scoped(self, params: set[str], parts) -> None:
        self._bound.append(set(params))
        for part in parts:
            self.visit(part)
        self._bound.pop()

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._scoped({a.arg for a in _all_args(node.args)}, [node.body])

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.names.writes.add(node.name)
        self._scoped({a.arg for a in _all_args(node.args)}, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _comprehension(self, node, parts) -> None:
        bound = set()
        for gen in node.generators:
            bound |= {n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
        self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        self._bound.append(bound)
        for gen in node.generators:
            for cond in gen.ifs:
                self.visit(cond)
        for gen in node.generators[1:]:
            self.visit(gen.iter)
        for part in parts:
            self.visit(part)
        self._bound.pop()

    def visit_ListComp(self, node):
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        self._comprehension(node, [node.key, node.value])


def _all_args(args: ast.arguments):
    out = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    out += [a for a in (args.vararg, args.kwarg) if a is not None]
    return out


def names_of(nodes) -> Names:
    """Reads and writes of a sequence of CST statements (or one), as one piece of code."""
    if isinstance(nodes, cst.CSTNode):
        nodes = [nodes]
    collector = _Collector()
    for node in nodes:
        if isinstance(node, cst.BaseExpression):
            tree = ast.parse(f"({code_of(node)})", mode="eval")
        else:
            if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                node = node.with_changes(leading_lines=[])
            tree = ast.parse(code_of(node))
        collector.visit(tree)
    return collector.names
