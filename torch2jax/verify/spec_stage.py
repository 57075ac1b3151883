"""Stage 1, spec: both files import, the model builds on both sides, every torch parameter and buffer
has exactly one place in the translation, and the outputs agree in structure, shape and kind."""

from __future__ import annotations

from pathlib import Path

from torch2jax.verify.compare import leaf_problems, structure_problems
from torch2jax.verify.errors import StageFailed, VerifyError, exc_text, first_name, where
from torch2jax.verify.loading import RNGS_FOR_NAME, RNGS_NAME, load_module, rngs_for, translated_package
from torch2jax.verify.sides import perturb_constant_tensors, widen_to_float64


def load_torch(ctx):
    try:
        return load_module(ctx.source, tag="torch")
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise VerifyError(f"could not import {ctx.source}: {exc_text(exc)}{where(exc, ctx.source)}") from exc


def translation(ctx) -> tuple[str, Path, list[Path], str | None]:
    """(code, the file it stands for, extra import dirs, display name for in-memory code)."""
    from torch2jax.convert import atomic_write, convert_source

    r = ctx.r
    out = Path(ctx.translated) if ctx.translated else None
    if out is not None and out.is_file():
        r.notes.append(f"translation read from {out}")
        return out.read_text(encoding="utf-8"), out, [out.resolve().parent], None
    package = translated_package(ctx.source, ctx.rules)
    if package is not None:  # its relative imports need the package's other modules translated too
        ctx.package_dir, path = package
        r.notes.append(f"translated in-process with the rest of its package ({path.parent.name}/), in a temporary directory")
        return path.read_text(encoding="utf-8"), path, [], None
    text = ctx.source.read_text(encoding="utf-8")
    result = convert_source(text, filename=str(ctx.source), rules=ctx.rules)
    if not result.ok:
        raise VerifyError(f"{ctx.source} could not be translated: " + "; ".join(d.message for d in result.diagnostics))
    attention = [d for d in result.diagnostics if d.needs_attention]
    r.notes.append(
        f"translated in-process with convert_source: {len(result.diagnostics)} diagnostic(s)"
        + (f", {len(attention)} needing attention (run `torch2jax convert` to see them)" if attention else "")
    )
    if out is not None:
        atomic_write(out, result.code)
        r.notes.append(f"translation written to {out}")
    return result.code, ctx.source, [], f"<translation of {ctx.source}>"


def run(ctx, st: dict) -> None:
    T, J, torch = ctx.T, ctx.J, ctx.T.torch
    nnx = J.nnx
    tmod = ctx.tmod = load_torch(ctx)
    code, jfile, extra, display = translation(ctx)
    jpath = ctx.jpath = display or jfile
    try:
        jmod = ctx.jmod = load_module(jfile, code=code, tag="jax", extra_dirs=extra, display=display)
    except Exception as exc:
        raise StageFailed(f"the translation does not import: {exc_text(exc)}{where(exc, jpath)}") from exc

    torch.manual_seed(ctx.r.seed)
    try:
        tmodel = eval(ctx.torch_code, dict(vars(tmod)))
        is_object = not ctx.is_call and not isinstance(tmodel, type)
        if isinstance(tmodel, type):
            tmodel = tmodel()
    except Exception as exc:
        raise VerifyError(f"--model {ctx.r.model!r} failed on the PyTorch side: {exc_text(exc)}{where(exc, ctx.source)}") from exc
    if not isinstance(tmodel, torch.nn.Module):
        raise VerifyError(f"--model {ctx.r.model!r} is a {type(tmodel).__name__}, not a torch.nn.Module")
    try:
        jmodel = build_jax(ctx, jmod)
    except Exception as exc:
        raise StageFailed(f"the model does not build in the translation: {exc_text(exc)}{where(exc, jpath)}") from exc
    if not isinstance(jmodel, nnx.Module):
        raise StageFailed(f"the translation's model is a {type(jmodel).__name__}, not an nnx.Module")
    if is_object:
        ctx.r.notes.append("--model names a module-level object: the translation's object was used as built there")

    if ctx.perturb:
        changed = perturb_constant_tensors(tmodel, ctx.r.seed)
        if changed:
            ctx.r.notes.append(
                f"{len(changed)} constant-initialised torch tensor(s) given random values before the transfer "
                "so that they are checked (e.g. BatchNorm/LayerNorm weight, bias, running stats)"
            )
    ctx.tmodel, ctx.jmodel = tmodel, jmodel
    if ctx.float64:
        widen_to_float64(jmodel)  # Flax layers create float32 parameters whatever jax_enable_x64 says
    ctx.param_names = {n for n, p in tmodel.named_parameters(remove_duplicate=False)}
    from torch2jax.weights import plan_transfer, torch_tensors

    try:
        plan, problems = plan_transfer(jmodel, torch_tensors(tmodel), ctx.rules)
    except Exception as exc:  # a transform that does not fit what it was given
        raise StageFailed(f"the weight transfer raised {exc_text(exc)} (rerun with --debug for the traceback)") from exc
    st["weights"] = len(plan)
    if problems:
        st["problems"] = problems
        st["worst"] = first_name(problems)
        raise StageFailed(f"{len(problems)} weight-transfer problem(s): the parameters do not map one to one")
    import numpy as np

    ctx.plan = [(k, v, np.array(a, copy=True)) for k, v, a in plan]
    state = tmodel.state_dict()
    ctx.torch_state = type(state)((k, v.detach().clone()) for k, v in state.items())
    ctx.torch_state._metadata = getattr(state, "_metadata", None)  # versions that _load_from_state_dict reads
    ctx.load_weights()

    ctx.t_in, ctx.j_in = T.inputs(ctx.arrays), J.inputs(ctx.arrays)
    if any(leaf.dtype == "float64" for s in ctx.specs for leaf in s.leaves()) and not J.jax.config.jax_enable_x64:
        ctx.r.notes.append("float64 inputs are float64 in torch and float32 in JAX (jax_enable_x64 is off)")
    tmodel.eval()
    jmodel.eval()
    t_sig, t_leaves = ctx.torch_forward()
    try:
        j_sig, j_leaves = ctx.jax_forward(ctx.j_in)
    except Exception as exc:
        raise StageFailed(f"the translation's forward (eval mode) raised {exc_text(exc)}{where(exc, jpath)}") from exc
    problems = structure_problems(t_sig, j_sig, "output") or leaf_problems(t_leaves, j_leaves)
    st["tensors"] = len(plan) + len(t_leaves)
    st["outputs"] = [{"name": n, "shape": list(a.shape), "dtype": str(a.dtype)} for n, a in t_leaves]
    if problems:
        st["problems"] = problems
        st["worst"] = first_name(problems)
        raise StageFailed("the forward outputs differ in structure, shape or dtype")
    ctx.eval_outputs = (t_leaves, j_leaves)


def build_jax(ctx, jmod):
    """Build the translation's model; abstractly when possible (``nnx.eval_shape``: no
    initializer runs, every planned variable is overwritten by a torch tensor anyway)."""
    jax, nnx = ctx.J.jax, ctx.J.nnx
    import numpy as np

    def namespace():
        ns = dict(vars(jmod))
        ns[RNGS_NAME] = nnx.Rngs(ctx.r.seed)
        ns[RNGS_FOR_NAME] = rngs_for(ns[RNGS_NAME])
        return ns

    if ctx.is_call:
        def build():
            return eval(ctx.jax_code, namespace())
    else:
        obj = eval(ctx.jax_code, namespace())
        if not isinstance(obj, type):  # a module-level object: take it as it is
            return obj

        def build():
            return obj(rngs=nnx.Rngs(ctx.r.seed))

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
                    key = jax.random.key(ctx.r.seed)
                    fills.append((node, key if value.shape == () else jax.random.split(key, value.shape)))
                else:
                    fills.append((node, np.zeros(value.shape, value.dtype)))
        elif isinstance(node, jax.ShapeDtypeStruct):  # an array attribute outside a Variable
            return build()
    for node, value in fills:
        node.set_value(value)
    return abstract
