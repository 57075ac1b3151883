"""What a file takes from the project's own modules: ``from .unet_parts import *`` brings that
file's torch aliases (``nn``) and its module classes (``DoubleConv``, which take ``rngs`` once
translated); ``from .blocks import Bottleneck, make_layer`` brings those names.

Read statically: the sibling file is parsed and analysed (cached by path and modification time),
never imported, so ``convert`` still runs no user code. A module that cannot be found or read is
simply not known, and its names are treated as today (as names of another library).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import libcst as cst

ANALYSED: dict[tuple, "LocalModule | None"] = {}


@dataclass(frozen=True)
class LocalModule:
    aliases: dict  # its import aliases, local name -> qualified name (torch's among them)
    module_classes: frozenset  # its nn.Module subclasses, also those it takes from its own imports
    rngs_functions: frozenset  # its top-level functions that build layers (they take rngs once translated)
    class_factories: frozenset  # its top-level functions returning module classes (built later, with rngs)
    plain_classes: frozenset  # its module classes built as written, without rngs (no __init__: only a forward)
    public: frozenset | None  # what ``import *`` takes when the module says (``__all__``), else None


def find_module(importer: str | None, node: cst.ImportFrom) -> Path | None:
    """The file ``from <module> import ...`` reads, when it is the project's own (a sibling or a
    package next to the importer, or relative to it)."""
    if not importer:
        return None
    base = Path(importer).resolve().parent
    level = len(node.relative)
    for _ in range(max(level - 1, 0)):
        base = base.parent
    parts = _dotted(node.module).split(".") if node.module is not None else []
    if level == 0 and not parts:
        return None
    if level == 0:  # beside the importer, or from the top of the package it is in (`from pytorch_tcn.conv import`)
        bases = [base]
        while (bases[-1] / "__init__.py").is_file() and bases[-1].parent != bases[-1]:
            bases.append(bases[-1].parent)
        return next((found for b in bases if (found := _module_file(b.joinpath(*parts))) is not None), None)
    target = base.joinpath(*parts) if parts else base
    if parts:
        return _module_file(target)
    return target / "__init__.py" if (target / "__init__.py").is_file() else None


def _module_file(target: Path) -> Path | None:
    for candidate in (target.with_suffix(".py"), target / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def summary(path: Path, rules, seen: frozenset, analyze) -> LocalModule | None:
    """What ``path`` offers to the files importing it (None when it cannot be read or parsed);
    ``analyze`` is ``torch2jax.analyze.analyze`` (which calls this: passed in, not imported)."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    key = (str(path), stamp, id(rules))
    if key in ANALYSED:
        return ANALYSED[key]
    if str(path) in seen:
        return None  # an import cycle: what the first file offers is read without the second
    try:
        module = cst.parse_module(path.read_text(encoding="utf-8"))
        facts = analyze(module, rules, path=str(path), seen=seen | {str(path)})
    except Exception:  # noqa: BLE001 - not readable or not Python: the module is simply not known
        ANALYSED[key] = None
        return None
    rngs = frozenset(name for cls, name in facts.needs_rngs if cls is None)
    found = LocalModule(dict(facts.imports.aliases), frozenset(facts.module_classes) | facts.external_classes,
                        rngs | facts.external_rngs_functions, frozenset(facts.class_factories),
                        facts.plain_classes | facts.external_plain_classes,
                        _public(module))
    ANALYSED[key] = found
    return found


def _public(module: cst.Module) -> frozenset | None:
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
            assign = stmt.body[0]
            if (len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name)
                    and assign.targets[0].target.value == "__all__" and isinstance(assign.value, (cst.List, cst.Tuple))):
                names = [e.value for e in assign.value.elements]
                if all(isinstance(n, cst.SimpleString) for n in names):
                    return frozenset(n.evaluated_value for n in names)
    return None


def _dotted(node) -> str:
    if isinstance(node, cst.Name):
        return node.value
    return f"{_dotted(node.value)}.{node.attr.value}"


def imported_from_local_modules(facts, module: cst.Module, path: str | None, rules, seen: frozenset, analyze) -> None:
    """Add to ``facts`` what the file's imports of the project's own modules bring (``analyze``: the
    analysis to run on them)."""
    if not path:
        return
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not isinstance(small, cst.ImportFrom):
                continue
            if small.module is None and not small.relative:
                continue
            if small.module is not None and not small.relative and _dotted(small.module).split(".")[0] in ("torch",):
                continue
            found = find_module(path, small)
            local = summary(found, rules, seen, analyze) if found is not None else None
            if local is None:
                continue
            if isinstance(small.names, cst.ImportStar):
                take = None if local.public is None else local.public
                for name, full in local.aliases.items():
                    if (take is None or name in take) and name not in facts.imports.aliases:
                        facts.imports.aliases[name] = full
                facts.external_classes |= {c for c in local.module_classes if take is None or c in take}
                facts.external_plain_classes |= {c for c in local.plain_classes if take is None or c in take}
                facts.external_rngs_functions |= {f for f in local.rngs_functions if take is None or f in take}
                facts.class_factories |= {f for f in local.class_factories if take is None or f in take}
                continue
            for alias in small.names:
                name = alias.name.value if isinstance(alias.name, cst.Name) else None
                local_name = alias.asname.name.value if alias.asname is not None else name
                if name is None:
                    continue
                if name in local.module_classes:
                    facts.external_classes.add(local_name)
                    if name in local.plain_classes:
                        facts.external_plain_classes.add(local_name)
                elif name in local.rngs_functions:
                    facts.external_rngs_functions.add(local_name)
                elif name in local.class_factories:
                    facts.class_factories.add(local_name)
                elif name in local.aliases and local_name not in facts.imports.aliases:
                    facts.imports.aliases[local_name] = local.aliases[name]
