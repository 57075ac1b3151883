"""torch's backend switches (``torch.backends.cudnn.benchmark = True``, TF32 flags): XLA chooses
its own kernels, so an assignment to one is removed, with a note. Reading one is left as is."""

from __future__ import annotations

import libcst as cst

from torch2jax.registry import REMOVE, on_statement
from torch2jax.state import State

BACKEND_FLAGS = {
    "torch.backends.cudnn.benchmark": "XLA autotunes its own kernels",
    "torch.backends.cudnn.deterministic": "XLA on the CPU is deterministic; on GPUs see XLA_FLAGS=--xla_gpu_deterministic_ops",
    "torch.backends.cudnn.enabled": "XLA chooses its own kernels",
    "torch.backends.cuda.matmul.allow_tf32": "JAX's matmul precision is set with jax.default_matmul_precision",
    "torch.backends.cudnn.allow_tf32": "JAX's convolution precision is set with jax.default_matmul_precision",
}


@on_statement(cst.Assign)
def backend_flag(state: State, original: cst.Assign, updated: cst.Assign):
    if len(original.targets) != 1:
        return None
    qname = state.qualify(original.targets[0].target)
    if qname not in BACKEND_FLAGS:
        return None
    state.report("T2J902", f"`{qname} = ...` removed: {BACKEND_FLAGS[qname]}", node=original, handled=True)
    return REMOVE


def is_assigned_flag(state: State, node) -> bool:
    """``node`` is the target of the statement being rewritten: ``torch.backends...flag = value``."""
    line = state.statements[-1] if state.statements else None
    body = getattr(line, "body", None)
    return isinstance(body, (list, tuple)) and len(body) == 1 and isinstance(body[0], cst.Assign) \
        and any(t.target is node for t in body[0].targets)
