"""Initialising parameters chosen by their torch names, GPT-2's scaled residual projections
(nanoGPT, minGPT)::

    for pn, p in self.named_parameters():
        if pn.endswith('c_proj.weight'):
            torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

becomes a loop over the module's ``nnx.Param`` variables named by their Flax paths, the test
written in Flax's names (``c_proj`` holds a Linear: its ``weight`` is ``kernel``), the variable
assigned in place::

    for pn, p in ((".".join(map(str, path)), p) for path, p in nnx.iter_graph(self) if isinstance(p, nnx.Param)):
        if pn.endswith('c_proj.kernel'):
            p[...] = 0.0 + ... * jax.random.normal(rngs.params(), p.shape, p.dtype)

Translated only when the name is used in nothing but literal tests the file lets map exactly onto
Flax's paths, and the value in nothing but initialisers of the branch's parameters:

- ``pn.endswith('A.P')`` / ``'A.P' in pn``: every attribute of the file whose name ends with ``A``
  holds a layer whose torch parameter ``P`` has one Flax name (``c_proj.weight`` -> ``c_proj.kernel``;
  a conv kept in its NCHW wrapper, ``conv.layers.1.kernel``), or a module of the file with a
  parameter ``P`` of its own (the same name);
- ``pn.endswith('P')``: every layer of the file with a parameter ``P`` stores it under one Flax name;
- ``pn.startswith('a.b')``: module attributes only (no parameter name), none inside an nn.Sequential.

Anything else (other uses of the name, ``else`` branches, layouts the branch cannot tell, names from
an ``OrderedDict`` or a computed ``add_module``) stays reported as ``named_parameters`` (T2J201).
An initialiser whose fans depend on the layout (xavier, kaiming) gets the layer's own layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from torch2jax.registry import on_leave, on_statement, on_visit
from torch2jax.rules import ParamSpec
from torch2jax.state import State
from torch2jax.syntax import code_of
from torch2jax.traversal import visit

ELEMENTWISE = {"uniform", "normal", "trunc_normal", "zeros", "ones", "constant"}
INIT_METHODS = {"normal_", "uniform_", "zero_", "fill_"}


class _Unmappable(Exception):
    pass


@dataclass
class ParameterLoop:
    call: int  # id of the `self.named_parameters()` call
    literals: dict = field(default_factory=dict)  # id of a test's string -> its Flax form (source text)
    targets: dict = field(default_factory=dict)  # id of an initialiser's target (`p`, `p.data`) -> (rule, spec)


def _names(target) -> tuple[str, str] | None:
    if isinstance(target, cst.Tuple) and len(target.elements) == 2 and all(
            isinstance(e.value, cst.Name) for e in target.elements):
        return target.elements[0].value.value, target.elements[1].value.value
    return None


def _quoted(node: cst.SimpleString, text: str) -> str:
    prefix = node.prefix
    quote = node.quote
    return f"{prefix}{quote}{text}{quote}"


# ---------------------------------------------------------------------- mapping torch names to Flax paths


def _layer_params(state: State, holder) -> dict[str, tuple]:
    """torch parameter name -> (Flax path suffix, rule, spec) of what an attribute holds (None: unknown)."""
    from torch2jax.analyze import mro

    facts = state.facts
    if holder.kind == "layer":
        rule = state.rules.get(holder.name)
        if rule is None:
            return {}
        return {name: (spec.path, rule, spec) for name, spec in rule.params.items()}
    if holder.kind == "module":
        out = {}
        for owner in mro(facts, holder.name) if holder.name in facts.module_classes else [holder.name]:
            for attr, held in facts.attributes.get(owner, {}).items():
                if held.kind == "other":  # nn.Parameter: its own name, torch's layout
                    out.setdefault(attr, (attr, None, ParamSpec(attr, "none")))
        return out
    return None


def _wrapped(state: State, cls: str, attr: str, rule) -> bool:
    """A channels-last layer built inside its NCHW wrapper: its variables are under ``layers.1``."""
    return rule is not None and rule.layout == "channels_last" and attr not in state.facts.direct_channels_last.get(cls, {})


def _map_suffix(state: State, literal: str, method: str) -> tuple[str, dict]:
    """``c_proj.weight`` -> (``c_proj.kernel``, {(rule, spec)}) for ``endswith`` / ``in`` tests."""
    facts = state.facts
    attr_part, _, param = literal.rpartition(".")
    flax, kinds = set(), {}
    for cls, attributes in facts.attributes.items():
        for attr, held in attributes.items():
            if attr_part and not attr.endswith(attr_part):
                continue
            params = _layer_params(state, held)
            if params is None:
                if attr_part:
                    raise _Unmappable(f"`{attr}` of `{cls}`: what it holds is not known")
                continue
            for tname, (path, rule, spec) in params.items():
                if tname != param if method == "endswith" else not tname.startswith(param):
                    continue
                if method == "in" and tname != param:
                    raise _Unmappable(f"`{literal}` also matches `{tname}`")
                inner = f"layers.1.{path}" if _wrapped(state, cls.split(".")[0], attr, rule) else path
                flax.add(f"{attr_part}.{inner}" if attr_part else inner)
                kinds[(rule.torch if rule is not None else None, spec)] = (rule, spec)
    if len(flax) != 1:
        raise _Unmappable(f"`{literal}` names {'no parameter' if not flax else 'parameters stored under several Flax names'}")
    return flax.pop(), kinds


def _map_prefix(state: State, literal: str) -> tuple[str, dict]:
    """``startswith('transformer.h')``: module attributes only (the same names in Flax), none but the
    last an nn.Sequential (whose layers are ``layers.<i>`` in Flax) or a layer (whose parameter names differ)."""
    parts = literal.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            continue
        held = [h for attributes in state.facts.attributes.values() for a, h in attributes.items() if a == part]
        if not held or any(h.kind not in ("layer", "module") for h in held):
            raise _Unmappable(f"`{part}` in `{literal}` is not known to be a module attribute")
        if i < len(parts) - 1 and any(h.kind == "layer" and (h.name == "torch.nn.Sequential" or state.rules.get(h.name).params)
                                      for h in held):
            raise _Unmappable(f"what follows `{part}` in `{literal}` is named differently in Flax")
    return literal, {}


def _tests(state: State, node, name: str, loop: ParameterLoop, kinds: dict) -> None:
    """Map every name test of a condition; anything else in it is unmappable."""
    if isinstance(node, cst.BooleanOperation):
        _tests(state, node.left, name, loop, kinds)
        _tests(state, node.right, name, loop, kinds)
        return
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
        _tests(state, node.expression, name, loop, kinds)
        return
    if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name)
            and node.func.value.value == name and node.func.attr.value in ("endswith", "startswith")
            and len(node.args) == 1 and not node.args[0].keyword and isinstance(node.args[0].value, cst.SimpleString)):
        string = node.args[0].value
        method = node.func.attr.value
    elif (isinstance(node, cst.Comparison) and len(node.comparisons) == 1 and isinstance(node.left, cst.SimpleString)
          and isinstance(node.comparisons[0].operator, cst.In) and isinstance(node.comparisons[0].comparator, cst.Name)
          and node.comparisons[0].comparator.value == name):
        string, method = node.left, "in"
    else:
        raise _Unmappable(f"the test `{code_of(node)}`")
    text = string.evaluated_value
    if not isinstance(text, str):
        raise _Unmappable(f"the test `{code_of(node)}`")
    flax, found = _map_prefix(state, text) if method == "startswith" else _map_suffix(state, text, method)
    kinds.update(found)
    if flax != text:
        loop.literals[id(string)] = _quoted(string, flax)


def _initialiser_target(state: State, stmt, value: str):
    """The target node of ``nn.init.x_(p, ...)`` / ``p.normal_(...)`` / ``p.data.normal_(...)`` and its rule."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, cst.Call)):
        return None
    c = stmt.body[0].value
    qname = state.qualify(c.func) or ""
    if qname.startswith("torch.nn.init.") and c.args and not c.args[0].keyword and isinstance(c.args[0].value, cst.Name) \
            and c.args[0].value.value == value:
        return c.args[0].value, state.rules.get(qname)
    if isinstance(c.func, cst.Attribute) and c.func.attr.value in INIT_METHODS:
        receiver = c.func.value
        plain = isinstance(receiver, cst.Name) and receiver.value == value
        data = (isinstance(receiver, cst.Attribute) and receiver.attr.value == "data" and isinstance(receiver.value, cst.Name)
                and receiver.value.value == value)
        if plain or data:
            return receiver, state.rules.method(c.func.attr.value)
    return None


def _branch(state: State, test, body, names: tuple[str, str], loop: ParameterLoop) -> None:
    kinds: dict = {}  # (torch layer, spec) -> (rule, spec) of the parameters the test names
    _tests(state, test, names[0], loop, kinds)
    statements = body.body if isinstance(body, cst.IndentedBlock) else ()
    if not statements:
        raise _Unmappable("an empty branch")
    for stmt in statements:
        found = _initialiser_target(state, stmt, names[1])
        if found is None or found[1] is None or "init" not in found[1].const:
            raise _Unmappable(f"`{code_of(stmt).strip()}`: only initialisers of `{names[1]}` are translated here")
        target, rule = found
        layouts = {(spec.transform, layer.spatial_dims if layer is not None else 0) for layer, spec in kinds.values()}
        if rule.const["init"] not in ELEMENTWISE and len(layouts) != 1:
            raise _Unmappable(f"`{rule.torch}` depends on the layout, and the branch does not hold one")
        layer, spec = next(iter(kinds.values())) if len(kinds) == 1 else (None, ParamSpec("", "mixed"))
        loop.targets[id(target)] = (layer, spec)


def _other_uses(body, names: tuple[str, str], allowed: set[int]) -> bool:
    found = []

    class _Uses(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value in names and id(node) not in allowed:
                found.append(node)

    visit(body, _Uses())
    return bool(found)


def _plan(state: State, node: cst.For) -> ParameterLoop | None:
    it = node.iter
    if not (isinstance(it, cst.Call) and not it.args and isinstance(it.func, cst.Attribute)
            and it.func.attr.value == "named_parameters" and isinstance(it.func.value, cst.Name)
            and it.func.value.value == "self" and state.scope.cls is not None and node.orelse is None):
        return None
    names = _names(node.target)
    if names is None or not isinstance(node.body, cst.IndentedBlock):
        return None
    source = code_of(state.module) if state.module is not None else ""
    if "OrderedDict" in source or "add_module(" in source or "register_module(" in source:
        return None  # names the file does not say (see the module docstring)
    loop = ParameterLoop(id(it))
    try:
        for stmt in node.body.body:
            branch = stmt
            if not isinstance(branch, cst.If):
                raise _Unmappable("a statement outside the name tests")
            while branch is not None:
                _branch(state, branch.test, branch.body, names, loop)
                orelse = branch.orelse
                if isinstance(orelse, cst.Else):
                    raise _Unmappable("an `else` branch: which parameters it holds is not a name test")
                branch = orelse
    except _Unmappable:
        return None
    allowed = set(loop.targets)
    tests = set()

    class _TestNames(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            tests.add(id(n))

    for stmt in node.body.body:
        branch = stmt
        while branch is not None:
            visit(branch.test, _TestNames())
            branch = branch.orelse
    # the value only as initialisers' targets (or their `.data`), the name only in the tests
    value_nodes = set()

    class _Targets(cst.CSTVisitor):
        def visit_Attribute(self, a: cst.Attribute) -> None:
            if id(a) in loop.targets:
                value_nodes.add(id(a.value))

    visit(node.body, _Targets())
    if _other_uses(node.body, (names[1],), allowed | value_nodes) or _other_uses(node.body, (names[0],), tests):
        return None
    return loop


@on_visit(cst.For)
def parameter_loop(state: State, node: cst.For) -> None:
    if "named_parameters" not in code_of(node.iter):
        return
    loop = _plan(state, node)
    if loop is not None:
        state.parameter_loops[id(node)] = loop
        state.parameter_loops[loop.call] = loop
        for key in (*loop.literals, *loop.targets):
            state.parameter_loops[key] = loop


@on_leave(cst.Call)
def named_parameters_claimed(state: State, original: cst.Call, updated: cst.Call):
    loop = state.parameter_loops.get(id(original))
    return updated if loop is not None and loop.call == id(original) else None


@on_leave(cst.SimpleString, exclusive=False)
def flax_name_in_test(state: State, original: cst.SimpleString, updated: cst.SimpleString):
    loop = state.parameter_loops.get(id(original))
    if loop is None or id(original) not in loop.literals:
        return None
    return cst.SimpleString(loop.literals[id(original)])


def _variable(state: State, loop: ParameterLoop, original) -> cst.Name:
    layer, spec = loop.targets[id(original)]
    name = cst.Name(original.value.value if isinstance(original, cst.Attribute) else original.value)
    state.param_reads[id(name)] = (name, layer, spec)
    state.variable_names.add(id(name))
    state.keep_alive.append(name)
    return name


@on_leave(cst.Name)
def initialised_parameter(state: State, original: cst.Name, updated: cst.Name):
    loop = state.parameter_loops.get(id(original))
    if loop is None or id(original) not in loop.targets:
        return None
    return _variable(state, loop, original)


@on_leave(cst.Attribute)
def initialised_parameter_data(state: State, original: cst.Attribute, updated: cst.Attribute):
    loop = state.parameter_loops.get(id(original))
    if loop is None or id(original) not in loop.targets:
        return None
    return _variable(state, loop, original)


@on_leave(cst.For, exclusive=False)
def loop_over_params(state: State, original: cst.For, updated: cst.For):
    if state.parameter_loops.get(id(original)) is None or state.parameter_loops[id(original)].call != id(original.iter):
        return None
    iter_graph, param = state.imports.ref("flax.nnx.iter_graph"), state.imports.ref("flax.nnx.Param")
    text = (f'((".".join(map(str, path)), variable) for path, variable in {code_of(iter_graph)}(self) '
            f"if isinstance(variable, {code_of(param)}))")
    return updated.with_changes(iter=cst.parse_expression(text))


@on_statement(cst.Assign)
def variable_assigned_in_place(state: State, original: cst.Assign, updated: cst.Assign):
    """``p[...] = value`` on a loop variable over ``nnx.iter_graph(...)`` (this pass's loops, converted
    again) sets the nnx.Variable: it is not an array update to make functional."""
    if len(original.targets) != 1:
        return None
    target = original.targets[0].target
    if not (isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and len(target.slice) == 1
            and isinstance(target.slice[0].slice, cst.Index) and isinstance(target.slice[0].slice.value, cst.Ellipsis)):
        return None
    name = target.value.value
    for stmt in reversed(state.statements):
        if isinstance(stmt, cst.For) and name in _bound(stmt.target) and "iter_graph(" in code_of(stmt.iter):
            inner = stmt.iter.elt if isinstance(stmt.iter, cst.GeneratorExp) else None
            sources = [f.iter for f in _fors(stmt.iter)] + ([stmt.iter] if inner is None else [])
            if any(isinstance(s, cst.Call) and state.qualify(s.func) == "flax.nnx.iter_graph" for s in sources):
                return updated
    return None


def _bound(target) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return {n for e in target.elements for n in _bound(e.value)}
    return set()


def _fors(node) -> list:
    out = []
    f = node.for_in if isinstance(node, cst.GeneratorExp) else None
    while f is not None:
        out.append(f)
        f = f.inner_for_in
    return out
