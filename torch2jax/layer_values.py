"""torch layer classes held as values and built later: ``norm_layer=nn.BatchNorm2d``,
``act_layer = nn.GELU``, ``partial(nn.LayerNorm, eps=1e-6)``, ``self._norm_layer = norm_layer``
(torchvision, timm and most model zoos choose their normalisation and activation this way).

The analysis says what each name of a function and each ``self.<attr>`` of a class may hold,
followed through the file's calls to a fixed point, so that the call building one
(``norm_layer(planes)``, ``act_layer()``) is translated for what it builds. It edits nothing.

How such a value is translated (``passes/layer_values``): a Flax layer becomes
``functools.partial(nnx.BatchNorm, <torch's defaults>)``, called later with torch's leading
positional arguments and ``rngs``; a parameterless module (an activation) becomes its function
(``jax.nn.gelu``), and the call that built it goes, since the function is the layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import libcst as cst

from torch2jax.names import ImportTable
from torch2jax.registry import VALUE_TRANSFORMS
from torch2jax.rules import Rule, RuleSet

FuncKey = tuple  # (class name or None, function name)
KINDS = ("layer", "module_fn")
PARTIAL = "functools.partial"


@dataclass(frozen=True)
class LayerValue:
    """The torch layer classes a name may hold; ``bound`` when one of them has arguments bound
    already (``functools.partial(nn.BatchNorm2d, eps=1e-3)``)."""

    classes: frozenset
    bound: bool = False

    def union(self, other: "LayerValue") -> "LayerValue":
        return LayerValue(self.classes | other.classes, self.bound or other.bound)


def class_value(imports: ImportTable, rules: RuleSet, node, shadowed=frozenset()) -> LayerValue | None:
    """The torch layer class a value expression names: ``nn.BatchNorm2d``, ``partial(nn.GELU, ...)``."""
    bound = False
    if (isinstance(node, cst.Call) and imports.qualify(node.func, shadowed) == PARTIAL and node.args
            and node.args[0].keyword is None and not node.args[0].star):
        bound, node = len(node.args) > 1, node.args[0].value
    if not isinstance(node, (cst.Name, cst.Attribute)):
        return None
    qname = imports.qualify(node, shadowed)
    rule = rules.get(qname) if qname else None
    if rule is None or rule.kind not in KINDS:
        return None
    return LayerValue(frozenset([qname]), bound)


# Layers the translation defines as classes with torch's own signature (recurrent layers, attention):
# held as a value, the class itself, called with torch's arguments as written.
SIGNATURE_KEPT = ("recurrent", "attention_module")
# Layers Flax builds in another layout, which the output also defines in torch's layout (keyed by the
# torch name, see ``handlers.torch_layout_convolution``) for a class subclassing one or holding one as
# a value: code that reads torch's attributes (``self.weight``, ``self.stride``) or builds it later.
TORCH_LAYOUT_CLASSES = ("torch.nn.Conv1d", "torch.nn.Conv2d", "torch.nn.Conv3d")


def keeps_signature(rule: Rule) -> bool:
    return rule.handler in SIGNATURE_KEPT or rule.torch in TORCH_LAYOUT_CLASSES


def passthrough(rule: Rule) -> int | None:
    """How many of torch's leading positional arguments the Flax layer takes as they are, in the
    same places (``nn.BatchNorm2d(c)`` -> ``nnx.BatchNorm(c)``: 1); None for a layer that cannot be
    held as a ``functools.partial`` of its target (a handler decides how it is built, or it needs
    NCHW transposes around it)."""
    if keeps_signature(rule):
        return len(rule.signature)
    if rule.kind != "layer" or rule.handler or rule.layout == "channels_last" or rule.target_is_method:
        return None
    count = 0
    for torch_name, target_name in zip(rule.signature, rule.positional):
        spec = rule.args.get(torch_name)
        if spec is not None:
            if spec.drop or (spec.rename or torch_name) != target_name:
                break
            if spec.transform and not _identity_on_names(spec.transform, rule):
                break
        elif torch_name != target_name:
            break
        count += 1
    return count


def _identity_on_names(transform: str, rule: Rule) -> bool:
    """A value transform that leaves a variable as it is (it only rewrites literals)."""
    probe = cst.Name("value")
    try:
        return VALUE_TRANSFORMS[transform](probe, rule) is probe
    except Exception:  # a transform that insists on a literal
        return False


@dataclass
class LayerValueFacts:
    names: dict  # FuncKey -> name -> LayerValue
    attributes: dict  # class -> attr -> LayerValue

    def held(self, cls: str | None, key, func, mro: Callable[[str], list], shadowed=frozenset()) -> LayerValue | None:
        """What ``name`` or ``self.attr`` holds where it is called."""
        if isinstance(func, cst.Name):
            return self.names.get(key, {}).get(func.value)
        if (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"
                and cls is not None and "self" not in shadowed):
            for owner in mro(cls):
                found = self.attributes.get(owner, {}).get(func.attr.value)
                if found is not None:
                    return found
        return None


def analyze_layer_values(imports: ImportTable, rules: RuleSet, functions: dict, gathered: dict,
                         callee: Callable, mro: Callable[[str], list]) -> LayerValueFacts:
    """``functions``: FuncKey -> FunctionDef; ``gathered``: FuncKey -> the function's calls and
    assignments; ``callee(call, cls)``: (FuncKey, parameter names) of the file's function a call
    reaches, or None."""
    facts = LayerValueFacts({}, {})

    def value_of(key, node) -> LayerValue | None:
        found = class_value(imports, rules, node)
        if found is None and isinstance(node, (cst.Name, cst.Attribute)):
            found = facts.held(key[0], key, node, mro)
        return found

    def merge(table: dict, name: str, value: LayerValue | None) -> bool:
        if value is None:
            return False
        old = table.get(name)
        new = value if old is None else old.union(value)
        if new == old:
            return False
        table[name] = new
        return True

    for key, func in functions.items():
        params = func.params
        for p in (*params.posonly_params, *params.params, *params.kwonly_params):
            if p.default is not None:
                merge(facts.names.setdefault(key, {}), p.name.value, class_value(imports, rules, p.default))
    changed = True
    while changed:
        changed = False
        for key, g in gathered.items():
            for name, value in g.local_assigns:
                changed |= merge(facts.names.setdefault(key, {}), name, value_of(key, value))
            if key[0] is not None:
                for attr, value in g.assigns:
                    changed |= merge(facts.attributes.setdefault(key[0], {}), attr, value_of(key, value))
            for call in g.calls:
                reached = callee(call, key[0])
                if reached is None:
                    continue
                target, names = reached
                position = 0
                for a in call.args:
                    if a.star:
                        break
                    if a.keyword is None:
                        pname = names[position] if position < len(names) else None
                        position += 1
                    else:
                        pname = a.keyword.value
                    if pname is not None:
                        changed |= merge(facts.names.setdefault(target, {}), pname, value_of(key, a.value))
    return facts
