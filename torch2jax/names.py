"""Name resolution without LibCST metadata: the file's import aliases, and the few
local names that shadow them.

Resolving ``QualifiedNameProvider`` for a file costs several times a full parse
(see DESIGN.md); a translator only needs to know that ``nn.Linear``,
``torch.nn.Linear`` and ``from torch.nn import Linear as L`` are one thing, and
that a parameter called ``F`` is not ``torch.nn.functional``.
"""

from __future__ import annotations

import libcst as cst

# Fully qualified spellings that users write but the rules key by their public name.
CANONICAL_PREFIXES = {
    "torch.nn.modules.": "torch.nn.",
    "torch.functional.": "torch.",
}


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def _module_name(node: cst.BaseExpression) -> str:
    return dotted_name(node) or ""


def canonical(name: str) -> str:
    for prefix, replacement in CANONICAL_PREFIXES.items():
        if name.startswith(prefix):
            rest = name[len(prefix):]
            # torch.nn.modules.conv.Conv2d -> torch.nn.Conv2d
            return replacement + rest.rsplit(".", 1)[-1] if "." in rest else replacement + rest
    return name


class ImportTable:
    """Local name -> qualified name, for every import in the file."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}

    @classmethod
    def from_module(cls, module: cst.Module) -> "ImportTable":
        table = cls()
        for stmt in _import_statements(module.body):
            table.add(stmt)
        return table

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = _module_name(alias.name)
                if alias.asname is not None:
                    self.aliases[alias.asname.name.value] = full
                else:  # `import torch.nn` binds `torch`
                    head = full.split(".")[0]
                    self.aliases[head] = head
        elif isinstance(node, cst.ImportFrom) and node.module is not None and not node.relative:
            base = _module_name(node.module)
            if isinstance(node.names, cst.ImportStar):
                return
            for alias in node.names:
                name = _module_name(alias.name)
                local = alias.asname.name.value if alias.asname is not None else name
                self.aliases[local] = f"{base}.{name}"

    def qualify(self, node: cst.BaseExpression, shadowed: frozenset[str] | set[str] = frozenset()) -> str | None:
        head = node  # most names are not imported: say so before building the dotted name
        while type(head) is cst.Attribute:
            head = head.value
        if type(head) is cst.Name and (head.value in shadowed or head.value not in self.aliases):
            return None
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in shadowed or head not in self.aliases:
            return None
        full = self.aliases[head] + ("." + rest if rest else "")
        return canonical(full)

    def torch_names(self) -> set[str]:
        return {local for local, full in self.aliases.items() if full == "torch" or full.startswith("torch.")}

    @property
    def imports_torch(self) -> bool:
        return bool(self.torch_names())


def _import_statements(body) -> list[cst.Import | cst.ImportFrom]:
    """Imports at module level, including inside top-level try/if blocks."""
    found = []
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            found += [s for s in stmt.body if isinstance(s, (cst.Import, cst.ImportFrom))]
        elif isinstance(stmt, (cst.Try, cst.If)):
            found += _import_statements(stmt.body.body)
    return found


def bound_names(func: cst.FunctionDef) -> set[str]:
    """Parameters and simply-assigned names of a function (shadowing candidates)."""
    names = set()
    params = func.params
    for p in (*params.posonly_params, *params.params, *params.kwonly_params):
        names.add(p.name.value)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    for stmt in func.body.body if isinstance(func.body, cst.IndentedBlock) else ():
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name):
                            names.add(target.target.value)
    return names
