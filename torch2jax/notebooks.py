"""Jupyter notebooks: their code cells are translated together, as one module, so an import in
the first cell serves the model in the fifth; markdown, outputs and metadata stay as they were.

The cells are joined with a marker comment between them, converted by the usual pipeline and
split again at the markers (comments survive conversion, and LibCST keeps a column-0 comment
with the statement after it). IPython syntax is not Python: line magics (``%timeit f()``),
shell lines (``!pip install ...``, ``files = !ls``) and help lines (``model?``) are swapped for
a placeholder name while the code is converted and put back verbatim afterwards; a cell magic
(``%%bash``) makes the whole cell opaque unless it only times or captures Python
(``%%time``, ``%%timeit``, ``%%capture``), in which case its body is converted.
Diagnostics name the cell (1-based, counting every cell as Jupyter shows them) and its line:
``nb.ipynb:cell 3:2:5: T2J901 ...``.

Only the standard library's json is needed; the result is valid nbformat 4 (the notebook's
own structure is kept, code cells get new ``source`` only).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from torch2jax.convert import ConversionResult, convert_source
from torch2jax.diagnostics import Diagnostic

CELL_MARK = "# torch2jax-notebook-cell {}"
_CELL_MARK = re.compile(r"^# torch2jax-notebook-cell (\d+)$")
PLACEHOLDER = "__torch2jax_ipython_{}__"
_PLACEHOLDER = re.compile(r"^(\s*)__torch2jax_ipython_(\d+)__$")
# `%magic ...`, `!cmd`, `name = !cmd` / `name = %magic`, `obj?` / `obj??` (and `?obj`)
_IPYTHON_LINE = re.compile(r"^\s*(?:[%!?]|[\w.]+\s*=\s*[%!]|[\w.\[\]()]+\?{1,2}\s*$)")
TAG = "# __torch2jax_ipython_{}__"
_TAG = re.compile(r"  # __torch2jax_ipython_(\d+)__$")
_TIMED_LINE = re.compile(r"^(\s*)(%(?:time|timeit|prun) +)([^-\s].*)$")  # the magic, then a Python statement
PYTHON_CELL_MAGICS = {"%%time", "%%timeit", "%%capture", "%%prun"}


class NotebookError(ValueError):
    """Not a notebook this module can read (bad JSON, not nbformat 4)."""


def is_notebook(name) -> bool:
    return str(name).endswith(".ipynb")


def convert_notebook(text: str, *, filename: str | None = None, rules=None, select=(), ignore=()) -> ConversionResult:
    """Translate a notebook's code cells; the result's ``code`` is the notebook's JSON text."""
    path = filename or "<notebook>"
    try:
        notebook = _load(text)
    except NotebookError as exc:
        return ConversionResult(text, [Diagnostic("T2J002", f"not a valid notebook: {exc}", path, 1, 1)], ok=False)

    cells = notebook["cells"]
    code_cells = [i for i, cell in enumerate(cells) if cell.get("cell_type") == "code"]
    magics: list[str] = []  # the IPython lines set aside, in order
    joined, where = [], []  # the module, and for each of its lines (cell index, line in cell)
    for i in code_cells:
        body = _source(cells[i]).rstrip("\n")
        piece, origin = _to_python(body, magics) if body else ("", [])
        joined.append(CELL_MARK.format(i))
        where.append((i, 1))
        if piece:
            joined.append(piece)
            where += [(i, n) for n in origin]
    result = convert_source("\n".join(joined) + "\n", filename=path, rules=rules, select=select, ignore=ignore)
    diagnostics = [_in_cell(d, where, path) for d in result.diagnostics]
    if not result.ok:  # a cell that is not Python even with its IPython lines set aside
        return ConversionResult(text, diagnostics, changed=False, ok=False)
    if not result.changed:
        return ConversionResult(text, diagnostics, changed=False, rules_applied=result.rules_applied)

    converted = _split(result.code, code_cells)
    if converted is None:  # a rewrite lost or moved a cell boundary: better unchanged than misplaced
        message = "the cell boundaries did not survive the translation; the notebook was left unchanged, please report this"
        return ConversionResult(text, diagnostics + [Diagnostic("T2J903", message, path, 1, 1)], changed=False)
    changed = False
    for i in code_cells:
        old = _source(cells[i])
        new = _from_python(converted[i], magics) + old[len(old.rstrip("\n")):]
        if new != old:
            cells[i]["source"] = _lines(new)
            changed = True
    if not changed:
        return ConversionResult(text, diagnostics, changed=False, rules_applied=result.rules_applied)
    return ConversionResult(_dump(notebook, text), diagnostics, changed=True, rules_applied=result.rules_applied)


def _load(text: str) -> dict:
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookError("no list of `cells` (nbformat 4 is read; convert older notebooks with `jupyter nbconvert --to notebook`)")
    if notebook.get("nbformat") != 4:
        raise NotebookError(f"nbformat {notebook.get('nbformat')!r} (nbformat 4 is read)")
    for n, cell in enumerate(notebook["cells"], 1):
        if not isinstance(cell, dict) or not isinstance(cell.get("source", ""), (str, list)):
            raise NotebookError(f"cell {n} is not a cell with a `source`")
    return notebook


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _lines(text: str) -> list[str]:
    """nbformat's on-disk form: a list of lines, each keeping its newline."""
    return text.splitlines(keepends=True)


def _to_python(cell: str, magics: list[str]) -> tuple[str, list[int]]:
    """The cell as Python (IPython lines swapped for placeholders), and for each of its lines
    the line of the cell it came from."""
    lines = cell.split("\n")
    first = lines[0].strip()
    if first.startswith("%%"):
        if first.split()[0] not in PYTHON_CELL_MAGICS:  # %%bash, %%writefile, ...: not Python
            magics.append(cell)
            return PLACEHOLDER.format(len(magics) - 1), [1]
        magics.append(lines[0])
        lines[0] = PLACEHOLDER.format(len(magics) - 1)
    out, origin = [], []
    continued = False  # a magic continued by a trailing backslash
    for n, line in enumerate(lines, 1):
        if continued:
            magics[-1] += "\n" + line
        elif (timed := _TIMED_LINE.match(line)) and not line.endswith("\\"):
            # `%time y = f(x)`: the statement is Python and is converted; the magic comes back in front
            magics.append(timed.group(2))
            out.append(timed.group(1) + timed.group(3) + "  " + TAG.format(len(magics) - 1))
            origin.append(n)
            continue
        elif not _PLACEHOLDER.match(line) and _IPYTHON_LINE.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            magics.append(line[len(indent):])
            out.append(indent + PLACEHOLDER.format(len(magics) - 1))
            origin.append(n)
        else:
            out.append(line)
            origin.append(n)
            continue
        continued = line.endswith("\\")
    return "\n".join(out), origin


def _from_python(code: str, magics: list[str]) -> str:
    out = []
    for line in code.split("\n"):
        match = _PLACEHOLDER.match(line)
        if match:
            line = match.group(1) + magics[int(match.group(2))]
        elif (tagged := _TAG.search(line)) is not None:
            body = line[: tagged.start()]
            stripped = body.lstrip()
            line = body[: len(body) - len(stripped)] + magics[int(tagged.group(1))] + stripped
        out.append(line)
    return "\n".join(out)


def _split(code: str, code_cells: list[int]) -> dict[int, str] | None:
    lines = code.split("\n")
    marks = [(n, int(m.group(1))) for n, line in enumerate(lines) if (m := _CELL_MARK.match(line))]
    if [cell for _, cell in marks] != code_cells:
        return None
    out = {}
    header = lines[: marks[0][0]] if marks else []  # imports the translation added above the first cell
    for k, (n, cell) in enumerate(marks):
        end = marks[k + 1][0] if k + 1 < len(marks) else len(lines)
        body = lines[n + 1:end]
        if k == 0:
            body = header + body
        while body and body[-1] == "":
            body.pop()
        out[cell] = "\n".join(body)
    return out


def _in_cell(d: Diagnostic, where: list[tuple[int, int]], path: str) -> Diagnostic:
    """The diagnostic at its cell (1-based, as Jupyter counts) and line in that cell."""
    if 1 <= d.line <= len(where):
        cell, line = where[d.line - 1]
        return replace(d, path=f"{path}:cell {cell + 1}", line=line)
    return d


def _dump(notebook: dict, original: str) -> str:
    """JSON as Jupyter writes it (one-space indent, non-ASCII kept), in the input's own indent
    when it used another, with a final newline."""
    indent = 1
    match = re.search(r"\{\n( +)\"", original)
    if match:
        indent = len(match.group(1))
    newline = "\r\n" if "\r\n" in original else "\n"
    text = json.dumps(notebook, indent=indent, ensure_ascii=False) + "\n"
    return text.replace("\n", newline) if newline != "\n" else text
