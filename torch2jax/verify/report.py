"""The report: what each stage found, as a table for people and JSON for scripts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

STAGES = ("spec", "numeric", "behavioral")
RUNNING_VAR_NOTE = (
    "Flax BatchNorm keeps the biased batch variance in its running `var`, torch the unbiased one "
    "(torch2jax T2J104); train-mode outputs and loaded statistics match, the updated running variance does not. "
    "It is compared strictly as `running_var (bias-corrected)`: torch's update redone with the biased batch variance"
)


def jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "shape", None) == ():
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if math.isfinite(value) else str(value)
    return str(value)


@dataclass
class VerifyReport:
    source: str
    model: str
    inputs: list[str]
    translated: str | None = None
    mode: str = "both"
    rtol: float = 1e-4
    atol: float = 1e-5
    seed: int = 0
    stages: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    known_differences: list[dict] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)  # of what made a stage fail; printed by --debug

    @property
    def ok(self) -> bool:
        """Every stage that ran passed, and spec and numeric both ran (or, for a training run
        compared with --run, the behavioral stage ran)."""
        ran = [s for s in self.stages.values() if s.get("ok") is not None]
        if self.model.startswith("--run"):
            return self.stages.get("behavioral", {}).get("ok") is True
        return (
            self.stages.get("spec", {}).get("ok") is True
            and self.stages.get("numeric", {}).get("ok") is True
            and all(s["ok"] for s in ran)
        )

    def to_dict(self) -> dict:
        return jsonable(
            {
                "ok": self.ok,
                "source": self.source,
                "translated": self.translated,
                "model": self.model,
                "inputs": list(self.inputs),
                "mode": self.mode,
                "rtol": self.rtol,
                "atol": self.atol,
                "seed": self.seed,
                "stages": {name: self.stages.get(name, {"ok": None, "reason": "not run"}) for name in STAGES},
                "notes": list(self.notes),
                "known_differences": list(self.known_differences),
            }
        )

    def table(self) -> str:
        head = ("stage", "tensors", "worst", "max abs err", "max rel err", "tolerance", "verdict")
        rows = []
        for name in STAGES:
            st = self.stages.get(name, {"ok": None})
            verdict = "PASS" if st.get("ok") is True else "FAIL" if st.get("ok") is False else "not run"
            if name == "numeric" and st.get("ok") is not None:
                worst = st.get("worst")
                if worst and st.get("worst_mode"):
                    worst = f"{worst} ({st['worst_mode']})"
                rows.append(
                    (name, _fmt(len(st.get("tensors", []))), _fmt(worst), _fmt(st.get("max_abs_err")),
                     _fmt(st.get("max_rel_err")), f"atol={self.atol:g} rtol={self.rtol:g}", verdict)
                )
            elif name == "behavioral" and st.get("ok") is not None:
                steps = st.get("steps", {}).get("torch", "-")
                rows.append((name, _fmt(len(st.get("tensors", []))), _fmt(st.get("worst")), _fmt(st.get("max_abs_err")),
                             _fmt(st.get("max_rel_err")), f"atol={self.atol:g} rtol={self.rtol:g}",
                             f"{verdict} ({steps} steps)"))
            elif name == "spec" and st.get("ok") is not None:
                rows.append((name, _fmt(st.get("tensors")), _fmt(st.get("worst")), "-", "-", "exact", verdict))
            else:
                rows.append((name, "-", "-", "-", "-", "-", verdict))
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [f"torch2jax verify: {self.source}  model={self.model}  inputs={' '.join(self.inputs)}  mode={self.mode}"]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        details = []
        for name in STAGES:
            st = self.stages.get(name, {})
            if st.get("ok") is None and st.get("reason"):
                details.append(f"{name}: {st['reason']}")
            elif st.get("ok") is False:
                if st.get("reason"):
                    details.append(f"{name}: {st['reason']}")
                details += [f"{name}: {p}" for p in st.get("problems", [])[:20]]
                tensors = st.get("tensors") if isinstance(st.get("tensors"), list) else []
                for t in [t for t in tensors if not t["ok"]][:10]:
                    details.append(f"{name}: mismatch {_tensor_line(t)}")
        known = self.known_differences
        if len(known) > 3:
            worst = max(known, key=lambda k: k.get("max_abs_err", 0.0))
            details.append(
                f"known difference, not a failure: running_var of {len(known)} BatchNorm layers, "
                f"worst {_tensor_line(worst, reason=False)} (all listed in the JSON report)"
            )
        else:
            for kd in known:
                details.append(f"known difference, not a failure: {_tensor_line(kd, reason=False)}")
        details += self.notes
        if details:
            lines.append("")
            lines.append("notes:")
            lines += [f"  - {d}" for d in details]
        lines.append("")
        lines.append("verdict: " + ("PASS" if self.ok else "FAIL"))
        return "\n".join(lines)


def _tensor_line(t: dict, reason: bool = True) -> str:
    where = f" ({t['mode']})" if t.get("mode") else ""
    text = f"{t['name']}{where}"
    if t.get("reason") and "max_abs_err" not in t:
        return f"{text}: {t['reason']}"
    text += f": max abs err {_fmt(t.get('max_abs_err'))}, max rel err {_fmt(t.get('max_rel_err'))}"
    if t.get("bad_elements"):
        text += f", {t['bad_elements']} of {t['size']} elements outside tolerance"
    if reason and t.get("reason"):
        text += f" ({t['reason']})"
    return text
