"""Diagnostic records, their stable codes, and the text/JSON/GitHub renderings."""

from __future__ import annotations

import io
import json
import re
import tokenize
from dataclasses import asdict, dataclass

# Stable codes, grouped by area. The documentation table is generated from this
# mapping (``torch2jax codes``); never renumber, only add.
CODES: dict[str, tuple[str, str]] = {
    # 0xx: input
    "T2J001": ("error", "The input is not valid Python; nothing was converted."),
    "T2J002": ("error", "The input could not be decoded; nothing was converted."),
    "T2J003": ("info", "The file does not import torch; it was left unchanged."),
    # 1xx: layers (nn.* modules)
    "T2J101": ("warning", "A layer was translated approximately; the message says what differs."),
    "T2J102": ("error", "A layer argument or value has no Flax equivalent; the call was left as is."),
    "T2J103": ("warning", "A channels-last layer is used where its input layout cannot be tracked."),
    "T2J104": ("warning", "BatchNorm running variance: Flax keeps the biased estimate, torch the unbiased one."),
    # 2xx: module structure
    "T2J201": ("error", "A module construct has no NNX equivalent; it was left as is."),
    "T2J202": ("error", "In-place tensor mutation; rewrite it as a functional update."),
    "T2J203": ("error", "Randomness needs an explicit key and none is in scope here."),
    "T2J204": ("error", "A training-loop construct (backward, step, zero_grad, a scheduler) could not be translated."),
    # 3xx: functions and tensor methods
    "T2J301": ("warning", "A function or method was translated approximately; the message says what differs."),
    "T2J302": ("error", "A function or method argument has no JAX equivalent; the call was left as is."),
    # 9xx: untranslated
    "T2J901": ("error", "No rule for this torch API; it was left as is and marked in the output."),
    "T2J902": ("info", "Device placement (`.to(device)`, `.cuda()`) was removed: JAX places arrays on its default device."),
    "T2J903": ("error", "A rule handler failed on this node; it was left as is (please report this)."),
}

SEVERITIES = ("info", "warning", "error")
MARKER_PREFIX = "torch2jax:"


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    path: str = "<string>"
    line: int = 0
    column: int = 0
    severity: str = ""
    handled: bool = False  # True when the construct was converted (approximately) anyway

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown diagnostic code {self.code}")
        if not self.severity:
            object.__setattr__(self, "severity", CODES[self.code][0])

    @property
    def needs_attention(self) -> bool:
        return self.severity in ("warning", "error")

    def text(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.severity} {self.message}"

    def github(self) -> str:
        level = {"error": "error", "warning": "warning"}.get(self.severity, "notice")
        msg = self.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::{level} file={self.path},line={self.line},col={self.column},title={self.code}::{msg}"

    def to_dict(self) -> dict:
        return asdict(self)


class Unsupported(Exception):
    """A construct a rule or a concern cannot translate; carries the diagnostic's code and message.

    The walk reports it at the node being translated and leaves that node as it was.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class NotTorch(Exception):
    """The call only looks like a torch API (``line.split(",")``); leave it alone, silently."""


def marker(code: str, message: str) -> str:
    """The comment placed in the output at a spot that still needs a person (always one line)."""
    return f"# {MARKER_PREFIX} {code} {' '.join(message.split())}"


def marked(comments, code: str) -> list[str]:
    """The messages of the ``code`` markers among ``comments`` (comment texts): what a previous
    conversion said about the statement they precede."""
    prefix = f"# {MARKER_PREFIX} {code} "
    return [c[len(prefix):] for c in comments if c.startswith(prefix)]


IGNORE_COMMENT = re.compile(r"#\s*torch2jax:\s*ignore\b(?:\[([^\]]*)\])?", re.IGNORECASE)


def ignore_comments(source: str) -> dict[int, tuple[str, ...]]:
    """``# torch2jax: ignore[T2J104, T2J3]`` comments by line: the codes (or prefixes) they
    silence on that line; an empty tuple (a bare ``# torch2jax: ignore``) silences every code."""
    if "torch2jax" not in source:  # the common case costs one substring search
        return {}
    found: dict[int, tuple[str, ...]] = {}
    try:
        comments = [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                    if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError):  # not tokenizable: fall back to the lines themselves
        comments = [(i, line[line.index("#"):]) for i, line in enumerate(source.splitlines(), 1) if "#" in line]
    for line, text in comments:
        match = IGNORE_COMMENT.search(text)
        if match:
            codes = match.group(1)
            found[line] = tuple(c.strip().upper() for c in re.split(r"[,\s]+", codes) if c.strip()) if codes else ()
    return found


def without_ignored(diagnostics: list[Diagnostic], source: str) -> list[Diagnostic]:
    """The diagnostics that no ``# torch2jax: ignore`` comment on their line silences."""
    if not diagnostics:
        return diagnostics
    ignores = ignore_comments(source)
    if not ignores:
        return diagnostics
    out = []
    for d in diagnostics:
        codes = ignores.get(d.line)
        if codes is not None and (not codes or any(d.code.startswith(c) for c in codes)):
            continue
        out.append(d)
    return out


def counts_by_code(diagnostics: list[Diagnostic]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for d in sorted(diagnostics, key=lambda d: d.code):
        counts[d.code] = counts.get(d.code, 0) + 1
    return counts


def summary(diagnostics: list[Diagnostic], files: int = 1) -> str:
    counts = {s: sum(d.severity == s for d in diagnostics) for s in SEVERITIES}
    parts = [f"{counts['error']} error(s)", f"{counts['warning']} warning(s)", f"{counts['info']} note(s)"]
    noun = "file" if files == 1 else "files"
    return f"{files} {noun} converted: " + ", ".join(parts)


def to_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diagnostics], indent=2)


def codes_table() -> str:
    """Markdown table of every code, generated from CODES."""
    lines = ["| code | severity | meaning |", "| --- | --- | --- |"]
    lines += [f"| {code} | {sev} | {text} |" for code, (sev, text) in sorted(CODES.items())]
    return "\n".join(lines) + "\n"
