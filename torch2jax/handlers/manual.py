"""Rules of status ``manual``: always reported with the rule's guideline, never rewritten."""

from __future__ import annotations

from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler


@handler("manual")
def manual(rule, node, state, receiver):
    raise Unsupported("T2J201" if rule.kind in ("layer", "module_fn") else "T2J302", f"`{rule.torch}`: {rule.note}")
