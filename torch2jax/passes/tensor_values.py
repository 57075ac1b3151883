"""Never silent on tensors: a call of a torch Tensor method that JAX arrays lack, on a name the
converter can tell holds a tensor, is translated by its ``torch.Tensor.<name>`` rule or reported.

The generated list in ``rules/untranslated.toml`` is reported on any receiver; it leaves out
methods whose names are just as common on Python objects (``add``, ``index``, ``values``), which
would be noise on a set or a dict. Those are reported here, where the receiver is known to be a
tensor: a parameter of ``forward``, or a name assigned the result of a torch call, of a layer of
the module (``self.fc(x)``), or of an expression on such a name (found flow-insensitively, per
function).
"""

from __future__ import annotations

import weakref

import libcst as cst

from torch2jax.analyze import mro
from torch2jax.registry import on_leave
from torch2jax.rule_application import apply_rule
from torch2jax.state import State
from torch2jax.syntax import code_of
from torch2jax.traversal import visit

# dir(torch.Tensor) - dir(jax.Array) - rules/untranslated.toml - the Tensor rules (torch 2.13, jax 0.10):
# the methods JAX arrays lack that share their name with common Python methods.
AMBIGUOUS = frozenset({
    "add", "apply_", "copy_", "diff", "equal", "index", "is_coalesced", "is_complex", "is_conj", "is_contiguous",
    "is_floating_point", "is_inference", "is_neg", "is_nonzero", "is_pinned", "is_same_size", "is_set_to",
    "is_shared", "is_signed", "map_", "map2_", "mode", "new", "norm", "record_stream", "register_hook", "resize",
    "roll", "select", "sparse_mask", "storage", "to_sparse", "unique", "values", "where",
})

_KNOWN: "weakref.WeakKeyDictionary[State, dict[int, frozenset]]" = weakref.WeakKeyDictionary()
_PARAMETERS: "weakref.WeakKeyDictionary[State, dict[str, frozenset]]" = weakref.WeakKeyDictionary()


def _function(state: State) -> cst.FunctionDef | None:
    for node in reversed(state.statements):
        if isinstance(node, cst.FunctionDef):
            return node
    return None


def _names(target) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _names(e.value)]
    return []


def _reads_tensor(state: State, node, known: set[str]) -> bool:
    """The expression is a tensor if it is a torch call, a layer's call, or built from a known tensor."""
    if isinstance(node, cst.Name):
        return node.value in known
    if isinstance(node, cst.Call):
        func = node.func
        qname = state.qualify(func)
        if qname is not None:
            return qname.startswith("torch.") and qname.split(".")[1] not in ("nn", "optim", "utils", "device")
        if isinstance(func, cst.Attribute):
            holder = state.holds(func)
            if holder is not None and holder.kind == "layer":
                return True
            return _reads_tensor(state, func.value, known)  # x.view(...), x.sum()
        return False
    if isinstance(node, cst.BinaryOperation):
        return _reads_tensor(state, node.left, known) or _reads_tensor(state, node.right, known)
    if isinstance(node, (cst.Subscript, cst.UnaryOperation)):
        return _reads_tensor(state, node.value if isinstance(node, cst.Subscript) else node.expression, known)
    return False


def known_tensors(state: State, func: cst.FunctionDef) -> frozenset:
    table = _KNOWN.setdefault(state, {})
    found = table.get(id(func))
    if found is not None:
        return found
    known: set[str] = set()
    if func.name.value == "forward" and state.scope.cls is not None:
        known.update(p.name.value for p in func.params.params[1:])
    assigns = []

    class _Collect(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            return node is func  # not nested functions

        def visit_ClassDef(self, node):
            return False

        def visit_Assign(self, node):
            assigns.append(([n for t in node.targets for n in _names(t.target)], node.value))

    visit(func, _Collect())
    changed = True
    while changed:
        changed = False
        for targets, value in assigns:
            if not set(targets) <= known and _reads_tensor(state, value, known):
                known.update(targets)
                changed = True
    table[id(func)] = frozenset(known)
    state.keep_alive.append(func)  # the id stays this function's while the walk lasts
    return table[id(func)]


@on_leave(cst.Call)
def tensor_only_method(state: State, original: cst.Call, updated: cst.Call):
    func = original.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in AMBIGUOUS or not isinstance(func.value, cst.Name):
        return None
    if state.rules.method(func.attr.value) is not None or state.qualify(func.value) is not None:
        return None
    function = _function(state)
    if function is None or func.value.value not in known_tensors(state, function):
        return None
    rule = state.rules.get(f"torch.Tensor.{func.attr.value}")  # translated only on a known tensor
    if rule is not None:
        return apply_rule(state, rule, original, updated, receiver=updated.func.value)
    state.report("T2J901", f"`{func.value.value}.{func.attr.value}(...)` is a torch Tensor method that JAX arrays lack "
                 "and no rule translates it; left as is", node=original)
    return updated


@on_leave(cst.Attribute)
def tensor_device(state: State, original: cst.Attribute, updated: cst.Attribute):
    """``img.device`` on a known tensor -> JAX's default device: arrays carry no device under ``jit``
    (tracers have none), and the moves it fed (``.to(device)``, ``device=``) are removed anyway;
    ``img.is_cuda`` -> whether JAX computes on a GPU."""
    if original.attr.value not in ("device", *BACKEND_FLAGS) or not state.is_value_position(original):
        return None
    if not (_self_parameter(state, original.value) or isinstance(original.value, cst.Name)):
        return None
    if isinstance(original.value, cst.Name):
        function = _function(state)
        if function is None or original.value.value not in known_tensors(state, function):
            return None
    if original.attr.value in BACKEND_FLAGS:  # `x.is_cuda` -> jax.default_backend() == 'gpu'
        return state.imports.source(f"jax.default_backend() == {BACKEND_FLAGS[original.attr.value]!r}")
    state.report("T2J902", f"`{code_of(original.value)}.device`: JAX's default device (arrays are placed by JAX)",
                 node=original, handled=True)
    return state.imports.source("jax.devices()[0]")


BACKEND_FLAGS = {"is_cuda": "gpu", "is_cpu": "cpu", "is_mps": "METAL"}  # where a tensor lives: where JAX computes


def _self_parameter(state: State, node) -> bool:
    """``self.dummy_param``, assigned an ``nn.Parameter`` or a registered buffer in the class."""
    if not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"
            and state.scope.cls is not None):
        return False
    return node.attr.value in parameter_attributes(state, state.scope.cls)


def parameter_attributes(state: State, cls: str) -> frozenset:
    """The attributes a module class (or a base of it in the file) assigns ``nn.Parameter(...)`` or registers as buffers."""
    table = _PARAMETERS.setdefault(state, {})
    if cls not in table:
        found: set[str] = set()
        for owner in mro(state.facts, cls):
            node = state.facts.module_classes.get(owner)
            if node is None:
                continue

            class _Collect(cst.CSTVisitor):
                def visit_Assign(self, assign):
                    target = assign.targets[0].target if len(assign.targets) == 1 else None
                    if (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
                            and target.value.value == "self" and isinstance(assign.value, cst.Call)
                            and state.facts.imports.qualify(assign.value.func) == "torch.nn.Parameter"):
                        found.add(target.attr.value)

                def visit_Call(self, call):
                    if (isinstance(call.func, cst.Attribute) and call.func.attr.value == "register_buffer"
                            and call.args and isinstance(call.args[0].value, cst.SimpleString)):
                        found.add(call.args[0].value.evaluated_value)

            visit(node, _Collect())
        table[cls] = frozenset(found)
    return table[cls]
