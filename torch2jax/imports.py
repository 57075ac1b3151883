"""Imports: concerns ask for the names they emit (``state.imports.ref("flax.nnx.Linear")``
gives ``nnx.Linear`` and records ``from flax import nnx``); one step at the end settles the
file's imports: the JAX ones asked for go where the torch imports were, and torch imports
nothing refers to any more are dropped. No concern edits import statements itself.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.names import ImportTable, dotted_name
from torch2jax.syntax import parse_expr

# qualified prefix -> (import statement, local prefix). Longest prefix first.
IMPORT_STYLE = [
    ("flax.nnx.", ("from flax import nnx", "nnx.")),
    ("jax.numpy.", ("import jax.numpy as jnp", "jnp.")),
    ("jax.", ("import jax", "jax.")),
    ("optax.", ("import optax", "optax.")),
    ("numpy.", ("import numpy as np", "np.")),
    ("functools.", ("import functools", "functools.")),
    ("math.", ("import math", "math.")),
    ("os.", ("import os", "os.")),
    ("orbax.checkpoint.", ("import orbax.checkpoint as ocp", "ocp.")),
    ("torch.utils.data.default_collate", ("from torch.utils.data import default_collate", "default_collate")),
]

# The order imports are written in (stdlib first, then third party, as isort would).
IMPORT_ORDER = [
    "import functools",
    "import math",
    "import os",
    "import jax",
    "import jax.numpy as jnp",
    "import numpy as np",
    "import optax",
    "import orbax.checkpoint as ocp",
    "from flax import nnx",
    "from torch.utils.data import default_collate",
]


class Imports:
    """The imports the output needs, requested by whoever emits a name."""

    def __init__(self) -> None:
        self.needed: set[str] = set()

    def ref(self, qualified: str) -> cst.BaseExpression:
        """``flax.nnx.Linear`` -> the expression ``nnx.Linear``, its import recorded."""
        for prefix, (stmt, local) in IMPORT_STYLE:
            if qualified.startswith(prefix):
                self.needed.add(stmt)
                return parse_expr(local + qualified[len(prefix):])
        return parse_expr(qualified)

    def source(self, text: str) -> cst.BaseExpression:
        """An expression written with qualified names (``jax.numpy.float32``), in local names."""
        return parse_expr(text).visit(_QualifiedToLocal(self))


class _QualifiedToLocal(cst.CSTTransformer):
    def __init__(self, imports: Imports) -> None:
        self.imports = imports

    def leave_Attribute(self, original, updated):
        dotted = dotted_name(updated)
        if dotted and any(dotted.startswith(p) for p, _ in IMPORT_STYLE):
            return self.imports.ref(dotted)
        return updated


def settle_imports(module: cst.Module, table: ImportTable, needed: set[str], used: set[str],
                   made_unused: set[str] = frozenset()) -> cst.Module:
    """Drop torch imports nothing refers to any more (``used``: the names the output
    reads) and other imports the rewrite made unused; add the JAX ones asked for, where the
    torch imports were."""
    torch_locals = table.torch_names()
    have = ImportTable.from_module(module).aliases
    insert_at = None
    carried: list = []
    new_body = []
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(
            stmt.body[0], (cst.Import, cst.ImportFrom)
        ):
            kept = _prune_import(stmt.body[0], torch_locals, used, made_unused)
            if insert_at is None and _imports_any(stmt.body[0], torch_locals):
                insert_at = len(new_body)  # the JAX imports go where the torch ones were
            if kept is not stmt.body[0]:
                if kept is None:
                    carried += list(stmt.leading_lines)
                    continue
                stmt = stmt.with_changes(body=[kept])
        new_body.append(stmt)
    if insert_at is None:
        insert_at = _after_docstring_and_future(new_body)
    missing = [s for s in IMPORT_ORDER if s in needed and not _already(s, have)]
    statements = [cst.parse_statement(s + "\n") for s in missing]
    if statements:
        statements[0] = statements[0].with_changes(leading_lines=carried)
        carried = []
    if carried and insert_at < len(new_body):
        nxt = new_body[insert_at]
        new_body[insert_at] = nxt.with_changes(leading_lines=[*carried, *nxt.leading_lines])
    new_body[insert_at:insert_at] = statements
    if new_body and new_body[0] is not module.body[0] and not module.header:
        lines = list(new_body[0].leading_lines)  # a file does not start with blank lines
        while lines and lines[0].comment is None:
            lines.pop(0)
        new_body[0] = new_body[0].with_changes(leading_lines=lines)
    return module.with_changes(body=new_body)


def _already(statement: str, have: dict[str, str]) -> bool:
    if statement.startswith("from "):
        _, mod, _, name = statement.split()
        return have.get(name) == f"{mod}.{name}"
    parts = statement.split()
    if "as" in parts:
        return have.get(parts[-1]) == parts[1]
    return parts[1].split(".")[0] in have


def _imports_any(node, names: set[str]) -> bool:
    if isinstance(node.names, cst.ImportStar):
        return False
    return any(_local_name(alias) in names for alias in node.names)


def _local_name(alias: cst.ImportAlias) -> str:
    return alias.asname.name.value if alias.asname else cst.Module([]).code_for_node(alias.name).split(".")[0]


def _prune_import(node, torch_locals: set[str], used: set[str], made_unused: set[str]):
    """The import without its unused torch names and the names the rewrite made unused; None when nothing is left."""
    if isinstance(node.names, cst.ImportStar):
        return node
    keep = []
    for alias in node.names:
        local = _local_name(alias)
        if (local in torch_locals and local not in used) or local in made_unused:
            continue
        keep.append(alias)
    if len(keep) == len(node.names):
        return node
    if not keep:
        return None
    keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return node.with_changes(names=keep)


def _after_docstring_and_future(body) -> int:
    index = 0
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and (
            (i == 0 and isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, cst.SimpleString))
            or (
                isinstance(stmt.body[0], cst.ImportFrom)
                and isinstance(stmt.body[0].module, cst.Name)
                and stmt.body[0].module.value == "__future__"
            )
        ):
            index = i + 1
        else:
            break
    return index
