"""Data loading stays with ``torch.utils.data`` (the JAX documentation loads data this way);
batches reach the JAX code as numpy arrays, which jitted functions take directly."""

from __future__ import annotations

from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.syntax import arg, code_of, expr

NUMPY_COLLATE = '''def numpy_collate(batch):
    """torch's default collation, taking and giving numpy arrays (JAX takes them directly)."""
    batch = jax.tree.map(lambda v: np.array(v) if isinstance(v, jax.Array) else v, batch)
    return jax.tree.map(np.asarray, default_collate(batch))
'''


@handler("numpy_batches")
def numpy_batches(rule, node, state, receiver):
    """``DataLoader(...)`` collates batches into numpy arrays: ``collate_fn=numpy_collate``."""
    for a in node.args:
        if a.keyword is not None and a.keyword.value == "collate_fn" and code_of(a.value) == "numpy_collate":
            return node  # already translated (a second pass)
    for name in ("jax.tree.map", "jax.Array", "numpy.asarray", "torch.utils.data.default_collate"):
        state.imports.ref(name)
    state.support["numpy_collate"] = NUMPY_COLLATE
    args = list(node.args)
    for i, a in enumerate(args):
        if a.keyword is not None and a.keyword.value == "collate_fn":
            wrapped = expr(f"lambda batch: jax.tree.map(np.asarray, ({code_of(a.value)})(batch))")
            args[i] = a.with_changes(value=wrapped)
            return node.with_changes(args=args)
    # after a `**options` too: a collate_fn inside it then fails loudly (a repeated keyword)
    return node.with_changes(args=[*args, arg(expr("numpy_collate"), "collate_fn")])



@handler("kept_data_utility")
def kept_data_utility(rule, node, state, receiver):
    """Datasets, samplers and splits work on any indexable data: the call stays as written."""
    return node


@handler("array_dataset")
def array_dataset(rule, node, state, receiver):
    """``TensorDataset(x, y)`` -> ``list(zip(np.asarray(x), np.asarray(y)))``: the same items (one tuple
    per row), as numpy arrays, which the loader's collation takes and torch's TensorDataset does not."""
    if not node.args or any(a.star or a.keyword is not None for a in node.args):
        raise Unsupported("T2J901", "`TensorDataset` with starred or keyword arguments is not translated; left as is")
    state.imports.ref("numpy.asarray")
    columns = ", ".join(f"np.array({code_of(a.value)})" for a in node.args)  # a copy: writable, as torch wants
    return expr(f"list(zip({columns}))")
