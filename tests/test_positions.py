"""The lazy position finder agrees with LibCST's PositionProvider."""

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from conftest import FIXTURES, REALWORLD
from torch2jax.positions import node_positions

FILES = sorted(FIXTURES.glob("*/torch_model.py")) + sorted(REALWORLD.glob("*.py"))


class _Collect(cst.CSTVisitor):
    def __init__(self):
        self.nodes = []

    def on_visit(self, node):
        if isinstance(node, (cst.Call, cst.Attribute, cst.Name, cst.SimpleStatementLine, cst.AugAssign, cst.Assign,
                             cst.ClassDef, cst.FunctionDef, cst.Subscript, cst.Expr)):
            self.nodes.append(node)
        return True


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_positions_as_libcst(path):
    module = cst.parse_module(path.read_text())
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expected = wrapper.resolve(PositionProvider)
    collect = _Collect()
    module.visit(collect)
    assert len(collect.nodes) > 50
    got = node_positions(module, collect.nodes)
    for node in collect.nodes:
        pos = expected[node].start
        assert got[id(node)] == (pos.line, pos.column + 1), cst.Module([]).code_for_node(node)[:60]


def test_a_report_at_the_rewritten_call_has_the_calls_position():
    """Handlers see the rewritten call (not in the input, so without a position); their reports at it
    are placed at the call they translate."""
    from torch2jax import convert_source

    source = "import torch\n\n\ndef f(x):\n    return torch.topk(x.float(), 3, sorted=False)\n"
    [diag] = [d for d in convert_source(source).diagnostics if "sorted=False" in d.message]
    assert (diag.line, diag.column) == (5, 12)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_same_positions_with_any_newline(newline):
    source = FILES[0].read_text().replace("\n", newline)
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    collect = _Collect()
    module.visit(collect)
    got = node_positions(module, collect.nodes)
    for node in collect.nodes:
        assert got[id(node)] == (expected[node].start.line, expected[node].start.column + 1)
