"""Line/column of a few nodes, at about the cost of one plain code generation.

LibCST's PositionProvider tracks every token of the file (several times the cost
of regenerating it, see DESIGN.md); diagnostics need positions for a handful of
nodes. This state records nothing but the tokens, counts lines only up to
the nodes asked for, and stops after the last of them.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import libcst as cst
from libcst._nodes.internal import CodegenState

_NEWLINE = re.compile(r"\r\n?|\n")


class _AllFound(Exception):
    pass


@dataclass(frozen=False)
class _LazyPositions(CodegenState):
    targets: set = field(default_factory=set)
    found: dict = field(default_factory=dict)
    _scanned: int = 0
    _generated: set = field(default_factory=set)
    _line: int = 1
    _column: int = 0

    def _here(self) -> tuple[int, int]:
        text = "".join(self.tokens[self._scanned:])
        if "\r" in text:  # token by token: a "\r" ending one token and a "\n" starting the next are two lines
            for token in self.tokens[self._scanned:]:
                parts = _NEWLINE.split(token)
                if len(parts) == 1:
                    self._column += len(token)
                else:
                    self._line += len(parts) - 1
                    self._column = len(parts[-1])
        else:
            newlines = text.count("\n")
            if newlines:
                self._line += newlines
                self._column = len(text) - text.rfind("\n") - 1
            else:
                self._column += len(text)
        self._scanned = len(self.tokens)
        return self._line, self._column

    def before_codegen(self, node) -> None:
        if id(node) in self.targets and id(node) not in self.found:
            self.found[id(node)] = self._here()  # whitespace-inclusive; refined below

    def after_codegen(self, node) -> None:
        if id(node) in self.targets:  # its position is final: the node is generated
            self._generated.add(id(node))
            if len(self._generated) == len(self.targets):
                raise _AllFound

    @contextmanager
    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        if id(node) in self.targets:
            self.found[id(node)] = self._here()
        yield


def node_positions(module: cst.Module, nodes) -> dict[int, tuple[int, int]]:
    """id(node) -> (line, 1-based column) for the given nodes of ``module``."""
    state = _LazyPositions(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        targets={id(n) for n in nodes if n is not None},
    )
    try:
        module._codegen(state)
    except _AllFound:  # the rest of the file is not needed
        pass
    return {key: (line, column + 1) for key, (line, column) in state.found.items()}
