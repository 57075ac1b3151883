"""Stage 3, behavioral: training runs the same way on both sides.

With ``--optimizer`` (and ``--loss``, ``--scheduler``, ``--steps K``), the model of the spec stage
is trained for K steps on both sides from the same transferred weights on the same seeded
batches, by a torch loop written from those expressions and by its translation; the loss at
every step and every parameter at the end are compared. The file's own training code
(``--run``) is compared by ``run_training`` below, without a model of the spec stage.
"""

from __future__ import annotations

from pathlib import Path

from torch2jax.verify.errors import VerifyError
from torch2jax.verify.recording import Built
from torch2jax.verify.rounding import widened
from torch2jax.verify.sides import dropout_off
from torch2jax.verify.specs import make_inputs
from torch2jax.verify.training_run import compare_runs, run_jax, run_torch, training_loop, translate_snippet

NOT_RUN = "not run: give --optimizer (with --loss and --steps) to compare training step by step, or use --run"
DEFAULT_STEPS = 5
LOOP_FUNCTION = "train_with_given_optimizer"


def run(ctx) -> dict:
    if not ctx.optimizer:
        return {"ok": None, "reason": NOT_RUN}
    from torch2jax.convert import convert_source

    loss = ctx.loss or "out.sum()"
    loop = training_loop(ctx.optimizer, loss, ctx.scheduler, LOOP_FUNCTION)
    converted = convert_source(loop, filename="<verify training loop>", rules=ctx.rules)
    errors = [d for d in converted.diagnostics if d.severity == "error"]
    if errors:
        return {"ok": False, "reason": "the training loop of --optimizer/--loss/--scheduler does not translate: "
                + "; ".join(d.message for d in errors[:3])}
    steps = ctx.steps or DEFAULT_STEPS
    batches = [tuple(make_inputs(ctx.specs, ctx.r.seed + 3000 + k)) for k in range(steps)]
    if ctx.float64:
        batches = widened(batches)
    ctx.load_weights()
    ctx.tmodel.train()
    ctx.jmodel.train()
    here = Path(ctx.source)
    t_drop, j_drop = ctx.T.dropout_layers(ctx.tmodel), ctx.J.dropout_layers(ctx.jmodel)
    if t_drop or j_drop:
        ctx.r.notes.append(f"behavioral: dropout disabled while training ({len(t_drop)} torch, {len(j_drop)} NNX "
                           "layer(s)): the two frameworks draw different masks")
    with dropout_off(t_drop, j_drop):
        return _train_both(ctx, loop, converted, batches, here, loss)


def _train_both(ctx, loop, converted, batches, here, loss) -> dict:
    t_rec, t_result, _ = run_torch(here, loop, None, {**ctx.bindings, "__batches__": batches}, ctx.r.seed, None,
                                   display="<verify training loop>", files={"<verify training loop>"},
                                   call=lambda m: getattr(m, LOOP_FUNCTION)(ctx.tmodel, _torch_batches(batches)))
    t_rec.built = [Built(type(ctx.tmodel).__name__, ctx.tmodel)]
    j_rec, _, error = run_jax(here, converted.code, "<translation of the verify training loop>", None,
                              ctx.bindings, ctx.r.seed, None, t_rec, ctx.rules,
                              call=lambda m: getattr(m, LOOP_FUNCTION)(ctx.jmodel, batches))
    if error:
        return {"ok": False, "reason": error}
    j_rec.pairs = [(t_rec.built[0], Built(type(ctx.jmodel).__name__, ctx.jmodel))]
    st = compare_runs(t_rec, j_rec, None, None, ctx.r.rtol, ctx.r.atol, ctx.rules)
    st["optimizer"], st["loss"] = ctx.optimizer, loss
    ctx.load_weights()
    return st


def _torch_batches(batches):
    import torch

    return [tuple(torch.from_numpy(a.copy()) for a in batch) for batch in batches]


def run_training(report, source: Path, expr: str | None, bindings: dict, steps: int | None, translated, rules,
                 float64: bool = False) -> dict:
    """``--run [EXPR]``: the file's own training code on both sides, compared (``float64``: the rounding
    re-check, both sides computing in float64 under ``numerics(float64=True)``)."""
    from torch2jax.convert import convert_source

    text = source.read_text(encoding="utf-8")
    if translated is not None and Path(translated).is_file():
        code, jpath, display = Path(translated).read_text(encoding="utf-8"), Path(translated), None
        report.notes.append(f"translation read from {translated}")
    else:
        result = convert_source(text, filename=str(source), rules=rules)
        if not result.ok:
            raise VerifyError(f"{source} could not be translated")
        code, jpath, display = result.code, source, f"<translation of {source}>"
    jax_expr = translate_snippet(text, expr, rules) if expr else None
    t_rec, t_result, _ = run_torch(source, None, expr, bindings, report.seed, steps)
    j_rec, j_result, error = run_jax(jpath, code, display, jax_expr, bindings, report.seed, steps, t_rec, rules,
                                     float64=float64)
    if error:
        return {"ok": False, "reason": error, "losses": {"torch": t_rec.losses, "jax": j_rec.losses}}
    st = compare_runs(t_rec, j_rec, t_result, j_result, report.rtol, report.atol, rules)
    if t_rec.dropout_off or j_rec.dropout_off:
        report.notes.append(f"dropout disabled in the models the run built ({t_rec.dropout_off} torch layer(s), "
                            f"{j_rec.dropout_off} JAX): the two frameworks draw different masks")
    st["run"] = expr or "the file as a script"
    if jax_expr:
        st["translated_run"] = jax_expr
    return st
