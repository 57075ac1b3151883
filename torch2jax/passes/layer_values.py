"""torch layer classes used as values (see ``torch2jax.layer_values``): ``norm_layer=nn.BatchNorm2d``
-> ``functools.partial(nnx.BatchNorm, momentum=0.9, axis=1)``; ``partial(nn.LayerNorm, eps=1e-6)``
-> ``functools.partial(nnx.LayerNorm, epsilon=1e-06)``; ``act_layer=nn.GELU`` ->
``functools.partial(jax.nn.gelu, approximate=False)``. Where such a value is called:
``norm_layer(planes)`` -> ``norm_layer(planes, rngs=rngs)``, ``act_layer()`` -> ``act_layer``.

What cannot be held this way is reported where it is named (a layer a handler builds, a
channels-last convolution) or where it is called (keyword arguments, more positional ones
than the Flax layer takes in torch's places)."""

from __future__ import annotations

import libcst as cst

from torch2jax.analyze import mro, reaches_file_function
from torch2jax.arguments import bind, target_arguments
from torch2jax.diagnostics import Unsupported
from torch2jax.layer_values import PARTIAL, class_value, keeps_signature, passthrough
from torch2jax.handlers.support import defined_class
from torch2jax.registry import on_leave
from torch2jax.rule_application import apply_rule, report_approximate
from torch2jax.state import State
from torch2jax.syntax import call, code_of

KEPT_BY_FUNCTIONS = {"inplace"}  # what a torch activation takes that its JAX function has no use for


def reference(state: State, rule, original, at=None) -> cst.BaseExpression | None:
    """A torch layer class named as a value, translated; None where it cannot be (reported by the caller).
    ``at``: the node standing where the value is held, when that is not ``original`` (a ``getattr`` lookup)."""
    if _is_partial_target(state, original):
        return original  # functools.partial(nn.X, ...) is translated as a whole (below)
    if rule.kind == "module_fn":
        value = _function_value(state, rule, original)
        if value is not None and not _followed(state, original if at is None else at):
            state.report("T2J101", f"`{code_of(original)}` held here becomes the function `{code_of(value)}` (the layer "
                         "itself); a later call building it (`act()`) is not followed from here: drop that call",
                         node=original, handled=True, mark=True)
        return value
    if keeps_signature(rule):  # nn.LSTM -> LSTM, the class the output defines
        name = defined_class(state, rule)
        if name:
            state.applied(rule, len(state.pending))
        return cst.Name(name) if name else None
    count = passthrough(rule)
    if count is None:
        return None
    report_approximate(state, rule, original)
    return _partial(state, rule, {}, count)


def _followed(state: State, original) -> bool:
    """Held where the analysis (``torch2jax.layer_values``) follows a value to the call that builds it: a
    parameter's default, an argument to the file's own function or class, the value assigned to a name or ``self.<attr>`` in a function.
    Elsewhere (a module-level name, one branch of a conditional, a list) that call is not found."""
    if id(original) in state.callees or id(original) in state.compared_values:  # built or compared right here
        return True
    if state.calls and any(a.value is original for a in state.calls[-1].args):  # given to the file's own code
        return reaches_file_function(state.facts, state.calls[-1], state.scope.cls)
    functions = [s for s in state.statements if isinstance(s, cst.FunctionDef)]
    if not functions:
        return False
    header = functions[-1].params
    if any(p.default is original for p in (*header.posonly_params, *header.params, *header.kwonly_params)):
        return True
    line = state.statements[-1]
    return isinstance(line, cst.SimpleStatementLine) and any(
        isinstance(s, (cst.Assign, cst.AnnAssign)) and s.value is original for s in line.body)


def _function_value(state: State, rule, original) -> cst.BaseExpression | None:
    """What ``nn.GELU()`` translates to, for ``nn.GELU`` held as a value; None for a module that
    needs arguments to be built (``nn.MaxPool2d`` without its kernel size has no such value)."""
    built = cst.Call(func=original)
    if rule.handler is None:
        return apply_rule(state, rule, built, built, receiver=None)
    try:
        return apply_rule(state, rule, built, built, receiver=None)
    except (KeyError, IndexError, Unsupported):  # a handler reading an argument only a call gives
        return None


def _is_partial_target(state: State, original) -> bool:
    if not state.calls:
        return False
    enclosing = state.calls[-1]
    return (bool(enclosing.args) and enclosing.args[0].value is original
            and state.qualify(enclosing.func) == PARTIAL)


def _partial(state: State, rule, bound: dict, count: int) -> cst.BaseExpression:
    """``functools.partial(<target>, <torch's defaults and the bound arguments>)``; the leading
    positional arguments are left to the call that builds the layer."""
    kwargs = target_arguments(rule, bound, state.imports)
    for name in rule.positional[:count]:
        kwargs.pop(name, None)
    target = state.imports.ref(rule.target)
    return call(state.imports.ref("functools.partial"), [target], kwargs) if kwargs else target


@on_leave(cst.Call)
def bound_layer_class(state: State, original: cst.Call, updated: cst.Call):
    """``functools.partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)`` as the Flax layer's partial."""
    if state.qualify(original.func) != PARTIAL:
        return None
    held = class_value(state.facts.imports, state.rules, original, state.scope.shadowed)
    if held is None:
        return None
    (qname,) = held.classes
    rule = state.rules.get(qname)
    bound_args = updated.args[1:]
    if rule.kind == "module_fn":
        built = cst.Call(func=original.args[0].value, args=bound_args)
        return apply_rule(state, rule, original, built, receiver=None)
    if keeps_signature(rule):  # partial(nn.LSTM, batch_first=True): the class the output defines, same arguments
        name = defined_class(state, rule)
        if name:
            state.applied(rule, len(state.pending))
            return updated.with_changes(args=[updated.args[0].with_changes(value=cst.Name(name)), *bound_args])
    count = passthrough(rule)
    if count is None:
        raise Unsupported("T2J901", f"`{qname}` held as a value (functools.partial) is not translated; left as is")
    bound = bind(rule, cst.Call(func=original.args[0].value, args=bound_args))
    taken = [name for name in rule.signature[:count] if name in bound]
    if taken:
        raise Unsupported("T2J302", f"`functools.partial({qname}, ...)` binding `{taken[0]}`, which the Flax layer "
                                    "takes by position: not translated")
    report_approximate(state, rule, original)
    return _partial(state, rule, bound, count)


@on_leave(cst.Call)
def held_layer_class_called(state: State, original: cst.Call, updated: cst.Call):
    """``norm_layer(planes)`` -> ``norm_layer(planes, rngs=rngs)``; ``act_layer()`` -> ``act_layer``."""
    scope = state.scope
    held = state.facts.layer_values.held(scope.cls, scope.key, original.func,
                                         lambda c: mro(state.facts, c), scope.shadowed)
    if held is None:
        return None
    rules = [state.rules.get(q) for q in sorted(held.classes)]
    kinds = {rule.kind for rule in rules}
    name = code_of(original.func)
    if kinds == {"layer"}:
        if all(keeps_signature(rule) for rule in rules):
            return state.with_rngs(updated)
        counts = [passthrough(rule) for rule in rules]
        if any(c is None for c in counts):
            return None  # the value itself is reported where it is named
        extra = [a for a in original.args if a.star or (a.keyword is not None and a.keyword.value != "rngs")]
        if extra:
            raise Unsupported("T2J302", f"`{name}(...)` holds a torch layer class: keyword arguments to it are not "
                                        "translated (bind them where the class is chosen, with functools.partial)")
        if len(original.args) > min(counts):
            raise Unsupported("T2J302", f"`{name}(...)` holds a torch layer class: more positional arguments than "
                                        f"`{rules[0].target}` takes in torch's places; not translated")
        return state.with_rngs(updated)
    if kinds == {"module_fn"}:
        if all(a.keyword is not None and a.keyword.value in KEPT_BY_FUNCTIONS and not a.star for a in original.args):
            return updated.func  # the held function is the layer
        if len(rules) == 1 and not held.bound:
            return apply_rule(state, rules[0], original, updated, receiver=None)
        raise Unsupported("T2J302", f"`{name}(...)` holds a torch activation class whose arguments are given only "
                                    "here; not translated")
    raise Unsupported("T2J302", f"`{name}(...)` may hold a Flax layer or a function "
                                f"({', '.join(sorted(held.classes))}); not translated")

