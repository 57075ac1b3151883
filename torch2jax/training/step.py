"""The jitted training step that replaces ``zero_grad()`` / forward / ``backward()`` / ``step()``.

Given a StepPlan (see ``analysis``) and the already translated forward statements, build

    @nnx.jit
    def train_step(net, optimizer, inputs, labels):
        def loss_fn(net):
            outputs = net(inputs)
            loss = ...
            return loss, outputs
        (loss, outputs), grads = nnx.value_and_grad(loss_fn, has_aux=True)(net)
        optimizer.update(net, grads)
        return loss, outputs

and the statement that calls it where ``backward()`` was. The step is a module-level
function of its arguments only, so it compiles once: the model and the optimizer, then
every variable the forward reads (batches, hyperparameters), in the order it reads them.
Module-level functions, classes and imports are closed over; variables that only ever
hold Python integers (``ntokens = len(vocab)``) and functions passed in are static
arguments, so shapes and calls stay Python values under ``jit``. Values computed in the
forward and read after the step (``outputs`` for accuracy) come back as auxiliary outputs.
"""

from __future__ import annotations

import builtins
import textwrap
from dataclasses import dataclass

import libcst as cst

from torch2jax.syntax import code_of
from torch2jax.training.analysis import MODULE_LEVEL, Scope, StepPlan, TrainingFacts
from torch2jax.training.dataflow import names_of

BUILTINS = frozenset(vars(builtins))
EMITTED_MODULES = frozenset({"jax", "jnp", "nnx", "optax", "np", "functools", "math"})


@dataclass
class StepSignature:
    params: list[tuple[str, str]]  # (parameter name in the step, argument expression at the call)
    static: list[str]  # parameter names passed as static arguments
    aux: list[str]  # forward results returned besides the loss


def param_name(var: str) -> str:
    return var[len("self."):] if var.startswith("self.") else var


def signature(facts: TrainingFacts, scope: Scope, plan: StepPlan, forward: list, original_forward: list) -> StepSignature:
    names = names_of(forward)
    closed = facts.module_globals | BUILTINS | EMITTED_MODULES
    if plan.kind == "leaves":
        first = list(plan.leaves)
    elif plan.kind == "accumulate":
        first = [plan.model]
    else:
        first = [plan.model, plan.optimizer]
    params = [(param_name(var), var) for var in first]
    taken = {p for p, _ in params}
    static = []
    statics = _static_names(facts, scope)
    for var in names.reads:
        if var in first or var == "self" or var in closed:
            continue
        name = param_name(var)
        if name in taken:
            name = var.replace(".", "_")
        taken.add(name)
        params.append((name, var))
        binding = facts.lookup(scope, var)
        if var in statics or (var in names.called and (binding is None or binding.kind == "loss")):
            static.append(name)
    read_elsewhere = _reads_outside(facts, scope, original_forward)
    written = names.writes
    aux = [w for w in sorted(written) if w in read_elsewhere and w != plan.loss_name]
    return StepSignature(params, static, aux)


def _reads_outside(facts: TrainingFacts, scope: Scope, original_forward: list) -> set[str]:
    """Every name the enclosing function (or module) reads outside the forward statements."""
    owner = facts.module if scope == MODULE_LEVEL else facts.functions.get(scope)
    if owner is None:
        return set()
    stripped = owner.visit(_Without({id(stmt) for stmt in original_forward}))
    return names_of(list(stripped.body) if isinstance(stripped, cst.Module) else list(stripped.body.body)).all_reads


class _Without(cst.CSTTransformer):
    """The tree with the given statements (by identity) replaced by ``pass``."""

    def __init__(self, ids: set[int]):
        self.ids = ids

    def on_leave(self, original, updated):
        if id(original) in self.ids:
            return cst.SimpleStatementLine([cst.Pass()])
        return updated


def _static_names(facts: TrainingFacts, scope: Scope) -> set[str]:
    """Variables that only ever hold Python integers: literals, ``len(...)``, ``int(...)``."""
    kinds: dict[str, bool] = {}
    owners = [facts.module] + ([facts.functions[scope]] if scope in facts.functions else [])

    class _Assignments(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    name = target.target.value
                    kinds[name] = kinds.get(name, True) and _int_valued(node.value)

        def visit_Param(self, node: cst.Param) -> None:
            if node.default is not None:
                kinds[node.name.value] = kinds.get(node.name.value, True) and _int_valued(node.default)

    for owner in owners:
        if owner is not None:
            owner.visit(_Assignments())
    return {name for name, is_int in kinds.items() if is_int}


def _int_valued(node) -> bool:
    if isinstance(node, cst.Integer):
        return True
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("len", "int"):
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Multiply, cst.FloorDivide)):
        return _int_valued(node.left) and _int_valued(node.right)
    return False


class _SelfToParams(cst.CSTTransformer):
    """``self.model`` -> ``model`` inside the step (the step is not a method)."""

    def __init__(self, renames: dict[str, str]):
        self.renames = renames

    def leave_Attribute(self, original, updated):
        if isinstance(updated.value, cst.Name) and updated.value.value == "self":
            name = self.renames.get(f"self.{updated.attr.value}")
            if name is not None:
                return cst.Name(name)
        return updated


def build_step(name: str, loss_fn: str, plan: StepPlan, sig: StepSignature, forward: list, *,
               wrt: str | None, clip_lines: list[str], indent: str, decorator: str) -> cst.FunctionDef:
    """The module-level step function, as a CST node."""
    renames = {var: p for p, var in sig.params if var.startswith("self.")}
    if renames:
        forward = [stmt.visit(_SelfToParams(renames)) for stmt in forward]
    model = param_name(plan.model) if plan.model.startswith("self.") else plan.model
    loss = plan.loss_name or "loss"
    body = "".join(code_of(stmt) for stmt in forward).lstrip("\n")
    loss_value = loss if plan.loss_name else code_of(plan.loss)
    returned = ", ".join([loss_value, *sig.aux])
    results = f"({', '.join([loss, *sig.aux])})" if sig.aux else loss
    options = ", has_aux=True" if sig.aux else ""
    if wrt:
        options += f", argnums=nnx.DiffState(0, {wrt})"
    lines = [
        decorator,
        f"def {name}({', '.join(p for p, _ in sig.params)}):",
        f"{indent}def {loss_fn}({model}):",
        textwrap.indent(body, indent * 2).rstrip("\n"),
        f"{indent * 2}return {returned}",
        f"{indent}{results}, grads = nnx.value_and_grad({loss_fn}{options})({model})",
        *(f"{indent}{line}" for line in clip_lines),
        f"{indent}{param_name(plan.optimizer)}.update({model}, grads)",
        f"{indent}return {', '.join([loss, *sig.aux])}",
    ]
    return cst.parse_statement("\n".join(lines) + "\n", config=cst.PartialParserConfig())


def grad_name(leaf: str) -> str:
    """The variable that holds ``leaf.grad`` in the translation."""
    return f"{leaf}_grad"


def build_leaf_step(name: str, loss_fn: str, plan: StepPlan, sig: StepSignature, forward: list, *,
                    indent: str, decorator: str) -> cst.FunctionDef:
    """Plain autograd: the loss and the gradients of the leaves it depends on, jitted."""
    body = "".join(code_of(stmt) for stmt in forward).lstrip("\n")
    loss_value = plan.loss_name if plan.loss_name else code_of(plan.loss)
    argnums = "0" if len(plan.leaves) == 1 else "(" + ", ".join(str(i) for i in range(len(plan.leaves))) + ")"
    options = ", has_aux=True" if sig.aux else ""
    leaves = ", ".join(plan.leaves)
    lines = [
        decorator,
        f"def {name}({', '.join(p for p, _ in sig.params)}):",
        f"{indent}def {loss_fn}({leaves}):",
        textwrap.indent(body, indent * 2).rstrip("\n"),
        f"{indent * 2}return {', '.join([loss_value, *sig.aux])}",
        f"{indent}return jax.value_and_grad({loss_fn}, argnums={argnums}{options})({leaves})",
    ]
    return cst.parse_statement("\n".join(lines) + "\n")


def build_grads_step(name: str, loss_fn: str, plan: StepPlan, sig: StepSignature, forward: list, *,
                     indent: str, decorator: str) -> cst.FunctionDef:
    """Gradient accumulation: the loss and the model's gradients, jitted; the update happens elsewhere."""
    body = "".join(code_of(stmt) for stmt in forward).lstrip("\n")
    loss_value = plan.loss_name if plan.loss_name else code_of(plan.loss)
    model = param_name(plan.model)
    options = ", has_aux=True" if sig.aux else ""
    lines = [
        decorator,
        f"def {name}({', '.join(p for p, _ in sig.params)}):",
        f"{indent}def {loss_fn}({model}):",
        textwrap.indent(body, indent * 2).rstrip("\n"),
        f"{indent * 2}return {', '.join([loss_value, *sig.aux])}",
        f"{indent}return nnx.value_and_grad({loss_fn}{options})({model})",
    ]
    return cst.parse_statement("\n".join(lines) + "\n")


def accumulate_statements(name: str, plan: StepPlan, sig: StepSignature, leading_lines) -> list:
    """``loss, step_grads = loss_and_grads(...)`` and the gradients added up, as torch adds up ``.grad``."""
    call = f"{name}({', '.join(arg for _, arg in sig.params)})"
    value = plan.loss_name or "_"
    if sig.aux:
        value = f"({', '.join([value, *sig.aux])})"
    g = plan.grads
    first = cst.parse_statement(f"{value}, step_{g} = {call}\n").with_changes(leading_lines=leading_lines)
    second = cst.parse_statement(f"{g} = step_{g} if {g} is None else jax.tree.map(jnp.add, {g}, step_{g})\n")
    return [first, second]


def call_statement(name: str, plan: StepPlan, sig: StepSignature, leading_lines) -> cst.SimpleStatementLine:
    """``loss, outputs = train_step(net, optimizer, inputs, labels)`` where ``backward()`` was."""
    call = f"{name}({', '.join(arg for _, arg in sig.params)})"
    targets = [plan.loss_name or "_", *sig.aux]
    if plan.kind == "leaves":
        value = f"({', '.join(targets)})" if sig.aux else targets[0]
        grads = [grad_name(leaf) for leaf in plan.leaves]
        grads_text = grads[0] if len(grads) == 1 else f"({', '.join(grads)})"
        targets = [value, grads_text]
    text = call if targets == ["_"] else f"{', '.join(targets)} = {call}"
    stmt = cst.parse_statement(text + "\n")
    return stmt.with_changes(leading_lines=leading_lines)
