"""ModuleCode (code generated per top-level statement, remembered) gives exactly ``Module.code``."""

import libcst as cst
import pytest

from conftest import FIXTURES, REALWORLD
from torch2jax.syntax import ModuleCode

FILES = sorted(FIXTURES.glob("*/torch_model.py")) + sorted(REALWORLD.glob("*.py"))
EDGES = ["", "\n", "# c", "# c\n", "x", "x\n\n", "\n\n# a\n", "if x:\n    pass\n# tail", "\r\nx = 1\r\n", "if x:\n\ty\n"]


@pytest.mark.parametrize("source", [p.read_text() for p in FILES] + EDGES)
def test_same_code_as_libcst(source):
    module = cst.parse_module(source)
    code = ModuleCode()
    variants = [module, module.with_changes(has_trailing_newline=not module.has_trailing_newline),
                module.with_changes(body=module.body[1:]), module.with_changes(body=(*module.body, *module.body))]
    for variant in variants:  # one ModuleCode for all: remembered statements are reused
        assert code(variant) == variant.code
