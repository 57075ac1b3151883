"""Stage 2, numeric: forward outputs in eval and train mode, running statistics after a train-mode
step, and the gradients of a scalar loss for every parameter and float input."""

from __future__ import annotations

import math

from torch2jax.verify.compare import compare_arrays, leaf_problems, structure, structure_problems
from torch2jax.verify.errors import StageFailed, VerifyError, exc_text, where
from torch2jax.verify.report import RUNNING_VAR_NOTE
from torch2jax.verify.sides import dropout_off
from torch2jax.verify.training_run import _torch_bindings, translate_snippet


def run(ctx, st: dict) -> None:
    r = ctx.r
    tensors: list[dict] = []
    st["tensors"] = tensors
    st["weights_transferred"] = len(ctx.plan)
    if r.mode in ("eval", "both"):
        tensors += ctx.compare_outputs(*ctx.eval_outputs, "eval")
    try:
        tensors += gradients(ctx)
    except StageFailed as exc:
        tensors.append({"name": "grad", "mode": "eval", "ok": False, "reason": str(exc), "tol_ratio": math.inf})
    if r.mode in ("train", "both"):
        try:
            tensors += train_mode(ctx)
        except StageFailed as exc:
            tensors.append({"name": "output", "mode": "train", "ok": False, "reason": str(exc), "tol_ratio": math.inf})
    ctx.load_weights()
    ctx.tmodel.eval()
    ctx.jmodel.eval()

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


def loss(ctx, out, side):
    """The scalar loss: ``ctx.loss`` over ``out`` (torch code, in the file's namespace and the names
    bound by --data; translated like the source for the JAX side), or the sum of every float output."""
    if ctx.loss:
        if side == "torch":
            ns = {**vars(ctx.tmod), "torch": ctx.T.torch, **_torch_bindings(ctx.bindings), "out": out}
            return eval(ctx.loss, ns)
        if getattr(ctx, "jax_loss", None) is None:
            ctx.jax_loss = translate_snippet(ctx.source.read_text(encoding="utf-8"), ctx.loss, ctx.rules)
        import optax

        ns = {**vars(ctx.jmod), "jnp": ctx.J.jnp, "jax": ctx.J.jax, "optax": optax, **ctx.bindings, "out": out}
        return eval(ctx.jax_loss, ns)
    leaves: list = []
    is_array = ctx.T.is_array if side == "torch" else ctx.J.is_array
    structure(out, "output", is_array, lambda x: x, leaves)
    floats = [x for _, x in leaves if is_array(x) and (x.is_floating_point() if side == "torch" else x.dtype.kind == "f")]
    if not floats:
        return None
    total = floats[0].sum()
    for x in floats[1:]:
        total = total + x.sum()
    return total


def gradients(ctx) -> list[dict]:
    torch, nnx = ctx.T.torch, ctx.J.nnx
    r = ctx.r
    ctx.load_weights()
    ctx.tmodel.eval()
    ctx.jmodel.eval()
    ctx.tmodel.zero_grad(set_to_none=True)
    float_idx = [i for i, s in enumerate(ctx.specs) if s.is_float]
    leaves = []
    t_args = list(ctx.T.inputs(ctx.arrays))
    for i in float_idx:
        leaves.append(t_args[i].requires_grad_(True))
        t_args[i] = t_args[i].clone()  # in-place ops on an input stay legal
    out = ctx.torch_forward(t_args, grad=True)
    try:
        t_loss = loss(ctx, out, "torch")
    except Exception as exc:
        raise VerifyError(f"the loss {ctx.loss!r} failed on the PyTorch side: {exc_text(exc)}") from exc
    if t_loss is None:
        r.notes.append("no float outputs: gradients not compared")
        return []
    if not t_loss.requires_grad:
        r.notes.append("the loss does not depend on any parameter or float input: gradients not compared")
        return []
    t_loss.backward()

    def f(model, floats, others):
        args, fi, oi = [], iter(floats), iter(others)
        for i in range(len(ctx.specs)):
            args.append(next(fi) if i in float_idx else next(oi))
        return loss(ctx, model(*args), "jax")

    j_floats = tuple(ctx.j_in[i] for i in float_idx)
    j_others = tuple(x for i, x in enumerate(ctx.j_in) if i not in float_idx)
    try:
        grad_fn = nnx.grad(f, argnums=(nnx.DiffState(0, nnx.Param), 1))
        g_state, g_inputs = ctx.call_jax(grad_fn, ctx.jmodel, j_floats, j_others)
    except Exception as exc:
        raise StageFailed(f"gradients of the translation failed: {exc_text(exc)}{where(exc, ctx.jpath)}") from exc

    # Torch gradients through the same name -> variable plan (and transpose) as the weights.
    from torch2jax.verify.sides import tied_aliases
    from torch2jax.weights import plan_transfer, torch_tensors

    grads = torch_tensors(ctx.tmodel)
    grad_of = {}
    aliases = tied_aliases(ctx.tmodel)
    for name, p in ctx.tmodel.named_parameters(remove_duplicate=False):
        if p.requires_grad and name not in aliases:
            grad_of[name] = True
            grads[name] = p.grad if p.grad is not None else torch.zeros_like(p)
    grads = torch_tensors(grads)
    plan, _ = plan_transfer(ctx.jmodel, grads, ctx.rules)
    path_of = {id(v): p for p, v in nnx.iter_graph(ctx.jmodel) if isinstance(v, nnx.Variable)}
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
        t_grad = ctx.T.to_numpy(t_grad) if t_grad is not None else ctx.T.to_numpy(torch.zeros_like(leaves[k]))
        out.append(compare_arrays(f"grad:input[{i}]", g_inputs[k], t_grad, r.rtol, r.atol, mode="eval"))
    ctx.tmodel.zero_grad(set_to_none=True)
    return out


def train_mode(ctx) -> list[dict]:
    r = ctx.r
    ctx.load_weights()
    ctx.tmodel.train()
    ctx.jmodel.train()
    t_drop, j_drop = ctx.T.dropout_layers(ctx.tmodel), ctx.J.dropout_layers(ctx.jmodel)
    if t_drop or j_drop:
        r.notes.append(
            f"dropout disabled for comparison in train mode ({len(t_drop)} torch, {len(j_drop)} NNX "
            "layer(s) set to rate 0); functional dropout (F.dropout) is not affected"
        )
    batchnorm = ctx.T.torch.nn.modules.batchnorm._BatchNorm
    bn_modules = {name: m for name, m in ctx.tmodel.named_modules() if isinstance(m, batchnorm)}
    bn_counts: dict[str, list[int]] = {}

    def count(name):
        def hook(module, args):
            x = args[0] if args else None
            if hasattr(x, "shape") and x.dim() >= 2 and x.shape[1]:
                bn_counts.setdefault(name, []).append(x.numel() // x.shape[1])

        return hook

    hooks = [m.register_forward_pre_hook(count(name)) for name, m in bn_modules.items()]
    with dropout_off(t_drop, j_drop):
        try:
            t_sig, t_leaves = ctx.torch_forward()
        finally:
            for h in hooks:
                h.remove()
        try:
            j_sig, j_leaves = ctx.jax_forward(ctx.j_in)
        except Exception as exc:
            raise StageFailed(f"the translation's forward (train mode) raised {exc_text(exc)}{where(exc, ctx.jpath)}") from exc
    problems = structure_problems(t_sig, j_sig, "output") or leaf_problems(t_leaves, j_leaves)
    if problems:
        raise StageFailed("train-mode outputs differ in structure: " + "; ".join(problems))
    out = ctx.compare_outputs(t_leaves, j_leaves, "train")

    from torch2jax.weights import plan_transfer, torch_tensors

    import numpy as np

    plan, _ = plan_transfer(ctx.jmodel, torch_tensors(ctx.tmodel), ctx.rules)
    for key, variable, t_value in plan:
        if key in ctx.param_names:
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
            old = ctx.torch_state.get(key)
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
