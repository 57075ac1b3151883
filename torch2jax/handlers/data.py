"""Data loading stays with ``torch.utils.data`` (the JAX documentation loads data this way);
batches reach the JAX code as numpy arrays, which jitted functions take directly."""

from __future__ import annotations

from torch2jax.registry import handler
from torch2jax.syntax import arg, code_of, expr

NUMPY_COLLATE = '''def numpy_collate(batch):
    """torch's default collation, with the batch's tensors as numpy arrays (JAX takes them directly)."""
    return jax.tree.map(np.asarray, default_collate(batch))
'''


@handler("numpy_batches")
def numpy_batches(rule, node, state, receiver):
    """``DataLoader(...)`` collates batches into numpy arrays: ``collate_fn=numpy_collate``."""
    for name in ("jax.tree.map", "numpy.asarray", "torch.utils.data.default_collate"):
        state.imports.ref(name)
    state.support["numpy_collate"] = NUMPY_COLLATE
    args = list(node.args)
    for i, a in enumerate(args):
        if a.keyword is not None and a.keyword.value == "collate_fn":
            wrapped = expr(f"lambda batch: jax.tree.map(np.asarray, ({code_of(a.value)})(batch))")
            args[i] = a.with_changes(value=wrapped)
            return node.with_changes(args=args)
        if a.star == "**":
            return node  # the options come from elsewhere: left as written
    return node.with_changes(args=[*args, arg(expr("numpy_collate"), "collate_fn")])

