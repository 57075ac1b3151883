"""The pipeline: read -> parse -> analyze -> rewrite -> imports -> emit.

Nothing here raises on user input: a file that cannot be parsed or decoded comes
back unchanged with an error diagnostic, and an output that would not parse is
reported and replaced by the original text.
"""

from __future__ import annotations

import ast
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from torch2jax.analyze import analyze
from torch2jax.diagnostics import Diagnostic
from torch2jax.names import ImportTable
from torch2jax.positions import node_positions
from torch2jax.rewrite import Rewriter
from torch2jax.rules import RuleSet, load_rules

# The order imports are written in (stdlib first, then third party, as isort would).
IMPORT_ORDER = [
    "import functools",
    "import math",
    "import jax",
    "import jax.numpy as jnp",
    "import numpy as np",
    "import optax",
    "from flax import nnx",
]


@dataclass
class ConversionResult:
    code: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    changed: bool = False
    ok: bool = True  # False when the input could not be converted at all (exit 2)

    @property
    def needs_attention(self) -> bool:
        return any(d.needs_attention for d in self.diagnostics)


def _resolve_rules(rules) -> RuleSet:
    if rules is None:
        return load_rules()
    if isinstance(rules, RuleSet):
        return rules
    return load_rules(list(rules) if not isinstance(rules, (str, os.PathLike)) else [rules])


def convert_source(source: str, *, filename: str | None = None, rules=None) -> ConversionResult:
    """Translate one file's PyTorch source to JAX; returns the code and the diagnostics.

    Never raises on user input: a bug of ours on some construct gives the input back
    unchanged with a T2J903 error, so no code is lost.
    """
    path = filename or "<string>"
    ruleset = _resolve_rules(rules)  # a bad rule file is the caller's error: RuleError
    if source.startswith(BOM):  # keep a byte-order mark where it was
        result = convert_source(source[1:], filename=filename, rules=ruleset)
        result.code = BOM + result.code
        return result
    try:
        return _convert(source, path, ruleset)
    except RecursionError:
        message = "the file nests too deeply to convert; left unchanged"
    except Exception as exc:  # noqa: BLE001 - the safety net promised above
        message = f"internal error ({type(exc).__name__}: {exc}); the file was left unchanged, please report this"
    return _invalid_python(source, path) or ConversionResult(
        source, [Diagnostic("T2J903", message, path, 1, 1)], changed=False, ok=True
    )


def _invalid_python(source: str, path: str) -> ConversionResult | None:
    """A T2J001 result when Python rejects the input (LibCST's parser accepts a little more)."""
    try:
        ast.parse(source, path)
    except SyntaxError as bad:
        line, col = bad.lineno or 1, bad.offset or 1
        return ConversionResult(source, [Diagnostic("T2J001", f"syntax error: {bad.msg}", path, line, col)], ok=False)
    except (ValueError, RecursionError, MemoryError) as bad:  # NUL bytes, absurd nesting
        return ConversionResult(source, [Diagnostic("T2J001", f"not valid Python: {bad}", path, 1, 1)], ok=False)
    return None


def _convert(source: str, path: str, ruleset: RuleSet) -> ConversionResult:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        diag = Diagnostic("T2J001", f"syntax error: {exc.message}", path, exc.raw_line, exc.raw_column + 1)
        return ConversionResult(source, [diag], changed=False, ok=False)

    facts = analyze(module, ruleset)
    if not facts.imports.imports_torch:
        return ConversionResult(source, [Diagnostic("T2J003", "no torch import; nothing to convert", path, 1, 1)])

    rewriter = Rewriter(facts, ruleset)
    new_module = module.visit(rewriter)
    diagnostics = _positioned(module, rewriter.pending, path)
    draft = new_module.code
    try:
        tree = ast.parse(draft, path)  # the output must parse; its names tell which imports are still used
    except SyntaxError as exc:
        invalid = _invalid_python(source, path)
        if invalid is not None:
            return invalid
        diagnostics.append(
            Diagnostic("T2J903", f"the translation did not parse ({exc.msg}); output reverted to the input", path, 1, 1)
        )
        return ConversionResult(source, diagnostics, changed=False, ok=True)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    code = settle_imports(new_module, facts.imports, rewriter.imports.needed, used).code
    return ConversionResult(code, diagnostics, changed=code != source)


def _positioned(module: cst.Module, pending, path: str) -> list[Diagnostic]:
    if not pending:
        return []
    positions = node_positions(module, [p[0] for p in pending])  # only for files with something to say
    out = []
    for node, code, message, handled, severity in pending:
        line, col = positions.get(id(node), (0, 0))
        out.append(Diagnostic(code, message, path, line, col, severity=severity, handled=handled))
    out.sort(key=lambda d: (d.line, d.column, d.code))
    return out


def settle_imports(module: cst.Module, table: ImportTable, needed: set[str], used: set[str]) -> cst.Module:
    """Drop torch imports nothing refers to any more (``used``: the names the output
    reads); add the JAX ones asked for, where the torch imports were."""
    torch_locals = table.torch_names()
    have = ImportTable.from_module(module).aliases
    body = list(module.body)
    insert_at = None
    carried: list = []
    new_body = []
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(
            stmt.body[0], (cst.Import, cst.ImportFrom)
        ):
            kept = _prune_import(stmt.body[0], torch_locals, used)
            if insert_at is None and _imports_any(stmt.body[0], torch_locals):
                insert_at = len(new_body)  # the JAX imports go where the torch ones were
            if kept is not stmt.body[0]:
                if kept is None:
                    carried += list(stmt.leading_lines)
                    continue
                stmt = stmt.with_changes(body=[kept])
        new_body.append(stmt)
    if insert_at is None:
        insert_at = _after_docstring_and_future(new_body)
    missing = [s for s in IMPORT_ORDER if s in needed and not _already(s, have)]
    statements = [cst.parse_statement(s + "\n") for s in missing]
    if statements:
        statements[0] = statements[0].with_changes(leading_lines=carried)
        carried = []
    if carried and insert_at < len(new_body):
        nxt = new_body[insert_at]
        new_body[insert_at] = nxt.with_changes(leading_lines=[*carried, *nxt.leading_lines])
    new_body[insert_at:insert_at] = statements
    return module.with_changes(body=new_body)


def _already(statement: str, have: dict[str, str]) -> bool:
    if statement.startswith("from "):
        _, mod, _, name = statement.split()
        return have.get(name) == f"{mod}.{name}"
    parts = statement.split()
    if "as" in parts:
        return have.get(parts[-1]) == parts[1]
    return parts[1].split(".")[0] in have


def _imports_any(node, names: set[str]) -> bool:
    if isinstance(node.names, cst.ImportStar):
        return False
    return any(_local_name(alias) in names for alias in node.names)


def _local_name(alias: cst.ImportAlias) -> str:
    return alias.asname.name.value if alias.asname else cst.Module([]).code_for_node(alias.name).split(".")[0]


def _prune_import(node, torch_locals: set[str], used: set[str]):
    """The import without its unused torch names; None when nothing is left."""
    if isinstance(node.names, cst.ImportStar):
        return node
    keep = []
    for alias in node.names:
        local = _local_name(alias)
        if local in torch_locals and local not in used:
            continue
        keep.append(alias)
    if len(keep) == len(node.names):
        return node
    if not keep:
        return None
    keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return node.with_changes(names=keep)


def _after_docstring_and_future(body) -> int:
    index = 0
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and (
            (i == 0 and isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, cst.SimpleString))
            or (
                isinstance(stmt.body[0], cst.ImportFrom)
                and isinstance(stmt.body[0].module, cst.Name)
                and stmt.body[0].module.value == "__future__"
            )
        ):
            index = i + 1
        else:
            break
    return index


# ---------------------------------------------------------------------- files

class InputError(Exception):
    """A file that cannot be converted (missing, unreadable, not UTF-8)."""


BOM = "\ufeff"


def read_source(path: Path) -> str:
    """The file's text (a UTF-8 byte-order mark kept as a leading U+FEFF); raises InputError."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 (byte {exc.start}); save it as UTF-8 and try again") from None


def atomic_write(path: Path, text: str) -> None:
    """Write beside the target and rename over it: never a half-written file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def convert_file(path, output=None, *, rules=None) -> ConversionResult:
    """Convert one file; write the result to ``output`` when given (atomically).

    The input is never modified unless ``output`` is the input path itself.
    Raises InputError for a missing or undecodable file.
    """
    path = Path(path)
    text = read_source(path)
    result = convert_source(text, filename=str(path), rules=rules)
    if output is not None and result.ok:
        atomic_write(Path(output), result.code)
    return result
