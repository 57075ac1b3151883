"""The fast walks make the calls LibCST's own walks make, in the same order, and build the same tree."""

import libcst as cst
import pytest

from conftest import FIXTURES, REALWORLD
from torch2jax.traversal import inert_types, transform, visit

FILES = sorted(FIXTURES.glob("*/torch_model.py")) + sorted(REALWORLD.glob("*.py"))

CONSTRUCTS = '''\
"""Doc."""
from __future__ import annotations
import os, sys as system
from . import sibling
from pkg import *
from torch import (nn,
    optim)  # trailing


@decorator(1)
@other
class A(Base, metaclass=Meta):
    x: int = 3

    async def f(self, a, /, b: "T" = 2, *args, c, d=4, **kw) -> None:
        async with ctx() as (p, q), other():
            await g(*args, **kw)
        async for i in aiter():
            yield i
        lam = lambda u, *v, w=1: (u, v, w)
        s = f"{a!r:>{b}} {c=} {'{'}"
        comp = {k: v for k, v in kw.items() if k if v}, [i for i in range(3) for j in range(i)], {i for i in ()}
        gen = (i async for i in aiter())
        t = a[1:2, ::3, ...] if b else -a ** 2 @ b
        del t[0], comp
        global G
        try:
            pass
        except* ValueError as e:
            raise X from e
        else:
            pass
        finally:
            return
        # a comment in the block's footer


match command:
    case [1, *rest] | {"k": v, **more} if rest:
        pass
    case Point(x=0, y=_) as p:
        pass
while (n := next(it)):
    assert n, "msg"
    break
else:
    nonlocal_free = 1; other = 2
type Alias[T: int, *Ts, **P] = list[T]
print(x, end="") ; x += 1
'''


class _Events(cst.CSTVisitor):
    def __init__(self):
        self.events = []

    def visit_Name(self, node):
        self.events.append(("Name", node.value))

    def visit_Call(self, node):
        self.events.append(("Call", id(node)))

    def leave_Call(self, node):
        self.events.append(("/Call", id(node)))

    def visit_Lambda(self, node):
        self.events.append(("Lambda", id(node)))
        return False  # its names are not visited, its leave is still called

    def leave_Lambda(self, node):
        self.events.append(("/Lambda", id(node)))

    def visit_Comment(self, node):
        self.events.append(("Comment", node.value))


def _sources():
    return [CONSTRUCTS] + [p.read_text() for p in FILES]


@pytest.mark.parametrize("source", _sources(), ids=lambda s: s.splitlines()[0][:30])
def test_visit_makes_the_calls_libcst_makes(source):
    module = cst.parse_module(source)
    expected, got = _Events(), _Events()
    module.visit(expected)
    visit(module, got)
    assert got.events == expected.events
    assert len(expected.events) > 5


class _Rewrite(cst.CSTTransformer):
    """Renames, removes (in a sequence, an optional and a sentinel field), flattens, and records the order."""

    def __init__(self):
        self.order = []

    def on_visit(self, node):
        self.order.append(type(node).__name__)
        return not isinstance(node, cst.Lambda)

    def on_leave(self, original, updated):
        self.order.append("/" + type(original).__name__)
        if isinstance(updated, cst.Name) and updated.value in ("a", "x", "i", "self"):
            return updated.with_changes(value=updated.value * 2)
        if isinstance(updated, cst.Annotation) and not isinstance(updated.annotation, cst.Name):
            return cst.RemovalSentinel.REMOVE  # Param.annotation (here `"T"`) is optional
        if isinstance(updated, cst.Arg) and isinstance(updated.value, cst.Integer):
            return cst.RemovalSentinel.REMOVE
        if isinstance(updated, cst.SimpleStatementLine) and updated.body and isinstance(updated.body[0], cst.Pass):
            return cst.FlattenSentinel([updated, cst.parse_statement("done()\n")])
        if isinstance(updated, cst.Expr) and isinstance(updated.value, cst.Await):
            return cst.RemovalSentinel.REMOVE  # the line is left empty, and dropped from its block
        return updated


_TYPES = {cst.Name, cst.Annotation, cst.Arg, cst.SimpleStatementLine, cst.Expr, cst.Lambda, cst.Module, cst.Call}


@pytest.mark.parametrize("source", _sources(), ids=lambda s: s.splitlines()[0][:30])
def test_transform_builds_the_tree_libcst_builds(source):
    module = cst.parse_module(source)
    expected_walk, got_walk = _Rewrite(), _Rewrite()
    expected = module.visit(expected_walk)
    got = transform(module, got_walk.on_visit, got_walk.on_leave, inert_types(_TYPES))
    assert got.code == expected.code
    assert expected.code != module.code
    kept = {t.__name__ for t in _TYPES} | {"/" + t.__name__ for t in _TYPES}
    assert [e for e in got_walk.order if e in kept] == [e for e in expected_walk.order if e in kept]


def test_an_unchanged_subtree_is_the_same_object():
    module = cst.parse_module("def f(y):\n    return g(y)\n\n\ndef h(a):\n    return a\n")
    out = transform(module, lambda node: True, _Rewrite().on_leave, inert_types(_TYPES))
    assert out.body[0] is module.body[0]
    assert out.body[1] is not module.body[1]
    assert transform(module, lambda node: True, lambda original, updated: updated, inert_types(set())) is module


def test_removal_where_libcst_forbids_it_fails_as_in_libcst():
    module = cst.parse_module("f(x)\n")

    def remove_names(original, updated):
        return cst.RemovalSentinel.REMOVE if isinstance(updated, cst.Name) and updated.value == "f" else updated

    class Remove(cst.CSTTransformer):
        def on_leave(self, original, updated):
            return remove_names(original, updated)

    with pytest.raises(TypeError) as expected:
        module.visit(Remove())
    with pytest.raises(TypeError) as got:
        transform(module, lambda node: True, remove_names, inert_types({cst.Name}))
    assert str(got.value) == str(expected.value)


def test_inert_types_are_those_without_callbacks_below():
    inert = inert_types({cst.Name})
    assert {cst.SimpleWhitespace, cst.Comma, cst.Integer, cst.EmptyLine} <= inert
    assert not {cst.Name, cst.Call, cst.Attribute, cst.Param} & inert
    assert cst.Comment not in inert_types({cst.Comment}) and cst.EmptyLine not in inert_types({cst.Comment})


def test_removal_policies_agree_with_libcsts_visit_helpers():
    """What a removed child leaves (None, MaybeSentinel.DEFAULT, or an error) is read from the field's
    type; LibCST's own _visit_and_replace_children names the helper it uses for each field."""
    import inspect
    import re

    from libcst._nodes.base import CSTNode

    from torch2jax.traversal import _DEFAULT, _REQUIRED, _concrete_subclasses, _fields

    want = {"visit_required": _REQUIRED, "visit_optional": None, "visit_sentinel": _DEFAULT}
    checked = 0
    for kind in _concrete_subclasses(CSTNode):
        if not kind.__module__.startswith("libcst._nodes"):
            continue
        method = next(b.__dict__["_visit_and_replace_children"] for b in kind.__mro__
                      if "_visit_and_replace_children" in b.__dict__)
        for helper, name in re.findall(r'(visit_\w+)\(\s*self,\s*"(\w+)"', inspect.getsource(method)):
            if helper in want:
                assert _fields(kind)[name][1] is want[helper], (kind.__name__, name, helper)
                checked += 1
    assert checked > 500
