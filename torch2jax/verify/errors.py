"""What goes wrong in a check: errors that stop it, stage failures, and how they are worded."""

from __future__ import annotations

import traceback
from pathlib import Path


class VerifyError(Exception):
    """The check could not run: missing file, bad input spec, model expression or import failure."""


class StageFailed(Exception):
    """A stage found the translation wrong or broken (reported in the stage, not raised to the user)."""


def where(exc: BaseException, path) -> str:
    """`` (at FILE:LINE)`` for the innermost frame in ``path`` (a file, or a ``display`` name), if any."""
    names = {str(path)} | ({str(Path(path).resolve())} if not str(path).startswith("<") else set())
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in names]
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f" (at {path}:{exc.lineno})"
    return f" (at {path}:{frames[-1].lineno})" if frames else ""


def exc_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def first_name(problems: list[str]) -> str:
    """The tensor named (in backticks) by the first problem."""
    parts = problems[0].split("`")
    return parts[1] if len(parts) > 2 else problems[0]
