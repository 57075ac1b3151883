"""``verify()``: set up the check and run the stages in order, each only when the one before it passed."""

from __future__ import annotations

import traceback
from pathlib import Path

from torch2jax.verify import behavioral_stage, numeric_stage, spec_stage
from torch2jax.verify.context import Context
from torch2jax.verify.errors import StageFailed, VerifyError
from torch2jax.verify.loading import model_exprs
from torch2jax.verify.report import STAGES, VerifyReport
from torch2jax.verify.rounding import (behavioral_suspect, rounding_suspect, settle_behavioral_with_float64,
                                       settle_with_float64, widened)
from torch2jax.verify.sides import numerics
from torch2jax.verify.specs import (given_array, given_spec, make_bindings, make_inputs, parse_batches, parse_data,
                                   parse_input_spec)


def verify(
    source_path,
    model: str | None = None,
    inputs=(),
    *,
    run: str | bool | None = None,
    data=(),
    batches=(),
    optimizer: str | None = None,
    scheduler: str | None = None,
    steps: int | None = None,
    device: str = "cpu",
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

    The behavioral stage compares training: with ``optimizer`` (torch code over ``model``, e.g.
    ``"torch.optim.AdamW(model.parameters(), lr=1e-3)"``), ``loss`` and ``steps``, the model is
    trained on both sides; with ``run`` (an expression such as ``"train(Net(), B)"``, or True to run
    the file as a script), the file's own training code is. ``data`` (``"x=float32[100,1]"``) and
    ``batches`` (``"B=3:float32[4,10],int64[4]:0..2"``) bind seeded arrays to names the expressions use.

    Raises VerifyError when the check cannot run; a translation that fails to
    import, build or run is reported as a failed stage instead.
    """
    if mode not in ("train", "eval", "both"):
        raise VerifyError(f"mode must be train, eval or both, not {mode!r}")
    if model is None and run is None:
        raise VerifyError("give the model to check (--model EXPR) or training code to run (--run [EXPR])")
    _check_device(device)
    source = Path(source_path)
    if not source.is_file():
        raise VerifyError(f"{source}: no such file" if not source.exists() else f"{source}: not a file")
    try:
        import flax  # noqa: F401
        import jax  # noqa: F401
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise VerifyError(f"{exc.name or exc} is not installed; pip install 'torch2jax[verify]'") from None
    specs = [parse_input_spec(item) if isinstance(item, str) else given_spec(item) for item in inputs]
    drawn = iter(make_inputs([s for s, item in zip(specs, inputs) if isinstance(item, str)], seed))
    arrays = [next(drawn) if isinstance(item, str) else given_array(item) for item in inputs]
    bindings = make_bindings([parse_data(d) for d in data], [parse_batches(b) for b in batches], seed)

    report = VerifyReport(
        str(source), model if model is not None else f"--run {run if isinstance(run, str) else ''}".strip(),
        [s.text for s in specs], translated=str(translated) if translated else None,
        mode=mode, rtol=rtol, atol=atol, seed=seed,
    )
    if model is None:  # the file's own training code
        reason = "not run: --run compares a training run (give --model for the spec and numeric stages)"
        report.stages["spec"] = {"ok": None, "reason": reason}
        report.stages["numeric"] = {"ok": None, "reason": reason}
        expr = run if isinstance(run, str) and run.strip() else None
        with numerics():
            report.stages["behavioral"] = behavioral_stage.run_training(report, source, expr, bindings, steps,
                                                                        translated, rules)
        if behavioral_suspect(report.stages["behavioral"]):
            with numerics(float64=True):
                again = behavioral_stage.run_training(report, source, expr, widened(bindings), steps, translated,
                                                      rules, float64=True)
            settle_behavioral_with_float64(report.stages["behavioral"], again, report.notes)
        return report
    torch_code, jax_code, is_call = model_exprs(model)
    ctx = Context(report, source, torch_code, jax_code, is_call, specs, arrays, translated, loss, rules,
                  perturb_constants)
    ctx.optimizer, ctx.scheduler, ctx.steps, ctx.bindings = optimizer, scheduler, steps, bindings
    with numerics():
        run_stages(ctx)
    behavioral = report.stages.get("behavioral", {})
    if behavioral_suspect(behavioral):  # the whole check again in float64, for the training it compares
        recheck = VerifyReport(report.source, report.model, report.inputs, mode=mode, rtol=rtol, atol=atol, seed=seed)
        wide = widened(arrays)
        ctx64 = Context(recheck, source, torch_code, jax_code, is_call, specs, wide, translated, loss, rules,
                        perturb_constants)
        ctx64.optimizer, ctx64.scheduler, ctx64.steps = optimizer, scheduler, steps
        ctx64.bindings, ctx64.float64 = widened(bindings), True
        with numerics(float64=True):
            run_stages(ctx64)
        settle_behavioral_with_float64(behavioral, recheck.stages.get("behavioral", {}), report.notes)
    if rounding_suspect(report.stages.get("numeric", {})):
        recheck = VerifyReport(report.source, report.model, report.inputs, mode=mode, rtol=rtol, atol=atol, seed=seed)
        wide = widened(arrays)
        ctx64 = Context(recheck, source, torch_code, jax_code, is_call, specs, wide, translated, loss, rules,
                        perturb_constants)
        ctx64.bindings, ctx64.float64 = bindings, True
        with numerics(float64=True):
            run_stages(ctx64, numeric_only=True)
        settle_with_float64(report.stages["numeric"], recheck.stages.get("numeric", {}), report.notes)
    for name in STAGES:
        report.stages.setdefault(name, {"ok": None, "reason": "not run"})
    return report


def run_stages(ctx: Context, numeric_only: bool = False) -> None:
    """spec, then numeric, then behavioral: each runs only when the ones before it could."""
    r = ctx.r
    spec = {"ok": False}
    r.stages["spec"] = spec
    try:
        spec_stage.run(ctx, spec)
        spec["ok"] = True
    except StageFailed as exc:
        spec["reason"] = str(exc)
        if exc.__cause__ is not None:
            r.tracebacks.append("".join(traceback.format_exception(exc.__cause__)))
    if spec["ok"]:
        numeric = {"ok": False}
        r.stages["numeric"] = numeric
        numeric_stage.run(ctx, numeric)
    else:
        r.stages["numeric"] = {"ok": None, "reason": "not run: the spec stage failed"}
    if numeric_only:
        return
    r.stages["behavioral"] = behavioral_stage.run(ctx) if spec["ok"] else {"ok": None, "reason": "not run: the spec stage failed"}


def _check_device(device: str) -> None:
    """One device for both frameworks; only what both have here."""
    if device == "cpu":
        return
    import jax
    import torch

    platform = {"cuda": "gpu", "gpu": "gpu"}.get(device.split(":")[0], device)
    try:
        jax.devices(platform)
    except RuntimeError:
        raise VerifyError(f"--device {device}: JAX has no {platform} device here (devices: "
                          f"{', '.join(sorted({d.platform for d in jax.devices()}))})") from None
    if platform == "gpu" and not torch.cuda.is_available():
        raise VerifyError(f"--device {device}: torch has no CUDA device here")
    raise VerifyError(f"--device {device}: comparing on an accelerator is not supported yet; use cpu")
