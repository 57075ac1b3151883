"""Weight transfer: torch parameters and buffers into a translated NNX model.

Driven by the rules' parameter maps (``weight -> kernel``, transposed; conv
``OIHW -> HWIO``; ``running_mean -> mean``), walking the NNX model and naming
each torch tensor by the path torch gives it. Every missing, extra or mis-shaped
tensor is reported by name; nothing is copied unless everything fits.

Modules the translation defines itself (the recurrent layers, attention, the Transformer
layers: their rule's target has no module path) hold their variables under torch's names and
in torch's layouts (``weight_ih_l0`` with its gates packed as torch packs them,
``in_proj_weight`` packing q, k and v), so they are walked as they are and transfer one to one.
"""

from __future__ import annotations

import functools
import importlib

import numpy as np

from torch2jax.registry import PARAM_TRANSFORMS
from torch2jax.rules import RuleSet, load_rules


class WeightTransferError(ValueError):
    """The torch tensors and the NNX model do not correspond one to one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "\n  ".join(problems[:40]) + ("\n  ..." if len(problems) > 40 else "")
        super().__init__(f"{len(problems)} problem(s) transferring weights:\n  {shown}")


def _layer_maps(rules: RuleSet) -> dict[type, object]:
    """NNX layer class -> the rule whose parameter map fills it."""
    out = {}
    for rule in rules.rules:
        if rule.kind != "layer" or not (rule.params or rule.buffers):
            continue
        module_name, _, attr = rule.target.rpartition(".")
        if not module_name:  # a class the translation defines itself, holding torch's names: walked as it is
            continue
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            continue
        out.setdefault(cls, rule)
    return out


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        return value.float().numpy() if value.is_floating_point() and value.dtype not in _torch_kept() else value.numpy()
    return np.asarray(value)


@functools.lru_cache(maxsize=1)
def _torch_kept():
    """Float dtypes numpy holds as they are (half precisions become float32)."""
    import torch

    return (torch.float32, torch.float64)


def torch_tensors(source) -> dict[str, np.ndarray]:
    """A torch module's state dict (and non-persistent buffers), or a state dict, as numpy.

    The buffers of a loss module (``nn.CrossEntropyLoss(weight=...)``'s class weights) are left
    out: the translation writes the loss as an expression with those values, no variables. A
    ``DataParallel`` wrapper's ``module.`` goes from the names: the translation holds the wrapped model
    itself."""
    if hasattr(source, "state_dict") and callable(source.state_dict):
        tensors = dict(source.state_dict())
        for name, buf in source.named_buffers():
            tensors.setdefault(name, buf)
        losses = [f"{name}." for name, module in source.named_modules() if name and _is_loss(module)]
        tensors = {k: v for k, v in tensors.items() if not k.startswith(tuple(losses))}
        for name, module in sorted(source.named_modules(), key=lambda item: -len(item[0])):  # innermost first
            if _is_data_parallel(module):
                wrapped, kept = f"{name}.module." if name else "module.", f"{name}." if name else ""
                tensors = {(kept + k[len(wrapped):] if k.startswith(wrapped) else k): v for k, v in tensors.items()}
    else:
        tensors = dict(source)
    return {k: _to_numpy(v) for k, v in tensors.items() if v is not None}


def _is_data_parallel(module) -> bool:
    from torch.nn import DataParallel
    from torch.nn.parallel import DistributedDataParallel

    return isinstance(module, (DataParallel, DistributedDataParallel))


def _is_loss(module) -> bool:
    from torch.nn.modules.loss import _Loss

    return isinstance(module, _Loss)


def _layout_wrapped(seq) -> object | None:
    """The Flax layer inside a channels-first wrapper (transpose, layer, transpose)."""
    from flax import nnx

    layers = list(seq.layers)
    modules = [layer for layer in layers if isinstance(layer, nnx.Module)]
    others = [layer for layer in layers if not isinstance(layer, nnx.Module)]
    if (
        len(layers) == 3
        and len(modules) == 1
        and layers[1] is modules[0]
        and all(isinstance(o, functools.partial) and getattr(o.func, "__name__", "") == "transpose" for o in others)
    ):
        return modules[0]
    return None


def plan_transfer(nnx_model, tensors: dict[str, np.ndarray], rules: RuleSet | None = None):
    """[(torch name, nnx variable, array)] and the list of problems, without copying."""
    from flax import nnx

    rules = rules or load_rules()
    layer_maps = _layer_maps(rules)
    plan: list[tuple[str, object, np.ndarray]] = []
    problems: list[str] = []
    used: set[str] = set()
    filled: set[int] = set()

    def take(key: str, variable, transform: str = "none") -> None:
        filled.add(id(variable))  # reported here if it does not fit, not again as unfilled
        nnx_value = variable.get_value()
        if key not in tensors:
            problems.append(f"missing in torch: `{key}` (the translation has a {type(variable).__name__} of shape {tuple(nnx_value.shape)})")
            return
        used.add(key)
        array = PARAM_TRANSFORMS[transform](tensors[key])
        if tuple(array.shape) != tuple(nnx_value.shape):
            problems.append(
                f"shape mismatch for `{key}`: torch {tuple(tensors[key].shape)}"
                + (f" ({transform} -> {tuple(array.shape)})" if transform != "none" else "")
                + f", translation {tuple(nnx_value.shape)}"
            )
            return
        plan.append((key, variable, array.astype(np.dtype(nnx_value.dtype), copy=False)))

    def walk(obj, prefix: str) -> None:
        if isinstance(obj, nnx.Sequential):
            inner = _layout_wrapped(obj)
            if inner is not None:
                return walk(inner, prefix)
            children = _torch_children(tensors, prefix)
            if all(c.isdigit() for c in children):
                for i, layer in enumerate(obj.layers):
                    if isinstance(layer, nnx.Module):
                        walk(layer, f"{prefix}{i}.")
                return
            # nn.Sequential(OrderedDict(...)): named children, matched in order.
            holders = [layer for layer in obj.layers if isinstance(layer, nnx.Module) and _has_variables(layer)]
            for name, layer in zip(children, holders):
                walk(layer, f"{prefix}{name}.")
            return
        if isinstance(obj, (nnx.List, nnx.Dict)):  # also nn.ParameterList / ParameterDict: variables as entries
            for k, item in (enumerate(obj) if isinstance(obj, nnx.List) else obj.items()):
                if isinstance(item, nnx.Module):
                    walk(item, f"{prefix}{k}.")
                elif isinstance(item, nnx.Variable):
                    take(f"{prefix}{k}", item)
            return
        layer = next((c for c in type(obj).__mro__ if c in layer_maps), None)  # a subclass of the file's too
        claimed: set[str] = set()
        if layer is not None:
            rule = layer_maps[layer]
            for tname, spec in {**rule.params, **rule.buffers}.items():
                variable = getattr(obj, spec.path, None)
                claimed.add(spec.path)
                if variable is None:
                    if prefix + tname in tensors:
                        problems.append(f"`{prefix}{tname}` exists in torch but the translation has no `{spec.path}`")
                        used.add(prefix + tname)
                    continue
                take(prefix + tname, variable, spec.transform)
            used.update(prefix + name for name in rule.ignore)
            if type(obj) is layer:
                return
        for name, value in vars(obj).items():
            if name.startswith("_pytree__") or name.startswith("_object__") or name in claimed:
                continue
            if isinstance(value, nnx.Variable):
                take(prefix + name, value)
            elif isinstance(value, nnx.Module):
                walk(value, f"{prefix}{name}.")

    walk(nnx_model, "")
    for key in tensors:
        if key not in used:
            problems.append(f"unexpected in torch: `{key}` {tuple(tensors[key].shape)} has no place in the translation")
    for path, variable in nnx.iter_graph(nnx_model):
        if isinstance(variable, nnx.Variable) and id(variable) not in filled and not isinstance(variable, nnx.RngState):
            name = ".".join(str(p) for p in path)
            problems.append(f"not filled: `{name}` in the translation got no torch tensor")
    return plan, _dedupe(problems)


def _torch_children(tensors: dict, prefix: str) -> list[str]:
    """Names of the torch children under ``prefix`` that hold tensors, in registration order."""
    out: list[str] = []
    for key in tensors:
        if key.startswith(prefix):
            child = key[len(prefix):].split(".")[0]
            if child not in out and "." in key[len(prefix):]:
                out.append(child)
    return out


def _has_variables(module) -> bool:
    from flax import nnx

    return any(isinstance(v, nnx.Variable) for _, v in nnx.iter_graph(module))


def _dedupe(items: list[str]) -> list[str]:
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def load_torch_weights(nnx_model, torch_model_or_state_dict, *, rules: RuleSet | None = None):
    """Copy every torch parameter and buffer into ``nnx_model`` (in place) and return it.

    Raises WeightTransferError naming each missing, unexpected or mis-shaped tensor;
    in that case nothing is copied.
    """
    import jax.numpy as jnp

    tensors = torch_tensors(torch_model_or_state_dict)
    plan, problems = plan_transfer(nnx_model, tensors, rules)
    if problems:
        raise WeightTransferError(problems)
    for _, variable, array in plan:
        variable.set_value(jnp.asarray(array))
    return nnx_model
