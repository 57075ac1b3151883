"""In-place updates: JAX arrays are immutable.

``x[i] = v`` and ``x[i] += v`` become functional updates (``x = x.at[i].set(v)``), ``x.add_(y)``
as a statement on a name becomes ``x = x + y``, and ``x.scatter_add_(d, i, s)`` / ``x.scatter_(...)``
as a statement on a name ``x = `` the translation of ``x.scatter_add(d, i, s)``; any other in-place
method call (``t.mul_(2)`` on an attribute, inside an expression) is reported (T2J202).
"""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import on_leave, on_statement
from torch2jax.rule_application import apply_rule
from torch2jax.state import State
from torch2jax.traversal import visit
from torch2jax.syntax import call, code_of, value_expr

INPLACE_OPERATORS = {"add_": "+", "sub_": "-", "mul_": "*", "div_": "/"}
# in-place methods whose out-of-place form has a rule: as a statement on a name, `x = <that form>`
OUT_OF_PLACE = {"scatter_": "scatter", "scatter_add_": "scatter_add"}
INPLACE_NODES = {"+": cst.Add, "-": cst.Subtract, "*": cst.Multiply, "/": cst.Divide}
AUGMENTED = {cst.AddAssign: "add", cst.MultiplyAssign: "multiply", cst.SubtractAssign: "subtract",
             cst.DivideAssign: "divide"}


def inplace_on_name(state: State, c: cst.Call) -> str | None:
    """The operator of ``x.add_(y)`` used as a statement on a plain name, else None."""
    func = c.func
    if (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and id(c) in state.statement_calls
        and len(c.args) == 1
        and not c.args[0].keyword
        and not c.args[0].star
        and state.facts.imports.imports_torch
    ):
        return INPLACE_OPERATORS.get(func.attr.value)
    return None


def out_of_place_on_name(state: State, c: cst.Call) -> str | None:
    """The out-of-place method of ``x.scatter_add_(...)`` used as a statement on a plain name, else None."""
    func = c.func
    if (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.value.value != "self"
        and func.attr.value in OUT_OF_PLACE
        and id(c) in state.statement_calls
        and state.facts.imports.imports_torch
        and state.qualify(func.value) is None
        and state.rules.method(OUT_OF_PLACE[func.attr.value]) is not None
    ):
        return OUT_OF_PLACE[func.attr.value]
    return None


@on_statement(cst.Expr)
def method_on_name(state: State, original: cst.Expr, updated: cst.Expr):
    """``x.add_(y)`` -> ``x = x + y``; ``x.scatter_add_(d, i, s)`` -> ``x = x.at[...].add(s)``."""
    c = original.value
    if not isinstance(c, cst.Call):
        return None
    method = out_of_place_on_name(state, c)
    if method is not None and isinstance(updated.value, cst.Call):
        new = updated.value
        new = new.with_changes(func=new.func.with_changes(attr=cst.Name(method)))
        value = apply_rule(state, state.rules.method(method), c, new, receiver=new.func.value)
        state.report("T2J202", f"`{code_of(original)}` became `{c.func.value.value} = ...` (a functional update)",
                     node=original, handled=True, severity="info")
        return cst.Assign(targets=[cst.AssignTarget(c.func.value)], value=value)
    operator = inplace_on_name(state, c)
    if operator is None:
        return None
    name = c.func.value
    value = updated.value.args[0].value if isinstance(updated.value, cst.Call) else c.args[0].value
    state.report("T2J202", f"`{code_of(original)}` became `{name.value} = {name.value} {operator} ...`",
                 node=original, handled=True, severity="info")
    return cst.Assign(targets=[cst.AssignTarget(name)], value=cst.BinaryOperation(name, INPLACE_NODES[operator](), value))


@on_statement(cst.Assign)
def indexed_assignment(state: State, original: cst.Assign, updated: cst.Assign):
    """``x[i] = v`` -> ``x = x.at[i].set(v)``."""
    if len(original.targets) != 1:
        return None
    target = updated.targets[0].target
    if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
        return functional_update(state, original, updated, target, "set", updated.value)
    return None


@on_statement(cst.AugAssign)
def indexed_augmented_assignment(state: State, original: cst.AugAssign, updated: cst.AugAssign):
    """``x[i] += v`` -> ``x = x.at[i].add(v)`` (``-=`` and ``/=`` through add and multiply)."""
    if not isinstance(updated.target, cst.Subscript):
        return None
    op = AUGMENTED.get(type(updated.operator))
    target = updated.target
    if not op or not isinstance(target.value, cst.Name):
        return None
    value = updated.value
    if op == "subtract":
        op, value = "add", cst.UnaryOperation(cst.Minus(), value)
    elif op == "divide":
        op, value = "multiply", cst.BinaryOperation(value_expr(1), cst.Divide(), value)
    return functional_update(state, original, updated, target, op, value)


CONTAINERS = (cst.Dict, cst.List, cst.Set, cst.DictComp, cst.ListComp, cst.SetComp)
CONTAINER_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "collections.defaultdict",
                   "collections.OrderedDict", "collections.Counter"}


def _is_container(value: cst.BaseExpression) -> bool:
    """A dict, list or set display or constructor, or lists repeated or joined (``[1] * n``)."""
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, (cst.Multiply, cst.Add)):
        return _is_container(value.left) or _is_container(value.right)
    return isinstance(value, CONTAINERS) or (isinstance(value, cst.Call) and code_of(value.func) in CONTAINER_CALLS)


def holds_container(state: State, name: str) -> bool:
    """``name`` is assigned a dict, list or set in this function (or at module level): ``d[k] = v``
    on it is Python's own item assignment, not an array update."""
    scope = next((s for s in reversed(state.statements) if isinstance(s, cst.FunctionDef)), None)
    scope = scope if scope is not None else state.module
    if scope is None:
        return False
    found = []

    class _Assigns(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            return node is scope

        def visit_ClassDef(self, node):
            return False

        def visit_Assign(self, node):
            if any(isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets):
                if _is_container(node.value):
                    found.append(node)

    visit(scope, _Assigns())
    return bool(found)


def functional_update(state: State, original, updated, target: cst.Subscript, op: str, value):
    if not state.facts.imports.imports_torch or holds_container(state, target.value.value):
        return updated
    if state.qualify(target.value) is not None:  # an imported object (a registry) changes where it lives
        return updated
    if target.value.value == "self" and state.self_is_an_instance:  # `self[name] = module` in a container subclass
        return updated
    name = target.value
    at = cst.Subscript(value=cst.Attribute(value=name, attr=cst.Name("at")), slice=target.slice)
    new_value = call(cst.Attribute(value=at, attr=cst.Name(op)), [value])
    state.report("T2J202", f"`{code_of(original)}` became a functional update (`.at[...].{op}`)",
                 node=original, handled=True, severity="info")
    return cst.Assign(targets=[cst.AssignTarget(name)], value=new_value)


@on_leave(cst.Call)
def other_inplace_method(state: State, original: cst.Call, updated: cst.Call):
    """Any other ``.name_(...)`` on a value that is not a known module: reported."""
    func = original.func
    if not isinstance(func, cst.Attribute) or not state.facts.imports.imports_torch:
        return None
    if isinstance(func.value, cst.Name) and func.value.value == "self":
        return None  # the module's own methods
    if state.qualify(func.value) is not None:
        return None
    name = func.attr.value
    if not (name.endswith("_") and not name.endswith("__")):
        return None
    if inplace_on_name(state, original) is None and out_of_place_on_name(state, original) is None:
        state.report("T2J202", f"in-place `.{name}(...)`: rewrite as `x = ...` (JAX arrays are immutable)", node=original)
    return updated
