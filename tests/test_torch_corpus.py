"""Every .py file of the installed torch package (2,285 files, 1.2 million lines for torch 2.13)
through the converter twice, spread over the CPU cores with the library's own parallel driver:
no exception, every output parses, files Python cannot parse are reported as such (T2J001), no
rewrite fails (no T2J903: a file given back unchanged because a rewrite crashed or broke it), and
converting an output again changes nothing.
"""

import ast
import importlib.util
import sys
import time
from pathlib import Path

from torch2jax.project import convert_many

TORCH = Path(list(importlib.util.find_spec("torch").submodule_search_locations)[0])


def test_every_torch_file_converts_and_is_stable():
    files = sorted(TORCH.rglob("*.py"))
    assert len(files) > 2000, "the whole torch package, not only torch/nn"
    texts = [p.read_text(encoding="utf-8") for p in files]
    names = [str(p.relative_to(TORCH)) for p in files]
    started = time.perf_counter()
    first = convert_many(names, texts)
    changed = [i for i, r in enumerate(first) if r.ok and r.changed]
    second = convert_many([names[i] for i in changed], [first[i].code for i in changed])
    elapsed = time.perf_counter() - started

    crashed, unparsable, wrongly_rejected, unstable = {}, [], [], []
    for name, text, result in zip(names, texts, first):
        internal = [d.message for d in result.diagnostics if d.code == "T2J903"]
        if internal:
            crashed[name] = internal[0]
        python_parses = _parses(text)
        if result.ok != python_parses:
            wrongly_rejected.append(name)
        elif result.ok:
            if not _parses(result.code):
                unparsable.append(name)
        else:
            assert result.diagnostics[0].code == "T2J001" and result.code == text
    for i, result in zip(changed, second):
        if result.code != first[i].code:
            unstable.append(names[i])
        internal = [d.message for d in result.diagnostics if d.code == "T2J903"]
        if internal:  # a second conversion given back unchanged would look stable
            crashed[f"{names[i]} (second conversion)"] = internal[0]

    lines = sum(t.count("\n") for t in texts)
    print(f"\n{len(files)} files, {lines} lines, {len(changed)} changed; both passes in {elapsed:.0f} s", file=sys.stderr)
    problems = {
        "rejected although Python parses it (or accepted although it does not)": wrongly_rejected,
        "output does not parse": unparsable,
        "internal error (T2J903)": crashed,
        "second conversion changes the output": unstable,
    }
    assert not any(problems.values()), "\n".join(f"{what}: {found!r}" for what, found in problems.items() if found)


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True
