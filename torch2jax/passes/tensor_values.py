"""Never silent on tensors: a call of a torch Tensor method that JAX arrays lack, on a name the
converter can tell holds a tensor, is translated by its ``torch.Tensor.<name>`` rule or reported.

The generated list in ``rules/untranslated.toml`` is reported on any receiver; it leaves out
methods whose names are just as common on Python objects (``add``, ``index``, ``values``), which
would be noise on a set or a dict. Those are reported here, where the receiver is known to be a
tensor: a parameter of ``forward``, or a name assigned the result of a torch call, of a layer of
the module (``self.fc(x)``), of one of the file's functions returning a tensor, or of an expression
on such a name (found flow-insensitively, per function); and a parameter of a function or method
that the file's calls give a known tensor (SimpleViT1d's ``posemb_sincos_1d(patches)``, called with
the patch embeddings: ``patches.device`` there is JAX's default device too).
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
_RETURNS: "weakref.WeakKeyDictionary[State, dict[int, bool]]" = weakref.WeakKeyDictionary()
_SITES: "weakref.WeakKeyDictionary[State, dict]" = weakref.WeakKeyDictionary()
_PARAMETERS: "weakref.WeakKeyDictionary[State, dict[str, frozenset]]" = weakref.WeakKeyDictionary()
_BODIES: "weakref.WeakKeyDictionary[State, dict[int, tuple]]" = weakref.WeakKeyDictionary()
_KEYS: "weakref.WeakKeyDictionary[State, dict[int, tuple]]" = weakref.WeakKeyDictionary()


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


# torch functions whose result is not a tensor (a dtype, a count, a flag).
NOT_TENSORS = frozenset({"torch.get_default_dtype", "torch.is_tensor", "torch.is_floating_point", "torch.numel",
                         "torch.finfo", "torch.iinfo", "torch.Size", "torch.is_grad_enabled", "torch.manual_seed",
                         "torch.is_complex", "torch.typename", "torch.set_default_dtype"})


def _reads_tensor(state: State, node, known, where=None) -> bool:
    """The expression is a tensor if it is a torch call, a layer's call, a call of one of the file's
    functions returning one, or built from a known tensor. ``where``: the (class, function) it is in,
    when that is not the one being walked."""
    if isinstance(node, cst.Name):
        return node.value in known
    if isinstance(node, cst.Call):
        func = node.func
        qname = state.qualify(func)
        if qname is not None:
            return (qname.startswith("torch.") and qname.split(".")[1] not in ("nn", "optim", "utils", "device", "cuda",
                                                                              "backends", "jit")
                    and qname not in NOT_TENSORS)
        if isinstance(func, cst.Name) and (None, func.value) in state.facts.functions \
                and func.value not in state.scope.shadowed:
            return returns_tensor(state, state.facts.functions[(None, func.value)])
        if isinstance(func, cst.Attribute):
            if where is None:
                holder = state.holds(func)
            else:
                holder = state.facts.holds(where[0] if where[0] in state.facts.module_classes else None, where, func)
            if holder is not None and holder.kind == "layer":
                return True
            return _reads_tensor(state, func.value, known, where)  # x.view(...), x.sum()
        return False
    if isinstance(node, cst.BinaryOperation):
        return _reads_tensor(state, node.left, known, where) or _reads_tensor(state, node.right, known, where)
    if isinstance(node, (cst.Subscript, cst.UnaryOperation)):
        return _reads_tensor(state, node.value if isinstance(node, cst.Subscript) else node.expression, known, where)
    return False


def _key_of(state: State, func: cst.FunctionDef):
    """(class or None, name) of a module-level function or a method; None for a nested function."""
    keys = _KEYS.get(state)
    if keys is None:
        keys = _KEYS[state] = {id(f): k for k, f in state.facts.functions.items()}
    return keys.get(id(func))


def _solved(state: State) -> tuple[dict, dict]:
    """The known tensors and the returns-a-tensor flag of every function and method of the file, found
    together: they depend on each other (``f`` gives ``g`` a tensor, ``g`` returns one to ``f``), so
    they are computed in rounds, each from the last round's values, until a round changes nothing.
    The facts only grow (more names, False to True), so this ends at their least fixed point, whatever
    the order: a second conversion finds the same facts as the first (asked one by one, with a
    recursive call answered by a guess, they depended on which function happened to be asked first)."""
    known, returns = _KNOWN.get(state), _RETURNS.get(state)
    if known is not None:
        return known, returns
    functions = list(state.facts.functions.values())
    known = _KNOWN[state] = {id(f): frozenset() for f in functions}
    returns = _RETURNS[state] = {id(f): False for f in functions}
    state.keep_alive.extend(functions)  # the ids stay these functions' while the walk lasts
    changed = True
    while changed:
        changed = False
        for func in functions:
            found = _known_tensors(state, func)
            if found != known[id(func)]:
                known[id(func)], changed = found, True
            gives = _returns_tensor(state, func)
            if gives != returns[id(func)]:
                returns[id(func)], changed = gives, True
    return known, returns


def returns_tensor(state: State, func: cst.FunctionDef) -> bool:
    """One of the function's ``return`` statements gives a tensor (``posemb_sincos_2d``'s ``pe.type(dtype)``)."""
    returns = _solved(state)[1]
    if id(func) not in returns:  # a nested function
        state.keep_alive.append(func)
        returns[id(func)] = _returns_tensor(state, func)
    return returns[id(func)]


def _body(state: State, func: cst.FunctionDef) -> tuple[list, list]:
    """The function's own assignments ((target names, value)) and returned values, not those of the
    functions and classes nested in it; collected once (the rounds of ``_solved`` read them often)."""
    table = _BODIES.setdefault(state, {})
    found = table.get(id(func))
    if found is not None:
        return found
    assigns, returns = [], []

    class _Collect(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            return node is func

        def visit_ClassDef(self, node):
            return False

        def visit_Lambda(self, node):
            return False

        def visit_Assign(self, node):
            assigns.append(([n for t in node.targets for n in _names(t.target)], node.value))

        def visit_Return(self, node):
            if node.value is not None:
                returns.append(node.value)

    visit(func, _Collect())
    state.keep_alive.append(func)
    table[id(func)] = assigns, returns
    return assigns, returns


def _returns_tensor(state: State, func: cst.FunctionDef) -> bool:
    returns = _body(state, func)[1]
    known = known_tensors(state, func)
    return any(_reads_tensor(state, value, known, _key_of(state, func)) for value in returns)


def _call_sites(state: State) -> dict:
    """(class or None, function name) -> [(the function or method making the call, the call)] over the
    file: ``f(...)`` for a module-level function, ``self.f(...)`` for a method of the caller's class."""
    found = _SITES.get(state)
    if found is not None:
        return found
    found = {}
    facts = state.facts
    for (cls, _), caller in facts.functions.items():
        owners = mro(facts, cls) if cls in facts.module_classes else [cls] if cls else []

        class _Calls(cst.CSTVisitor):
            def visit_ClassDef(self, node):
                return False

            def visit_Call(self, node: cst.Call) -> None:
                func = node.func
                if isinstance(func, cst.Name) and (None, func.value) in facts.functions:
                    found.setdefault((None, func.value), []).append((caller, node))
                elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
                    for owner in owners:
                        if (owner, func.attr.value) in facts.functions:
                            found.setdefault((owner, func.attr.value), []).append((caller, node))
                            break

        visit(caller.body, _Calls())
    _SITES[state] = found
    return found


def _tensor_arguments(state: State, func: cst.FunctionDef, key) -> set[str]:
    """Parameters every call site of the file gives a known tensor to, at least one (found flow-insensitively)."""
    params = [p.name.value for p in (*func.params.posonly_params, *func.params.params)]
    if key[0] is not None:
        params = params[1:]  # self
    names: set[str] = set()
    for caller, site in _call_sites(state).get(key, ()):
        known = known_tensors(state, caller)
        where = _key_of(state, caller)
        for i, a in enumerate(site.args):
            if a.star:
                break
            name = a.keyword.value if a.keyword is not None else (params[i] if i < len(params) else None)
            if name is not None and _reads_tensor(state, a.value, known, where):
                names.add(name)
    return names


def known_tensors(state: State, func: cst.FunctionDef) -> frozenset:
    """The names in ``func`` that hold tensors (see the module docstring)."""
    known = _solved(state)[0]
    if id(func) not in known:  # a nested function: nothing else depends on it
        state.keep_alive.append(func)
        known[id(func)] = frozenset()
        known[id(func)] = _known_tensors(state, func)
    return known[id(func)]


def _known_tensors(state: State, func: cst.FunctionDef) -> frozenset:
    known: set[str] = set()
    key = _key_of(state, func)
    if key is None and func.name.value == "forward" and state.scope.cls is not None:
        key = (state.scope.cls, "forward")
    if key is not None and key[1] == "forward" and key[0] in state.facts.module_classes:
        known.update(p.name.value for p in func.params.params[1:])
    elif key is not None and key[1] != "__init__":  # a constructor's arguments are its configuration
        known.update(_tensor_arguments(state, func, key))
    assigns = _body(state, func)[0]
    changed = True
    while changed:
        changed = False
        for targets, value in assigns:
            if not set(targets) <= known and _reads_tensor(state, value, known, key):
                known.update(targets)
                changed = True
    return frozenset(known)


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
