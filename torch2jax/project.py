"""Whole trees: which files a path holds, converting one file of any kind (Python or notebook),
and ``convert_tree`` for migration scripts, which returns a report per file.

```python
report = torch2jax.convert_tree("models/", "models_jax/", rules=[{...}], ignore=["T2J104"])
for item in report.files:
    print(item.source, item.status, len(item.diagnostics))   # written / unchanged / failed
print(report.text())
```
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
from dataclasses import dataclass, field
from pathlib import Path

from torch2jax.convert import ConversionResult, convert_source
from torch2jax.diagnostics import Diagnostic, counts_by_code, summary
from torch2jax.files import InputError, atomic_write, read_source
from torch2jax.notebooks import convert_notebook, is_notebook
from torch2jax.rules import load_rules

SUFFIXES = (".py", ".ipynb")
PARALLEL_FROM = 8  # files; below this a process pool costs more than it saves


def sources_under(directory: Path) -> list[Path]:
    """The Python files and notebooks under a directory, sorted; hidden directories
    (``.git``, ``.venv``, ``.ipynb_checkpoints``) are skipped. Symbolic links to directories
    are not followed, so a link loop cannot make the walk endless."""
    directory = Path(directory)
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in files if f.endswith(SUFFIXES) and not f.startswith(".")]
    return sorted(found)


def convert_text(text: str, *, filename: str | None = None, rules=None, select=(), ignore=()) -> ConversionResult:
    """A Python file's or (by its ``.ipynb`` name) a notebook's translation."""
    if filename is not None and is_notebook(filename):
        return convert_notebook(text, filename=filename, rules=rules, select=select, ignore=ignore)
    return convert_source(text, filename=filename, rules=rules, select=select, ignore=ignore)


def convert_file(path, output=None, *, rules=None, select=(), ignore=()) -> ConversionResult:
    """Convert one Python file or notebook; write the result to ``output`` when given (atomically).

    The input is never modified unless ``output`` is the input path itself.
    Raises InputError for a missing or undecodable file.
    """
    path = Path(path)
    text = read_source(path)
    result = convert_text(text, filename=str(path), rules=rules, select=select, ignore=ignore)
    if output is not None and result.ok:
        atomic_write(Path(output), result.code)
    return result


def convert_many(names: list[str], texts: list[str], *, rules=(), select=(), ignore=(), workers: int | None = None,
                 progress=None) -> list[ConversionResult]:
    """Results in input order; spread over ``workers`` processes (default: the CPU count) when
    there are enough files to pay for the pool. ``rules`` are rule files or rule data (picklable)."""
    jobs = [(n, t, list(rules), tuple(select), tuple(ignore)) for n, t in zip(names, texts)]
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers < 2 or len(jobs) < PARALLEL_FROM:
        results = map(_convert_job, jobs)
        pool = None
    else:
        # forkserver: workers forked from a clean server, never from a caller that may run threads (JAX does)
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))
        results = pool.map(_convert_job, jobs, chunksize=4)
    out = []
    try:
        for i, result in enumerate(results, 1):
            out.append(result)
            if progress:
                progress(i, len(jobs))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return out


def _convert_job(job) -> ConversionResult:
    name, text, rules, select, ignore = job
    return convert_text(text, filename=name, rules=load_rules(rules) if rules else None, select=select, ignore=ignore)


# ---------------------------------------------------------------------- the migration API

@dataclass
class FileReport:
    source: Path
    destination: Path | None
    status: str  # "written" | "unchanged" (the destination already held this) | "failed" (nothing written)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"source": str(self.source), "destination": str(self.destination) if self.destination else None,
                "status": self.status, "diagnostics": [d.to_dict() for d in self.diagnostics]}


@dataclass
class TreeReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def written(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "written"]

    @property
    def unchanged(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "unchanged"]

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for f in self.files for d in f.diagnostics]

    @property
    def ok(self) -> bool:
        """Every file converted, and nothing needs a person's attention."""
        return not self.failed and not any(d.needs_attention for d in self.diagnostics)

    def counts(self) -> dict[str, int]:
        return counts_by_code(self.diagnostics)

    def text(self) -> str:
        return report_text(self.diagnostics, len(self.files),
                           {"written": len(self.written), "unchanged": len(self.unchanged), "failed": len(self.failed)})

    def to_json(self) -> str:
        return json.dumps({"files": [f.to_dict() for f in self.files], "counts": self.counts(),
                           "summary": {"files": len(self.files), "written": len(self.written),
                                       "unchanged": len(self.unchanged), "failed": len(self.failed)}}, indent=2)


def convert_tree(src, dst, *, rules=(), select=(), ignore=(), workers: int | None = None, dry_run: bool = False) -> TreeReport:
    """Translate every Python file and notebook under ``src`` into the same place under ``dst``.

    ``rules``: extra rule files and/or rule data (a dict per rule, or a rule file's content).
    A file that cannot be converted (syntax error, not UTF-8, bad notebook) is reported as
    ``failed`` and nothing is written for it; the others are written atomically, and a
    destination already holding the translation is left untouched (``unchanged``).
    ``dry_run`` writes nothing and reports what would be written.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise InputError(f"{src}: not a directory")
    if Path(os.path.abspath(dst)).is_relative_to(os.path.abspath(src)):
        raise InputError(f"{dst}: is inside {src}; choose a destination outside the source tree")
    rules = list(rules) if isinstance(rules, (list, tuple)) else [rules]
    load_rules(rules)  # a bad rule is reported (RuleError) before any work
    paths = sources_under(src)
    texts, report = {}, TreeReport()
    for path in paths:
        try:
            texts[path] = read_source(path)
        except InputError as exc:
            report.files.append(FileReport(path, None, "failed", [Diagnostic("T2J002", str(exc), str(path), 1, 1)]))
    readable = [p for p in paths if p in texts]
    results = convert_many([str(p) for p in readable], [texts[p] for p in readable], rules=rules, select=select,
                           ignore=ignore, workers=workers)
    for path, result in zip(readable, results):
        target = dst / path.relative_to(src)
        if not result.ok:
            report.files.append(FileReport(path, target, "failed", result.diagnostics))
            continue
        try:
            current = target.read_text(encoding="utf-8") if target.is_file() else None
        except (OSError, UnicodeDecodeError):
            current = None
        if current == result.code:
            report.files.append(FileReport(path, target, "unchanged", result.diagnostics))
            continue
        if not dry_run:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, result.code)
        report.files.append(FileReport(path, target, "written", result.diagnostics))
    report.files.sort(key=lambda f: str(f.source))
    return report


def report_text(diagnostics: list[Diagnostic], files: int, statuses: dict[str, int] | None = None) -> str:
    """A plain-text report: every diagnostic, then the counts by code and the summary line."""
    lines = [d.text() for d in diagnostics]
    counts = counts_by_code(diagnostics)
    if counts:
        lines.append("")
        lines.append("counts by code:")
        lines += [f"  {code} {n:>6}  {_meaning(code)}" for code, n in counts.items()]
    lines.append("")
    lines.append(summary(diagnostics, files=files))
    if statuses:
        lines.append(", ".join(f"{n} {status}" for status, n in statuses.items()))
    return "\n".join(lines) + "\n"


def report_json(diagnostics: list[Diagnostic], files: int, statuses: dict[str, int] | None = None) -> str:
    by_severity = {s: sum(d.severity == s for d in diagnostics) for s in ("error", "warning", "info")}
    data = {"files": files, "counts": counts_by_code(diagnostics), "severities": by_severity,
            "diagnostics": [d.to_dict() for d in diagnostics]}
    if statuses:
        data["statuses"] = statuses
    return json.dumps(data, indent=2) + "\n"


def _meaning(code: str) -> str:
    from torch2jax.diagnostics import CODES

    return CODES[code][1]


def write_report(path, diagnostics, files: int, statuses=None) -> None:
    """--report FILE: JSON when FILE ends in .json, text otherwise; counts by code in both."""
    path = Path(path)
    text = (report_json if path.suffix.lower() == ".json" else report_text)(diagnostics, files, statuses)
    atomic_write(path, text)
