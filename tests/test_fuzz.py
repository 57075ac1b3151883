"""Generated programs through the converter: no exception (no T2J903), the output parses, and
converting the output again changes nothing.

Two sources: hypothesmith's programs drawn from Python's grammar (with torch imported, so the
converter does its whole walk over them), and torch-flavoured programs composed from the rules'
own examples under odd import styles (aliases, star imports, a local variable named ``torch`` or
``nn``). Bounded and derandomized so CI stays fast and deterministic; raise FUZZ_EXAMPLES to
explore (``FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py``).
"""

import ast
import os
import re

import hypothesmith
from hypothesis import HealthCheck, given, settings, strategies as st

from torch2jax import convert_source
from torch2jax.rules import load_rules

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=list(HealthCheck), database=None)


def _expression(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return "\n" not in text


RULES = load_rules().rules  # (this test found dict item assignments rewritten as array updates: fixed in passes/inplace.py)
SNIPPETS = {kind: sorted({before for r in RULES if r.kind in kinds for before, _ in r.examples if _expression(before)})
            for kind, kinds in {"layer": ("layer", "module_fn"), "call": ("function", "method", "constant"),
                                "training": ("loss", "optimizer", "scheduler")}.items()}

# (imports, how the canonical names torch / nn / F are spelled under them)
IMPORT_STYLES = [
    ("import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n", {}),
    ("import torch as T\nfrom torch import nn as N\nfrom torch.nn import functional as Fn\n", {"torch": "T", "nn": "N", "F": "Fn"}),
    ("import torch, torch.nn as nn\nfrom torch.nn import functional as F\n", {}),
    ("import torch\nfrom torch.nn import *\nimport torch.nn.functional as F\n", {"nn": ""}),
    ("from torch import *\nimport torch\nimport torch.nn as nn\nfrom torch.nn.functional import *\n", {"F": ""}),
    ("import torch.nn\nimport torch.nn.functional\n", {"nn": "torch.nn", "F": "torch.nn.functional"}),
]
SHADOWS = [
    "def helper(x):\n    torch = x\n    return torch.sum() + torch.view(2)\n",
    "def helper(nn, x):\n    return nn.Linear(x)\n",
    "def helper(x):\n    F = lambda t: t\n    return F.relu(x) if hasattr(F, 'relu') else F(x)\n",
    "class Holder:\n    nn = None\n\n    def run(self, torch):\n        return torch.zeros(3)\n",
]


def _spell(snippet: str, names: dict[str, str]) -> str:
    for canonical, spelled in names.items():
        snippet = re.sub(rf"(?<![\w.]){canonical}\.", f"{spelled}." if spelled else "", snippet)
    return snippet


@st.composite
def torch_programs(draw):
    imports, names = draw(st.sampled_from(IMPORT_STYLES))
    layers = draw(st.lists(st.sampled_from(SNIPPETS["layer"]), min_size=0, max_size=4))
    calls = draw(st.lists(st.sampled_from(SNIPPETS["call"]), min_size=1, max_size=6))
    training = draw(st.lists(st.sampled_from(SNIPPETS["training"]), max_size=2))
    lines = [imports, "", "", "# a generated model", f"class Model({_spell('nn.Module', names)}):",
             "    def __init__(self, a=2, b=3):", "        super().__init__()"]
    lines += [f"        self.layer{i} = {_spell(s, names)}" for i, s in enumerate(layers)] or ["        pass"]
    lines += ["", "    def forward(self, x, a=None, b=None, w=None, m=None):"]
    for i, call in enumerate(calls):
        target = draw(st.sampled_from([f"y{i} = ", "", "x = "]))
        lines.append(f"        {target}{_spell(call, names)}")
    if layers:
        lines.append(f"        x = self.layer{draw(st.integers(0, len(layers) - 1))}(x)")
    lines.append("        return x")
    lines.append("")
    lines += draw(st.lists(st.sampled_from(SHADOWS), max_size=2, unique=True))
    if training:
        lines += ["", "model = Model()", "params = model.parameters()"]
        lines += [f"thing{i} = {_spell(s, names)}" for i, s in enumerate(training)]
    return "\n".join(lines) + "\n"


def _stable(source: str) -> None:
    first = convert_source(source, filename="gen.py")
    assert not [d.text() for d in first.diagnostics if d.code == "T2J903"], source
    if not first.ok:
        assert first.code == source
        return
    ast.parse(first.code)
    second = convert_source(first.code, filename="gen.py")
    assert second.code == first.code, f"not stable:\n{source}\n--- first\n{first.code}\n--- second\n{second.code}"


@FUZZ
@given(torch_programs())
def test_torch_flavoured_programs(source):
    ast.parse(source)  # the generator's own contract
    _stable(source)


@FUZZ
@given(hypothesmith.from_grammar())
def test_grammar_programs_with_torch_imported(code):
    _stable("import torch\nimport torch.nn as nn\n" + code)


@FUZZ
@given(hypothesmith.from_node())
def test_libcst_node_programs_with_torch_imported(code):
    _stable("import torch\n" + code)
