"""Facts about the file's subclasses of torch's containers (``class _DenseBlock(nn.ModuleDict)``,
``class _Transition(nn.Sequential)``, ``class Blocks(nn.ModuleList)``), gathered before editing.

A subclass of nn.ModuleList or nn.ModuleDict keeps its container: ``nnx.List`` / ``nnx.Dict`` hold
their entries as torch does and iterate them in order (``self.items()``, ``for m in self``). A
subclass of nn.Sequential is one of two things, told apart by its ``__init__``:

- its layers handed to ``super().__init__(*layers)`` (or appended): an ``nnx.Sequential``;
- its layers set as attributes (``self.norm = nn.BatchNorm2d(c)`` ...) and no ``forward``: torch's
  forward runs them in the order ``__init__`` set them, which only the source says. Those classes
  are listed here with their attributes in that order (``None`` when ``__init__`` does not set them
  in one fixed order: under a condition, in a loop, under a computed name).
"""

from __future__ import annotations

import libcst as cst

from torch2jax.traversal import visit

CONTAINERS = {"torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict"}
NNX_CONTAINERS = {"torch.nn.Sequential": "flax.nnx.Sequential", "torch.nn.ModuleList": "flax.nnx.List",
                  "torch.nn.ModuleDict": "flax.nnx.Dict"}
# Builtins whose result is never a module (an attribute set to one is not a layer of the sequence).
VALUE_BUILTINS = {"int", "float", "bool", "str", "tuple", "list", "dict", "set", "len", "max", "min", "sum", "abs",
                  "round", "range", "sorted", "getattr", "isinstance", "any", "all"}


def _super_init(stmt) -> cst.Call | None:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr):
        value = stmt.body[0].value
        if (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "__init__"
                and isinstance(value.func.value, cst.Call) and isinstance(value.func.value.func, cst.Name)
                and value.func.value.func.value == "super"):
            return value
    return None


def is_module_value(facts, rules, cls: str, value, held_by) -> bool | None:
    """Whether ``self.<attr> = value`` registers a module in torch: True, False, or None (cannot tell).
    ``held_by(value, key)`` says what a call builds (``analyze``'s Holds)."""
    if isinstance(value, cst.Call):
        qname = facts.imports.qualify(value.func)
        rule = rules.get(qname) if qname else None
        if rule is not None:
            return rule.kind in ("layer", "module_fn")
        if qname is not None and qname.startswith("torch."):
            return False  # a tensor, a dtype, ...
        if isinstance(value.func, cst.Name) and value.func.value in VALUE_BUILTINS:
            return False
        held = held_by(value, (cls, "__init__"))
        return True if held.kind in ("layer", "module") else None
    if isinstance(value, (cst.Name, cst.Attribute)):
        held = facts.holds(cls, (cls, "__init__"), value)
        return True if held is not None and held.kind in ("layer", "module") else False
    return False  # literals, arithmetic, comprehensions of values


def _set_attribute(small) -> tuple[str, cst.BaseExpression] | None:
    """``self.x = v`` -> ("x", v)."""
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            return target.attr.value, small.value
    return None


def _adds_module(node) -> bool:
    """``self.add_module(...)`` / ``self.register_module(...)`` anywhere in ``node``."""
    found = []

    class _Find(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            func = call.func
            if (isinstance(func, cst.Attribute) and func.attr.value in ("add_module", "register_module")
                    and isinstance(func.value, cst.Name) and func.value.value == "self"):
                found.append(call)

    visit(node, _Find())
    return bool(found)


def sequential_attributes(facts, rules, held_by) -> dict[str, list[str] | None]:
    """nn.Sequential subclasses that set their layers as attributes and define no forward:
    class -> the attributes holding modules, in the order ``__init__`` sets them (None: no fixed order)."""
    out: dict[str, list[str] | None] = {}
    for cls in facts.module_classes:
        if facts.containers.get(cls) != "torch.nn.Sequential" or (cls, "forward") in facts.functions:
            continue
        init = facts.functions.get((cls, "__init__"))
        if init is None or not isinstance(init.body, cst.IndentedBlock):
            continue
        order: list[str] = []
        layers_given = adds = unordered = False
        for stmt in init.body.body:
            call = _super_init(stmt)
            if call is not None:
                layers_given = layers_given or bool(call.args)
                continue
            adds = adds or _adds_module(stmt)
            if not isinstance(stmt, cst.SimpleStatementLine):
                unordered = unordered or _sets_a_module(facts, rules, cls, stmt, held_by)  # under a condition, in a loop
                continue
            for small in stmt.body:
                found = _set_attribute(small)
                if found is None:
                    continue
                registers = is_module_value(facts, rules, cls, found[1], held_by)
                if registers is None:
                    unordered = True
                elif registers and found[0] not in order:
                    order.append(found[0])
        if not order and not unordered:
            continue  # layers given to super().__init__ or appended: an nnx.Sequential
        out[cls] = None if layers_given or adds or unordered else order
    return out


def _sets_a_module(facts, rules, cls: str, stmt, held_by) -> bool:
    found = []

    class _Find(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            attribute = _set_attribute(node)
            if attribute is not None and is_module_value(facts, rules, cls, attribute[1], held_by) is not False:
                found.append(node)

    visit(stmt, _Find())
    return bool(found)
