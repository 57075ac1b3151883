"""The pipeline: read -> parse -> analyze -> one walk -> imports -> emit.

Nothing here raises on user input: a file that cannot be parsed or decoded comes
back unchanged with an error diagnostic, and an output that would not parse is
reported and replaced by the original text.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from torch2jax import handlers, param_transforms, passes, transforms  # noqa: F401  (they register themselves)
from torch2jax.analyze import analyze
from torch2jax.config import code_selected, parse_codes
from torch2jax.diagnostics import Diagnostic, without_ignored
from torch2jax.files import BOM, InputError, atomic_write, read_source
from torch2jax.imports import settle_imports
from torch2jax.names import ImportTable
from torch2jax.positions import node_positions
from torch2jax.rules import RuleSet, load_rules
from torch2jax.state import State
from torch2jax.syntax import ModuleCode
from torch2jax.walk import Walker

__all__ = ["ConversionResult", "InputError", "atomic_write", "convert_source", "read_source"]


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
    return load_rules([rules] if isinstance(rules, (str, os.PathLike, dict)) else list(rules))


def convert_source(source: str, *, filename: str | None = None, rules=None, select=(), ignore=()) -> ConversionResult:
    """Translate one file's PyTorch source to JAX; returns the code and the diagnostics.

    ``rules``: extra rule files and/or rule data (dicts), or a loaded RuleSet. ``select`` /
    ``ignore``: diagnostic codes or prefixes kept / dropped (most specific wins, as in Ruff);
    a ``# torch2jax: ignore[CODE]`` comment silences that code on its line. Input errors
    (T2J001, T2J002) are never silenced.

    Never raises on user input: a bug of ours on some construct gives the input back
    unchanged with a T2J903 error, so no code is lost.
    """
    select, ignore = parse_codes(select or (), "select"), parse_codes(ignore or (), "ignore")  # ConfigError if unknown
    result = _convert_source(source, filename, _resolve_rules(rules))  # a bad rule file is the caller's error
    if result.ok and result.diagnostics:
        kept = without_ignored(result.diagnostics, source.removeprefix(BOM))
        result.diagnostics = [d for d in kept if code_selected(d.code, select, ignore)]
    return result


def _convert_source(source: str, filename: str | None, ruleset: RuleSet) -> ConversionResult:
    path = filename or "<string>"
    if source.startswith(BOM):  # keep a byte-order mark where it was
        result = _convert_source(source[1:], filename, ruleset)
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
    except cst.ParserSyntaxError as exc:  # Python's own message and position when it has one
        diag = Diagnostic("T2J001", f"syntax error: {exc.message}", path, exc.raw_line, exc.raw_column + 1)
        return _invalid_python(source, path) or ConversionResult(source, [diag], changed=False, ok=False)

    facts = analyze(module, ruleset, source)
    if not facts.imports.imports_torch:
        return ConversionResult(source, [Diagnostic("T2J003", "no torch import; nothing to convert", path, 1, 1)])

    state = State(facts, ruleset)
    state.indent = module.default_indent
    new_module = Walker(state).walk(module)
    diagnostics = _positioned(module, state.pending, path)
    module_code = ModuleCode()
    draft = module_code(new_module)
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
    used = _names_read(tree)
    made_unused = _made_unused(source, new_module, facts.imports, used)
    made_unused |= {name for name in state.support if name in facts.imports.aliases}  # defined by the output now
    code = module_code(settle_imports(new_module, facts.imports, state.imports.needed, used, made_unused))
    return ConversionResult(code, diagnostics, changed=code != source)


def _names_read(tree: ast.AST) -> set[str]:
    """Every ``ast.Name`` in the tree (what ``ast.walk`` finds, without its generators: twice as fast)."""
    names, todo = set(), [tree]
    while todo:
        node = todo.pop()
        if node.__class__ is ast.Name:
            names.add(node.id)
            continue
        for name in node._fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                todo.extend(v for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                todo.append(value)
    return names


def _made_unused(source: str, new_module: cst.Module, imports: ImportTable, used: set[str]) -> set[str]:
    """Imported names the input used and the translation no longer does (``OrderedDict`` after
    the Sequential rewrite): their imports go. Imports the input did not use either stay."""
    candidates = {local for local in ImportTable.from_module(new_module).aliases if local not in used}
    candidates -= imports.torch_names()
    if not candidates:
        return set()
    read = _names_read(ast.parse(source))
    return candidates & read


def _positioned(module: cst.Module, pending, path: str) -> list[Diagnostic]:
    if not pending:
        return []
    positions = node_positions(module, [p.node for p in pending])  # only for files with something to say
    out = []
    for p in pending:
        line, col = positions.get(id(p.node), (0, 0))
        out.append(Diagnostic(p.code, p.message, path, line, col, severity=p.severity, handled=p.handled))
    out.sort(key=lambda d: (d.line, d.column, d.code))
    return out
