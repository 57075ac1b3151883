"""``nn.EmbeddingBag`` and ``F.embedding_bag``: the rows of a table that each bag of indices picks,
reduced to one row per bag (sum, mean or max).

Flax has no such layer, so the translation defines once per file a function with torch's semantics and
a small module holding torch's parameter (``weight``, by that name: weight transfer is one to one)
with torch's call, ``bag(input, offsets=None, per_sample_weights=None)``. Bags are the rows of a 2-D
input, or the runs of a 1-D input starting at ``offsets``, whose sizes depend on the data: every
index gets its bag's number and ``jax.ops.segment_sum`` / ``segment_max`` reduce with one segment per
bag, static shapes under ``jit``. What torch does in place or to the gradient only (``max_norm``
renormalising the table, ``scale_grad_by_freq``) is reported and not translated; ``sparse=True`` asks
for a sparse gradient whose values JAX gives dense, which is said in a note."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.handlers.recurrent import check_device_dtype, same_call
from torch2jax.handlers.support import class_definer, define_helper, helper_name
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, call, code_of, literal

EMBEDDING_BAG = '''def embedding_bag(input, weight, offsets=None, mode="mean", per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """torch's F.embedding_bag: the rows of weight that input picks, reduced per bag by mode (sum, mean or max).
    Bags are the rows of a 2-D input, or the runs of a 1-D input starting at offsets (with include_last_offset,
    offsets ends with the input's length). Indices equal to padding_idx take no part; an empty bag is zeros."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode}")
    if per_sample_weights is not None and mode != "sum":
        raise ValueError(f"per_sample_weights is only supported for mode='sum' (got mode='{mode}')")
    if input.ndim == 2:  # one bag per row
        num_bags = input.shape[0]
        bags = jnp.repeat(jnp.arange(num_bags), input.shape[1])
        input = input.reshape(-1)
        per_sample_weights = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    else:
        starts = offsets[:-1] if include_last_offset else offsets
        num_bags = starts.shape[0]
        bags = jnp.searchsorted(starts, jnp.arange(input.shape[0]), side="right") - 1
    weight = jnp.asarray(weight)
    rows = weight[input]
    keep = jnp.ones(input.shape, bool)
    if padding_idx is not None:
        keep = input != (padding_idx % weight.shape[0])
    if mode == "max":
        found = jax.ops.segment_max(jnp.where(keep[:, None], rows, -jnp.inf), bags, num_segments=num_bags)
        return jnp.where(jnp.isneginf(found), 0, found)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights[:, None]
    total = jax.ops.segment_sum(jnp.where(keep[:, None], rows, 0), bags, num_segments=num_bags)
    if mode == "sum":
        return total
    counts = jax.ops.segment_sum(keep.astype(rows.dtype), bags, num_segments=num_bags)
    return total / jnp.maximum(counts, 1)[:, None]
'''

EMBEDDING_BAG_CLASS = '''class {name}(nnx.Module):
    """torch.nn.EmbeddingBag with torch's parameter (weight, drawn from N(0, 1), the padding_idx row zero) and
    call: `bag(input, offsets=None, per_sample_weights=None)`, reduced by {helper}."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None, *, rngs: nnx.Rngs):
        if max_norm is not None or scale_grad_by_freq:
            raise NotImplementedError("EmbeddingBag: max_norm and scale_grad_by_freq are not translated")
        if padding_idx is not None and padding_idx < 0:
            padding_idx += num_embeddings
        self.mode, self.include_last_offset, self.padding_idx = mode, include_last_offset, padding_idx
        if _weight is None:
            _weight = jax.random.normal(rngs.params(), (num_embeddings, embedding_dim))
            if padding_idx is not None:
                _weight = _weight.at[padding_idx].set(0)
        self.weight = nnx.Param(jnp.asarray(_weight))

    def __call__(self, input, offsets=None, per_sample_weights=None):
        return {helper}(
            input, self.weight[...], offsets, self.mode, per_sample_weights, self.include_last_offset, self.padding_idx)
'''

MODES = ("sum", "mean", "max")


def _function(state) -> str:
    name = helper_name(state, "embedding_bag")
    define_helper(state, name, EMBEDDING_BAG.replace("def embedding_bag(", f"def {name}(", 1))
    return name


def _check(rule, state, node, bound) -> None:
    """Report what is not translated; say what the translation keeps that torch does differently."""
    code = "T2J102" if rule.kind == "layer" else "T2J302"
    if "max_norm" in bound and literal(bound["max_norm"]) is not None:
        raise Unsupported(code,
                          f"`{rule.torch}` with max_norm={code_of(bound['max_norm'])}: torch renormalises the rows it "
                          "looks up, in place; not translated")
    if "scale_grad_by_freq" in bound and literal(bound["scale_grad_by_freq"]) is not False:
        raise Unsupported(code,
                          f"`{rule.torch}` with scale_grad_by_freq={code_of(bound['scale_grad_by_freq'])}: torch scales "
                          "the gradient by the indices' frequencies in the batch; not translated")
    mode = literal(bound["mode"]) if "mode" in bound else "mean"
    if mode is not MISSING and mode not in MODES:
        raise Unsupported(code, f"`{rule.torch}` with mode={mode!r}: torch knows sum, mean and max")
    if "sparse" in bound and literal(bound["sparse"]) is not False:
        state.report("T2J101" if rule.kind == "layer" else "T2J301",
                     f"`{rule.torch}` with sparse={code_of(bound['sparse'])}: JAX's gradient of the table is dense "
                     "(the same values torch's sparse gradient holds)", node=node, handled=True, severity="info")


@handler("embedding_bag")
def embedding_bag(rule, node, state, receiver):
    """``F.embedding_bag(i, w, o, mode='sum')`` -> ``embedding_bag(i, w, o, mode='sum')``, the arguments it
    translates by keyword after the offsets (its order is not torch's)."""
    bound = bind(rule, node)
    _check(rule, state, node, bound)
    positional = [bound["input"], bound["weight"]] + ([bound["offsets"]] if "offsets" in bound else [])
    keywords = {key: bound[key] for key in ("mode", "per_sample_weights", "include_last_offset", "padding_idx")
                if key in bound}
    return call(cst.Name(_function(state)), positional, keywords)


@handler("embedding_bag_module")
def embedding_bag_module(rule, node, state, receiver):
    """``nn.EmbeddingBag(n, d, mode='sum')`` -> ``EmbeddingBag(n, d, mode='sum', rngs=rngs)``: the module
    defined once in the output, with torch's signature (the arguments stay as written)."""
    bound = bind(rule, node)
    _check(rule, state, node, bound)
    check_device_dtype(rule, bound)
    return same_call(node, embedding_bag_class(rule, state), state)


@class_definer("embedding_bag_module")
def embedding_bag_class(rule, state) -> str:
    name = helper_name(state, "EmbeddingBag")
    helper = _function(state)
    define_helper(state, name, EMBEDDING_BAG_CLASS.format(name=name, helper=helper), needs=(helper,))
    return name
