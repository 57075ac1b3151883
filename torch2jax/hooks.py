"""``torch2jax lint`` and ``torch2jax sync``: the commands behind the pre-commit hooks.

- ``lint FILE...`` converts in memory, writes nothing, prints what could not be translated,
  and exits 1 when an error-severity diagnostic remains (``--fail-on warning`` is stricter).
  Files that do not import torch are skipped silently, and so are the JAX twins the sync
  mapping produces (their leftovers were already reported at the source).
- ``sync [FILE...]`` regenerates the JAX twin of each changed PyTorch file under a configured
  source directory (``[tool.torch2jax.sync]`` ``"models/" = "models_jax/"``) and exits 1 when it
  wrote anything, the usual contract of a code generator under pre-commit: the commit stops,
  the twin is updated, ``git add`` it and commit again. Files outside the mapping are ignored;
  with no file, every source under the mapping is synced. ``--check`` writes nothing.

Both exit 2 when a file cannot be converted at all (syntax error, not UTF-8, bad notebook),
naming it; nothing is written for that file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from torch2jax.files import InputError, atomic_write, read_source
from torch2jax.project import SUFFIXES, convert_many, sources_under
from torch2jax.rules import load_rules


def add_parsers(sub, add_selection_arguments) -> None:
    lint = sub.add_parser(
        "lint",
        help="report what would not translate (writes nothing; the torch2jax-lint pre-commit hook)",
        description="Convert in memory and report the constructs that would not translate. Writes nothing. "
        "Exit 1 when an error remains (or a warning, with --fail-on warning), 2 when a file cannot be read or parsed.",
    )
    lint.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: the current directory)")
    lint.add_argument("--fail-on", choices=("error", "warning"), default="error", help="lowest severity that fails (default: error)")
    lint.add_argument("--format", choices=("text", "json", "github"), default="text", help="diagnostics format (default: text)")
    lint.add_argument("--rules", action="append", default=[], metavar="FILE.toml", help="extra rule file (repeatable)")
    lint.add_argument("-j", "--jobs", type=int, metavar="N", help="worker processes (default: one per CPU core)")
    add_selection_arguments(lint)

    sync = sub.add_parser(
        "sync",
        help="regenerate the JAX twins of changed PyTorch files ([tool.torch2jax.sync]; the torch2jax-sync hook)",
        description="Regenerate the configured JAX twin of each given PyTorch file (every file under the "
        "configured sources when none is given). Exit 1 when a twin was written (or would be, with --check).",
    )
    sync.add_argument("paths", nargs="*", metavar="PATH", help="changed files (default: every file under the configured sources)")
    sync.add_argument("--check", action="store_true", help="write nothing; exit 1 if a twin is out of date")
    sync.add_argument("--format", choices=("text", "json", "github"), default="text", help="diagnostics format (default: text)")
    sync.add_argument("--rules", action="append", default=[], metavar="FILE.toml", help="extra rule file (repeatable)")
    sync.add_argument("-j", "--jobs", type=int, metavar="N", help="worker processes (default: one per CPU core)")
    add_selection_arguments(sync)


def _files(paths: list[str]) -> list[Path]:
    files = []
    for raw in paths or ["."]:
        path = Path(raw)
        if path.is_dir():
            files += sources_under(path)
        elif path.suffix in SUFFIXES:
            files.append(path)
    return files


def _read(files: list[Path]) -> tuple[list[Path], list[str], list[str]]:
    """The readable files, their texts, and one message per file that could not be read."""
    ok, texts, problems = [], [], []
    for path in files:
        try:
            texts.append(read_source(path))
            ok.append(path)
        except InputError as exc:
            problems.append(str(exc))
    return ok, texts, problems


def lint(args, config, print_diagnostics) -> int:
    files = [f for f in _files(args.paths) if not config.is_twin(f)]
    rules = [str(r) for r in config.rules]
    load_rules(rules)
    files, texts, problems = _read(files)
    results = convert_many([str(f) for f in files], texts, rules=rules, select=config.select,
                           ignore=config.ignore, workers=args.jobs)
    failing = ("error",) if args.fail_on == "error" else ("error", "warning")
    diagnostics, broken = [], bool(problems)
    for result in results:
        if not result.ok:
            broken = True
        diagnostics += [d for d in result.diagnostics if d.code != "T2J003"]
    print_diagnostics(args, diagnostics)
    for message in problems:
        print(f"torch2jax: error: {message}", file=sys.stderr)
    if args.report:
        from torch2jax.project import write_report

        write_report(args.report, diagnostics, len(files))
    if broken:
        return 2
    if any(d.severity in failing for d in diagnostics) and not config.exit_zero:
        return 1
    return 0


def sync(args, config, print_diagnostics) -> int:  # noqa: ARG001 (one signature for both commands)
    if not config.sync:
        where = config.path or "pyproject.toml"
        print(f'torch2jax: error: {where}: no [tool.torch2jax.sync] mapping ("models/" = "models_jax/")', file=sys.stderr)
        return 2
    if args.paths:
        files = [f for f in _files(args.paths) if config.twin(f) is not None]
    else:
        files = [f for source, _ in config.sync if source.is_dir() for f in sources_under(source)]
    rules = [str(r) for r in config.rules]
    load_rules(rules)
    files, texts, problems = _read(files)
    results = convert_many([str(f) for f in files], texts, rules=rules, select=config.select,
                           ignore=config.ignore, workers=args.jobs)
    for message in problems:
        print(f"torch2jax: error: {message}", file=sys.stderr)
    status = 2 if problems else 0
    diagnostics = []
    for path, result in zip(files, results):
        if not result.ok:
            print(f"torch2jax: error: {result.diagnostics[0].text()}; its twin was not touched", file=sys.stderr)
            status = 2
            continue
        diagnostics += [d for d in result.diagnostics if d.code != "T2J003"]
        twin = config.twin(path)
        try:
            current = twin.read_text(encoding="utf-8") if twin.is_file() else None
        except (OSError, UnicodeDecodeError):
            current = None
        if current == result.code:
            continue
        if args.check:
            print(f"torch2jax sync: {_shown(twin)} is out of date (source {_shown(path)})", file=sys.stderr)
        else:
            try:
                twin.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(twin, result.code)
            except OSError as exc:
                print(f"torch2jax: error: {twin}: cannot write: {exc.strerror or exc}", file=sys.stderr)
                status = 2
                continue
            print(f"torch2jax sync: wrote {_shown(twin)} (from {_shown(path)})", file=sys.stderr)
        status = status or 1
    if args.report:
        from torch2jax.project import write_report

        write_report(args.report, diagnostics, len(files))
    return status


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)

