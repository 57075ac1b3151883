"""Layer construction: ``nn.Linear(...)``, ``nn.Conv2d(...)``, ``nn.ReLU()`` and the other torch
modules with a rule of kind ``layer`` (a Flax layer) or ``module_fn`` (a function, bound with
``functools.partial``); channels-last ones built anywhere but a plain attribute are wrapped
to keep NCHW (see ``layout``)."""

from __future__ import annotations

import libcst as cst

from torch2jax.passes.layout import wrap_layer
from torch2jax.registry import on_leave
from torch2jax.rule_application import apply_rule
from torch2jax.state import State

LAYER_KINDS = ("layer", "module_fn")


def is_torch(qname: str | None) -> bool:
    return qname is not None and (qname == "torch" or qname.startswith("torch."))


@on_leave(cst.Call)
def layer_construction(state: State, original: cst.Call, updated: cst.Call):
    qname = state.qualify(original.func)
    if not is_torch(qname):
        return None
    rule = state.rules.get(qname)
    if rule is None or rule.kind not in LAYER_KINDS:
        return None
    new = apply_rule(state, rule, original, updated, receiver=None)
    if rule.layout == "channels_last" and id(original) not in state.facts.direct_layer_calls:
        new = wrap_layer(state, new, rule.spatial_dims + 2)
    return new
