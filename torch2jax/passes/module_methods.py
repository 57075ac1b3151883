"""nn.Module methods called on a model (``self`` in a module class, or a variable the file
says holds one): those with an NNX counterpart are translated, the rest reported.

- ``model.to(device)``, ``.cuda()``, ``.cpu()`` -> ``model`` (JAX places arrays itself);
- ``model.parameters()`` (outside an optimizer) -> the parameter arrays,
  ``jax.tree.leaves(nnx.state(model, nnx.Param))``, enough for counting and norms;
- ``model.modules()`` -> the submodules (``nnx.iter_modules``; children before parents, where
  torch lists parents first: only the order of random draws in an init loop differs);
- ``model.forward(x)`` -> ``model(x)``; ``model.zero_grad()`` on its own -> nothing to do;
- ``train()`` / ``eval()`` exist in NNX and stay; ``apply`` is ``passes.initialization``'s.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.analyze import mro
from torch2jax.registry import REMOVE, on_leave, on_statement
from torch2jax.state import State
from torch2jax.syntax import call, expr

# nn.Module methods that NNX lacks: reported with what to do instead.
MODULE_API = {
    "named_modules": "use nnx.iter_modules(model), which yields (path tuple, module)",
    "children": "use nnx.iter_children(model) (containers such as nnx.List are children themselves)",
    "named_children": "use nnx.iter_children(model) (containers such as nnx.List are children themselves)",
    "named_parameters": "use nnx.to_flat_state(nnx.state(model, nnx.Param)): Flax names and layouts differ "
                        "(kernel (in, out) for weight (out, in))",
    "buffers": "use nnx.state(model, nnx.BatchStat) or your own nnx.Variable type",
    "named_buffers": "use nnx.state(model, nnx.BatchStat) or your own nnx.Variable type",
    "state_dict": "use nnx.state(model) (Flax names and layouts); torch2jax.load_torch_weights reads torch's",
    "load_state_dict": "use nnx.update(model, state) or torch2jax.load_torch_weights",
    "register_forward_hook": "NNX has no hooks; call the code explicitly",
    "register_forward_pre_hook": "NNX has no hooks; call the code explicitly",
    "register_full_backward_hook": "NNX has no hooks; transform the gradient explicitly",
    "register_backward_hook": "NNX has no hooks; transform the gradient explicitly",
    "register_parameter": "assign an nnx.Param attribute",
    "add_module": "assign the submodule as an attribute",
    "requires_grad_": "to freeze parameters, leave them out of the optimizer: nnx.Optimizer(..., wrt=<filter>) "
                      "and the same filter in nnx.value_and_grad",
    "half": "cast the parameters: nnx.update(model, jax.tree.map(lambda x: x.astype(jnp.float16), nnx.state(model)))",
    "float": "cast the parameters: nnx.update(model, jax.tree.map(lambda x: x.astype(jnp.float32), nnx.state(model)))",
    "double": "cast the parameters: nnx.update(model, jax.tree.map(lambda x: x.astype(jnp.float64), nnx.state(model)))",
    "bfloat16": "cast the parameters: nnx.update(model, jax.tree.map(lambda x: x.astype(jnp.bfloat16), nnx.state(model)))",
    "type": "cast the parameters with jax.tree.map over nnx.state(model)",
    "share_memory": "JAX arrays are shared between threads already; for processes, see jax.distributed",
}
DEVICE_MOVES = {"to", "cuda", "cpu", "xpu", "mps"}


def _module_receiver(state: State, func) -> cst.BaseExpression | None:
    """The receiver when ``func`` is ``<model>.<method>`` on something that holds a module or layer."""
    if not isinstance(func, cst.Attribute):
        return None
    receiver = func.value
    if isinstance(receiver, cst.Name) and receiver.value == "self":
        return receiver if state.scope.cls is not None else None
    holder = state.holds(receiver)
    return receiver if holder is not None and holder.kind in ("module", "layer") else None


def _own_method(state: State, receiver, name: str) -> bool:
    """A method the file's class defines itself (``self.parameters()`` overridden)."""
    facts = state.facts
    cls = state.scope.cls if isinstance(receiver, cst.Name) and receiver.value == "self" else None
    if cls is None:
        holder = state.holds(receiver)
        cls = holder.name if holder is not None and holder.kind == "module" else None
    return cls is not None and any((c, name) in facts.functions for c in mro(facts, cls))


@on_leave(cst.Call)
def module_method(state: State, original: cst.Call, updated: cst.Call):
    receiver = _module_receiver(state, original.func)
    if receiver is None:
        return None
    name = original.func.attr.value
    if _own_method(state, receiver, name):
        return None
    new_receiver = updated.func.value
    if name in DEVICE_MOVES:
        state.report("T2J902", f"`.{name}(...)` on a model removed: JAX places arrays on its default device",
                     node=original, handled=True)
        return new_receiver
    if name == "parameters" and not original.args:
        state.imports.ref("jax.tree.leaves")
        param = state.imports.ref("flax.nnx.Param")
        return call(state.imports.ref("jax.tree.leaves"), [call(state.imports.ref("flax.nnx.state"), [new_receiver, param])])
    if name == "modules" and not original.args:
        state.imports.ref("flax.nnx.iter_modules")
        return expr(f"(module for _, module in nnx.iter_modules({_code(new_receiver)}))")
    if name == "forward" and not (isinstance(receiver, cst.Name) and receiver.value == "self"):
        return updated.with_changes(func=new_receiver)
    if name in MODULE_API:
        shown = "self" if isinstance(receiver, cst.Name) and receiver.value == "self" else "model"
        state.report("T2J201", f"`{shown}.{name}(...)`: {MODULE_API[name]}; left as is", node=original)
        return updated
    return None


@on_statement(cst.Expr)
def lone_zero_grad(state: State, original: cst.Expr, updated: cst.Expr):
    """``model.zero_grad()`` outside a translated step: JAX keeps no gradients to zero."""
    c = original.value
    if (isinstance(c, cst.Call) and isinstance(c.func, cst.Attribute) and c.func.attr.value == "zero_grad"
            and _module_receiver(state, c.func) is not None and id(c) not in state.facts.training.handled_calls
            and id(c) not in state.facts.training.accumulated_zeros):
        state.report("T2J202", "`zero_grad()` removed: JAX computes gradients functionally, there is nothing to zero",
                     node=original, handled=True, severity="info")
        return REMOVE
    return None


def _code(node) -> str:
    from torch2jax.syntax import code_of

    return code_of(node)
