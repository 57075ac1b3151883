"""Facts about a file, gathered before anything is edited.

- which classes are ``nn.Module`` subclasses (directly or through a class in the file);
- which functions must take ``rngs`` (they build layers, directly or through calls);
- which parameters receive a module class (``ResNet(BasicBlock, ...)`` -> ``block(...)``);
- which channels-last layers are plain attributes called with one input, so the
  transposes can go at the call site instead of around the layer;
- what each ``self.<attr>`` of a module class and each variable holds (a torch layer, one of
  the file's module classes, something else), so ``model.fc1.weight`` can be read with the
  layout torch gives it and ``self.split(x)`` on a submodule is not taken for a tensor method.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from torch2jax.containers import CONTAINERS, sequential_attributes
from torch2jax.forwarded_kwargs import find_forwardings
from torch2jax.layer_values import LayerValueFacts, analyze_layer_values, keeps_signature
from torch2jax.local_modules import imported_from_local_modules
from torch2jax.names import ImportTable, dotted_name
from torch2jax.rules import RuleSet
from torch2jax.traversal import visit
from torch2jax.training.analysis import TrainingFacts, analyze_training, mentions_training

FuncKey = tuple[str | None, str]  # (class name or None, function name)


@dataclass(frozen=True)
class Holds:
    """What an attribute or variable holds: kind "layer" (name: the torch layer's rule), "module"
    (name: one of the file's nn.Module classes, an instance), "class" (a module class itself, to be
    built later: ``block=BasicBlock``), "classes" (a list, tuple or dict of them) or "other"
    (anything else, or assignments that disagree)."""

    kind: str
    name: str = ""
    alternatives: tuple[str, ...] = ()  # a narrowed layer may be any of these rules (`isinstance(m, (A, B))`)


OTHER = Holds("other")

# Classes whose instances are tensors: in their methods `self.sum()` is a tensor method.
TENSOR_TYPES = {"torch.Tensor", "torch._C.TensorBase", "torch.nn.Parameter", "torch.nn.parameter.Parameter",
                "torch.nn.Buffer", "torch.nn.parameter.Buffer"}

PARAMETER_NAMES = {"weight", "bias"}
PARAMETER_TYPES = {"torch.nn.Parameter", "torch.nn.parameter.Parameter"}
RANDOM_FACTORIES = {"torch.randn", "torch.rand", "torch.randint", "torch.randperm", "torch.normal"}
# Initialisers that draw random numbers (a function calling them needs rngs), and their tensor-method forms.
RANDOM_INITS = {f"torch.nn.init.{name}" for name in (
    "uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "orthogonal_")}
RANDOM_INIT_METHODS = {"normal_", "uniform_"}
# torch APIs that draw random numbers when called (a module that calls them at run time holds an nnx.Rngs).
DRAWS = RANDOM_FACTORIES | {
    "torch.randn_like", "torch.rand_like", "torch.randint_like", "torch.bernoulli", "torch.multinomial",
    "torch.nn.functional.dropout", "torch.nn.functional.dropout1d", "torch.nn.functional.dropout2d",
    "torch.nn.functional.dropout3d", "torch.dropout", "torch.nn.functional.alpha_dropout",
    "torch.nn.functional.feature_alpha_dropout", "torch.nn.functional.rrelu",
    "torch.nn.functional.scaled_dot_product_attention",  # dropout_p
}


@dataclass
class FileFacts:
    imports: ImportTable
    module_classes: dict[str, cst.ClassDef] = field(default_factory=dict)
    class_bases: dict[str, list[str]] = field(default_factory=dict)  # local module bases
    functions: dict[FuncKey, cst.FunctionDef] = field(default_factory=dict)
    needs_rngs: set[FuncKey] = field(default_factory=set)
    seeded: set[FuncKey] = field(default_factory=set)  # functions that make their own rngs (torch.manual_seed)
    draws_at_call: set[str] = field(default_factory=set)  # module classes drawing random numbers outside __init__
    class_params: dict[FuncKey, set[str]] = field(default_factory=dict)
    direct_channels_last: dict[str, dict[str, int]] = field(default_factory=dict)  # class -> attr -> rank
    direct_layer_calls: set[int] = field(default_factory=set)  # ids of constructions kept unwrapped
    uses_training: set[str] = field(default_factory=set)
    training: TrainingFacts = field(default_factory=TrainingFacts)  # optimizers, losses, steps
    attributes: dict[str, dict[str, Holds]] = field(default_factory=dict)  # class -> self.<attr> -> what it holds
    variables: dict[FuncKey | None, dict[str, Holds]] = field(default_factory=dict)  # scope -> variable -> holds
    class_names: dict[tuple, str] = field(default_factory=dict)  # (scope, `classname`) -> `m` for m.__class__.__name__
    none_first: dict[str, set[str]] = field(default_factory=dict)  # class -> attributes set to None and to a value
    layer_values: LayerValueFacts = field(default_factory=lambda: LayerValueFacts({}, {}))  # torch classes held
    forwardings: dict = field(default_factory=dict)  # FuncKey -> Forwarding (**kwargs going to one torch layer)
    layer_subclasses: dict[str, str] = field(default_factory=dict)  # class -> the torch layer it subclasses
    external_classes: set[str] = field(default_factory=set)  # module classes the project's own modules define
    external_rngs_functions: set[str] = field(default_factory=set)  # their functions that build layers
    # module-level functions returning one of the module classes (EfficientNet's `get_same_padding_conv2d`),
    # the file's own and those the project's modules define: what they return is built later, with rngs
    class_factories: set[str] = field(default_factory=set)
    external_plain_classes: set[str] = field(default_factory=set)  # external classes built without rngs (no __init__)
    plain_classes: frozenset = frozenset()  # the file's module classes built without rngs (see takes_rngs)
    tensor_classes: set[str] = field(default_factory=set)  # torch.Tensor subclasses (their `self` is a tensor)
    containers: dict[str, str] = field(default_factory=dict)  # class -> nn.Sequential/ModuleList/ModuleDict it subclasses
    # nn.Sequential subclasses whose layers are attributes set in __init__: class -> the attributes in order
    # (None when __init__ does not say them in a fixed order), see ``containers``.
    sequential_attributes: dict[str, list[str] | None] = field(default_factory=dict)
    parameters: dict[str, set[str]] = field(default_factory=dict)  # class -> attributes set to nn.Parameter(...)
    buffers: dict[str, set[str]] = field(default_factory=dict)  # class -> attributes registered as buffers

    def holds(self, cls: str | None, key: FuncKey | None, node: cst.BaseExpression) -> Holds | None:
        """What ``x``, ``self.a.b`` or ``model.fc1`` holds, when the file says."""
        if isinstance(node, cst.Name):
            if node.value == "self" and cls is not None:
                return Holds("module", cls)
            for scope in (key, None):
                found = self.variables.get(scope, {}).get(node.value)
                if found is not None:
                    return found
            return None
        if isinstance(node, cst.Attribute):
            base = self.holds(cls, key, node.value)
            if base is not None and base.kind == "module":
                for owner in mro(self, base.name):
                    found = self.attributes.get(owner, {}).get(node.attr.value)
                    if found is not None:
                        return found
        return None


def _functions_of(body) -> list[cst.FunctionDef]:
    return [s for s in body if isinstance(s, cst.FunctionDef)]


def _class_body(node: cst.ClassDef):
    return node.body.body if isinstance(node.body, cst.IndentedBlock) else ()


class _Calls(cst.CSTVisitor):
    """Every call in a function, with what the analysis needs about it."""

    def __init__(self) -> None:
        self.calls: list[cst.Call] = []
        self.self_attr_refs: dict[str, list[tuple[cst.Attribute, bool]]] = {}
        self.assigns: list[tuple[str, cst.BaseExpression]] = []
        self.local_assigns: list[tuple[str, cst.BaseExpression]] = []
        self.added: list[tuple[str, cst.BaseExpression]] = []  # self.add_module("name", module)
        self.buffers: list[str] = []  # self.register_buffer("name", value)
        self.uses_training = False
        self._callee_ids: set[int] = set()
        self._target_ids: set[int] = set()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in PARAMETER_NAMES and isinstance(node.value, cst.Attribute):
            self._callee_ids.add(id(node.value))  # `self.conv.weight` reads a parameter: the layer stays plain
        if id(node) in self._target_ids:
            return
        if isinstance(node.value, cst.Name) and node.value.value == "self":
            if node.attr.value == "training":
                self.uses_training = True
            self.self_attr_refs.setdefault(node.attr.value, []).append((node, id(node) in self._callee_ids))

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
        self._callee_ids.add(id(node.func))
        func = node.func
        if (isinstance(func, cst.Attribute) and func.attr.value in ("register_buffer", "add_module", "register_module")
                and isinstance(func.value, cst.Name) and func.value.value == "self" and len(node.args) >= 2
                and isinstance(node.args[0].value, cst.SimpleString)):
            added = self.assigns if func.attr.value == "register_buffer" else self.added
            added.append((node.args[0].value.evaluated_value, node.args[1].value))
            if func.attr.value == "register_buffer":
                self.buffers.append(node.args[0].value.evaluated_value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            t = target.target
            if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == "self":
                self.assigns.append((t.attr.value, node.value))
                self._target_ids.add(id(t))
            elif isinstance(t, cst.Name):
                self.local_assigns.append((t.value, node.value))

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False  # nested classes are analysed on their own


def _gather(func: cst.FunctionDef) -> _Calls:
    visitor = _Calls()
    visit(func.body, visitor)
    return visitor


def analyze(module: cst.Module, rules: RuleSet, source: str | None = None, path: str | None = None,
            seen: frozenset = frozenset()) -> FileFacts:
    """``path``: the file's own path, to read what it imports from the project's modules (local_modules)."""
    facts = FileFacts(imports=ImportTable.from_module(module))
    imported_from_local_modules(facts, module, path, rules, seen or frozenset({str(path)}), analyze)
    imports = facts.imports
    classes = [s for s in module.body if isinstance(s, cst.ClassDef)]

    # nn.Module subclasses, direct and indirect (fixed point over the file's classes).
    changed = True
    while changed:
        changed = False
        for cls in classes:
            name = cls.name.value
            if name in facts.module_classes:
                continue
            local = []
            is_module = False
            for base in cls.bases:
                qname = imports.qualify(base.value)
                if qname == "torch.nn.Module":
                    is_module = True
                elif qname in CONTAINERS:  # `class _DenseBlock(nn.ModuleDict)`: a module, and a container
                    is_module = True
                    facts.containers[name] = qname
                elif subclassable(rules.get(qname) if qname else None):  # class MyLinear(nn.Linear)
                    is_module = True
                    facts.layer_subclasses[name] = qname
                elif dotted_name(base.value) in facts.module_classes or dotted_name(base.value) in facts.external_classes:
                    is_module = True
                    local.append(dotted_name(base.value))
            if is_module:
                facts.module_classes[name] = cls
                facts.class_bases[name] = local
                changed = True
            if name not in facts.tensor_classes and any(
                imports.qualify(base.value) in TENSOR_TYPES or dotted_name(base.value) in facts.tensor_classes
                for base in cls.bases
            ):
                facts.tensor_classes.add(name)
                changed = True

    for func in _functions_of(module.body):
        facts.functions[(None, func.name.value)] = func
    for cls in classes:
        for func in _functions_of(_class_body(cls)):
            facts.functions[(cls.name.value, func.name.value)] = func

    facts.class_factories |= {key[1] for key, func in facts.functions.items()
                              if key[0] is None and _returns_a_class(facts, func)}
    gathered = {key: _gather(func) for key, func in facts.functions.items()}
    for key, g in gathered.items():
        if g.uses_training and key[0]:
            facts.uses_training.add(key[0])
        if key[0] in facts.module_classes and key[1] != "__init__" and any(
            imports.qualify(call.func) in DRAWS for call in g.calls
        ):
            facts.draws_at_call.add(key[0])

    _class_valued_params(facts, gathered)
    facts.layer_values = analyze_layer_values(
        imports, rules, facts.functions, gathered, lambda call, cls: _callee_params(facts, call, cls),
        lambda cls: mro(facts, cls))
    _what_is_held(facts, gathered, module, rules)
    facts.sequential_attributes = sequential_attributes(facts, rules, lambda v, k: _held_by(facts, v, rules, k))
    facts.forwardings = find_forwardings(imports, rules, facts.functions)
    _rngs_functions(facts, gathered, rules)
    _direct_channels_last(facts, gathered, rules)
    if facts.imports.imports_torch and (source is None or mentions_training(source)):
        facts.training = analyze_training(module, imports)
    facts.plain_classes = frozenset(c for c in facts.module_classes if not takes_rngs(facts, c))
    return facts


class _Returns(cst.CSTVisitor):
    def __init__(self) -> None:
        self.values: list = []

    def visit_Return(self, node: cst.Return) -> None:
        self.values.append(node.value)

    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False

    def visit_Lambda(self, node) -> bool:
        return False


def _returns_a_class(facts: FileFacts, func: cst.FunctionDef) -> bool:
    """Every ``return`` of ``func`` gives a module class: ``return Block`` or ``return partial(Block, ...)``."""
    returns = _Returns()
    visit(func.body, returns)
    classes = facts.module_classes.keys() | facts.external_classes

    def is_class(value) -> bool:
        if (isinstance(value, cst.Call) and facts.imports.qualify(value.func) == "functools.partial" and value.args
                and value.args[0].keyword is None and not value.args[0].star):
            value = value.args[0].value
        return isinstance(value, cst.Name) and value.value in classes

    return bool(returns.values) and all(is_class(v) for v in returns.values)


RETURNS_SELF = {"to", "cuda", "cpu", "train", "eval", "float", "double", "half", "requires_grad_"}


def _held_by(facts: FileFacts, value: cst.BaseExpression, rules: RuleSet, key: FuncKey | None = None) -> Holds:
    while (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
           and value.func.attr.value in RETURNS_SELF):  # `Net().to(device)` is the Net
        value = value.func.value
    if _is_class(facts, value, key):
        return Holds("class", value.value)
    if (isinstance(value, cst.Call) and facts.imports.qualify(value.func) == "functools.partial" and value.args
            and value.args[0].keyword is None and not value.args[0].star and _is_class(facts, value.args[0].value, key)):
        return Holds("class", value.args[0].value.value)  # `resnet_block = partial(ResnetBlock, dropout=dropout)`
    if isinstance(value, cst.Name) and key is not None:  # `klass = FullAttention`, itself holding a class
        held = facts.variables.get(key, {}).get(value.value)
        if held is not None and held.kind == "class":
            return held
    if isinstance(value, cst.IfExp):  # `attn_klass = FullAttention if full else LinearAttention`
        body, orelse = _held_by(facts, value.body, rules, key), _held_by(facts, value.orelse, rules, key)
        if body.kind == orelse.kind == "class":
            return body if body == orelse else Holds("class")
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)) and value.elements and all(
        _is_class(facts, e.value, key) for e in value.elements
    ):
        names = tuple(e.value.value for e in value.elements)
        known = not isinstance(value, cst.Set) and all(n in facts.module_classes for n in names)
        return Holds("classes", "", names if known else ())
    if (isinstance(value, cst.Subscript) and isinstance(value.value, cst.Name) and len(value.slice) == 1
            and isinstance(value.slice[0].slice, cst.Index) and isinstance(value.slice[0].slice.value, cst.Integer)):
        listed = facts.variables.get(key, {}).get(value.value.value)  # `conv_block = blocks[0]`
        index = int(value.slice[0].slice.value.value)
        if listed is not None and listed.kind == "classes" and index < len(listed.alternatives):
            return Holds("class", listed.alternatives[index])
    if isinstance(value, cst.Dict) and value.elements and all(
        isinstance(e, cst.DictElement) and _is_class(facts, e.value, key) for e in value.elements
    ):
        return Holds("classes")
    if isinstance(value, cst.Call):
        qname = facts.imports.qualify(value.func)
        rule = rules.get(qname) if qname else None
        if rule is not None and rule.kind == "layer":
            return Holds("layer", rule.torch)
        if isinstance(value.func, cst.Name) and value.func.value in facts.module_classes:
            return Holds("module", value.func.value)
        if isinstance(value.func, cst.Name) and value.func.value == classmethod_receiver(facts, key):
            return Holds("module", key[0])  # `model = cls(...)` in a classmethod factory
        if isinstance(value.func, cst.Name) and value.func.value in facts.class_factories:
            return Holds("class")  # `Conv2d = get_same_padding_conv2d(image_size)`: one of several classes
        if key is not None:  # `self.bn1 = norm_layer(planes)` with norm_layer=nn.BatchNorm2d
            held = facts.layer_values.held(key[0] if key[0] in facts.module_classes else None, key, value.func,
                                           lambda c: mro(facts, c))
            if held is not None and len(held.classes) == 1 and rules.get(next(iter(held.classes))).kind == "layer":
                return Holds("layer", next(iter(held.classes)))
    return OTHER


def _class_name_of(value) -> str | None:
    """``m.__class__.__name__`` / ``type(m).__name__`` -> ``m``."""
    if isinstance(value, cst.Attribute) and value.attr.value == "__name__":
        inner = value.value
        if isinstance(inner, cst.Attribute) and inner.attr.value == "__class__" and isinstance(inner.value, cst.Name):
            return inner.value.value
        if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Name) and inner.func.value == "type" \
                and len(inner.args) == 1 and isinstance(inner.args[0].value, cst.Name):
            return inner.args[0].value.value
    return None


def _is_class(facts: FileFacts, node, key: FuncKey | None) -> bool:
    """A module class of the file, or a parameter that receives one."""
    return isinstance(node, cst.Name) and (
        node.value in facts.module_classes or (key is not None and node.value in facts.class_params.get(key, ()))
    )


def builds_module(facts: FileFacts, cls: str | None, key: FuncKey | None, func, shadowed=frozenset()) -> bool:
    """Calling ``func`` builds one of the file's modules: ``Block(...)``, ``block(...)`` with a class
    passed in, ``self.block(...)``/``blocks[i](...)``/``cfg["basic"](...)`` holding classes."""
    if isinstance(func, cst.Name):
        if func.value in shadowed and func.value not in facts.class_params.get(key, ()):
            return False
        if func.value in facts.module_classes:
            return takes_rngs(facts, func.value)
        if func.value == classmethod_receiver(facts, key):  # `cls(...)` in a classmethod
            return takes_rngs(facts, key[0])
        if func.value in facts.external_classes:
            return func.value not in facts.external_plain_classes
        if func.value in facts.class_params.get(key, ()):
            return True
        held = facts.holds(cls, key, func)
        return held is not None and held.kind == "class"
    if isinstance(func, cst.Attribute):
        held = facts.holds(cls, key, func)
        return held is not None and held.kind == "class"
    if isinstance(func, cst.Subscript):
        held = facts.holds(cls, key, func.value)
        return held is not None and held.kind == "classes"
    if isinstance(func, cst.Call):  # `get_same_padding_conv2d(size)(3, 32, 3)`
        return isinstance(func.func, cst.Name) and func.func.value in facts.class_factories
    return False


def takes_rngs(facts: FileFacts, cls: str) -> bool:
    """The class (or a base in the file) defines ``__init__``, which takes ``rngs``, or it subclasses a torch
    layer (built with the layer's arguments and rngs): a module class with neither (vit-pytorch's
    ``class RearrangeImage(nn.Module)`` with only a forward) is built as written."""
    return any((c, "__init__") in facts.functions for c in mro(facts, cls)) or layer_base(facts, cls) is not None


def builds_torch_layer(facts: FileFacts, rules: RuleSet, key: FuncKey | None, func, shadowed=frozenset()) -> bool:
    """Calling ``func`` builds a Flax layer from a torch layer class held as a value
    (``norm_layer(planes)`` with ``norm_layer=nn.BatchNorm2d``): it needs ``rngs``."""
    if key is None:
        return False
    held = facts.layer_values.held(key[0] if key[0] in facts.module_classes else None, key, func,
                                   lambda c: mro(facts, c), shadowed)
    return held is not None and any(rules.get(q).kind == "layer" for q in held.classes)


def _what_is_held(facts: FileFacts, gathered: dict, module: cst.Module, rules: RuleSet) -> None:
    def record(table: dict, name: str, holds: Holds) -> None:
        table[name] = holds if table.get(name, holds) == holds else OTHER

    values: dict[str, dict[str, list[bool]]] = {}  # class -> attr -> [is None] per assignment
    for (cls, fname), g in gathered.items():
        if cls is not None:
            if g.buffers:
                facts.buffers.setdefault(cls, set()).update(g.buffers)
            for attr, value in g.assigns + g.added:
                if isinstance(value, cst.Call) and facts.imports.qualify(value.func) in PARAMETER_TYPES:
                    facts.parameters.setdefault(cls, set()).add(attr)
                is_none = isinstance(value, cst.Name) and value.value == "None"
                values.setdefault(cls, {}).setdefault(attr, []).append(is_none)
                entries = _module_dict_entries(facts, value)
                if entries is not None:  # `self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(...), ...))`
                    holder = f"{cls}.{attr}"
                    for key, entry in entries:
                        record(facts.attributes.setdefault(holder, {}), key, _held_by(facts, entry, rules, (cls, fname)))
                    record(facts.attributes.setdefault(cls, {}), attr, Holds("module", holder))
                    continue
                record(facts.attributes.setdefault(cls, {}), attr, _held_by(facts, value, rules, (cls, fname)))
        for name, value in g.local_assigns:
            record(facts.variables.setdefault((cls, fname), {}), name, _held_by(facts, value, rules, (cls, fname)))
            owner = _class_name_of(value)
            if owner is not None:
                facts.class_names[((cls, fname), name)] = owner
    for cls in facts.module_classes:
        seen: dict[str, list[bool]] = {}
        for owner in mro(facts, cls):
            for attr, kinds in values.get(owner, {}).items():
                seen.setdefault(attr, []).extend(kinds)
        mixed = {attr for attr, kinds in seen.items() if any(kinds) and not all(kinds)}
        if mixed:
            facts.none_first[cls] = mixed
    top = facts.variables.setdefault(None, {})
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    record(top, small.targets[0].target.value, _held_by(facts, small.value, rules))


def _callee_key(facts: FileFacts, call: cst.Call, cls: str | None, key: FuncKey | None = None) -> FuncKey | None:
    """The file-local function a call reaches, if it is one we know: ``Block(...)``, ``helper(...)``,
    ``self.method(...)``, and in a classmethod ``cls(...)`` / ``cls.method(...)``; ``Model.method(...)``."""
    func = call.func
    receiver = classmethod_receiver(facts, key)
    if isinstance(func, cst.Name):
        if func.value in facts.module_classes:
            return (func.value, "__init__")
        if (None, func.value) in facts.functions:
            return (None, func.value)
        if receiver is not None and func.value == receiver:
            return (key[0], "__init__")
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        owner_class = None
        if func.value.value == "self" or func.value.value == receiver:
            owner_class = cls
        elif func.value.value in facts.module_classes:
            owner_class = func.value.value
        else:  # `model.reset(...)` on a variable holding one of the file's modules
            held = facts.holds(cls, key, func.value)
            owner_class = held.name if held is not None and held.kind == "module" else None
        for owner in mro(facts, owner_class) if owner_class is not None else ():
            if (owner, func.attr.value) in facts.functions:
                return (owner, func.attr.value)
    return None


def classmethod_receiver(facts: FileFacts, key: FuncKey | None) -> str | None:
    """The name a classmethod of one of the file's module classes has for its class (``cls``): calling it
    builds the module (``from_name``/``from_config`` factories), so it needs ``rngs`` as a constructor does."""
    if key is None or key[0] not in facts.module_classes:
        return None
    func = facts.functions.get(key)
    if func is None or not any(isinstance(d.decorator, cst.Name) and d.decorator.value == "classmethod"
                               for d in func.decorators):
        return None
    params = (*func.params.posonly_params, *func.params.params)
    return params[0].name.value if params else None


def _module_dict_entries(facts: FileFacts, value) -> list | None:
    """(key, value) of ``nn.ModuleDict(dict(a=..., b=...))`` / ``nn.ModuleDict({'a': ...})`` with literal keys."""
    if not (isinstance(value, cst.Call) and facts.imports.qualify(value.func) == "torch.nn.ModuleDict"
            and len(value.args) == 1 and not value.args[0].keyword and not value.args[0].star):
        return None
    inner = value.args[0].value
    if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Name) and inner.func.value == "dict" \
            and all(a.keyword is not None for a in inner.args):
        return [(a.keyword.value, a.value) for a in inner.args]
    if isinstance(inner, cst.Dict) and all(isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
                                           for e in inner.elements):
        return [(e.key.evaluated_value, e.value) for e in inner.elements]
    return None


def reaches_file_function(facts: FileFacts, call: cst.Call, cls: str | None) -> bool:
    """The call reaches one of the file's functions or module classes (its arguments are followed there)."""
    return _callee_params(facts, call, cls) is not None


def _callee_params(facts: FileFacts, call: cst.Call, cls: str | None):
    """(key, parameter names) of the file's function a call reaches, if it is one we know."""
    key = _callee_key(facts, call, cls)
    if key is None or key not in facts.functions:
        return None
    return key, _param_names(facts.functions[key], skip_self=key[0] is not None)


def container_kind(facts: FileFacts, cls: str | None) -> str | None:
    """The torch container (nn.Sequential, nn.ModuleList, nn.ModuleDict) ``cls`` subclasses, directly or
    through the file's classes."""
    for owner in mro(facts, cls) if cls is not None else ():
        if owner in facts.containers:
            return facts.containers[owner]
    return None


def subclassable(rule) -> bool:
    """A torch layer a class of the file may subclass: one built from the rule table whose Flax class
    takes NCHW as torch does, or one the output defines with torch's signature (recurrent, attention, the
    convolutions in torch's layout)."""
    if rule is None or rule.kind != "layer":
        return False
    return keeps_signature(rule) or (rule.handler is None and rule.layout != "channels_last")


def layer_base(facts: FileFacts, cls: str | None) -> str | None:
    """The torch layer a module class of the file subclasses, directly or through its bases."""
    for owner in mro(facts, cls) if cls else ():
        if owner in facts.layer_subclasses:
            return facts.layer_subclasses[owner]
    return None


def mro(facts: FileFacts, cls: str) -> list[str]:
    order, todo = [], [cls]
    while todo:
        c = todo.pop(0)
        if c not in order:
            order.append(c)
            todo += facts.class_bases.get(c, [])
    return order


def _param_names(func: cst.FunctionDef, skip_self: bool) -> list[str]:
    names = [p.name.value for p in (*func.params.posonly_params, *func.params.params)]
    return names[1:] if skip_self and names else names


def _class_valued_params(facts: FileFacts, gathered: dict[FuncKey, _Calls]) -> None:
    """Parameters that receive a module class (as an argument or a default), followed through
    calls to a fixed point."""
    for key, func in facts.functions.items():
        for p in (*func.params.posonly_params, *func.params.params, *func.params.kwonly_params):
            if (isinstance(p.default, cst.Name) and p.default.value in facts.module_classes) or _annotated_class(facts, p):
                facts.class_params.setdefault(key, set()).add(p.name.value)
    changed = True
    while changed:
        changed = False
        for key, g in gathered.items():
            known = facts.class_params.get(key, set())
            for call in g.calls:
                target = _callee_key(facts, call, key[0])
                if target is None or target not in facts.functions:
                    continue
                func = facts.functions[target]
                params = _param_names(func, skip_self=target[0] is not None)
                for i, arg in enumerate(call.args):
                    if not isinstance(arg.value, cst.Name) or arg.star:
                        continue
                    value = arg.value.value
                    if value not in facts.module_classes and value not in known:
                        continue
                    pname = arg.keyword.value if arg.keyword else (params[i] if i < len(params) else None)
                    if pname and pname not in facts.class_params.setdefault(target, set()):
                        facts.class_params[target].add(pname)
                        changed = True


def _annotated_class(facts: FileFacts, param: cst.Param) -> bool:
    """``block: type[Union[BasicBlock, Bottleneck]]`` / ``Type[Block]``: one of the file's module classes."""
    annotation = param.annotation.annotation if param.annotation is not None else None
    if isinstance(annotation, cst.SimpleString):  # "type[Block]"
        try:
            annotation = cst.parse_expression(annotation.evaluated_value)
        except Exception:
            return False
    if not (isinstance(annotation, cst.Subscript) and dotted_name(annotation.value) in ("type", "Type", "typing.Type")):
        return False
    names = {n.value for n in _names_in(annotation.slice)}
    return bool(names & set(facts.module_classes)) and names <= set(facts.module_classes) | {"Union", "Optional", "typing"}


def _names_in(node) -> list:
    found = []

    class _Names(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.append(n)

    for element in node:
        visit(element, _Names())
    return found


def _seeds(facts: FileFacts, func: cst.FunctionDef) -> bool:
    """The function calls ``torch.manual_seed(...)`` as a statement of its own body (its ``rngs``)."""
    for stmt in func.body.body if isinstance(func.body, cst.IndentedBlock) else ():
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr):
            value = stmt.body[0].value
            if isinstance(value, cst.Call) and facts.imports.qualify(value.func) == "torch.manual_seed":
                return True
    return False


def _rngs_functions(facts: FileFacts, gathered: dict[FuncKey, _Calls], rules: RuleSet) -> None:
    for key, func in facts.functions.items():
        if key[0] in facts.module_classes and key[1] == "__init__":
            facts.needs_rngs.add(key)
        elif _seeds(facts, func):
            facts.seeded.add(key)  # `rngs = nnx.Rngs(seed)` is made there: no parameter needed
    changed = True
    while changed:
        changed = False
        for key, g in gathered.items():
            if key in facts.needs_rngs or key in facts.seeded or (key[1] == "forward" and key[0] in facts.draws_at_call):
                continue
            # a module method drawing at call time draws from the module's own `self.rngs`
            own = key[0] in facts.module_classes and key[1] != "__init__" and any(
                c in facts.draws_at_call for c in mro(facts, key[0]))
            for call in g.calls:
                qname = facts.imports.qualify(call.func)
                rule = rules.get(qname) if qname else None
                target = _callee_key(facts, call, key[0], key)
                if (
                    (rule is not None and rule.rngs)
                    or (qname in RANDOM_FACTORIES and not own)
                    or qname in RANDOM_INITS
                    or (isinstance(call.func, cst.Attribute) and call.func.attr.value in RANDOM_INIT_METHODS)
                    or builds_module(facts, key[0] if key[0] in facts.module_classes else None, key, call.func)
                    or (target is not None and target in facts.needs_rngs)
                    or (isinstance(call.func, cst.Name) and call.func.value in facts.external_rngs_functions)
                    or builds_torch_layer(facts, rules, key, call.func)
                ):
                    if key[1] == "forward" and key[0] in facts.module_classes:
                        # the model is called `model(x)`: what its forward draws comes from the module's own
                        # `self.rngs` (CaiT's forward calling `dropout_layers(...)`, which draws)
                        facts.draws_at_call.add(key[0])
                        break
                    facts.needs_rngs.add(key)
                    changed = True
                    break


def _direct_channels_last(facts: FileFacts, gathered: dict[FuncKey, _Calls], rules: RuleSet) -> None:
    """Channels-last layers assigned to ``self.X`` and only ever called as ``self.X(x)``.

    Those keep the plain Flax layer and get transposes where they are called; any
    other channels-last construction is wrapped so it takes NCHW like torch's.
    """
    for cls in facts.module_classes:
        if any(facts.containers.get(c) == "torch.nn.Sequential" for c in mro(facts, cls)):
            continue  # its layers are called by nn.Sequential's forward, where the transposes cannot go
        candidates: dict[str, tuple[int, list[cst.Call]]] = {}
        rejected: set[str] = set()
        for key, g in gathered.items():
            if key[0] not in _mro_subclasses(facts, cls):
                continue
            for attr, value in g.assigns:
                rule = None
                if isinstance(value, cst.Call):
                    qname = facts.imports.qualify(value.func)
                    rule = rules.get(qname) if qname else None
                if rule is not None and rule.layout == "channels_last" and key[0] == cls:
                    rank, calls = candidates.get(attr, (rule.spatial_dims + 2, []))
                    if rank != rule.spatial_dims + 2:
                        rejected.add(attr)
                    candidates[attr] = (rank, calls + [value])
                else:
                    rejected.add(attr)  # also assigned something else
        for key, g in gathered.items():
            if key[0] not in _mro_subclasses(facts, cls):
                continue
            for attr, refs in g.self_attr_refs.items():
                if attr in candidates and not all(is_callee for _, is_callee in refs):
                    rejected.add(attr)
            for call in g.calls:
                func = call.func
                if (
                    isinstance(func, cst.Attribute)
                    and isinstance(func.value, cst.Name)
                    and func.value.value == "self"
                    and func.attr.value in candidates
                    and (len(call.args) != 1 or call.args[0].keyword or call.args[0].star)
                ):
                    rejected.add(func.attr.value)
        kept = {a: v for a, v in candidates.items() if a not in rejected}
        facts.direct_channels_last[cls] = {a: rank for a, (rank, _) in kept.items()}
        for _, calls in kept.values():
            facts.direct_layer_calls.update(id(c) for c in calls)


def _mro_subclasses(facts: FileFacts, cls: str) -> set[str]:
    """The class and every class in the file that inherits from it."""
    return {c for c in facts.module_classes if cls in mro(facts, c)}
