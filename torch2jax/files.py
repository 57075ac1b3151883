"""Reading sources and writing translations safely: UTF-8 only (a byte-order mark kept),
and atomic writes (a temporary file beside the target, renamed over it)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BOM = "\ufeff"


class InputError(Exception):
    """A file that cannot be converted (missing, unreadable, not UTF-8)."""


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
