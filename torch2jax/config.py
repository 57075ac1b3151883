"""Project configuration: ``[tool.torch2jax]`` in ``pyproject.toml``, found by walking up from
the inputs (as black and Ruff do), and the code selection (``select`` / ``ignore``) it shares
with the command line.

```toml
[tool.torch2jax]
rules = ["tools/our_rules.toml"]     # extra rule files, relative to this pyproject.toml
select = ["T2J"]                     # codes or prefixes reported (default: all)
ignore = ["T2J104", "T2J90"]         # codes or prefixes silenced
exit-zero = false                    # diagnostics never make the exit status 1

[tool.torch2jax.sync]                # the twin the sync hook keeps up to date
"models/" = "models_jax/"
```

Command-line flags win key by key: ``--select`` replaces ``select``, ``--ignore`` replaces
``ignore``, ``--exit-zero`` sets ``exit-zero``; ``--rules`` files are loaded after the
configured ones, so their entries override.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from torch2jax.diagnostics import CODES

KEYS = {"rules", "select", "ignore", "exit-zero", "sync"}
CODE_PREFIX = re.compile(r"T2J\d{0,3}")


class ConfigError(ValueError):
    """A configuration file or a code selection that cannot be used (exit 2)."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # the pyproject.toml it came from
    rules: tuple[Path, ...] = ()
    select: tuple[str, ...] = ()  # empty: every code
    ignore: tuple[str, ...] = ()
    exit_zero: bool = False
    sync: tuple[tuple[Path, Path], ...] = ()  # (source directory, twin directory), absolute

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def with_flags(self, *, select=None, ignore=None, exit_zero=None, rules=()) -> "Config":
        """This configuration with the command line's flags applied (flags win)."""
        return replace(
            self,
            select=self.select if select is None else parse_codes(select, "--select"),
            ignore=self.ignore if ignore is None else parse_codes(ignore, "--ignore"),
            exit_zero=self.exit_zero if exit_zero is None else exit_zero,
            rules=self.rules + tuple(Path(r) for r in rules),
        )

    def selects(self, code: str) -> bool:
        return code_selected(code, self.select, self.ignore)

    def twin(self, path: Path) -> Path | None:
        """The JAX twin of a source file under a configured sync directory, or None."""
        path = Path(os.path.abspath(path))
        for source, twin in self.sync:
            if path.is_relative_to(source):
                return twin / path.relative_to(source)
        return None

    def is_twin(self, path: Path) -> bool:
        path = Path(os.path.abspath(path))
        return any(path.is_relative_to(twin) for _, twin in self.sync)


def code_selected(code: str, select=(), ignore=()) -> bool:
    """Ruff's rule: the most specific matching prefix decides (``--select T2J1 --ignore T2J104``
    keeps T2J101 and drops T2J104); on a tie ``ignore`` wins. No ``select`` means every code."""
    chosen = max((len(p) for p in select if code.startswith(p)), default=-1) if select else 0
    dropped = max((len(p) for p in ignore or () if code.startswith(p)), default=-1)
    return chosen >= 0 and chosen > dropped


def parse_codes(value, where: str) -> tuple[str, ...]:
    """Codes or prefixes from a list or a comma-separated string; each must name a known code."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"{where}: expected a list of codes")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"{where}: {item!r} is not a code")
        item = item.strip().upper()
        if not item:
            continue
        if not CODE_PREFIX.fullmatch(item) or not any(code.startswith(item) for code in CODES):
            raise ConfigError(f"{where}: unknown code or prefix {item!r} (see `torch2jax codes`)")
        out.append(item)
    return tuple(out)


def find_config(paths=()) -> Config:
    """The nearest ``pyproject.toml`` with a ``[tool.torch2jax]`` table above the inputs'
    common directory (the current directory for stdin or no inputs); defaults otherwise."""
    start = _common_directory([p for p in paths if p not in ("-", None)])
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue  # someone else's broken file is not ours to judge unless it configures us
            if "torch2jax" in data.get("tool", {}):
                return load_config(candidate)
    return Config()


def load_config(path) -> Config:
    """Read ``[tool.torch2jax]`` from one pyproject.toml; raises ConfigError naming the file."""
    path = Path(os.path.abspath(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("torch2jax", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.torch2jax] must be a table")
    unknown = set(table) - KEYS
    if unknown:
        raise ConfigError(f"{path}: [tool.torch2jax]: unknown key(s) {sorted(unknown)}; known: {sorted(KEYS)}")
    where = f"{path}: [tool.torch2jax]"
    rules = table.get("rules", [])
    if isinstance(rules, str):
        rules = [rules]
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise ConfigError(f"{where} rules: expected a list of rule file paths")
    exit_zero = table.get("exit-zero", False)
    if not isinstance(exit_zero, bool):
        raise ConfigError(f"{where} exit-zero: expected true or false")
    sync = table.get("sync", {})
    if not isinstance(sync, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in sync.items()):
        raise ConfigError(f'{where}.sync: expected "source/" = "twin/" pairs of directories')
    root = path.parent
    pairs = []
    for source, twin in sync.items():
        source_dir, twin_dir = Path(os.path.normpath(root / source)), Path(os.path.normpath(root / twin))
        if source_dir.is_relative_to(twin_dir) or twin_dir.is_relative_to(source_dir):
            raise ConfigError(f"{where}.sync: {source!r} and {twin!r} overlap; the twin must be a separate directory")
        pairs.append((source_dir, twin_dir))
    return Config(
        path=path,
        rules=tuple(root / r for r in rules),
        select=parse_codes(table.get("select", []), f"{where} select"),
        ignore=parse_codes(table.get("ignore", []), f"{where} ignore"),
        exit_zero=exit_zero,
        sync=tuple(pairs),
    )


def _common_directory(paths) -> Path:
    if not paths:
        return Path.cwd()
    absolute = [os.path.abspath(p) for p in paths]
    dirs = [p if os.path.isdir(p) else os.path.dirname(p) for p in absolute]
    return Path(os.path.commonpath(dirs))
