"""The one walk over the file: a LibCST transformer that keeps the State current and
dispatches each node to the callbacks registered for its type (``torch2jax.registry``).

One walk instead of one per concern keeps conversion near the parse + regenerate floor, and
the walk itself is ``torch2jax.traversal``'s: it never enters subtrees no callback looks at
(whitespace, literals, operators) and rebuilds only what changed, so an ``updated`` node whose
subtree nothing rewrote is the ``original`` node itself (never rely on them being distinct).
Order matters only where one concern feeds another, and LibCST's bottom-up leave order
settles it: arguments are rewritten before the call that receives them, calls before the
statement that holds them, statements before the function (``rngs`` parameter,
``forward`` -> ``__call__``) and the class (bases). Among callbacks for one node type, the
order is the order of ``torch2jax.passes``.

The walk never raises on user input: a callback that cannot translate a node raises
Unsupported (reported there, the node kept as it was); a bug in a callback is reported as
T2J903 at the node, and the rest of the file still converts.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.diagnostics import NotTorch, Unsupported
from torch2jax.registry import LEAVE, REMOVE, STATEMENT, VISIT, Lines
from torch2jax.state import State
from torch2jax.syntax import code_of
from torch2jax.traversal import inert_types, transform

# Statements that collect marker comments (exact types: an ABC isinstance per node is measurably slow).
STATEMENTS = frozenset(
    {cst.SimpleStatementLine, cst.If, cst.For, cst.While, cst.With, cst.Try, cst.TryStar, cst.FunctionDef,
     cst.ClassDef, cst.Match}
)


def _note_targets(state: State, target: cst.BaseExpression):
    """A target and, in ``a, (b, *c) = ...``, every name or attribute it unpacks into."""
    state.targets.add(id(target))
    if isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:  # Element or StarredElement
            _note_targets(state, element.value)
    elif isinstance(target, cst.Attribute) and target.attr.value == "data":
        state.targets.add(id(target.value))  # `w.data = v` sets `w` itself


def _note_assignment(state: State, node: cst.Assign):
    for t in node.targets:
        _note_targets(state, t.target)
    target = node.targets[0].target
    if len(node.targets) == 1 and isinstance(target, (cst.Tuple, cst.List)) and isinstance(node.value, cst.Call):
        if not any(isinstance(e, cst.StarredElement) for e in target.elements):
            state.unpacked[id(node.value)] = len(target.elements)


def _note_call(state: State, node: cst.Call):
    state.callees.add(id(node.func))
    state.calls.append(node)


def _note_attribute(state: State, node: cst.Attribute):
    state.inner.add(id(node.value))
    state.labels.add(id(node.attr))


def _note_definition(enter):
    def note(state: State, node):
        state.labels.add(id(node.name))
        return enter(state, node)
    return note


def _skip(state: State, node):
    return False  # imports are settled at the end, never rewritten in place


# What the walk itself keeps current on entering and leaving a node (before and after the callbacks).
_ENTER = {
    cst.ClassDef: _note_definition(State.enter_class),
    cst.FunctionDef: _note_definition(State.enter_function),
    cst.Import: _skip,
    cst.ImportFrom: _skip,
    cst.Assign: _note_assignment,
    cst.AugAssign: lambda state, node: state.targets.add(id(node.target)),
    cst.AnnAssign: lambda state, node: state.targets.add(id(node.target)),
    cst.Del: lambda state, node: _note_targets(state, node.target),
    cst.For: lambda state, node: _note_targets(state, node.target),
    cst.WithItem: lambda state, node: _note_targets(state, node.asname.name) if node.asname else None,
    cst.Expr: lambda state, node: state.statement_calls.add(id(node.value)),
    cst.Call: _note_call,
    cst.Attribute: _note_attribute,
    cst.Arg: lambda state, node: state.labels.add(id(node.keyword)) if node.keyword else None,
    cst.Annotation: lambda state, node: state.annotations.append(False),
}
_EXIT = {
    cst.ClassDef: State.exit_class,
    cst.FunctionDef: State.exit_function,
    cst.Call: lambda state, node: state.calls.pop(),
    cst.Annotation: lambda state, node: state.annotations.pop(),
    cst.If: lambda state, node: state.narrowings.pop(),
    cst.Else: lambda state, node: state.narrowings.pop(),
}


# Node types the walk itself does something for on leaving (besides their callbacks).
_KEPT_ON_LEAVE = frozenset({cst.SimpleStatementLine, cst.IndentedBlock, cst.Module, *_EXIT, *STATEMENTS})


def _leave_callbacks(state: State, kind: type, original, result):
    """The node's leave callbacks in order, each given the last one's result; an exclusive one that
    answers ends the run."""
    for callback, exclusive in LEAVE.get(kind, ()):
        out = _guarded(state, callback, original, result)
        if out is not None:
            result = out
            if exclusive:
                break
    return result


def _callback_types() -> set[type]:
    """Every node type the walk or a callback does something for (the others are not visited)."""
    return {cst.Module, cst.SimpleStatementLine, cst.IndentedBlock, *STATEMENTS, *_ENTER, *_EXIT, *VISIT, *LEAVE,
            *STATEMENT}


def _guarded(state: State, callback, original, updated):
    """Run one callback; its failure on this node becomes a diagnostic, never an exception."""
    state.leaving = (original, updated)  # a report at `updated` (a handler's node) is placed at `original`
    try:
        return callback(state, original, updated)
    except NotTorch:
        return updated  # only looked like torch: claimed, left alone
    except Unsupported as exc:
        state.report(exc.code, exc.message, node=original)
        return updated
    except Exception as exc:  # a bug of ours must not lose the file
        snippet = " ".join(code_of(original).split())[:60]
        state.report("T2J903", f"internal error while translating `{snippet}`: {exc!r}", node=original)
        return updated


class Walker(cst.CSTTransformer):
    def __init__(self, state: State):
        super().__init__()
        self.state = state

    def walk(self, module: cst.Module) -> cst.Module:
        """``module.visit(self)``, skipping what no callback looks at (``torch2jax.traversal``)."""
        visiting = frozenset({cst.Module, *STATEMENTS, *_ENTER, *VISIT})
        leaving = frozenset({*_KEPT_ON_LEAVE, *LEAVE})
        return transform(module, self.on_visit, self.on_leave, inert_types(_callback_types()), visiting, leaving)

    def on_visit(self, node: cst.CSTNode) -> bool:
        state, kind = self.state, type(node)
        if kind is cst.Module:
            state.module = node
        if kind in STATEMENTS:
            state.markers.append([])
            state.statements.append(node)
        enter = _ENTER.get(kind)
        if enter is not None and enter(state, node) is False:
            return False
        for callback in VISIT.get(kind, ()):
            callback(state, node)
        return True

    def on_leave(self, original, updated):
        state, kind = self.state, type(original)
        if kind not in _KEPT_ON_LEAVE:  # most nodes: their callbacks only
            return _leave_callbacks(state, kind, original, updated)
        result = self._statements(original, updated) if kind is cst.SimpleStatementLine else updated
        result = _leave_callbacks(state, kind, original, result)
        if kind is cst.IndentedBlock:
            body, left = _drop_empty(result.body, state)
            result = result.with_changes(body=body or [cst.SimpleStatementLine([cst.Pass()])],
                                         footer=[*left, *result.footer])
        elif kind is cst.Module:
            body, left = _drop_empty(result.body, state)
            result = result.with_changes(body=body, footer=[*left, *result.footer])
        leave = _EXIT.get(kind)
        if leave is not None:
            leave(state, original)
        if kind in STATEMENTS:
            result = _attach_markers(result, state.markers.pop())
            state.statements.pop()
        if kind is cst.SimpleStatementLine and id(original) in state.split_lines:
            state.split_lines.add(id(result))  # split by its block, after the block's own rewrites (_drop_empty)
            state.keep_alive.append(result)
        return result

    def on_visit_attribute(self, node, attribute) -> None:  # no per-field callbacks: skip LibCST's lookups
        pass

    def on_leave_attribute(self, original_node, attribute) -> None:
        pass

    def _statements(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        """Each small statement through its statement callbacks; an emptied line is dropped by
        its block, which keeps its comments (see State.drop_line and _drop_empty)."""
        body = []
        changed = False
        for small_original, small in zip(original.body, updated.body):
            for callback in STATEMENT.get(type(small_original), ()):
                out = _guarded(self.state, callback, small_original, small)
                if out is not None:
                    changed = changed or out is not small
                    small = out
                    break
            if isinstance(small, Lines) and len(original.body) == 1:
                self.state.split_lines.add(id(original))
            if isinstance(small, (list, tuple)):
                body.extend(small)
            elif small is not REMOVE:
                body.append(small)
        if not body:
            return self.state.drop_line(updated)
        return updated.with_changes(body=body) if changed else updated


def _one_per_line(line: cst.SimpleStatementLine) -> list[cst.SimpleStatementLine]:
    """``a; b`` made by one statement's rewrite -> two lines; comments stay with the first and last."""
    last = len(line.body) - 1
    return [
        cst.SimpleStatementLine(
            [small.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)],
            leading_lines=line.leading_lines if i == 0 else (),
            trailing_whitespace=line.trailing_whitespace if i == last else cst.TrailingWhitespace(),
        )
        for i, small in enumerate(line.body)
    ]


def _attach_markers(result, texts: list[str]):
    if texts and isinstance(result, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        existing = {line.comment.value for line in result.leading_lines if line.comment}
        new = [cst.EmptyLine(comment=cst.Comment(t)) for t in texts if t not in existing]
        result = result.with_changes(leading_lines=[*result.leading_lines, *new])
    return result


def _drop_empty(body, state: State) -> tuple[list, list]:
    """Remove statement lines a rewrite dropped, moving their comments to the next statement (or, after
    the last one, the block's end), and put each statement of a line a rewrite made several
    (registry.Lines) on its own line. Returns the body and the comments left for the block's end."""
    out, carried = [], []
    for stmt in body:
        if id(stmt) in state.split_lines and isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) > 1:
            first, *rest = _one_per_line(stmt)
            out += [first.with_changes(leading_lines=[*carried, *first.leading_lines]), *rest]
            carried = []
            continue
        if id(stmt) in state.dropped or (isinstance(stmt, cst.SimpleStatementLine) and not stmt.body):
            carried += [line for line in stmt.leading_lines if line.comment]
            trailing = getattr(stmt, "trailing_whitespace", None)
            if trailing is not None and trailing.comment:  # `x = x.to(device)  # why`: the why stays
                carried.append(cst.EmptyLine(comment=trailing.comment))
            continue
        if carried:
            stmt = stmt.with_changes(leading_lines=[*carried, *stmt.leading_lines])
            carried = []
        out.append(stmt)
    return out, carried
