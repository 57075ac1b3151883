import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
REALWORLD = ROOT / "tests" / "realworld"

sys.path.insert(0, str(ROOT))


def converted_twice(source: str):
    """The conversion of ``source``, checked as the corpus test checks every torch file: no rewrite
    failed (T2J903), the output parses, and converting it again (torch is still imported, so the
    second conversion really runs) changes nothing and reports nothing new."""
    import ast

    from torch2jax import convert_source

    first = convert_source(source)
    second = convert_source(first.code)
    for result in (first, second):
        assert not [d.text() for d in result.diagnostics if d.code == "T2J903"]
    ast.parse(first.code)
    assert "T2J003" not in {d.code for d in second.diagnostics}, "the output no longer imports torch"
    assert second.code == first.code
    new = {(d.code, d.message) for d in second.diagnostics} - {(d.code, d.message) for d in first.diagnostics}
    assert not new, new
    return first
