"""Comparing one array from each side (elementwise, ``|jax - torch| <= atol + rtol * |torch|``) and the
structure of nested outputs (tuples, dicts, tensors)."""

from __future__ import annotations

import math


def compare_arrays(name: str, actual, expected, rtol: float, atol: float, *, mode: str | None = None) -> dict:
    """One tensor's comparison: ``actual`` (JAX) against ``expected`` (torch), elementwise."""
    import numpy as np

    a, b = np.asarray(actual), np.asarray(expected)
    entry: dict = {"name": name, "shape": list(b.shape)}
    if mode:
        entry["mode"] = mode
    if a.shape != b.shape:
        entry.update(ok=False, max_abs_err=math.inf, max_rel_err=math.inf, tol_ratio=math.inf,
                     reason=f"shape differs: torch {tuple(b.shape)}, translation {tuple(a.shape)}")
        return entry
    entry["size"] = int(b.size)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
        bad = diff > 0
        tol = np.zeros_like(diff)
    else:
        a64 = a.astype(np.complex128 if "c" in (a.dtype.kind + b.dtype.kind) else np.float64)
        b64 = b.astype(a64.dtype)
        same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.where(same, 0.0, np.abs(a64 - b64))
        diff = np.where(np.isnan(diff), np.inf, diff)
        tol = atol + rtol * np.abs(np.where(np.isfinite(b64), b64, 0))
        bad = diff > tol
    mag = np.abs(b.astype(np.float64)) if b.dtype.kind != "c" else np.abs(b)
    big = mag > atol
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(diff == 0, 0.0, diff / np.where(tol > 0, tol, 0.0))
    entry.update(
        ok=not bool(bad.any()),
        max_abs_err=float(diff.max()) if diff.size else 0.0,
        max_rel_err=float((diff[big] / mag[big]).max()) if big.any() else 0.0,
        tol_ratio=float(np.nan_to_num(ratio, nan=np.inf).max()) if ratio.size else 0.0,
        bad_elements=int(bad.sum()),
    )
    return entry


def _kind(dtype) -> str:
    return {"b": "bool", "i": "int", "u": "int", "f": "float", "c": "complex"}.get(dtype.kind, dtype.kind)


def structure(obj, name: str, is_array, to_numpy, leaves: list) -> object:
    """A comparable signature of a (nested) output; fills ``leaves`` with (name, array)."""
    if is_array(obj):
        leaves.append((name, to_numpy(obj)))
        return ("tensor",)
    if obj is None:
        return ("none",)
    if isinstance(obj, (bool, int, float, complex)):
        import numpy as np

        leaves.append((name, np.asarray(obj)))
        return ("tensor",)
    if isinstance(obj, dict):
        return ("dict", {k: structure(v, f"{name}[{k!r}]", is_array, to_numpy, leaves) for k, v in obj.items()})
    if isinstance(obj, (tuple, list)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return (kind, [structure(v, f"{name}[{i}]", is_array, to_numpy, leaves) for i, v in enumerate(obj)])
    if hasattr(obj, "keys") and hasattr(obj, "__getitem__"):  # ModelOutput-like mappings
        return ("dict", {k: structure(obj[k], f"{name}[{k!r}]", is_array, to_numpy, leaves) for k in obj.keys()})
    return ("other", type(obj).__name__)


def _describe(sig) -> str:
    if sig[0] in ("tuple", "list"):
        return f"a {sig[0]} of {len(sig[1])}"
    if sig[0] == "dict":
        return f"a dict with keys {sorted(map(str, sig[1]))}"
    if sig[0] == "other":
        return f"a {sig[1]}"
    return {"tensor": "a tensor", "none": "None"}[sig[0]]


def structure_problems(t_sig, j_sig, name: str) -> list[str]:
    if t_sig[0] != j_sig[0]:
        return [f"`{name}`: torch returns {_describe(t_sig)}, the translation {_describe(j_sig)}"]
    if t_sig[0] in ("tuple", "list"):
        if len(t_sig[1]) != len(j_sig[1]):
            return [f"`{name}`: torch returns {_describe(t_sig)}, the translation {_describe(j_sig)}"]
        return [p for i, (a, b) in enumerate(zip(t_sig[1], j_sig[1])) for p in structure_problems(a, b, f"{name}[{i}]")]
    if t_sig[0] == "dict":
        if set(t_sig[1]) != set(j_sig[1]):
            return [f"`{name}`: torch returns {_describe(t_sig)}, the translation {_describe(j_sig)}"]
        return [p for k in t_sig[1] for p in structure_problems(t_sig[1][k], j_sig[1][k], f"{name}[{k!r}]")]
    if t_sig[0] == "other" and t_sig[1] != j_sig[1]:
        return [f"`{name}`: torch returns {_describe(t_sig)}, the translation {_describe(j_sig)}"]
    return []


def leaf_problems(t_leaves, j_leaves) -> list[str]:
    problems = []
    for (name, t), (_, j) in zip(t_leaves, j_leaves):
        if tuple(t.shape) != tuple(j.shape):
            problems.append(f"`{name}`: shape differs: torch {tuple(t.shape)}, translation {tuple(j.shape)}")
        if _kind(t.dtype) != _kind(j.dtype):
            problems.append(f"`{name}`: dtype kind differs: torch {t.dtype} ({_kind(t.dtype)}), translation {j.dtype} ({_kind(j.dtype)})")
    return problems
