"""Telling float32 rounding from a wrong translation.

A deep network's gradients in float32 carry rounding that grows with depth (a ResNet-50's reach 2e-5
against an atol of 1e-5) although the translation is right, and a ReLU whose input is within rounding
of zero can go either way in the two frameworks, which changes that gradient path outright (a
torchvision ResNet-18 at 64x64: 1,014 of 2.4 million kernel gradients 10^4 tolerances off, and every
layer before it). So when the numeric stage fails on float tensors, both sides are run again in float64
(jax_enable_x64, torch's default dtype float64, the same weights and inputs): rounding disappears
there, a translation error does not. The float32 verdict stands unless every tensor agrees in float64;
the report keeps both. Training compared step by step (the behavioral stage) is re-checked the same
way: Adam divides a gradient by its own running magnitude, so float32 noise in a gradient that is zero
in exact arithmetic becomes a step of the learning rate's size.
"""

from __future__ import annotations


def rounding_suspect(numeric: dict) -> bool:
    """A numeric stage that failed on float tensors compared as such (not on a known difference)."""
    if numeric.get("ok") is not False:
        return False
    failed = [t for t in numeric.get("tensors", []) if not t.get("ok", True)]
    return bool(failed) and all("reason" not in t and "tol_ratio" in t for t in failed)


def settle_with_float64(numeric: dict, numeric64: dict, notes: list[str]) -> None:
    """Record the float64 re-check in the numeric stage, and pass it when float64 agrees everywhere."""
    failed = [t for t in numeric.get("tensors", []) if not t.get("ok", True)]
    tensors64 = numeric64.get("tensors", [])
    worst64 = max(tensors64, key=lambda t: t.get("tol_ratio", 0.0), default=None)
    numeric["float64_recheck"] = {
        "ok": bool(numeric64.get("ok")),
        "tensors": len(tensors64),
        "worst": worst64["name"] if worst64 else None,
        "max_abs_err": max((t.get("max_abs_err", 0.0) for t in tensors64), default=None),
        "reason": numeric64.get("reason"),
    }
    if not numeric64.get("ok") or len(tensors64) != len(numeric.get("tensors", [])):
        notes.append("float64 re-check: the mismatch remains when both sides compute in float64, so it is "
                     "not float32 rounding" if numeric64.get("ok") is False else
                     f"float64 re-check could not decide: {numeric64.get('reason', 'it did not run')}")
        return
    numeric["ok"] = True
    numeric["float32_failed"] = numeric.get("failed", [t["name"] for t in failed])
    numeric["failed"] = []
    numeric.pop("reason", None)
    notes.append(
        f"float32 rounding: {len(failed)} tensor(s) outside the float32 tolerance (worst "
        f"{numeric.get('worst')}: {numeric.get('max_abs_err', 0):.3g}) agree when both sides compute in "
        f"float64 (max abs err {numeric['float64_recheck']['max_abs_err']:.3g} over {len(tensors64)} tensors); "
        "the translation is right and float32 rounding accounts for the difference")


def widened(value):
    """Float32 arrays (in tuples, lists and dicts) as float64, for the re-check; anything else as it is."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.astype(np.float64) if value.dtype == np.float32 else value
    if isinstance(value, (list, tuple)):
        return type(value)(widened(v) for v in value)
    if isinstance(value, dict):
        return {k: widened(v) for k, v in value.items()}
    return value


def behavioral_suspect(behavioral: dict) -> bool:
    """Training compared step by step that failed only on values (no run error, no structural problem)."""
    if behavioral.get("ok") is not False or behavioral.get("problems") or "reason" in behavioral:
        return False
    return bool(behavioral.get("failed"))


def settle_behavioral_with_float64(behavioral: dict, behavioral64: dict, notes: list[str]) -> None:
    """Pass training that agrees when both sides compute in float64; keep the float32 verdict otherwise."""
    behavioral["float64_recheck"] = {
        "ok": bool(behavioral64.get("ok")),
        "worst": behavioral64.get("worst"),
        "max_abs_err": behavioral64.get("max_abs_err"),
        "reason": behavioral64.get("reason"),
    }
    if not behavioral64.get("ok"):
        notes.append("behavioral float64 re-check: the training runs still differ when both sides compute in "
                     "float64, so it is not float32 rounding" if behavioral64.get("reason") is None else
                     f"behavioral float64 re-check could not decide: {behavioral64['reason']}")
        return
    behavioral["ok"] = True
    behavioral["float32_failed"], behavioral["failed"] = behavioral["failed"], []
    notes.append(f"float32 rounding in training: {len(behavioral['float32_failed'])} value(s) outside the float32 "
                 f"tolerance (worst {behavioral.get('worst')}: {behavioral.get('max_abs_err', 0):.3g}) agree when both "
                 f"sides train in float64 (max abs err {behavioral64.get('max_abs_err') or 0:.3g}); the translation is right")
