"""Libraries that only work with torch (torchvision's models and ops, torchaudio, torchtext,
``einops.layers.torch`` layers with no rule): reported where they are imported by name and where
they are called, so a translation that still needs torch at run time says so. Data pipelines stay
torch by design (``torch.utils.data``), so ``torchvision.datasets`` / ``transforms`` are quiet, and
so is a bare ``import torchvision`` (what it is used for shows at the calls).

``from einops.layers.torch import Rearrange, Reduce`` becomes ``import einops``: those layers
become the einops functions (see ``einops_layers``), which work on JAX arrays."""

from __future__ import annotations

import libcst as cst

from torch2jax.names import dotted_name
from torch2jax.registry import on_leave, on_statement
from torch2jax.state import State

TORCH_ONLY = ("torchvision", "torchaudio", "torchtext")
DATA_PIPELINE = ("torchvision.datasets", "torchvision.transforms", "torchvision.io")
EINOPS_TORCH = "einops.layers.torch"


def _torch_only(full: str) -> bool:
    if full.split(".")[0] not in TORCH_ONLY or full in TORCH_ONLY:
        return False
    return not any(full == p or full.startswith(p + ".") for p in DATA_PIPELINE)


def _report(state: State, names: list[str], node) -> None:
    shown = ", ".join(f"`{n}`" for n in names)
    state.report("T2J901", f"{shown} works with torch only (torch modules and tensors); left as is, "
                 "so the translation still needs torch here", node=node)


@on_statement(cst.Import, cst.ImportFrom)
def torch_only_import(state: State, original, updated):
    if isinstance(original, cst.ImportFrom) and not original.relative and original.module is not None \
            and dotted_name(original.module) == EINOPS_TORCH and not isinstance(original.names, cst.ImportStar):
        names = [f"{EINOPS_TORCH}.{dotted_name(a.name)}" for a in original.names]
        missing = [n for n in names if state.rules.get(n) is None]
        if missing:
            _report(state, missing, original)
            return None
        return cst.Import(names=[cst.ImportAlias(name=cst.Name("einops"))])
    if isinstance(original, cst.Import):
        if [dotted_name(a.name) for a in original.names] == [EINOPS_TORCH] and original.names[0].asname is None:
            return updated.with_changes(names=[cst.ImportAlias(name=cst.Name("einops"))])  # binds `einops`
        names = [dotted_name(a.name) or "" for a in original.names]
    elif original.module is None or original.relative or isinstance(original.names, cst.ImportStar):
        return None
    else:
        base = dotted_name(original.module) or ""
        names = [f"{base}.{dotted_name(a.name)}" for a in original.names]
    reported = [n for n in names if _torch_only(n)]
    if reported:
        _report(state, reported, original)
    return None


@on_leave(cst.Call)
def torch_only_call(state: State, original: cst.Call, updated: cst.Call):
    qname = state.qualify(original.func)
    if qname is None or not _torch_only(qname):
        return None
    head = (dotted_name(original.func) or "").split(".")[0]
    if not _torch_only(state.facts.imports.aliases.get(head, "")):  # not already reported at its import
        _report(state, [qname], original)
    return None
