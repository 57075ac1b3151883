"""``torch2jax verify``: prove a translation numerically equivalent to its PyTorch source.

The PyTorch file and its translation (made here with ``convert_source``, or read
from ``translated``) are both executed in fresh module objects -- nothing is
written next to the user's files -- the same model is built on both sides, the
torch weights are copied into the NNX model, and the two are run on the same
inputs. Stages, each run only when the one before it passed:

spec
    both files import, the model builds on both sides, every torch parameter and
    buffer has exactly one place in the translation (the weight-transfer plan),
    and the forward outputs have the same structure, shapes and kinds.
numeric
    forward outputs in eval and/or train mode, running statistics after a
    train-mode forward, and the gradients of a scalar loss with respect to every
    parameter and every float input, each compared element by element with
    ``|jax - torch| <= atol + rtol * |torch|``.
behavioral
    optimizer-step comparison; arrives with the training-loop translation.

This module imports only the standard library at import time (the CLI builds its
parser from it); torch, jax, flax and numpy are imported when a check runs.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import contextlib
import itertools
import json
import linecache
import math
import os
import re
import sys
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

STAGES = ("spec", "numeric", "behavioral")
BEHAVIORAL_NOT_RUN = "not run: optimizer-step comparison arrives with the training-loop translation"
RUNNING_VAR_NOTE = (
    "Flax BatchNorm keeps the biased batch variance in its running `var`, torch the unbiased one "
    "(torch2jax T2J104); train-mode outputs and loaded statistics match, the updated running variance does not. "
    "It is compared strictly as `running_var (bias-corrected)`: torch's update redone with the biased batch variance"
)
DEFAULT_INT_RANGE = (0, 10)
_RNGS_NAME = "__torch2jax_verify_rngs__"
_counter = itertools.count()


class VerifyError(Exception):
    """The check could not run: missing file, bad input spec, model expression or import failure."""


# ---------------------------------------------------------------------- input specs

_SPEC_RE = re.compile(
    r"^\s*(?P<dtype>float32|float64|int32|int64|bool)\s*\[(?P<shape>[^\]]*)\]"
    r"\s*(?::\s*(?P<low>[-+0-9.eE]+)\s*\.\.\s*(?P<high>[-+0-9.eE]+))?\s*$"
)

SPEC_HELP = (
    "DTYPE[SHAPE] or DTYPE[SHAPE]:LOW..HIGH, DTYPE one of float32, float64, int32, int64, bool; "
    "e.g. float32[2,3,32,32], int64[4,16]:0..10000 (integers in [LOW, HIGH), default 0..10), "
    "float32[4,16]:-1e-3..1e-3 (uniform; without a range floats are standard normal)"
)


@dataclass(frozen=True)
class InputSpec:
    """One model input: dtype, shape and (for ints, optionally floats) the half-open value range."""

    text: str
    dtype: str
    shape: tuple[int, ...]
    low: float | int | None = None
    high: float | int | None = None

    @property
    def is_float(self) -> bool:
        return self.dtype.startswith("float")


def parse_input_spec(text: str) -> InputSpec:
    """``float32[2,3,32,32]``, ``int64[4,16]:0..10000``, ``bool[4,16]``; raises VerifyError."""
    match = _SPEC_RE.match(text)
    if not match:
        raise VerifyError(f"bad input spec {text!r}: expected {SPEC_HELP}")
    dtype = match["dtype"]
    dims = [d.strip() for d in match["shape"].split(",")] if match["shape"].strip() else []
    if not all(re.fullmatch(r"\d+", d) for d in dims):
        raise VerifyError(f"bad input spec {text!r}: the shape must be non-negative integers separated by commas")
    shape = tuple(int(d) for d in dims)
    low = high = None
    if match["low"] is not None:
        if dtype == "bool":
            raise VerifyError(f"bad input spec {text!r}: bool inputs take no range")
        try:
            if dtype.startswith("int"):
                low, high = int(match["low"]), int(match["high"])
            else:
                low, high = float(match["low"]), float(match["high"])
        except ValueError:
            kind = "integers" if dtype.startswith("int") else "numbers"
            raise VerifyError(f"bad input spec {text!r}: the range bounds must be {kind}") from None
        if not low < high:
            raise VerifyError(f"bad input spec {text!r}: the range LOW..HIGH is half-open and needs LOW < HIGH")
    elif dtype.startswith("int"):
        low, high = DEFAULT_INT_RANGE
    return InputSpec(text.strip(), dtype, shape, low, high)


def make_inputs(specs: list[InputSpec], seed: int) -> list:
    """numpy arrays drawn once from ``numpy.random.default_rng(seed)``, in spec order."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for spec in specs:
        if spec.dtype == "bool":
            out.append(rng.random(spec.shape) < 0.5)
        elif spec.dtype.startswith("int"):
            out.append(rng.integers(spec.low, spec.high, size=spec.shape, dtype=np.int64).astype(spec.dtype))
        elif spec.low is not None:
            out.append(rng.uniform(spec.low, spec.high, size=spec.shape).astype(spec.dtype))
        else:
            out.append(rng.standard_normal(spec.shape).astype(spec.dtype))
    return out


# ---------------------------------------------------------------------- loading user code


@contextlib.contextmanager
def _import_context(dirs: list[Path]):
    """Sibling imports resolve from ``dirs``; no bytecode is written; siblings are not cached after."""
    dirs = [str(d) for d in dict.fromkeys(dirs)]
    before = set(sys.modules)
    saved_path = list(sys.path)
    saved_bytecode = sys.dont_write_bytecode
    sys.path[:0] = dirs
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.path[:] = saved_path
        sys.dont_write_bytecode = saved_bytecode
        for name in set(sys.modules) - before:
            module_file = getattr(sys.modules.get(name), "__file__", None) or ""
            if any(os.path.dirname(os.path.abspath(module_file)) == d for d in dirs):
                del sys.modules[name]


def load_module(
    path, *, code: str | None = None, tag: str = "module", extra_dirs=(), display: str | None = None
) -> types.ModuleType:
    """Execute ``code`` (default: the file's text) as a fresh module whose ``__file__`` is ``path``.

    ``display`` names the code in tracebacks when it is not the file's own text
    (e.g. ``<translation of model.py>``). The module is registered in
    ``sys.modules`` under a private unique name (some libraries, e.g. dataclasses,
    look a class's module up there). Exceptions from the code propagate.
    """
    path = Path(path).resolve()
    if code is None:
        code = path.read_text(encoding="utf-8")
    name = f"_torch2jax_verify_{tag}_{next(_counter)}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__builtins__ = builtins
    if display is not None:
        linecache.cache[display] = (len(code), None, code.splitlines(keepends=True), display)
    compiled = compile(code, display or str(path), "exec")
    sys.modules[name] = module
    try:
        with _import_context([*(Path(d).resolve() for d in extra_dirs), path.parent]):
            exec(compiled, module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _where(exc: BaseException, path) -> str:
    """`` (at FILE:LINE)`` for the innermost frame in ``path`` (a file, or a ``display`` name), if any."""
    names = {str(path)} | ({str(Path(path).resolve())} if not str(path).startswith("<") else set())
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in names]
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f" (at {path}:{exc.lineno})"
    return f" (at {path}:{frames[-1].lineno})" if frames else ""


def _exc_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _model_exprs(expr: str):
    """(torch expression, JAX expression with ``rngs=`` added to the outermost call)."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise VerifyError(f"--model {expr!r} is not a Python expression: {exc.msg}") from None
    torch_code = compile(tree, "<--model>", "eval")
    jax_tree = ast.parse(expr.strip(), mode="eval")
    body = jax_tree.body
    if isinstance(body, ast.Call) and not any(k.arg == "rngs" for k in body.keywords):
        body.keywords.append(ast.keyword(arg="rngs", value=ast.Name(id=_RNGS_NAME, ctx=ast.Load())))
    ast.fix_missing_locations(jax_tree)
    return torch_code, compile(jax_tree, "<--model>", "eval"), isinstance(body, ast.Call)


# ---------------------------------------------------------------------- report


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
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

    @property
    def ok(self) -> bool:
        """Every stage that ran passed, and spec and numeric both ran."""
        ran = [s for s in self.stages.values() if s.get("ok") is not None]
        return (
            self.stages.get("spec", {}).get("ok") is True
            and self.stages.get("numeric", {}).get("ok") is True
            and all(s["ok"] for s in ran)
        )

    def to_dict(self) -> dict:
        return _jsonable(
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


# ---------------------------------------------------------------------- comparing


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


def _structure(obj, name: str, is_array, to_numpy, leaves: list) -> object:
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
        return ("dict", {k: _structure(v, f"{name}[{k!r}]", is_array, to_numpy, leaves) for k, v in obj.items()})
    if isinstance(obj, (tuple, list)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return (kind, [_structure(v, f"{name}[{i}]", is_array, to_numpy, leaves) for i, v in enumerate(obj)])
    if hasattr(obj, "keys") and hasattr(obj, "__getitem__"):  # ModelOutput-like mappings
        return ("dict", {k: _structure(obj[k], f"{name}[{k!r}]", is_array, to_numpy, leaves) for k in obj.keys()})
    return ("other", type(obj).__name__)


def _describe(sig) -> str:
    if sig[0] in ("tuple", "list"):
        return f"a {sig[0]} of {len(sig[1])}"
    if sig[0] == "dict":
        return f"a dict with keys {sorted(map(str, sig[1]))}"
    if sig[0] == "other":
        return f"a {sig[1]}"
    return {"tensor": "a tensor", "none": "None"}[sig[0]]


def _structure_problems(t_sig, j_sig, name: str) -> list[str]:
    if t_sig[0] != j_sig[0]:
        return [f"`{name}`: torch returns {_describe(t_sig)}, the translation {_describe(j_sig)}"]
    if t_sig[0] in ("tuple", "list"):
        if len(t_sig[1]) != len(j_sig[1]):
            return [f"`{name}`: torch returns {_describe(t_sig)}, the translation {_describe(j_sig)}"]
        return [p for i, (a, b) in enumerate(zip(t_sig[1], j_sig[1])) for p in _structure_problems(a, b, f"{name}[{i}]")]
    if t_sig[0] == "dict":
        if set(t_sig[1]) != set(j_sig[1]):
            return [f"`{name}`: torch returns {_describe(t_sig)}, the translation {_describe(j_sig)}"]
        return [p for k in t_sig[1] for p in _structure_problems(t_sig[1][k], j_sig[1][k], f"{name}[{k!r}]")]
    if t_sig[0] == "other" and t_sig[1] != j_sig[1]:
        return [f"`{name}`: torch returns {_describe(t_sig)}, the translation {_describe(j_sig)}"]
    return []


def _leaf_problems(t_leaves, j_leaves) -> list[str]:
    problems = []
    for (name, t), (_, j) in zip(t_leaves, j_leaves):
        if tuple(t.shape) != tuple(j.shape):
            problems.append(f"`{name}`: shape differs: torch {tuple(t.shape)}, translation {tuple(j.shape)}")
        if _kind(t.dtype) != _kind(j.dtype):
            problems.append(f"`{name}`: dtype kind differs: torch {t.dtype} ({_kind(t.dtype)}), translation {j.dtype} ({_kind(j.dtype)})")
    return problems


# ---------------------------------------------------------------------- the two sides


class _Torch:
    def __init__(self):
        import torch

        self.torch = torch

    def is_array(self, x) -> bool:
        return isinstance(x, self.torch.Tensor)

    def to_numpy(self, x):
        x = x.detach().cpu()
        if x.dtype in (self.torch.bfloat16, self.torch.float16):
            x = x.float()
        return x.numpy().copy()

    def inputs(self, arrays):
        return [self.torch.from_numpy(a.copy()) for a in arrays]

    def dropout_layers(self, model) -> list:
        nn = self.torch.nn
        return [m for m in model.modules() if isinstance(m, (nn.modules.dropout._DropoutNd, nn.MultiheadAttention))]


class _Jax:
    def __init__(self):
        import jax
        import jax.numpy as jnp
        from flax import nnx

        self.jax, self.jnp, self.nnx = jax, jnp, nnx

    def is_array(self, x) -> bool:
        import numpy as np

        return isinstance(x, (self.jax.Array, np.ndarray, np.generic))

    def to_numpy(self, x):
        import numpy as np

        return np.array(x)

    def inputs(self, arrays):
        return [self.jnp.asarray(a) for a in arrays]  # int64 -> int32, float64 -> float32 without x64

    def dropout_layers(self, model) -> list:
        nnx = self.nnx
        return [n for _, n in nnx.iter_graph(model) if isinstance(n, (nnx.Dropout, nnx.MultiHeadAttention))]


@contextlib.contextmanager
def _numerics():
    """Highest matmul precision, no TF32, both sides on CPU; restored afterwards."""
    import jax
    import torch

    old_prec = jax.config.jax_default_matmul_precision
    old_tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    old_f32 = torch.get_float32_matmul_precision()
    jax.config.update("jax_default_matmul_precision", "highest")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        with jax.default_device(jax.devices("cpu")[0]), torch.random.fork_rng(devices=[]):
            yield
    finally:
        jax.config.update("jax_default_matmul_precision", old_prec)
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old_tf32
        torch.set_float32_matmul_precision(old_f32)


@contextlib.contextmanager
def _dropout_off(torch_layers, jax_layers):
    """Set every dropout rate to 0 (torch ``p``/``dropout``, NNX ``rate``/``dropout_rate``) for the block."""
    saved = []
    for layer in [*torch_layers, *jax_layers]:
        for attr in ("p", "dropout", "rate", "dropout_rate"):
            if isinstance(getattr(layer, attr, None), (int, float)) and not isinstance(getattr(layer, attr), bool):
                saved.append((layer, attr, getattr(layer, attr)))
                setattr(layer, attr, 0.0)
                break
    try:
        yield
    finally:
        for layer, attr, value in saved:
            setattr(layer, attr, value)


def _perturb_constant_tensors(model, seed: int) -> list[str]:
    """Give every constant-initialised float parameter/buffer (BatchNorm's ones and zeros,
    a zero bias, ...) random values, so that a mapping that mixes them up cannot pass."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed + 7919)
    changed = []
    seen = set()
    named = list(model.named_parameters(remove_duplicate=False)) + list(model.named_buffers(remove_duplicate=False))
    with torch.no_grad():
        for name, t in named:
            if t is None or id(t) in seen or not t.is_floating_point() or t.numel() == 0:
                continue
            seen.add(id(t))
            if bool((t == t.reshape(-1)[0]).all()):
                c = float(t.reshape(-1)[0])
                if c > 0:
                    noise = torch.from_numpy(rng.uniform(0.5, 1.5, size=tuple(t.shape))).to(t.dtype)
                    t.mul_(noise)
                else:
                    t.add_(torch.from_numpy(rng.normal(0.0, 0.1, size=tuple(t.shape))).to(t.dtype))
                changed.append(name)
    return changed


# ---------------------------------------------------------------------- verify


def verify(
    source_path,
    model: str,
    inputs,
    *,
    translated=None,
    mode: str = "both",
    rtol: float = 1e-4,
    atol: float = 1e-5,
    seed: int = 0,
    loss: str | None = None,
    rules=None,
    perturb_constants: bool = True,
) -> VerifyReport:
    """Run the spec / numeric / behavioral checks of ``model`` from ``source_path`` against its translation.

    ``model`` is an expression evaluated in the PyTorch file's namespace (and, with
    ``rngs=nnx.Rngs(seed)`` added to its outermost call, in the translation's);
    ``inputs`` are spec strings (see ``parse_input_spec``) or numpy arrays.
    ``loss``, if given, is an expression over ``out`` that must work on both torch
    tensors and JAX arrays (e.g. ``(out ** 2).mean()``); the default is the sum of
    every float output. ``perturb_constants`` gives constant-initialised tensors
    random values first (see notes in the report).

    Raises VerifyError when the check cannot run; a translation that fails to
    import, build or run is reported as a failed stage instead.
    """
    if mode not in ("train", "eval", "both"):
        raise VerifyError(f"mode must be train, eval or both, not {mode!r}")
    source = Path(source_path)
    if not source.is_file():
        raise VerifyError(f"{source}: no such file" if not source.exists() else f"{source}: not a file")
    try:
        import flax  # noqa: F401
        import jax  # noqa: F401
        import numpy as np
        import torch  # noqa: F401
    except ImportError as exc:
        raise VerifyError(f"{exc.name or exc} is not installed; pip install 'torch2jax[verify]'") from None
    specs = []
    for item in inputs:
        if isinstance(item, str):
            specs.append(parse_input_spec(item))
        else:
            arr = np.asarray(item)
            specs.append(InputSpec(f"{arr.dtype}{list(arr.shape)}", str(arr.dtype), tuple(arr.shape)))
    drawn = iter(make_inputs([s for s, item in zip(specs, inputs) if isinstance(item, str)], seed))
    arrays = [next(drawn) if isinstance(item, str) else np.asarray(item) for item in inputs]

    report = VerifyReport(
        str(source), model, [s.text for s in specs], translated=str(translated) if translated else None,
        mode=mode, rtol=rtol, atol=atol, seed=seed,
    )
    torch_code, jax_code, is_call = _model_exprs(model)
    with _numerics():
        _Run(report, source, torch_code, jax_code, is_call, specs, arrays, translated, loss, rules,
             perturb_constants).run()
    for name in STAGES:
        report.stages.setdefault(name, {"ok": None, "reason": "not run"})
    return report


class _StageFailed(Exception):
    pass


def _first_name(problems: list[str]) -> str:
    """The tensor named (in backticks) by the first problem."""
    parts = problems[0].split("`")
    return parts[1] if len(parts) > 2 else problems[0]


def _apply(model, *inputs):
    return model(*inputs)


class _Run:
    def __init__(self, report, source, torch_code, jax_code, is_call, specs, arrays, translated, loss, rules, perturb):
        self.r, self.source = report, source
        self.torch_code, self.jax_code, self.is_call = torch_code, jax_code, is_call
        self.specs, self.arrays = specs, arrays
        self.translated, self.loss, self.rules, self.perturb = translated, loss, rules, perturb
        self.T, self.J = _Torch(), _Jax()
        self.use_jit = True

    # -- orchestration

    def run(self) -> None:
        r = self.r
        spec = {"ok": False}
        r.stages["spec"] = spec
        try:
            self.spec(spec)
            spec["ok"] = True
        except _StageFailed as exc:
            spec["reason"] = str(exc)
        if spec["ok"]:
            numeric = {"ok": False}
            r.stages["numeric"] = numeric
            self.numeric(numeric)
        else:
            r.stages["numeric"] = {"ok": None, "reason": "not run: the spec stage failed"}
        r.stages["behavioral"] = {"ok": None, "reason": BEHAVIORAL_NOT_RUN}

    # -- spec

    def _load_torch(self):
        try:
            return load_module(self.source, tag="torch")
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise VerifyError(f"could not import {self.source}: {_exc_text(exc)}{_where(exc, self.source)}") from exc

    def _translation(self) -> tuple[str, Path, list[Path], str | None]:
        """(code, the file it stands for, extra import dirs, display name for in-memory code)."""
        from torch2jax.convert import atomic_write, convert_source

        r = self.r
        out = Path(self.translated) if self.translated else None
        if out is not None and out.is_file():
            r.notes.append(f"translation read from {out}")
            return out.read_text(encoding="utf-8"), out, [out.resolve().parent], None
        text = self.source.read_text(encoding="utf-8")
        result = convert_source(text, filename=str(self.source), rules=self.rules)
        if not result.ok:
            raise VerifyError(f"{self.source} could not be translated: " + "; ".join(d.message for d in result.diagnostics))
        attention = [d for d in result.diagnostics if d.needs_attention]
        r.notes.append(
            f"translated in-process with convert_source: {len(result.diagnostics)} diagnostic(s)"
            + (f", {len(attention)} needing attention (run `torch2jax convert` to see them)" if attention else "")
        )
        if out is not None:
            atomic_write(out, result.code)
            r.notes.append(f"translation written to {out}")
        return result.code, self.source, [], f"<translation of {self.source}>"

    def spec(self, st: dict) -> None:
        T, J, torch = self.T, self.J, self.T.torch
        nnx = J.nnx
        tmod = self._load_torch()
        code, jfile, extra, display = self._translation()
        jpath = self.jpath = display or jfile
        try:
            jmod = load_module(jfile, code=code, tag="jax", extra_dirs=extra, display=display)
        except Exception as exc:
            raise _StageFailed(f"the translation does not import: {_exc_text(exc)}{_where(exc, jpath)}") from exc

        torch.manual_seed(self.r.seed)
        try:
            tmodel = eval(self.torch_code, dict(vars(tmod)))
            is_object = not self.is_call and not isinstance(tmodel, type)
            if isinstance(tmodel, type):
                tmodel = tmodel()
        except Exception as exc:
            raise VerifyError(f"--model {self.r.model!r} failed on the PyTorch side: {_exc_text(exc)}{_where(exc, self.source)}") from exc
        if not isinstance(tmodel, torch.nn.Module):
            raise VerifyError(f"--model {self.r.model!r} is a {type(tmodel).__name__}, not a torch.nn.Module")
        try:
            jmodel = self._build_jax(jmod)
        except Exception as exc:
            raise _StageFailed(f"the model does not build in the translation: {_exc_text(exc)}{_where(exc, jpath)}") from exc
        if not isinstance(jmodel, nnx.Module):
            raise _StageFailed(f"the translation's model is a {type(jmodel).__name__}, not an nnx.Module")
        if is_object:
            self.r.notes.append("--model names a module-level object: the translation's object was used as built there")

        if self.perturb:
            changed = _perturb_constant_tensors(tmodel, self.r.seed)
            if changed:
                self.r.notes.append(
                    f"{len(changed)} constant-initialised torch tensor(s) given random values before the transfer "
                    "so that they are checked (e.g. BatchNorm/LayerNorm weight, bias, running stats)"
                )
        self.tmodel, self.jmodel = tmodel, jmodel
        self.param_names = {n for n, p in tmodel.named_parameters(remove_duplicate=False)}
        from torch2jax.weights import plan_transfer, torch_tensors

        plan, problems = plan_transfer(jmodel, torch_tensors(tmodel), self.rules)
        st["weights"] = len(plan)
        if problems:
            st["problems"] = problems
            st["worst"] = _first_name(problems)
            raise _StageFailed(f"{len(problems)} weight-transfer problem(s): the parameters do not map one to one")
        import numpy as np

        self.plan = [(k, v, np.array(a, copy=True)) for k, v, a in plan]
        self.torch_state = {k: v.detach().clone() for k, v in tmodel.state_dict().items()}
        self._load_weights()

        self.t_in, self.j_in = T.inputs(self.arrays), J.inputs(self.arrays)
        if any(s.dtype == "float64" for s in self.specs) and not J.jax.config.jax_enable_x64:
            self.r.notes.append("float64 inputs are float64 in torch and float32 in JAX (jax_enable_x64 is off)")
        tmodel.eval()
        jmodel.eval()
        t_sig, t_leaves = self._torch_forward()
        try:
            j_sig, j_leaves = self._jax_forward(self.j_in)
        except Exception as exc:
            raise _StageFailed(f"the translation's forward (eval mode) raised {_exc_text(exc)}{_where(exc, jpath)}") from exc
        problems = _structure_problems(t_sig, j_sig, "output") or _leaf_problems(t_leaves, j_leaves)
        st["tensors"] = len(plan) + len(t_leaves)
        st["outputs"] = [{"name": n, "shape": list(a.shape), "dtype": str(a.dtype)} for n, a in t_leaves]
        if problems:
            st["problems"] = problems
            st["worst"] = _first_name(problems)
            raise _StageFailed("the forward outputs differ in structure, shape or dtype")
        self.eval_outputs = (t_leaves, j_leaves)

    # -- helpers

    def _build_jax(self, jmod):
        """Build the translation's model; abstractly when possible (``nnx.eval_shape``: no
        initializer runs, every planned variable is overwritten by a torch tensor anyway)."""
        jax, nnx = self.J.jax, self.J.nnx
        import numpy as np

        def namespace():
            ns = dict(vars(jmod))
            ns[_RNGS_NAME] = nnx.Rngs(self.r.seed)
            return ns

        if self.is_call:
            def build():
                return eval(self.jax_code, namespace())
        else:
            obj = eval(self.jax_code, namespace())
            if not isinstance(obj, type):  # a module-level object: take it as it is
                return obj

            def build():
                return obj(rngs=nnx.Rngs(self.r.seed))

        try:
            abstract = nnx.eval_shape(build)
        except Exception:
            return build()  # raises again, eagerly, with the user-facing error
        if not isinstance(abstract, nnx.Module):
            return build()
        fills = []
        for _, node in nnx.iter_graph(abstract):
            if isinstance(node, nnx.Variable):
                value = node.get_value()
                if isinstance(value, jax.ShapeDtypeStruct):
                    if jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
                        key = jax.random.key(self.r.seed)
                        fills.append((node, key if value.shape == () else jax.random.split(key, value.shape)))
                    else:
                        fills.append((node, np.zeros(value.shape, value.dtype)))
            elif isinstance(node, jax.ShapeDtypeStruct):  # an array attribute outside a Variable
                return build()
        for node, value in fills:
            node.set_value(value)
        return abstract

    def _call_jax(self, fn, *args):
        """``fn(*args)`` under ``nnx.jit``; eagerly if the translation does not trace."""
        if self.use_jit:
            try:
                return self.J.nnx.jit(fn)(*args)
            except self.J.jax.errors.JAXTypeError as exc:
                self.use_jit = False
                self.r.notes.append(
                    f"the translation does not trace under jax.jit ({type(exc).__name__}); it was compared eagerly"
                )
        return fn(*args)

    def _load_weights(self) -> None:
        jnp = self.J.jnp
        self.tmodel.load_state_dict(self.torch_state)
        for _, variable, array in self.plan:
            variable.set_value(jnp.array(array))

    def _torch_forward(self, inputs=None, grad=False):
        torch = self.T.torch
        try:
            with torch.enable_grad() if grad else torch.no_grad():
                out = self.tmodel(*(inputs if inputs is not None else self.t_in))
        except Exception as exc:
            raise VerifyError(f"the PyTorch model's forward raised {_exc_text(exc)}{_where(exc, self.source)}") from exc
        if grad:
            return out
        leaves: list = []
        return _structure(out, "output", self.T.is_array, self.T.to_numpy, leaves), leaves

    def _jax_forward(self, inputs):
        out = self._call_jax(_apply, self.jmodel, *inputs)
        leaves: list = []
        return _structure(out, "output", self.J.is_array, self.J.to_numpy, leaves), leaves

    def _compare_outputs(self, t_leaves, j_leaves, mode) -> list[dict]:
        return [compare_arrays(n, j, t, self.r.rtol, self.r.atol, mode=mode) for (n, t), (_, j) in zip(t_leaves, j_leaves)]

    # -- numeric

    def numeric(self, st: dict) -> None:
        r = self.r
        tensors: list[dict] = []
        st["tensors"] = tensors
        st["weights_transferred"] = len(self.plan)
        if r.mode in ("eval", "both"):
            tensors += self._compare_outputs(*self.eval_outputs, "eval")
        try:
            tensors += self._gradients()
        except _StageFailed as exc:
            tensors.append({"name": "grad", "mode": "eval", "ok": False, "reason": str(exc), "tol_ratio": math.inf})
        if r.mode in ("train", "both"):
            try:
                tensors += self._train()
            except _StageFailed as exc:
                tensors.append({"name": "output", "mode": "train", "ok": False, "reason": str(exc), "tol_ratio": math.inf})
        self._load_weights()
        self.tmodel.eval()
        self.jmodel.eval()

        st["ok"] = all(t["ok"] for t in tensors)
        if tensors:
            worst = max(tensors, key=lambda t: (not t["ok"], t.get("tol_ratio", 0.0)))
            st["worst"], st["worst_mode"] = worst["name"], worst.get("mode")
            st["max_abs_err"] = max(t.get("max_abs_err", 0.0) for t in tensors)
            st["max_rel_err"] = max(t.get("max_rel_err", 0.0) for t in tensors)
        else:
            st.update(worst=None, worst_mode=None, max_abs_err=None, max_rel_err=None)
        st["failed"] = [t["name"] + (f" ({t['mode']})" if t.get("mode") else "") for t in tensors if not t["ok"]]
        st["known_differences"] = r.known_differences

    def _loss(self, out, side):
        """The scalar loss: ``self.loss`` over ``out``, or the sum of every float output."""
        if self.loss:
            if side == "torch":
                ns = {"torch": self.T.torch, "out": out}
            else:
                ns = {"jnp": self.J.jnp, "jax": self.J.jax, "out": out}
            return eval(self.loss, ns)
        leaves: list = []
        is_array = self.T.is_array if side == "torch" else self.J.is_array
        _structure(out, "output", is_array, lambda x: x, leaves)
        floats = [x for _, x in leaves if is_array(x) and (x.is_floating_point() if side == "torch" else x.dtype.kind == "f")]
        if not floats:
            return None
        total = floats[0].sum()
        for x in floats[1:]:
            total = total + x.sum()
        return total

    def _gradients(self) -> list[dict]:
        torch, nnx = self.T.torch, self.J.nnx
        r = self.r
        self._load_weights()
        self.tmodel.eval()
        self.jmodel.eval()
        self.tmodel.zero_grad(set_to_none=True)
        float_idx = [i for i, s in enumerate(self.specs) if s.is_float]
        leaves = []
        t_args = list(self.T.inputs(self.arrays))
        for i in float_idx:
            leaves.append(t_args[i].requires_grad_(True))
            t_args[i] = t_args[i].clone()  # in-place ops on an input stay legal
        out = self._torch_forward(t_args, grad=True)
        try:
            t_loss = self._loss(out, "torch")
        except Exception as exc:
            raise VerifyError(f"the loss {self.loss!r} failed on the PyTorch side: {_exc_text(exc)}") from exc
        if t_loss is None:
            r.notes.append("no float outputs: gradients not compared")
            return []
        if not t_loss.requires_grad:
            r.notes.append("the loss does not depend on any parameter or float input: gradients not compared")
            return []
        t_loss.backward()

        def f(model, floats, others):
            args, fi, oi = [], iter(floats), iter(others)
            for i in range(len(self.specs)):
                args.append(next(fi) if i in float_idx else next(oi))
            return self._loss(model(*args), "jax")

        j_floats = tuple(self.j_in[i] for i in float_idx)
        j_others = tuple(x for i, x in enumerate(self.j_in) if i not in float_idx)
        try:
            grad_fn = nnx.grad(f, argnums=(nnx.DiffState(0, nnx.Param), 1))
            g_state, g_inputs = self._call_jax(grad_fn, self.jmodel, j_floats, j_others)
        except Exception as exc:
            raise _StageFailed(f"gradients of the translation failed: {_exc_text(exc)}{_where(exc, self.jpath)}") from exc

        # Torch gradients through the same name -> variable plan (and transpose) as the weights.
        from torch2jax.weights import plan_transfer, torch_tensors

        grads = torch_tensors(self.tmodel)
        grad_of = {}
        for name, p in self.tmodel.named_parameters(remove_duplicate=False):
            if p.requires_grad:
                grad_of[name] = True
                grads[name] = p.grad if p.grad is not None else torch.zeros_like(p)
        grads = torch_tensors(grads)
        plan, _ = plan_transfer(self.jmodel, grads, self.rules)
        path_of = {id(v): p for p, v in nnx.iter_graph(self.jmodel) if isinstance(v, nnx.Variable)}
        flat = {tuple(p): v for p, v in nnx.to_flat_state(g_state)}
        out: list[dict] = []
        for key, variable, t_grad in plan:
            if key not in grad_of:
                continue
            g = flat.get(tuple(path_of.get(id(variable), ())))
            if g is None:
                out.append({"name": f"grad:{key}", "mode": "eval", "ok": False, "tol_ratio": math.inf,
                            "reason": f"the translation holds it as {type(variable).__name__}, not nnx.Param, so it gets no gradient"})
                continue
            g = g.get_value() if hasattr(g, "get_value") else getattr(g, "value", g)
            out.append(compare_arrays(f"grad:{key}", g, t_grad, r.rtol, r.atol, mode="eval"))
        for k, i in enumerate(float_idx):
            t_grad = leaves[k].grad
            t_grad = self.T.to_numpy(t_grad) if t_grad is not None else self.T.to_numpy(torch.zeros_like(leaves[k]))
            out.append(compare_arrays(f"grad:input[{i}]", g_inputs[k], t_grad, r.rtol, r.atol, mode="eval"))
        self.tmodel.zero_grad(set_to_none=True)
        return out

    def _train(self) -> list[dict]:
        r = self.r
        self._load_weights()
        self.tmodel.train()
        self.jmodel.train()
        t_drop, j_drop = self.T.dropout_layers(self.tmodel), self.J.dropout_layers(self.jmodel)
        if t_drop or j_drop:
            r.notes.append(
                f"dropout disabled for comparison in train mode ({len(t_drop)} torch, {len(j_drop)} NNX "
                "layer(s) set to rate 0); functional dropout (F.dropout) is not affected"
            )
        batchnorm = self.T.torch.nn.modules.batchnorm._BatchNorm
        bn_modules = {name: m for name, m in self.tmodel.named_modules() if isinstance(m, batchnorm)}
        bn_counts: dict[str, list[int]] = {}

        def count(name):
            def hook(module, args):
                x = args[0] if args else None
                if hasattr(x, "shape") and x.dim() >= 2 and x.shape[1]:
                    bn_counts.setdefault(name, []).append(x.numel() // x.shape[1])

            return hook

        hooks = [m.register_forward_pre_hook(count(name)) for name, m in bn_modules.items()]
        with _dropout_off(t_drop, j_drop):
            try:
                t_sig, t_leaves = self._torch_forward()
            finally:
                for h in hooks:
                    h.remove()
            try:
                j_sig, j_leaves = self._jax_forward(self.j_in)
            except Exception as exc:
                raise _StageFailed(f"the translation's forward (train mode) raised {_exc_text(exc)}{_where(exc, self.jpath)}") from exc
        problems = _structure_problems(t_sig, j_sig, "output") or _leaf_problems(t_leaves, j_leaves)
        if problems:
            raise _StageFailed("train-mode outputs differ in structure: " + "; ".join(problems))
        out = self._compare_outputs(t_leaves, j_leaves, "train")

        from torch2jax.weights import plan_transfer, torch_tensors

        import numpy as np

        plan, _ = plan_transfer(self.jmodel, torch_tensors(self.tmodel), self.rules)
        for key, variable, t_value in plan:
            if key in self.param_names:
                continue
            j_value = variable.get_value() if hasattr(variable, "get_value") else variable.value
            entry = compare_arrays(f"buffer:{key}", j_value, t_value, r.rtol, r.atol, mode="train")
            owner = key.rpartition(".")[0]
            if key.rpartition(".")[2] == "running_var" and owner in bn_modules:
                entry["within_tolerance"] = entry.pop("ok")
                entry["reason"] = "biased running variance in Flax (T2J104)"
                r.known_differences.append(entry)
                # Still checked strictly: torch's update, re-done with the biased batch variance.
                sizes, momentum = bn_counts.get(owner, []), bn_modules[owner].momentum
                old = self.torch_state.get(key)
                if len(sizes) == 1 and sizes[0] > 1 and momentum is not None and old is not None:
                    n, m = sizes[0], float(momentum)
                    old = old.double().numpy()
                    expected = (1 - m) * old + (t_value.astype(np.float64) - (1 - m) * old) * (n - 1) / n
                    corrected = compare_arrays(f"buffer:{key} (bias-corrected)", j_value, expected, r.rtol, r.atol, mode="train")
                    corrected["reason"] = f"torch's unbiased update redone with the biased variance ({n} values per channel)"
                    out.append(corrected)
                continue
            out.append(entry)
        if any(k["name"].endswith("running_var") for k in r.known_differences):
            r.notes.append("BatchNorm running_var after a train-mode step: " + RUNNING_VAR_NOTE)
        return out

    def _submodule(self, name: str):
        try:
            return self.tmodel.get_submodule(name)
        except AttributeError:
            return None


# ---------------------------------------------------------------------- CLI glue

EPILOG = f"""\
input specs:
  {SPEC_HELP}

examples:
  torch2jax verify model.py --model "ResNet18()" --input "float32[2,3,32,32]"
  torch2jax verify lm.py --model "GPT(vocab_size=64)" --input "int64[2,8]:0..64" --mode eval
  torch2jax verify model.py --model "Net()" --input "float32[4,10]" --translated model_jax.py --json

The model expression is evaluated in the PyTorch file's namespace and, with
rngs=nnx.Rngs(SEED) added to its outermost call, in the translation's. The
translation is made in memory unless --translated names an existing file (a
missing one is written). Nothing else is written.

exit status: 0 every stage that ran passed, 1 a mismatch, 2 the check could not run.
"""


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``torch2jax verify``'s arguments to ``parser`` (a subcommand parser)."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    if not parser.epilog:
        parser.epilog = EPILOG
    parser.add_argument("source", metavar="SOURCE.py", help="the PyTorch file")
    parser.add_argument("--model", required=True, metavar="EXPR", help='expression building the model, e.g. "ResNet18()"')
    parser.add_argument("--input", action="append", default=[], metavar="SPEC",
                        help="one model input (repeatable, in call order), e.g. float32[2,3,32,32] or int64[4,16]:0..10000")
    parser.add_argument("--translated", metavar="OUT.py",
                        help="use this translation instead of translating in memory (written there if missing)")
    parser.add_argument("--mode", choices=("train", "eval", "both"), default="both",
                        help="forward modes to compare (default: both); gradients are always taken in eval mode")
    parser.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance (default: 1e-4)")
    parser.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (default: 1e-5)")
    parser.add_argument("--seed", type=int, default=0, help="seed for inputs, torch init and nnx.Rngs (default: 0)")
    parser.add_argument("--loss", metavar="EXPR", help="scalar loss over `out`, valid for torch and JAX alike "
                        "(e.g. '(out ** 2).mean()'); default: the sum of every float output")
    parser.add_argument("--rules", action="append", default=[], metavar="FILE.toml", help="extra rule file (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--debug", action="store_true", help="print tracebacks for errors")
    return parser


def _missing_dependencies() -> list[str]:
    import importlib.util

    missing = []
    for name in ("numpy", "torch", "jax", "flax"):
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):
            missing.append(name)
    return missing


def main(args: argparse.Namespace) -> int:
    """Run ``torch2jax verify`` with parsed ``args``; returns the exit status (0 / 1 / 2)."""
    debug = getattr(args, "debug", False)

    def fail(message: str, exc: BaseException | None = None) -> int:
        if debug and exc is not None:
            traceback.print_exception(exc, file=sys.stderr)
        print(f"torch2jax verify: error: {message}", file=sys.stderr)
        return 2

    missing = _missing_dependencies()
    if missing:
        return fail(f"{', '.join(missing)} not installed; verify needs them: pip install 'torch2jax[verify]'")
    inputs = list(getattr(args, "input", None) or [])
    if not inputs:
        return fail("give the model's inputs with --input SPEC (e.g. --input 'float32[2,3,32,32]')")
    as_json = getattr(args, "json", False)
    try:
        rules = None
        if getattr(args, "rules", None):
            from torch2jax.rules import load_rules

            rules = load_rules(args.rules)
        # User code may print: keep stdout for the report (one JSON object with --json).
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            report = verify(
                args.source,
                args.model,
                inputs,
                translated=getattr(args, "translated", None),
                mode=getattr(args, "mode", "both"),
                rtol=getattr(args, "rtol", 1e-4),
                atol=getattr(args, "atol", 1e-5),
                seed=getattr(args, "seed", 0),
                loss=getattr(args, "loss", None),
                rules=rules,
            )
    except VerifyError as exc:
        return fail(str(exc), exc)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a bug here, or something the user's code did that we did not foresee
        return fail(f"{_exc_text(exc)} (rerun with --debug for the traceback)" if not debug else _exc_text(exc), exc)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.table())
    return 0 if report.ok else 1
