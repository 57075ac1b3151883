"""Command line: ``torch2jax convert``, ``verify``, ``lint``, ``sync`` (the pre-commit hooks), ``rules``, ``codes``.

Settings come from ``[tool.torch2jax]`` in the nearest pyproject.toml (``config.py``); flags win.

Exit codes (as black and Ruff): 0 clean; 1 something needs attention (diagnostics
of warning/error severity, or ``--check`` would change files); 2 bad input or usage,
with nothing written.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from pathlib import Path

from torch2jax import __version__, hooks
from torch2jax.config import Config, ConfigError, find_config, load_config
from torch2jax.diagnostics import codes_table, summary
from torch2jax.files import InputError, atomic_write, read_source
from torch2jax.hooks import add_parsers as add_hook_parsers
from torch2jax.project import PARALLEL_FROM, convert_many, sources_under, write_report
from torch2jax.rules import RuleError, load_rules

EPILOG_CONVERT = """\
examples:
  torch2jax convert model.py                 print the JAX translation
  torch2jax convert model.py -o model_jax.py write it (atomically) to a file
  torch2jax convert src/ -o out/             convert a tree, mirroring it under out/
  torch2jax convert model.py --diff          show what would change
  cat model.py | torch2jax convert -         read stdin, write stdout
  torch2jax convert nb.ipynb -o nb_jax.ipynb a notebook's code cells
  torch2jax convert src/ -o out/ -j 4 --report report.json --ignore T2J104

Settings are read from [tool.torch2jax] in the nearest pyproject.toml (rules,
select, ignore, exit-zero); flags win. `# torch2jax: ignore[T2J901]` on a line
silences that code there.

Every construct that is not translated exactly is reported as
PATH:LINE:COL: CODE SEVERITY MESSAGE and marked in the output with a
`# torch2jax: CODE ...` comment (grep for it). `torch2jax codes` lists the codes.

exit status: 0 clean, 1 diagnostics need attention (or --check would change
files), 2 bad input or usage (nothing written).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2, like argparse, with our prefix
        self.print_usage(sys.stderr)
        self.exit(2, f"torch2jax: error: {message}\n")


def add_selection_arguments(parser) -> None:
    """Flags shared by convert, lint and sync; each wins over its key in [tool.torch2jax]."""
    parser.add_argument("--select", metavar="CODES", help="report only these codes or prefixes (comma-separated; T2J3 is every T2J3xx)")
    parser.add_argument("--ignore", metavar="CODES", help="never report these codes or prefixes (comma-separated)")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when diagnostics need attention")
    parser.add_argument("--report", metavar="FILE", help="also write the diagnostics and their counts by code to FILE (JSON if it ends in .json, else text)")
    parser.add_argument("--config", metavar="PYPROJECT", help="read [tool.torch2jax] from this file instead of the nearest pyproject.toml")
    parser.add_argument("--no-config", action="store_true", help="ignore every pyproject.toml")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="torch2jax",
        description="Translate PyTorch source code to JAX (Flax NNX, Optax) and verify the translation numerically.",
    )
    parser.add_argument("--version", action="version", version=f"torch2jax {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    convert = sub.add_parser(
        "convert",
        help="translate PyTorch files to JAX (static: never imports your code)",
        description="Translate PyTorch source files to JAX / Flax NNX. Static: your code is parsed, never imported or run.",
        epilog=EPILOG_CONVERT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    convert.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (recursed for *.py and *.ipynb); - for stdin")
    convert.add_argument("-o", "--output", metavar="OUT", help="output file (one input; - for standard output) or directory (several inputs or a directory)")
    convert.add_argument("--in-place", action="store_true", help="overwrite the inputs with their translation")
    convert.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file would change")
    convert.add_argument("--diff", action="store_true", help="write nothing; print a unified diff of the changes")
    convert.add_argument("--rules", action="append", default=[], metavar="FILE.toml", help="extra rule file (repeatable); its entries override the built-in ones")
    convert.add_argument("--format", choices=("text", "json", "github"), default="text", help="diagnostics format on stderr (default: text)")
    convert.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    add_selection_arguments(convert)
    convert.add_argument("-j", "--jobs", type=int, metavar="N", help="worker processes (default: one per CPU core)")

    verify = sub.add_parser(
        "verify",
        help="prove a translation numerically equivalent (runs your code; needs the [verify] extra)",
        description="Run the PyTorch model and its translation with the same weights and inputs and compare "
        "outputs, gradients and running statistics, stage by stage (spec, numeric, behavioral).",
    )
    try:
        from torch2jax.verify import add_arguments

        add_arguments(verify)
    except ImportError:  # the checker module itself is dependency-free at import; be safe anyway
        verify.add_argument("rest", nargs=argparse.REMAINDER)

    rules = sub.add_parser("rules", help="list the translation rules (what maps to what, and status)")
    rules.add_argument("--rules", action="append", default=[], metavar="FILE.toml", help="also load this rule file")
    rules.add_argument("--json", action="store_true", help="print JSON")
    rules.add_argument("--markdown", action="store_true",
                       help="print the coverage table (Markdown: target, status, arguments and notes; see COVERAGE.md)")
    rules.add_argument("--kind", choices=("layer", "module_fn", "function", "method", "constant"), help="only this kind")

    add_hook_parsers(sub, add_selection_arguments)

    sub.add_parser("codes", help="print the table of diagnostic codes (Markdown)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "convert":
            return _convert(args)
        if args.command in ("lint", "sync"):
            if args.jobs is not None and args.jobs < 1:
                return fail("-j/--jobs must be at least 1")
            run = hooks.lint if args.command == "lint" else hooks.sync
            return run(args, settings(args), _print_diagnostics)
        if args.command == "rules":
            return _rules(args)
        if args.command == "codes":
            sys.stdout.write(codes_table())
            return 0
        if args.command == "verify":
            from torch2jax.verify import main as verify_main

            return verify_main(args)
    except (RuleError, ConfigError) as exc:
        print(f"torch2jax: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("torch2jax: interrupted", file=sys.stderr)
        return 130
    return 2


# ---------------------------------------------------------------------- convert

def _inputs(paths: list[str]) -> list[tuple[Path | None, Path | None]]:
    """(file, root) pairs; root is the directory argument a file was found under."""
    found: list[tuple[Path | None, Path | None]] = []
    for raw in paths:
        if raw == "-":
            found.append((None, None))
            continue
        path = Path(raw)
        if path.is_dir():
            found += [(p, path) for p in sources_under(path)]
        else:
            found.append((path, None))
    return found


def _destination(args, path: Path | None, root: Path | None, count: int) -> Path | None:
    if args.in_place:
        return path
    if args.output is None or args.output == "-":  # standard output
        return None
    out = Path(args.output)
    if count == 1 and root is None and not out.is_dir():
        return out
    relative = path.relative_to(root) if root is not None else Path(path.name)
    return out / relative


def settings(args) -> Config:
    """The project's configuration (nearest pyproject.toml with [tool.torch2jax]) with the flags applied."""
    if getattr(args, "no_config", False):
        config = Config()
    elif getattr(args, "config", None):
        config = load_config(args.config)
    else:
        config = find_config(getattr(args, "paths", []) or [])
    return config.with_flags(select=args.select, ignore=args.ignore, exit_zero=args.exit_zero or None,
                             rules=getattr(args, "rules", []))


def fail(message: str) -> int:
    print(f"torch2jax: error: {message}", file=sys.stderr)
    return 2


def _convert(args) -> int:
    if args.in_place and args.output:
        return fail("--in-place and -o/--output cannot be used together")
    if args.jobs is not None and args.jobs < 1:
        return fail("-j/--jobs must be at least 1")
    config = settings(args)
    rule_files = [str(r) for r in config.rules]
    load_rules(rule_files)  # a bad rule file is reported before any work
    inputs = _inputs(args.paths)
    if not inputs:
        return fail("no Python files or notebooks found")
    if args.in_place and any(p is None for p, _ in inputs):
        return fail("--in-place cannot be used with stdin")
    if args.output == "-" and (len(inputs) > 1 or inputs[0][1] is not None):
        return fail("-o - (standard output) takes one input file")
    if len(inputs) > 1 and args.output and Path(args.output).is_file():
        return fail(f"{args.output} is a file; give a directory for several inputs")

    # Read and convert everything first; write only when every input could be read and parsed.
    texts = []
    for path, root in inputs:
        try:
            text = sys.stdin.read() if path is None else read_source(path)
        except InputError as exc:
            return fail(str(exc))
        if root is None and not text.strip():  # named on the command line; an empty __init__.py in a tree is fine
            return fail(f"{'<stdin>' if path is None else path}: empty input; nothing to convert")
        texts.append(text)
    names = ["-" if path is None else str(path) for path, _ in inputs]
    progress = _progress if sys.stderr.isatty() and len(inputs) >= PARALLEL_FROM else None
    converted = convert_many(names, texts, rules=rule_files, select=config.select, ignore=config.ignore,
                             workers=args.jobs, progress=progress)
    if progress:
        print(file=sys.stderr)
    results, all_diags = [], []
    for (path, root), text, result in zip(inputs, texts, converted):
        if not result.ok:  # one message, naming the file (and where Python stopped)
            if args.format == "text":
                return fail(f"{result.diagnostics[0].text()}; nothing was written")
            _print_diagnostics(args, result.diagnostics)
            return fail(f"{result.diagnostics[0].path} could not be converted; nothing was written")
        results.append((path, root, text, result))
        all_diags += result.diagnostics

    status = 0
    writes = []
    for path, root, text, result in results:
        name = "-" if path is None else str(path)
        if args.check or args.diff:
            if result.changed:
                status = 1
                if args.diff:
                    sys.stdout.writelines(
                        difflib.unified_diff(
                            text.splitlines(keepends=True), result.code.splitlines(keepends=True), name, name + " (jax)"
                        )
                    )
            continue
        dest = _destination(args, path, root, len(results))
        if dest is None:
            sys.stdout.write(result.code)
            continue
        if args.in_place and not result.changed:
            continue
        writes.append((dest, result.code))
    problem = unwritable([dest for dest, _ in writes])
    if problem:
        return fail(problem)
    for dest, code in writes:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(dest, code)
        except OSError as exc:  # checked above; a race or a full disk can still get here
            return fail(f"{dest}: cannot write: {exc.strerror or exc}")

    _print_diagnostics(args, all_diags)
    if args.report:
        try:
            write_report(args.report, all_diags, len(results))
        except OSError as exc:
            return fail(f"{args.report}: cannot write the report: {exc.strerror or exc}")
    if any(d.needs_attention for d in all_diags) and not config.exit_zero:
        status = 1
    if args.format == "text" and not args.quiet:
        print(summary(all_diags, files=len(results)), file=sys.stderr)
    return status


def unwritable(destinations: list[Path]) -> str | None:
    """Why one of the destinations cannot be written (checked before anything is written)."""
    for dest in destinations:
        if dest.is_dir():
            return f"{dest}: is a directory"
        parent = dest.parent
        while not parent.exists():  # mkdir will make it: the first existing ancestor must take it
            if parent.is_symlink():
                return f"{dest}: cannot write: {parent} is a broken symbolic link"
            parent = parent.parent
        if not parent.is_dir():
            return f"{dest}: cannot write: {parent} is not a directory"
        if not os.access(parent, os.W_OK | os.X_OK):
            return f"{dest}: cannot write: permission denied"
        if dest.exists() and not os.access(dest, os.W_OK):
            return f"{dest}: cannot write: the file is read-only"
    return None


def _progress(done: int, total: int) -> None:
    print(f"\rtorch2jax: {done}/{total} files", end="", file=sys.stderr, flush=True)


def _print_diagnostics(args, diagnostics) -> None:
    if args.format == "json":
        print(json.dumps([d.to_dict() for d in diagnostics], indent=2), file=sys.stderr)
        return
    for d in diagnostics:
        if getattr(args, "quiet", False) and d.severity != "error":
            continue
        print(d.github() if args.format == "github" else d.text(), file=sys.stderr)


# ---------------------------------------------------------------------- rules

def _rules(args) -> int:
    ruleset = load_rules(args.rules)
    if getattr(args, "markdown", False):
        from torch2jax.coverage import markdown_table

        sys.stdout.write(markdown_table(ruleset))
        return 0
    rules = [r for r in ruleset.rules if not args.kind or r.kind == args.kind]
    rules.sort(key=lambda r: (r.kind, r.torch))
    if args.json:
        print(json.dumps([{"torch": r.torch, "kind": r.kind, "target": r.target, "status": r.status, "note": r.note,
                           "source": r.source} for r in rules], indent=2))
        return 0
    width = max(len(r.torch) for r in rules) if rules else 10
    for r in rules:
        status = r.status if r.status == "exact" else f"{r.status}: {r.note}"
        print(f"{r.torch:<{width}}  ->  {r.target:<28} [{r.kind}] {status}")
    counts = {s: sum(r.status == s for r in rules) for s in ("exact", "approximate", "manual")}
    print(f"\n{len(rules)} rules: {counts['exact']} exact, {counts['approximate']} approximate, {counts['manual']} manual")
    return 0


if __name__ == "__main__":
    sys.exit(main())
