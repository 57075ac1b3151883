"""Command line: ``torch2jax convert``, ``torch2jax verify``, ``torch2jax rules``, ``torch2jax codes``.

Exit codes (as black and Ruff): 0 clean; 1 something needs attention (diagnostics
of warning/error severity, or ``--check`` would change files); 2 bad input or usage,
with nothing written.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import difflib
import json
import os
import sys
from pathlib import Path

from torch2jax import __version__
from torch2jax.convert import convert_source
from torch2jax.files import InputError, atomic_write, read_source
from torch2jax.diagnostics import codes_table, summary
from torch2jax.rules import RuleError, load_rules

EPILOG_CONVERT = """\
examples:
  torch2jax convert model.py                 print the JAX translation
  torch2jax convert model.py -o model_jax.py write it (atomically) to a file
  torch2jax convert src/ -o out/             convert a tree, mirroring it under out/
  torch2jax convert model.py --diff          show what would change
  cat model.py | torch2jax convert -         read stdin, write stdout

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
    convert.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (recursed for *.py); - for stdin")
    convert.add_argument("-o", "--output", metavar="OUT", help="output file (one input) or directory (several inputs or a directory)")
    convert.add_argument("--in-place", action="store_true", help="overwrite the inputs with their translation")
    convert.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file would change")
    convert.add_argument("--diff", action="store_true", help="write nothing; print a unified diff of the changes")
    convert.add_argument("--rules", action="append", default=[], metavar="FILE.toml", help="extra rule file (repeatable); its entries override the built-in ones")
    convert.add_argument("--format", choices=("text", "json", "github"), default="text", help="diagnostics format on stderr (default: text)")
    convert.add_argument("-q", "--quiet", action="store_true", help="print only errors")

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
    rules.add_argument("--kind", choices=("layer", "module_fn", "function", "method", "constant"), help="only this kind")

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
        if args.command == "rules":
            return _rules(args)
        if args.command == "codes":
            sys.stdout.write(codes_table())
            return 0
        if args.command == "verify":
            from torch2jax.verify import main as verify_main

            return verify_main(args)
    except RuleError as exc:
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
            found += [(p, path) for p in sorted(path.rglob("*.py")) if not any(part.startswith(".") for part in p.relative_to(path).parts)]
        else:
            found.append((path, None))
    return found


def _destination(args, path: Path | None, root: Path | None, count: int) -> Path | None:
    if args.in_place:
        return path
    if args.output is None:
        return None
    out = Path(args.output)
    if count == 1 and root is None and not out.is_dir():
        return out
    relative = path.relative_to(root) if root is not None else Path(path.name)
    return out / relative


def _convert(args) -> int:
    if args.in_place and args.output:
        print("torch2jax: error: --in-place and -o/--output cannot be used together", file=sys.stderr)
        return 2
    load_rules(args.rules)  # a bad rule file is reported before any work
    inputs = _inputs(args.paths)
    if not inputs:
        print("torch2jax: error: no Python files found", file=sys.stderr)
        return 2
    if args.in_place and any(p is None for p, _ in inputs):
        print("torch2jax: error: --in-place cannot be used with stdin", file=sys.stderr)
        return 2
    if len(inputs) > 1 and args.output and Path(args.output).is_file():
        print(f"torch2jax: error: {args.output} is a file; give a directory for several inputs", file=sys.stderr)
        return 2

    all_diags = []
    status = 0
    results = []
    # Read and convert everything first; write only when every input could be read and parsed.
    texts = []
    for path, root in inputs:
        try:
            texts.append(sys.stdin.read() if path is None else read_source(path))
        except InputError as exc:
            print(f"torch2jax: error: {exc}", file=sys.stderr)
            return 2
    names = ["-" if path is None else str(path) for path, _ in inputs]
    for (path, root), text, result in zip(inputs, texts, _convert_all(names, texts, args.rules)):
        if not result.ok:
            _print_diagnostics(args, result.diagnostics)
            print(f"torch2jax: error: {result.diagnostics[0].path} could not be converted; nothing was written",
                  file=sys.stderr)
            return 2
        results.append((path, root, text, result))
        all_diags += result.diagnostics

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
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dest, result.code)

    _print_diagnostics(args, all_diags)
    if any(d.needs_attention for d in all_diags):
        status = 1
    if args.format == "text" and not args.quiet:
        print(summary(all_diags, files=len(results)), file=sys.stderr)
    return status


PARALLEL_FROM = 8  # files; below this a process pool costs more than it saves


def _convert_one(job):
    name, text, rule_files = job
    return convert_source(text, filename=name, rules=load_rules(rule_files) if rule_files else None)


def _convert_all(names: list[str], texts: list[str], rule_files: list[str]):
    """Results in input order; files are spread over the CPU cores when there are many,
    with a progress line on a terminal."""
    jobs = [(n, t, list(rule_files)) for n, t in zip(names, texts)]
    workers = min(os.cpu_count() or 1, len(jobs))
    progress = sys.stderr.isatty() and len(jobs) >= PARALLEL_FROM
    if workers < 2 or len(jobs) < PARALLEL_FROM:
        results = map(_convert_one, jobs)
    else:
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers)
        results = pool.map(_convert_one, jobs, chunksize=4)
    out = []
    for i, result in enumerate(results, 1):
        out.append(result)
        if progress:
            print(f"\rtorch2jax: {i}/{len(jobs)} files", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return out


def _print_diagnostics(args, diagnostics) -> None:
    if args.format == "json":
        print(json.dumps([d.to_dict() for d in diagnostics], indent=2), file=sys.stderr)
        return
    for d in diagnostics:
        if args.quiet and d.severity != "error":
            continue
        print(d.github() if args.format == "github" else d.text(), file=sys.stderr)


# ---------------------------------------------------------------------- rules

def _rules(args) -> int:
    ruleset = load_rules(args.rules)
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
