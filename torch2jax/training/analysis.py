"""Facts about the training code of a file, gathered before anything is edited.

- **bindings**: which names hold a torch optimizer, learning-rate scheduler, loss object or
  model, per scope (module level, each function, each class's ``self.<attr>``), also
  through the parameters of the file's own functions when every call site passes the same
  kind of thing (``train(model, optimizer)`` called with the optimizer built in ``main``);
- **steps**: in each block of statements, the ``zero_grad()`` / forward / ``backward()`` /
  ``step()`` sequence that becomes one jitted step: which statements compute the loss
  from the model (the loss function's body), which run before and after it, the
  gradient clipping between ``backward()`` and ``step()``, and a scheduler stepped right
  after every optimizer step (its schedule then goes into the optimizer);
- what cannot be translated and why, to be reported at the right node.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

import libcst as cst

from torch2jax.diagnostics import marked
from torch2jax.names import ImportTable, dotted_name
from torch2jax.syntax import code_of
from torch2jax.training.dataflow import names_of
from torch2jax.training.param_groups import has_groups, parameters_source as _parameters_source, parse_groups

Scope = tuple  # (class or None, function or None); (None, None) is module level

OPTIMIZER_PREFIX = "torch.optim."
SCHEDULER_PREFIX = "torch.optim.lr_scheduler."
CLIP = {"torch.nn.utils.clip_grad_norm_": "norm", "torch.nn.utils.clip_grad_value_": "value",
        "torch.nn.utils.clip_grad.clip_grad_norm_": "norm", "torch.nn.utils.clip_grad.clip_grad_value_": "value"}
MODULE_LEVEL: Scope = (None, None)
BUILTINS = frozenset(vars(builtins))


@dataclass
class Binding:
    kind: str  # optimizer | scheduler | loss | model
    torch: str  # qualified torch name of what was built (the class or factory)
    call: cst.Call | None  # the original construction (None for a model passed in)
    scope: Scope
    name: str  # the variable, as written: `optimizer`, `self.criterion`
    model: str | None = None  # optimizer: the variable whose parameters it updates, in `scope`
    params_path: tuple[str, ...] = ()  # optimizer: `model.fc.parameters()` -> ("fc",)
    optimizer: str | None = None  # scheduler: the optimizer variable it drives
    statement: cst.CSTNode | None = None  # the original statement that binds it


@dataclass
class StepPlan:
    """One fused training step in a block (indices into the block's statements).

    ``kind`` is "optimizer" (an ``optimizer.step()`` follows ``backward()``: the model's
    parameters are differentiated and updated), "leaves" (plain autograd: the leaf tensors
    created with ``requires_grad=True`` are differentiated, their ``.grad`` read by the code)
    or "accumulate" (``optimizer.step()`` and ``zero_grad()`` run elsewhere, e.g. every k
    batches: gradients add up in a variable, as torch adds them up in ``.grad``).
    """

    optimizer: str | None  # variable, in this scope
    model: str | None  # variable, in this scope
    loss: cst.BaseExpression  # the backward() receiver (original)
    loss_name: str | None  # when the receiver is a plain name
    backward: int
    step: int
    zero_grads: list[int]
    forward: list[int]  # statements moved into the loss function, in order
    after: list[int]  # region statements that must run after the step (they read forward results)
    clips: list[tuple[int, str, cst.Call]]  # (index, "norm" | "value", original call)
    scheduler_steps: list[int]  # `scheduler.step()` right after `optimizer.step()`: folded into the optimizer
    binding: Binding | None  # the optimizer's binding, when known
    kind: str = "optimizer"
    leaves: list[str] = field(default_factory=list)  # "leaves" steps: the differentiated variables, in order
    grads: str = "grads"  # "accumulate" steps: the variable holding the model's gradients (torch's .grad)


@dataclass
class TrainingFacts:
    bindings: dict[Scope, dict[str, Binding]] = field(default_factory=dict)
    steps: dict[int, list[StepPlan]] = field(default_factory=dict)  # id(original block) -> its steps
    problems: list[tuple[cst.CSTNode, str, str]] = field(default_factory=list)  # (node, code, message)
    handled: set[int] = field(default_factory=set)  # ids of statements a step plan takes care of
    handled_calls: set[int] = field(default_factory=set)  # their calls (and reported backward() calls)
    # Gradient accumulation: id(optimizer.step() call) -> (model, optimizer, grads variable);
    # id(zero_grad() call) -> grads variable; id(function or module) -> grads variables to start as None.
    accumulated_steps: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    accumulated_zeros: dict[int, str] = field(default_factory=dict)
    accumulators: dict[int, list[str]] = field(default_factory=dict)
    per_batch_schedulers: set[int] = field(default_factory=set)  # id(scheduler construction call)
    clipped: dict[int, list[tuple[str, cst.Call]]] = field(default_factory=dict)  # id(optimizer call) -> clips
    functions: dict[Scope, cst.FunctionDef] = field(default_factory=dict)  # top-level functions and methods
    module: cst.Module | None = None
    anchors: dict[int, cst.CSTNode] = field(default_factory=dict)  # id(block) -> the module-level statement holding it
    module_globals: set[str] = field(default_factory=set)  # module-level defs, classes and imports
    by_call: dict[int, Binding] = field(default_factory=dict)  # id(construction call) -> its binding
    scheduler_of: dict[int, Binding] = field(default_factory=dict)  # id(optimizer call) -> its scheduler
    untranslated: set[int] = field(default_factory=set)  # id(optimizer call) with parameter groups (reported)
    settable: set[int] = field(default_factory=set)  # id(optimizer call): the loop sets or reads its rate
    inlined_losses: set[int] = field(default_factory=set)  # id(loss call): its calls become the expression
    removable: set[int] = field(default_factory=set)  # ids of statements whose binding is used up by inlining
    differentiated: dict[Scope, set[str]] = field(default_factory=dict)  # leaves a translated step returns `.grad` of

    def leaves(self, scope: Scope) -> set[str]:
        """Variables created as leaf tensors with ``requires_grad=True`` in this scope."""
        return {name for name, b in self.bindings.get(scope, {}).items() if b.kind == "leaf"}

    def lookup(self, scope: Scope, name: str) -> Binding | None:
        """The binding of ``name`` seen from ``scope``: local, then the class's ``self.*``, then module level."""
        for where in (scope, (scope[0], "__init__") if name.startswith("self.") else None, MODULE_LEVEL):
            if where is not None and name in self.bindings.get(where, {}):
                return self.bindings[where][name]
        return None


def _variable(node) -> str | None:
    """``x`` or ``self.x`` as written, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return f"self.{node.attr.value}"
    return None


def _method_call(stmt, method: str):
    """``<receiver>.<method>(...)`` as an expression statement: the call, else None."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == method:
        return value
    return None


def _assigned(stmt) -> tuple[str, cst.BaseExpression] | None:
    """``name = value`` / ``self.name = value`` statements: (variable, value)."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
        assign = stmt.body[0]
        if len(assign.targets) == 1:
            var = _variable(assign.targets[0].target)
            if var is not None:
                return var, assign.value
    return None


class _Blocks:
    """Every block of statements with the scope it belongs to, found by walking statements only
    (expressions hold no blocks: far cheaper than a full LibCST visit)."""

    def __init__(self):
        self.blocks: list[tuple[Scope, cst.CSTNode, list]] = []
        self.functions: dict[Scope, cst.FunctionDef] = {}
        self.anchors: dict[int, cst.CSTNode] = {}
        self.top = None

    def run(self, module: cst.Module) -> None:
        self.blocks.append((MODULE_LEVEL, module, list(module.body)))
        for stmt in module.body:
            self.top = stmt
            self._statement(stmt, [], [])

    def _statement(self, stmt, classes: list[str], functions: list[str]) -> None:
        if isinstance(stmt, cst.ClassDef):
            classes = [*classes, stmt.name.value]
        elif isinstance(stmt, cst.FunctionDef):
            functions = [*functions, stmt.name.value]
            if len(functions) == 1:
                self.functions[self._scope(classes, functions)] = stmt
        for block in _child_blocks(stmt):
            if isinstance(block, cst.IndentedBlock):
                self.blocks.append((self._scope(classes, functions), block, list(block.body)))
                self.anchors[id(block)] = self.top
                for inner in block.body:
                    self._statement(inner, classes, functions)
            elif isinstance(block, cst.BaseCompoundStatement):  # `elif`
                self._statement(block, classes, functions)

    @staticmethod
    def _scope(classes: list[str], functions: list[str]) -> Scope:
        if not functions:
            return MODULE_LEVEL
        return (classes[-1] if classes and len(functions) == 1 else None, functions[0])


def _child_blocks(stmt):
    """The blocks directly inside a compound statement (an ``elif`` is returned as its If)."""
    if not isinstance(stmt, cst.BaseCompoundStatement):
        return
    if hasattr(stmt, "body"):
        yield stmt.body
    orelse = getattr(stmt, "orelse", None)
    if isinstance(orelse, cst.If):
        yield orelse
    elif orelse is not None:
        yield orelse.body
    for handler in getattr(stmt, "handlers", ()):
        yield handler.body
    final = getattr(stmt, "finalbody", None)
    if final is not None:
        yield final.body
    for case in getattr(stmt, "cases", ()):
        yield case.body


TRIGGERS = (".backward(", "optim", "Loss(", "zero_grad", "clip_grad", "requires_grad")


def mentions_training(source: str) -> bool:
    """Cheap text test: without any of these, a file has no training code to analyse."""
    return any(t in source for t in TRIGGERS)


def analyze_training(module: cst.Module, imports: ImportTable) -> TrainingFacts:
    facts = TrainingFacts(module=module)
    walker = _Blocks()
    walker.run(module)
    facts.functions = walker.functions
    facts.anchors = walker.anchors
    facts.module_globals = _module_globals(module, imports)
    for scope, _, body in walker.blocks:
        for stmt in body:
            _bind(facts, imports, scope, stmt)
    if facts.bindings:
        _bind_parameters(facts, walker)
    for scope, block, body in walker.blocks:
        plans = _steps(facts, imports, scope, body, walker.functions.get(scope))
        if plans:
            facts.steps[id(block)] = plans
    if facts.bindings:
        _links(facts, module)
    return facts


MANUAL_SCHEDULERS = {"LambdaLR"}  # the rate is set in Python at each step(), also per batch


def _links(facts: TrainingFacts, module: cst.Module) -> None:
    """What ties the bindings together: schedulers to optimizers, rates the loop sets or reads,
    loss objects whose every use is a call (their calls become the loss expression)."""
    constructed = [b for bindings in facts.bindings.values() for b in bindings.values() if b.statement is not None]
    for b in constructed:
        if b.call is not None:
            facts.by_call[id(b.call)] = b
    for b in constructed:
        if b.kind != "scheduler" or b.optimizer is None:
            continue
        optimizer = facts.lookup(b.scope, b.optimizer)
        if optimizer is None or optimizer.call is None:
            continue
        facts.scheduler_of[id(optimizer.call)] = b
        per_batch = id(b.call) in facts.per_batch_schedulers and b.torch.rsplit(".", 1)[-1] not in MANUAL_SCHEDULERS
        if not per_batch:
            facts.settable.add(id(optimizer.call))
    for b in constructed:
        if b.kind == "optimizer" and b.call is not None and has_groups(b.call) and (
                isinstance(parse_groups(b.call), str) or id(b.call) in facts.settable
                or id(b.call) in facts.scheduler_of):
            facts.untranslated.add(id(b.call))
    uses = _Uses(facts)
    module.visit(uses)
    for b in constructed:
        if b.kind == "loss" and all(_is_literal(a.value) for a in b.call.args):
            facts.inlined_losses.add(id(b.call))
            if not uses.other_uses.get(b.name):
                facts.removable.add(id(b.statement))
        if b.kind == "scheduler" and id(b.call) in facts.per_batch_schedulers and not uses.other_uses.get(b.name) \
                and b.torch.rsplit(".", 1)[-1] not in MANUAL_SCHEDULERS:
            facts.removable.add(id(b.statement))  # its schedule is the optimizer's rate; its steps are gone


def _is_literal(node) -> bool:
    import ast as _ast

    try:
        _ast.literal_eval(code_of(node))
        return True
    except (ValueError, SyntaxError):
        return False


class _Uses(cst.CSTVisitor):
    """Names read other than as the callee of a call (a loss passed to a function keeps its def), and
    optimizers whose rate is read or set (``param_groups``, ``get_last_lr``)."""

    def __init__(self, facts: TrainingFacts):
        self.facts = facts
        self.other_uses: dict[str, int] = {}
        self._callees: set[int] = set()
        self._targets: set[int] = set()

    def visit_Call(self, node: cst.Call) -> None:
        self._callees.add(id(node.func))
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "get_last_lr":
            self._settable_through_scheduler(func.value)
        if isinstance(func, cst.Attribute) and func.attr.value == "step" and not node.args:
            self._callees.add(id(func.value))  # `scheduler.step()` uses the scheduler only to step it

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._targets.add(id(target.target))

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self._callees and id(node) not in self._targets:
            self.other_uses[node.value] = self.other_uses.get(node.value, 0) + 1

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        var = _variable(node)
        if var is not None and var.startswith("self.") and id(node) not in self._callees and id(node) not in self._targets:
            self.other_uses[var] = self.other_uses.get(var, 0) + 1
        if node.attr.value == "param_groups":
            for bindings in self.facts.bindings.values():
                b = bindings.get(_variable(node.value) or "")
                if b is not None and b.kind == "optimizer" and b.call is not None:
                    self.facts.settable.add(id(b.call))
        return True

    def _settable_through_scheduler(self, node) -> None:
        for bindings in self.facts.bindings.values():
            b = bindings.get(_variable(node) or "")
            if b is not None and b.kind == "scheduler" and b.optimizer:
                optimizer = self.facts.lookup(b.scope, b.optimizer)
                if optimizer is not None and optimizer.call is not None:
                    self.facts.settable.add(id(optimizer.call))


def _module_globals(module: cst.Module, imports: ImportTable) -> set[str]:
    names = set(imports.aliases)
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            names.add(stmt.name.value)
    return names


def _requires_grad(call: cst.Call) -> bool:
    return any(a.keyword is not None and a.keyword.value == "requires_grad" and isinstance(a.value, cst.Name)
               and a.value.value == "True" for a in call.args)


def _bind(facts: TrainingFacts, imports: ImportTable, scope: Scope, stmt) -> None:
    leaf = _method_call(stmt, "requires_grad_")
    if leaf is not None and _variable(leaf.func.value) and not leaf.args:
        name = _variable(leaf.func.value)
        facts.bindings.setdefault(scope, {})[name] = Binding("leaf", "Tensor.requires_grad_", None, scope, name,
                                                             statement=stmt)
        facts.handled_calls.add(id(leaf))
        return
    found = _assigned(stmt)
    if found is None or not isinstance(found[1], cst.Call):
        return
    name, call = found
    qname = imports.qualify(call.func) or ""
    if scope[1] == "__init__" and name.startswith("self."):
        scope = (scope[0], "__init__")
    binding = None
    if qname.startswith(SCHEDULER_PREFIX):
        first = call.args[0].value if call.args else None
        binding = Binding("scheduler", qname, call, scope, name, optimizer=_variable(first) if first is not None else None)
    elif qname.startswith(OPTIMIZER_PREFIX) and qname.count(".") == 2:
        params = call.args[0].value if call.args and not call.args[0].keyword else None
        for a in call.args:
            if a.keyword and a.keyword.value == "params":
                params = a.value
        model, path = _parameters_source(params) if params is not None else (None, ())
        binding = Binding("optimizer", qname, call, scope, name, model=model, params_path=path)
    elif qname.startswith("torch.nn.") and qname.endswith("Loss"):
        binding = Binding("loss", qname, call, scope, name)
    elif _requires_grad(call):
        binding = Binding("leaf", qname, call, scope, name)
    if binding is not None:
        binding.statement = stmt
        facts.bindings.setdefault(scope, {})[name] = binding


def _bind_parameters(facts: TrainingFacts, walker: _Blocks) -> None:
    """A parameter receives a binding when the file's only call sites pass one (``train(model, opt)``)."""
    calls: dict[str, list[tuple[Scope, cst.Call]]] = {}

    class _Calls(cst.CSTVisitor):
        def __init__(self, scope):
            self.scope = scope

        def visit_Call(self, node):
            if isinstance(node.func, cst.Name):
                calls.setdefault(node.func.value, []).append((self.scope, node))

    for scope, func in walker.functions.items():
        func.body.visit(_Calls(scope))
    for scope, body in ((MODULE_LEVEL, b) for s, b, _ in walker.blocks if s == MODULE_LEVEL):
        for stmt in body.body if isinstance(body, cst.Module) else ():
            if not isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                stmt.visit(_Calls(MODULE_LEVEL))
    for (cls, fname), func in walker.functions.items():
        if cls is not None or fname not in calls:
            continue
        params = [p.name.value for p in (*func.params.posonly_params, *func.params.params)]
        for caller_scope, call in calls[fname]:
            for i, a in enumerate(call.args):
                if a.star:
                    break
                pname = a.keyword.value if a.keyword else (params[i] if i < len(params) else None)
                var = _variable(a.value)
                bound = facts.lookup(caller_scope, var) if var else None
                if pname is None or bound is None or pname in facts.bindings.get((None, fname), {}):
                    continue
                model = None
                if bound.model is not None:  # which parameter receives the optimizer's model here?
                    for j, b in enumerate(call.args):
                        if _variable(b.value) == bound.model:
                            model = b.keyword.value if b.keyword else (params[j] if j < len(params) else None)
                param = Binding(bound.kind, bound.torch, bound.call, (None, fname), pname, model=model,
                                params_path=bound.params_path, optimizer=bound.optimizer)
                facts.bindings.setdefault((None, fname), {})[pname] = param


def _steps(facts: TrainingFacts, imports: ImportTable, scope: Scope, body: list, func) -> list[StepPlan]:
    plans: list[StepPlan] = []
    start = 0
    for b, stmt in enumerate(body):
        backward = _method_call(stmt, "backward")
        if backward is None or isinstance(stmt.body[0], cst.Assign):
            continue
        previous = marked([line.comment.value for line in stmt.leading_lines if line.comment], "T2J204")
        # A previous conversion left this step as torch and said why: what it read then (the torch
        # optimizer, the `requires_grad=True` leaves) is translated now, so its reasons stand.
        plan = previous or _plan(facts, imports, scope, body, start, b, backward, func)
        if isinstance(plan, list):
            facts.problems.extend((stmt, "T2J204", message) for message in plan)
            facts.handled_calls.add(id(backward))
            start = b + 1
            continue
        if isinstance(plan, str):
            facts.problems.append((stmt, "T2J204", plan))
            facts.handled_calls.add(id(backward))
            start = b + 1
            continue
        plans.append(plan)
        indices = [plan.backward, plan.step, *plan.zero_grads, *plan.scheduler_steps, *(i for i, _, _ in plan.clips)]
        if plan.kind in ("leaves", "accumulate"):
            indices = [plan.backward]
        if plan.kind == "leaves":
            facts.differentiated.setdefault(scope, set()).update(plan.leaves)
        facts.handled.update(id(body[i]) for i in indices)
        for i in indices:
            facts.handled_calls.update(id(c) for c in _calls_of(body[i]))
        start = plan.step + 1
    return plans


def _plan(facts, imports, scope, body, start, b, backward: cst.Call, func) -> StepPlan | str:
    """The step around the ``backward()`` at index ``b``, or why there is none."""
    receiver = backward.func.value
    if backward.args:
        return "`backward(...)` with arguments is not translated"
    s = next((i for i in range(b + 1, len(body)) if _method_call(body[i], "step") is not None
              and not _is_scheduler(facts, scope, _variable(_method_call(body[i], "step").func.value))), None)
    if s is None:
        if facts.leaves(scope):
            return _leaf_plan(facts, scope, body, start, b, receiver)
        return _accumulate_plan(facts, scope, body, start, b, receiver, func)
    optimizer = _variable(_method_call(body[s], "step").func.value)
    if optimizer is None or _method_call(body[s], "step").args:
        return "`optimizer.step(...)` on an expression or with a closure is not translated"
    binding = facts.lookup(scope, optimizer)
    if binding is not None and binding.call is not None and has_groups(binding.call) and (
            isinstance(parse_groups(binding.call), str) or any(
                b.kind == "scheduler" and b.optimizer == binding.name for b in facts.bindings.get(binding.scope, {}).values())):
        return "the step of an optimizer whose parameter groups are not translated is left as torch"
    clips = []
    for i in range(b + 1, s):
        c = _method_call(body[i], "zero_grad")
        if c is not None:
            continue  # handled below
        stmt = body[i]
        clip = _clip(imports, stmt)
        if clip is not None:
            clips.append((i, clip[0], clip[1]))
            continue
        used = names_of(stmt)
        if any(r.endswith(".grad") for r in used.reads) or "grad" in _attributes(stmt) or optimizer in used.reads:
            return f"a statement between `backward()` and `{optimizer}.step()` reads the gradients; not translated"
    region = list(range(start, b))
    model = binding.model if binding is not None and binding.model else None
    loss_name = _variable(receiver)
    in_slice = _loss_slice(body, region, receiver)
    if not in_slice:
        return f"the loss `{_code(receiver)}` is not computed in the same block as `backward()`; not translated"
    if model is None:
        model = _guess_model(facts, scope, body, in_slice)
        if model is None:
            return f"cannot tell which model `{optimizer}` updates; build it as `optimizer = ...(model.parameters())` here"
    # Only what depends on the model goes into the loss function; the rest stays where it is.
    forward, _ = _dependent(body, in_slice, {model})
    if not forward:
        return f"the loss does not depend on `{model}`; not translated"
    for i in forward:
        stmt = body[i]
        if isinstance(stmt, cst.SimpleStatementLine):
            plain = all(isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign)) for small in stmt.body)
        else:
            plain = isinstance(stmt, (cst.If, cst.For, cst.With))
        if not plain:
            return "the loss is computed by a statement that is not an assignment; not translated"
        if any(w.startswith("self.") for w in names_of(stmt).writes):
            return "the loss computation assigns attributes (`self.x = ...`); not translated"
    written = set().union(*(names_of(body[i]).writes for i in forward))
    after = [i for i in region if i not in forward and _method_call(body[i], "zero_grad") is None
             and written & set(names_of(body[i]).reads)]
    zero_grads = []
    for i, stmt in enumerate(body):
        c = _method_call(stmt, "zero_grad")
        if c is not None and _variable(c.func.value) in (optimizer, model):
            zero_grads.append(i)
    if not zero_grads:
        return (f"no `{optimizer}.zero_grad()` in this block: gradients accumulate across iterations; "
                "not translated yet")
    scheduler_steps = []
    for i in range(s + 1, len(body)):
        c = _method_call(body[i], "step")
        var = _variable(c.func.value) if c is not None else None
        sched = facts.lookup(scope, var) if var else None
        # (a scheduler whose rate Python computes, LambdaLR, keeps its step() where it is: the step
        # counts and sets the rate, as an epoch scheduler's does)
        if sched is not None and sched.kind == "scheduler" and sched.optimizer == optimizer and not c.args \
                and sched.torch.rsplit(".", 1)[-1] not in MANUAL_SCHEDULERS:
            scheduler_steps.append(i)
            if sched.call is not None:
                facts.per_batch_schedulers.add(id(sched.call))
        else:
            break
    if binding is not None and binding.call is not None and clips:
        facts.clipped.setdefault(id(binding.call), []).extend((kind, call) for _, kind, call in clips)
    return StepPlan(optimizer, model, receiver, loss_name, b, s, zero_grads, forward, after, clips,
                    scheduler_steps, binding)


def _calls_of(stmt) -> list[cst.Call]:
    found = []

    class _C(cst.CSTVisitor):
        def visit_Call(self, node):
            found.append(node)

    stmt.visit(_C())
    return found


def _loss_slice(body, region: list[int], receiver) -> list[int]:
    """The statements of ``region`` the loss is computed from (going back from the loss)."""
    needed = set(names_of(receiver).reads)
    found: list[int] = []
    for i in reversed(region):
        if _method_call(body[i], "zero_grad") is not None:
            continue
        names = names_of(body[i])
        if names.writes & needed:
            found.append(i)
            needed |= set(names.reads)
    return found[::-1]


def _dependent(body, indices: list[int], sources: set[str]) -> tuple[list[int], set[str]]:
    """The statements among ``indices`` that depend on ``sources`` (transitively), and what they write."""
    dependent, chosen = set(sources), []
    for i in indices:
        names = names_of(body[i])
        if dependent & set(names.reads):
            chosen.append(i)
            dependent |= names.writes
    return chosen, dependent


def _accumulate_plan(facts: TrainingFacts, scope: Scope, body, start: int, b: int, receiver, func) -> StepPlan | str:
    """``backward()`` here, ``optimizer.step()`` / ``zero_grad()`` elsewhere in the function (every k batches)."""
    owner = func if func is not None else facts.module
    steps = [c for c in _all_calls(owner) if isinstance(c.func, cst.Attribute) and c.func.attr.value == "step"
             and not c.args and _variable(c.func.value) and not _is_scheduler(facts, scope, _variable(c.func.value))]
    optimizers = {_variable(c.func.value) for c in steps}
    known = [o for o in optimizers if getattr(facts.lookup(scope, o), "kind", None) == "optimizer"]
    if len(known) == 1:
        optimizer = known[0]
    elif len(optimizers) == 1:
        optimizer = next(iter(optimizers))
    else:
        return ("`backward()` with no `optimizer.step()` of one optimizer in this function (plain autograd needs "
                "leaf tensors with `requires_grad=True`); not translated")
    binding = facts.lookup(scope, optimizer)
    region = list(range(start, b))
    in_slice = _loss_slice(body, region, receiver)
    if not in_slice:
        return f"the loss `{code_of(receiver)}` is not computed in the same block as `backward()`; not translated"
    model = binding.model if binding is not None and binding.model else _guess_model(facts, scope, body, in_slice)
    if model is None:
        return f"cannot tell which model `{optimizer}` updates; build it as `optimizer = ...(model.parameters())` here"
    forward, _ = _dependent(body, in_slice, {model})
    if not forward:
        return f"the loss does not depend on `{model}`; not translated"
    grads = "grads"
    written = set().union(*(names_of(body[i]).writes for i in forward))
    after = [i for i in region if i not in forward and written & set(names_of(body[i]).reads)]
    for call in steps:
        if _variable(call.func.value) == optimizer:
            facts.accumulated_steps[id(call)] = (model, optimizer, grads)
            facts.handled_calls.add(id(call))
    for call in _all_calls(owner):
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "zero_grad" \
                and _variable(call.func.value) in (optimizer, model):
            facts.accumulated_zeros[id(call)] = grads
            facts.handled_calls.add(id(call))
    variables = facts.accumulators.setdefault(id(owner), [])
    if grads not in variables:
        variables.append(grads)
    return StepPlan(optimizer, model, receiver, _variable(receiver), b, b, [], forward, after, [], [], binding,
                    kind="accumulate", grads=grads)


def _all_calls(node) -> list[cst.Call]:
    return _calls_of(node)


def _leaf_plan(facts: TrainingFacts, scope: Scope, body, start: int, b: int, receiver) -> StepPlan | str:
    """Plain autograd: ``loss.backward()`` differentiates the leaf tensors the loss depends on."""
    leaves = facts.leaves(scope)
    if not leaves:
        return ("`backward()` with neither an `optimizer.step()` after it in the same block nor leaf tensors "
                "(`requires_grad=True`) in this function is not translated")
    region = list(range(start, b))
    in_slice = _loss_slice(body, region, receiver)
    forward, _ = _dependent(body, in_slice, leaves)
    if not forward:
        return f"the loss `{code_of(receiver)}` does not depend on a leaf tensor in the same block; not translated"
    used = [r for r in names_of([body[i] for i in forward]).reads if r in leaves]
    zeroed = _zeroed_grads(body)
    accumulating = [leaf for leaf in used if leaf not in zeroed]
    if accumulating:
        return (f"`{accumulating[0]}.grad` is never zeroed in this loop, so torch accumulates it across "
                "`backward()` calls; not translated yet (zero it with `.grad.zero_()` or `.grad = None`)")
    written = set().union(*(names_of(body[i]).writes for i in forward))
    after = [i for i in region if i not in forward and written & set(names_of(body[i]).reads)]
    return StepPlan(None, None, receiver, _variable(receiver), b, b, [], forward, after, [], [], None,
                    kind="leaves", leaves=used)


def _zeroed_grads(body) -> set[str]:
    """Leaves whose ``.grad`` the block zeroes: ``x.grad.zero_()`` or ``x.grad = None``, at any depth."""
    found: set[str] = set()

    class _Z(cst.CSTVisitor):
        def visit_Call(self, node):
            f = node.func
            if isinstance(f, cst.Attribute) and f.attr.value == "zero_" and isinstance(f.value, cst.Attribute) \
                    and f.value.attr.value == "grad" and _variable(f.value.value):
                found.add(_variable(f.value.value))

        def visit_Assign(self, node):
            for t in node.targets:
                target = t.target
                if isinstance(target, cst.Attribute) and target.attr.value == "grad" and _variable(target.value):
                    found.add(_variable(target.value))

    for stmt in body:
        stmt.visit(_Z())
    return found


def _is_scheduler(facts: TrainingFacts, scope: Scope, var: str | None) -> bool:
    binding = facts.lookup(scope, var) if var else None
    return binding is not None and binding.kind == "scheduler"


def _clip(imports: ImportTable, stmt):
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Expr):
        return None
    call = stmt.body[0].value
    if isinstance(call, cst.Call):
        kind = CLIP.get(imports.qualify(call.func) or "")
        if kind:
            return kind, call
    return None


def _attributes(node) -> set[str]:
    found = set()

    class _A(cst.CSTVisitor):
        def visit_Attribute(self, n):
            found.add(n.attr.value)

    node.visit(_A())
    return found


def _guess_model(facts: TrainingFacts, scope: Scope, body, in_slice: list[int]) -> str | None:
    """The one variable the loss computation calls that is not a loss, a torch function or a builtin."""
    candidates = []
    for i in in_slice:
        for var in sorted(names_of(body[i]).called):
            binding = facts.lookup(scope, var)
            if binding is not None and binding.kind == "loss":
                continue
            if var in BUILTINS:
                continue
            candidates.append(var)
    distinct = list(dict.fromkeys(candidates))
    return distinct[0] if len(distinct) == 1 else None


def _code(node) -> str:
    return code_of(node)
