"""Running training code on both sides and comparing the runs (the behavioral stage's work).

Two kinds of input: the file's own training code (``--run [EXPR]``: an expression such as
``train(Net(), B)`` over names bound by ``--data``/``--batches``, or the file run as a script), and
a model trained with an optimizer, a loss and K steps (``--optimizer``/``--loss``/``--steps``): for
the latter a small torch training loop is written from those expressions and translated by the
converter itself, so the expressions are translated like the source and the real training
translation is what is checked. Each side runs under its recording (``recording``); then the
losses of every step, every parameter of every paired model at the end, and the value the
expression returned are compared.
"""

from __future__ import annotations

import math
from pathlib import Path

from torch2jax.verify.compare import compare_arrays, structure, structure_problems
from torch2jax.verify.errors import VerifyError, exc_text, where
from torch2jax.verify.loading import load_module
from torch2jax.verify.recording import JaxRecording, ReplayError, TorchRecording

RESULT_NAME = "__torch2jax_run__"


class EnoughSteps(Exception):
    """``--steps K`` reached: the run stops there on both sides."""


def translate_snippet(source_text: str, expr: str, rules) -> str:
    """``expr`` (torch code over the file's names) as the translation writes it."""
    from torch2jax.convert import convert_source

    result = convert_source(f"{source_text}\n\n{RESULT_NAME} = ({expr})\n", rules=rules)
    import ast

    tree = ast.parse(result.code)
    last = tree.body[-1]
    if not (isinstance(last, ast.Assign) and isinstance(last.targets[0], ast.Name) and last.targets[0].id == RESULT_NAME):
        raise VerifyError(f"--run {expr!r} could not be translated")
    return ast.get_source_segment(result.code, last.value)


def _torch_bindings(bindings: dict) -> dict:
    import torch

    def convert(value):
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, tuple):
            return tuple(convert(v) for v in value)
        return torch.from_numpy(value.copy())

    return {k: convert(v) for k, v in bindings.items()}


def _step_limit(recording, steps: int | None):
    """Stop a side after ``steps`` optimizer steps (checked before each further step)."""
    if steps is None:
        return
    if recording.steps >= steps:
        raise EnoughSteps


def run_torch(source: Path, code: str | None, expr: str | None, bindings: dict, seed: int, steps: int | None,
              display: str | None = None, files: set[str] | None = None, call=None):
    """(recording, returned value, error text or None) of the torch side."""
    import torch
    import torch.optim.optimizer as optimizer_module

    files = files or {str(Path(source).resolve())}
    recording = TorchRecording(files)
    result, error = None, None
    torch.manual_seed(seed)
    with recording:
        handle = optimizer_module.register_optimizer_step_pre_hook(lambda *a, **k: _step_limit(recording, steps))
        try:
            module = load_module(source, code=code, tag="run_torch", display=display, main=expr is None and call is None,
                                 namespace=_torch_bindings(bindings))
            if call is not None:
                result = call(module)
            elif expr is not None:
                result = eval(compile(expr, "<--run>", "eval"), vars(module))
        except EnoughSteps:
            del recording.losses[recording.losses_at_step[steps - 1]:]  # a loss computed for a step not taken
        except Exception as exc:  # noqa: BLE001 - the user's code failed: the check cannot run
            raise VerifyError(f"the PyTorch run failed: {exc_text(exc)}{where(exc, display or source)}") from exc
        finally:
            handle.remove()
    return recording, result, error


def run_jax(path: Path, code: str, display: str | None, expr: str | None, bindings: dict, seed: int,
            steps: int | None, torch_recording: TorchRecording, rules, call=None, float64: bool = False):
    """(recording, returned value, error text or None) of the JAX side, paired with the torch run."""
    from flax import nnx

    from torch2jax.rules import load_rules

    ruleset = rules or load_rules()
    layer_names = {r.torch.rsplit(".", 1)[-1]: r.target.rsplit(".", 1)[-1] for r in ruleset.rules if r.kind == "layer"}
    recording = JaxRecording({display or str(Path(path).resolve())}, torch_recording.built, torch_recording.draws,
                             layer_names, ruleset, float64=float64)
    result, error = None, None
    original_update = nnx.Optimizer.update

    def limited(optimizer, *args, **kwargs):
        _step_limit(recording, steps)
        return original_update(optimizer, *args, **kwargs)

    nnx.Optimizer.update = limited
    try:
        with recording:
            namespace = {**bindings, "rngs": nnx.Rngs(seed)}
            module = load_module(path, code=code, tag="run_jax", display=display, main=expr is None and call is None,
                                 namespace=namespace)
            if call is not None:
                result = call(module)
            elif expr is not None:
                result = eval(compile(expr, "<--run (translated)>", "eval"), {**vars(module), **namespace})
    except EnoughSteps:
        del recording.losses[recording.losses_at_step[steps - 1]:]
    except ReplayError as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - the translation failed: a failed stage, named
        error = f"the translation's run failed: {exc_text(exc)}{where(exc, display or path)}"
    finally:
        nnx.Optimizer.update = original_update
    return recording, result, error


def compare_runs(torch_rec: TorchRecording, jax_rec: JaxRecording, t_result, j_result, rtol: float, atol: float,
                 rules) -> dict:
    """The behavioral stage's result: losses step by step, final parameters, the returned value."""
    import numpy as np

    from torch2jax.verify.sides import tied_aliases
    from torch2jax.weights import plan_transfer, torch_tensors

    st: dict = {"ok": False, "steps": {"torch": torch_rec.steps, "jax": jax_rec.steps},
                "losses": {"torch": list(torch_rec.losses), "jax": list(jax_rec.losses)}, "tensors": [], "problems": []}
    tensors, problems = st["tensors"], st["problems"]
    problems += jax_rec.problems
    if torch_rec.steps != jax_rec.steps:
        problems.append(f"torch made {torch_rec.steps} optimizer step(s), the translation {jax_rec.steps}")
    if len(torch_rec.losses) != len(jax_rec.losses):
        problems.append(f"torch computed {len(torch_rec.losses)} loss(es) with backward(), the translation "
                        f"{len(jax_rec.losses)}")
    for i, (t, j) in enumerate(zip(torch_rec.losses, jax_rec.losses)):
        tensors.append(compare_arrays(f"loss[{i}]", np.float64(j), np.float64(t), rtol, atol))
    if jax_rec.replayed != len(torch_rec.draws):
        problems.append(f"torch drew {len(torch_rec.draws)} random array(s), the translation {jax_rec.replayed}")
    for t_built, j_built in jax_rec.pairs:
        plan, plan_problems = plan_transfer(j_built.model, torch_tensors(t_built.model), rules)
        problems += [f"{j_built.cls}: {p}" for p in plan_problems[:5]]
        aliases = tied_aliases(t_built.model)
        for key, variable, t_value in plan:
            if key in aliases:
                continue  # a tied parameter: compared under its first name
            j_value = variable.get_value() if hasattr(variable, "get_value") else variable.value
            tensors.append(compare_arrays(f"{j_built.cls}.{key}", np.asarray(j_value), t_value, rtol, atol))
    if not jax_rec.pairs and torch_rec.built:
        problems.append("no model built by the translation could be paired with torch's "
                        f"({', '.join(b.cls for b in torch_rec.built)})")
    if t_result is not None or j_result is not None:
        import torch

        from torch2jax.verify.sides import JaxSide

        t_leaves: list = []
        j_leaves: list = []
        jax_side = JaxSide()
        t_sig = structure(t_result, "result", lambda x: isinstance(x, torch.Tensor),
                          lambda x: x.detach().cpu().numpy(), t_leaves)
        j_sig = structure(j_result, "result", jax_side.is_array, jax_side.to_numpy, j_leaves)
        found = structure_problems(t_sig, j_sig, "result")
        problems += found
        if not found:
            for (name, t), (_, j) in zip(t_leaves, j_leaves):
                tensors.append(compare_arrays(name, np.asarray(j), np.asarray(t), rtol, atol))
    st["ok"] = not problems and all(t["ok"] for t in tensors)
    if tensors:
        worst = max(tensors, key=lambda t: (not t["ok"], t.get("tol_ratio", 0.0)))
        st["worst"] = worst["name"]
        st["max_abs_err"] = max(t.get("max_abs_err", 0.0) for t in tensors)
        st["max_rel_err"] = max(t.get("max_rel_err", 0.0) for t in tensors)
    else:
        st.update(worst=None, max_abs_err=None, max_rel_err=None)
    st["failed"] = [t["name"] for t in tensors if not t["ok"]]
    if math.isinf(st.get("max_abs_err") or 0.0):
        st["max_abs_err"] = None
    return st


TRAINING_LOOP = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


def {name}(model, batches):
    optimizer = {optimizer}
{scheduler}    for inputs in batches:
        out = model(*inputs)
        loss = {loss}
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
{scheduler_step}    return model
"""


def training_loop(optimizer: str, loss: str, scheduler: str | None, name: str = "train_with_given_optimizer") -> str:
    """The torch loop ``--optimizer``/``--loss``/``--scheduler`` describe (the JAX side is its translation)."""
    return TRAINING_LOOP.format(
        name=name, optimizer=optimizer, loss=loss,
        scheduler=f"    scheduler = {scheduler}\n" if scheduler else "",
        scheduler_step="        scheduler.step()\n" if scheduler else "",
    )
