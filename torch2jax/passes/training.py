"""Training code: the ``zero_grad()`` / forward / ``backward()`` / ``step()`` sequence becomes a
call of a jitted step (``training.step``), loss objects become functions (their calls the loss
expression itself), ``with torch.no_grad():`` blocks lose their ``with`` (JAX computes no
gradient it is not asked for), and what cannot be translated is reported at its statement.

The optimizer, scheduler and loss constructions themselves are rules (``rules/training.toml``)
whose handlers live in ``torch2jax/handlers/training.py``; the facts that tie them together
(which model an optimizer updates, which scheduler drives it, where the steps are) come from
``training.analysis`` before the walk.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import Lines, on_leave, on_statement
from torch2jax.state import State
from torch2jax.training.analysis import MODULE_LEVEL, StepPlan
from torch2jax.training.step import (
    accumulate_statements,
    build_grads_step,
    build_leaf_step,
    build_step,
    call_statement,
    grad_name,
    signature,
)

GRAD_MODES = {"torch.no_grad", "torch.inference_mode", "torch.enable_grad", "torch.set_grad_enabled",
              "torch.autograd.no_grad", "torch.autograd.grad_mode.no_grad"}


def _scope(state: State):
    key = state.scope.key
    return key if key is not None else MODULE_LEVEL


# ---------------------------------------------------------------------- grad modes


@on_leave(cst.Call)
def grad_mode(state: State, original: cst.Call, updated: cst.Call):
    """``torch.no_grad()`` and friends are dropped with their ``with`` or decorator (see below)."""
    if state.qualify(original.func) in GRAD_MODES:
        return updated
    return None


def _is_grad_mode(state: State, node) -> bool:
    if isinstance(node, cst.Call):
        node = node.func
    return state.qualify(node) in GRAD_MODES


@on_statement(cst.Expr)
def grad_mode_switch(state: State, original: cst.Expr, updated: cst.Expr):
    """``torch.set_grad_enabled(False)`` as a statement: nothing to do in JAX."""
    if isinstance(original.value, cst.Call) and _is_grad_mode(state, original.value):
        from torch2jax.registry import REMOVE

        return REMOVE
    return None


@on_leave(cst.FunctionDef, exclusive=False)
def grad_mode_decorator(state: State, original: cst.FunctionDef, updated: cst.FunctionDef):
    """``@torch.no_grad()`` on a function: removed."""
    kept = [d for d in updated.decorators if not _is_grad_mode(state, d.decorator)]
    if len(kept) == len(updated.decorators):
        return None
    return updated.with_changes(decorators=kept)


def _without_grad_modes(state: State, stmt: cst.With) -> list | None:
    """The statements of ``with torch.no_grad(): ...`` (other context managers stay)."""
    items = [i for i in stmt.items if not _is_grad_mode(state, i.item)]
    if len(items) == len(stmt.items):
        return None
    if items:
        items[-1] = items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return [stmt.with_changes(items=items)]
    body = list(stmt.body.body) if isinstance(stmt.body, cst.IndentedBlock) else [cst.SimpleStatementLine(stmt.body.body)]
    if body:
        comments = [line for line in stmt.leading_lines]
        body[0] = body[0].with_changes(leading_lines=[*comments, *body[0].leading_lines])
    return body


# ---------------------------------------------------------------------- blocks


@on_leave(cst.IndentedBlock, cst.Module, exclusive=False)
def training_block(state: State, original, updated):
    """Steps fused, loss objects turned into functions, grad-mode ``with`` blocks unwrapped."""
    training = state.facts.training
    plans = training.steps.get(id(original), [])
    replacement: dict[int, list] = {}
    for plan in plans:
        replacement.update(_rewrite_step(state, original, updated, plan))
    changed = bool(replacement)
    for i, (old, new) in enumerate(zip(original.body, updated.body)):
        if i in replacement:
            continue
        if isinstance(new, cst.With):
            body = _without_grad_modes(state, new)
            if body is not None:
                replacement[i] = body
                changed = True
    if isinstance(original, cst.Module):
        changed = _insert_definitions(state, original, updated, replacement) or changed
    if not changed:
        return None
    body = []
    for i, stmt in enumerate(updated.body):
        body += replacement.get(i, [stmt])
    if body and body[0] is not updated.body[0] and not isinstance(original, cst.Module):
        lines = list(body[0].leading_lines)  # a block does not start with blank lines
        while lines and lines[0].comment is None:
            lines.pop(0)
        body[0] = body[0].with_changes(leading_lines=lines)
    return updated.with_changes(body=body)


def _insert_definitions(state: State, original: cst.Module, updated: cst.Module, replacement: dict[int, list]) -> bool:
    """Step functions go before the top-level statement that uses them; helpers after the imports."""
    if not state.module_definitions and not state.support and not state.module_statements:
        return False
    index_of = {id(stmt): i for i, stmt in enumerate(original.body)}
    first_code = _after_imports(original)

    def current(i):
        return replacement.get(i, [updated.body[i]] if i < len(updated.body) else [])

    for anchor, statement in state.module_statements:  # e.g. `rngs = nnx.Rngs(0)`, after the anchor's blank lines
        i = index_of.get(id(anchor))
        if i is None:
            continue
        stmts = current(i)
        if stmts:  # the anchor's comments (and markers) stay with it: a second conversion finds them there
            lines = list(stmts[0].leading_lines)
            blank = 0
            while blank < len(lines) and lines[blank].comment is None:
                blank += 1
            statement = statement.with_changes(leading_lines=lines[:blank])
            stmts = [stmts[0].with_changes(leading_lines=lines[blank:]), *stmts[1:]]
        replacement[i] = [statement, *stmts]
    for anchor, definition in state.module_definitions:
        i = index_of.get(id(anchor), first_code) if anchor is not None else first_code
        replacement[i] = _before(current(i), [definition])
    if state.support:
        support = [cst.parse_statement(code) for code in state.support.values()]
        replacement[first_code] = _before(current(first_code), support)
    return True


def _before(statements: list, definitions: list) -> list:
    """Definitions placed before ``statements``, with two blank lines around each, as black writes them."""
    two = [cst.EmptyLine(), cst.EmptyLine()]
    spaced = [d.with_changes(leading_lines=two) for d in definitions]
    if statements:
        first = statements[0]
        lines = list(first.leading_lines)
        blank = 0
        while blank < len(lines) and lines[blank].comment is None:
            blank += 1
        statements = [first.with_changes(leading_lines=two + lines[blank:]), *statements[1:]]
    return [*spaced, *statements]


def _after_imports(module: cst.Module) -> int:
    index = 0
    for i, stmt in enumerate(module.body):
        if isinstance(stmt, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom)) or (isinstance(s, cst.Expr) and isinstance(s.value, cst.SimpleString))
            for s in stmt.body
        ):
            index = i + 1
        elif isinstance(stmt, (cst.If, cst.Try)) and i == index and _only_imports(stmt):
            index = i + 1
        else:
            break
    return index


def _only_imports(stmt) -> bool:
    body = stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else []
    return bool(body) and all(
        isinstance(s, cst.SimpleStatementLine) and all(isinstance(x, (cst.Import, cst.ImportFrom)) for x in s.body)
        for s in body
    )


def _unique(state: State, base: str) -> str:
    taken = state.facts.training.module_globals | {
        d.name.value for _, d in state.module_definitions if isinstance(d, cst.FunctionDef)
    }
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _rewrite_step(state: State, original, updated, plan: StepPlan) -> dict[int, list]:
    training = state.facts.training
    scope = _scope(state)
    forward = [updated.body[i] for i in plan.forward]
    forward[0] = forward[0].with_changes(leading_lines=[])  # its comments stay at the call (see below)
    original_forward = [original.body[i] for i in plan.forward]
    sig = signature(training, scope, plan, forward, original_forward)
    step_name = _unique(state, "train_step" if plan.kind == "optimizer" else "loss_and_grads")
    loss_fn = "loss_fn" if "loss_fn" not in {p for p, _ in sig.params} else "compute_loss"
    jit = state.imports.ref("jax.jit" if plan.kind == "leaves" else "flax.nnx.jit")
    if sig.static:
        partial = state.imports.ref("functools.partial")
        names = ", ".join(repr(n) for n in sig.static) + ("," if len(sig.static) == 1 else "")
        decorator = f"@{_code(partial)}({_code(jit)}, static_argnames=({names}))"
    else:
        decorator = f"@{_code(jit)}"
    if plan.kind == "leaves":
        definition = build_leaf_step(step_name, loss_fn, plan, sig, forward, indent=state.indent, decorator=decorator)
        state.imports.ref("jax.value_and_grad")
    elif plan.kind == "accumulate":
        definition = build_grads_step(step_name, loss_fn, plan, sig, forward, indent=state.indent, decorator=decorator)
        for name in ("flax.nnx.value_and_grad", "jax.tree.map", "jax.numpy.add"):
            state.imports.ref(name)
    else:
        wrt = None  # the whole model's nnx.Param unless the optimizer updates only part of it
        if plan.binding is not None and plan.binding.params_path:
            wrt = _wrt_filter(plan.binding.params_path)
        definition = build_step(step_name, loss_fn, plan, sig, forward, wrt=wrt, clip_lines=[],
                                indent=state.indent, decorator=decorator)
        state.imports.ref("flax.nnx.value_and_grad")
    anchor = training.anchors.get(id(original)) if not isinstance(original, cst.Module) else original.body[plan.forward[0]]
    state.module_definitions.append((anchor, definition))

    # The block: forward statements leave, the step call goes where backward() was. Comments and
    # blank lines of the statements that go away (and of the first forward statement, which
    # says what the step does) move down to the next statement that stays.
    out: dict[int, list] = {j: [] for j in plan.after}
    carried: list = []
    dropped = {*plan.forward, *plan.zero_grads, *plan.scheduler_steps, *(i for i, _, _ in plan.clips)}
    if plan.kind == "optimizer":
        dropped.add(plan.step)
    for i in sorted(dropped | {plan.backward}):
        stmt = updated.body[i]
        if i == plan.backward:
            after = [updated.body[j] for j in plan.after]
            lines = [*carried, *stmt.leading_lines]
            if plan.kind == "accumulate":
                out[i] = [*accumulate_statements(step_name, plan, sig, lines), *after]
            else:
                out[i] = [call_statement(step_name, plan, sig, lines), *after]
            carried = []
            continue
        if i not in plan.forward or i == plan.forward[0]:
            carried += list(stmt.leading_lines)
        out[i] = []
    if carried:
        nxt = max(dropped) + 1
        while nxt in out:
            nxt += 1
        if nxt < len(updated.body):
            stmt = updated.body[nxt]
            out[nxt] = [stmt.with_changes(leading_lines=[*carried, *stmt.leading_lines])]
    return out


def _wrt_filter(path: tuple[str, ...]) -> str:
    return "nnx.All(nnx.Param, nnx.PathContains(" + repr(path[0]) + "))"


def _code(node) -> str:
    from torch2jax.syntax import code_of

    return code_of(node)


# ---------------------------------------------------------------------- gradient accumulation


@on_statement(cst.Expr)
def accumulated_update(state: State, original: cst.Expr, updated: cst.Expr):
    """``optimizer.step()`` -> ``optimizer.update(model, grads)``; ``zero_grad()`` -> ``grads = None``."""
    training = state.facts.training
    call = original.value
    if not isinstance(call, cst.Call):
        return None
    if id(call) in training.accumulated_steps:
        model, optimizer, grads = training.accumulated_steps[id(call)]
        return cst.parse_statement(f"{optimizer}.update({model}, {grads})\n").body[0]
    if id(call) in training.accumulated_zeros:
        return cst.parse_statement(f"{training.accumulated_zeros[id(call)]} = None\n").body[0]
    return None


@on_leave(cst.FunctionDef, exclusive=False)
def accumulator_start(state: State, original: cst.FunctionDef, updated: cst.FunctionDef):
    """The gradient variables start empty (``grads = None``), as a new model's ``.grad`` is."""
    variables = state.facts.training.accumulators.get(id(original))
    if not variables:
        return None
    from torch2jax.passes.module_classes import insert_first

    for name in reversed(variables):
        updated = insert_first(updated, cst.parse_statement(f"{name} = None\n"))
    return updated


# ---------------------------------------------------------------------- plain autograd: leaves and .grad


def _leaf_grad(state: State, node) -> str | None:
    """``w.grad`` on a leaf tensor a translated step of this scope differentiates: the leaf's name
    (a step left as torch returns no ``w_grad``)."""
    if isinstance(node, cst.Attribute) and node.attr.value == "grad" and isinstance(node.value, cst.Name):
        if node.value.value in state.facts.training.differentiated.get(_scope(state), ()):
            return node.value.value
    return None


@on_leave(cst.Attribute)
def leaf_grad(state: State, original: cst.Attribute, updated: cst.Attribute):
    """``w.grad`` -> ``w_grad``, the gradient the step returned."""
    leaf = _leaf_grad(state, original)
    return cst.Name(grad_name(leaf)) if leaf is not None else None


@on_leave(cst.Call)
def leaf_grad_zero(state: State, original: cst.Call, updated: cst.Call):
    """``w.grad.zero_()``: rewritten as a statement below, not an in-place error."""
    f = original.func
    if isinstance(f, cst.Attribute) and f.attr.value == "zero_" and _leaf_grad(state, f.value) is not None:
        return updated
    return None


@on_statement(cst.Expr)
def leaf_statements(state: State, original: cst.Expr, updated: cst.Expr):
    """``w.grad.zero_()`` -> ``w_grad = jnp.zeros_like(w)``; ``w.requires_grad_()`` goes."""
    from torch2jax.registry import REMOVE

    c = original.value
    if not isinstance(c, cst.Call) or not isinstance(c.func, cst.Attribute):
        return None
    if c.func.attr.value == "zero_":
        leaf = _leaf_grad(state, c.func.value)
        if leaf is not None:
            zeros = state.imports.ref("jax.numpy.zeros_like")
            return cst.Assign([cst.AssignTarget(cst.Name(grad_name(leaf)))], cst.Call(zeros, [cst.Arg(cst.Name(leaf))]))
    if c.func.attr.value == "requires_grad_" and id(c) in state.facts.training.handled_calls:
        return REMOVE
    return None


@on_statement(cst.Assign)
def requires_grad_flag(state: State, original: cst.Assign, updated: cst.Assign):
    """``w.requires_grad = True``: every JAX array can be differentiated. ``= False`` freezes a
    parameter, which JAX expresses in what is differentiated and updated: reported."""
    from torch2jax.registry import REMOVE

    target = original.targets[0].target
    if isinstance(target, cst.Attribute) and target.attr.value == "requires_grad" and state.facts.imports.imports_torch:
        value = original.value
        if isinstance(value, cst.Name) and value.value == "True":
            return REMOVE
        state.report("T2J204", "freezing parameters (`requires_grad = False`): leave them out of the optimizer "
                     "(nnx.Optimizer(..., wrt=<filter>)) and of nnx.value_and_grad; left as is", node=original)
        return original
    return None


# ---------------------------------------------------------------------- what is not translated


@on_leave(cst.Call)
def training_calls(state: State, original: cst.Call, updated: cst.Call):
    """``backward()``, ``step()``, ``zero_grad()`` that a step takes care of, or that is reported as a whole."""
    if id(original) in state.facts.training.handled_calls:
        return updated
    return None


@on_leave(cst.SimpleStatementLine, exclusive=False)
def training_problems(state: State, original, updated):
    for node, code, message in state.facts.training.problems:
        if node is original:
            state.report(code, message, node=original)
    return None


# ---------------------------------------------------------------------- losses, schedulers, rates


def _translated_scheduler(state: State, binding) -> bool:
    """A scheduler with a translation, driving an optimizer that is translated (no parameter groups)."""
    from torch2jax.training.schedulers import SIGNATURES

    if binding.torch.rsplit(".", 1)[-1] not in SIGNATURES:
        return False
    optimizer = state.facts.training.lookup(binding.scope, binding.optimizer) if binding.optimizer else None
    return optimizer is None or optimizer.call is None or id(optimizer.call) not in state.facts.training.untranslated


def _binding_of(state: State, func) -> object:
    from torch2jax.training.analysis import _variable

    var = _variable(func)
    return state.facts.training.lookup(_scope(state), var) if var else None


@on_leave(cst.Call)
def loss_call(state: State, original: cst.Call, updated: cst.Call):
    """``criterion(outputs, labels)`` -> the loss expression, for a loss built with literal options."""
    binding = _binding_of(state, original.func)
    if binding is None or binding.kind != "loss" or id(binding.call) not in state.facts.training.inlined_losses:
        return None
    from torch2jax.handlers.training import inline_loss

    return inline_loss(state, binding, original, updated)


@on_leave(cst.SimpleStatementLine, exclusive=False)
def binding_statements(state: State, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
    """Bindings inlining used up go (comments stay); a loss object becomes a def; a scheduler stepped
    by hand gets its step counter and sets the optimizer's initial rate."""
    training = state.facts.training
    if id(original) in training.removable:
        return state.drop_line(updated)
    if len(original.body) != 1 or not isinstance(original.body[0], cst.Assign) or len(updated.body) != 1:
        return None
    value = original.body[0].value
    binding = training.by_call.get(id(value)) if isinstance(value, cst.Call) else None
    if binding is None or not isinstance(updated.body[0], cst.Assign):
        return None
    target = updated.body[0].targets[0].target
    new_value = updated.body[0].value
    if binding.kind == "loss" and isinstance(target, cst.Name) and isinstance(new_value, cst.Lambda):
        params = ", ".join(p.name.value for p in new_value.params.params)
        text = f"def {target.value}({params}):\n{state.indent}return {_code(new_value.body)}\n"
        return cst.parse_statement(text).with_changes(leading_lines=updated.leading_lines)
    if binding.kind == "scheduler" and not _translated_scheduler(state, binding):
        return None
    if binding.kind == "scheduler" and binding.optimizer and isinstance(target, cst.Name) and id(value) not in \
            training.per_batch_schedulers or (binding.kind == "scheduler" and binding.torch.endswith("LambdaLR")):
        from torch2jax.training.optimizers import set_lr_statement

        name = target.value if isinstance(target, cst.Name) else None
        if name is None:
            state.report("T2J204", "a scheduler stored in an attribute and stepped by hand is not translated yet",
                         node=original)
            return None
        lines = [f"{name}_steps = 0", set_lr_statement(binding.optimizer, f"{name}(0)")]
        return cst.FlattenSentinel([updated, *(cst.parse_statement(line + "\n") for line in lines)])
    return None


@on_statement(cst.Expr)
def scheduler_step(state: State, original: cst.Expr, updated: cst.Expr):
    """``scheduler.step()`` (by hand) -> count it and set the rate; per batch it went with the step."""
    call = original.value
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "step"):
        return None
    binding = _binding_of(state, call.func.value)
    if binding is None or binding.kind != "scheduler" or not _translated_scheduler(state, binding):
        return None
    if call.args:
        state.report("T2J204", "`scheduler.step(...)` with an argument (an epoch or a metric) is not translated",
                     node=original)
        return None
    if _scope(state) != binding.scope:
        state.report("T2J204", "a scheduler stepped in another function than the one that built it is not "
                     "translated yet; step it where it is built", node=original)
        return None
    from torch2jax.training.optimizers import set_lr_statement

    name = binding.name
    return Lines(cst.parse_statement(f"{name}_steps += 1; {set_lr_statement(binding.optimizer, f'{name}({name}_steps)')}\n").body)


@on_leave(cst.Call)
def get_last_lr(state: State, original: cst.Call, updated: cst.Call):
    """``scheduler.get_last_lr()`` -> ``[the optimizer's current rate]``."""
    if not (isinstance(original.func, cst.Attribute) and original.func.attr.value == "get_last_lr"):
        return None
    binding = _binding_of(state, original.func.value)
    if binding is None or binding.kind != "scheduler" or not binding.optimizer:
        return None
    from torch2jax.training.optimizers import get_lr_expression

    return cst.parse_expression(f"[{get_lr_expression(binding.optimizer)}]")
