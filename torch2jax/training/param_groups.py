"""Parameter groups with their own options: ``SGD([{'params': model.body.parameters()},
{'params': model.head.parameters(), 'lr': 1e-2}], lr=0.1, momentum=0.9)``.

Each group becomes the Optax transformation torch would apply to it (the optimizer's options with the
group's own on top), and ``optax.multi_transform`` sends every parameter to its group by its path in
the model (``('head', ...)``). Parameters in no group are not updated, as in torch
(``optax.set_to_zero()``). Clipping over all parameters goes before the groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from torch2jax.names import dotted_name
from torch2jax.syntax import code_of
from torch2jax.training.errors import NotTranslatable
from torch2jax.training.optimizers import OptaxExpr, clip_transform, optax_for


@dataclass(frozen=True)
class Group:
    path: tuple[str, ...]  # attributes from the model to the group's module: ("head",); () is all of it
    options: dict[str, str]  # the group's own options, as source texts


def parameters_source(node: cst.BaseExpression) -> tuple[str | None, tuple[str, ...]]:
    """``model.parameters()`` -> ("model", ()), ``self.net.fc.parameters()`` -> ("self.net", ("fc",))."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "parameters":
        chain = dotted_name(node.func.value)
        if chain:
            parts = chain.split(".")
            head = 2 if parts[0] == "self" and len(parts) > 1 else 1
            return ".".join(parts[:head]), tuple(parts[head:])
    if isinstance(node, cst.Call) and dotted_name(node.func) in ("filter", "list") and node.args:
        return parameters_source(node.args[-1].value)
    return None, ()


def has_groups(call: cst.Call) -> bool:
    """``SGD([{'params': ...}, ...])``: a list of dicts as the parameters."""
    first = _params_argument(call)
    return isinstance(first, (cst.List, cst.Tuple)) and any(isinstance(e.value, cst.Dict) for e in first.elements)


def parse_groups(call: cst.Call) -> tuple[str, list[Group]] | str:
    """(the model, its groups) for an optimizer built with groups, or why they cannot be translated."""
    model: str | None = None
    groups: list[Group] = []
    for element in _params_argument(call).elements:
        if not isinstance(element.value, cst.Dict) or isinstance(element, cst.StarredElement):
            return "a parameter group that is not a dict literal is not translated"
        options: dict[str, str] = {}
        source = None
        for item in element.value.elements:
            if not isinstance(item, cst.DictElement) or not isinstance(item.key, cst.SimpleString):
                return "a parameter group with computed keys is not translated"
            key = item.key.evaluated_value
            if key == "params":
                source = parameters_source(item.value)
            else:
                options[key] = code_of(item.value)
        if source is None or source[0] is None:
            return "a parameter group whose 'params' is not `module.parameters()` is not translated"
        if model is not None and source[0] != model:
            return "parameter groups over different models are not translated"
        model = source[0]
        groups.append(Group(source[1], options))
    if model is None:
        return "an empty list of parameter groups"
    return model, groups


def grouped_optax(torch_name: str, args: dict[str, str], groups: list[Group],
                  clip: tuple[str, str] | None = None) -> OptaxExpr:
    """``optax.multi_transform`` of each group's transformation, labelled by parameter path."""
    labels = _labels(groups)
    transforms: dict[str, str] = {}
    support: list[str] = []
    for label, group in zip(labels, groups):
        tx = optax_for(torch_name, {**args, **group.options})
        transforms[label] = tx.expr
        support += tx.support
    condition = "'frozen'"
    for label, group in reversed(list(zip(labels, groups))):
        if not group.path:
            condition = repr(label)  # the whole model: every parameter not claimed before
            continue
        n = len(group.path)
        test = f"path[0].key == {group.path[0]!r}" if n == 1 else \
            f"tuple(k.key for k in path[:{n}]) == {group.path!r}"
        condition = f"{label!r} if {test} else {condition}"
    if "'frozen'" in condition:
        transforms["frozen"] = "optax.set_to_zero()"
    table = ", ".join(f"{k!r}: {v}" for k, v in transforms.items())
    text = (f"optax.multi_transform({{{table}}}, "
            f"lambda params: jax.tree_util.tree_map_with_path(lambda path, _: {condition}, params))")
    if clip is not None:
        text = f"optax.chain({clip_transform(clip)}, {text})"
    return OptaxExpr(text, False, tuple(dict.fromkeys(support)))


def _labels(groups: list[Group]) -> list[str]:
    names = [".".join(g.path) or "rest" for g in groups]
    if len(set(names)) != len(names) or "frozen" in names:
        return [f"group{i}" for i in range(len(groups))]
    return names


def _params_argument(call: cst.Call):
    return next((a.value for a in call.args if a.keyword is None or a.keyword.value == "params"), None)


def check_groups(groups: list[Group]) -> None:
    """Overlapping groups are an error in torch; say so here rather than pick one."""
    paths = [g.path for g in groups]
    for i, a in enumerate(paths):
        for b in paths[i + 1:]:
            if a[:len(b)] == b or b[:len(a)] == a:
                raise NotTranslatable("T2J204", f"parameter groups {'.'.join(a) or 'model'} and "
                                      f"{'.'.join(b) or 'model'} share parameters (an error in torch)")
