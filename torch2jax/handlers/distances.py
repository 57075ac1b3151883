"""Similarities and distances: ``F.cosine_similarity`` / ``nn.CosineSimilarity`` and ``torch.cdist``
(``F.pairwise_distance`` is a formula, rules/distances.toml).

Each is a helper defined once in the output with torch's signature, because torch's numbers are not
those of the obvious one-liner: ``cosine_similarity`` clamps each norm at ``eps`` without
differentiating the clamp (torch clamps under ``no_grad``), and ``cdist`` computes Euclidean distances
by matrix products past 25 rows (its ``compute_mode`` default) and gives a zero gradient, not NaN, where
two rows coincide (``torch.cdist(x, x)``'s diagonal)."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.handlers.support import define_helper, helper_name
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, call, literal

COSINE_SIMILARITY = '''def cosine_similarity(x1, x2, dim=1, eps=1e-08):
    """torch's F.cosine_similarity: x1 and x2 (broadcast) each divided by its norm along dim, clamped
    below at eps, then their products summed. As in torch, the clamp is not differentiated."""
    def unit(x):
        norm = jnp.linalg.norm(x, axis=dim, keepdims=True)
        return x / (norm + jax.lax.stop_gradient(jnp.maximum(norm, eps) - norm))

    x1, x2 = jnp.broadcast_arrays(x1, x2)
    return (unit(x1) * unit(x2)).sum(dim)
'''

CDIST = '''def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """torch.cdist: the p-norm distances between the rows of x1 (..., P, M) and of x2 (..., R, M), as
    (..., P, R). For p=2 torch uses matrix products when compute_mode asks for them (by default when P or
    R exceeds 25): sqrt(|a|^2 - 2 a.b + |b|^2), clamped at 1e-30. Otherwise the differences, with a zero
    gradient where two rows coincide, as torch gives."""
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if p == 2 and (compute_mode == "use_mm_for_euclid_dist" or compute_mode == "use_mm_for_euclid_dist_if_necessary"
                   and max(x1.shape[-2], x2.shape[-2]) > 25):
        products = jnp.matmul(x1, jnp.swapaxes(x2, -1, -2), precision=jax.lax.Precision.HIGHEST)
        squares = (x1**2).sum(-1)[..., :, None] - 2 * products + (x2**2).sum(-1)[..., None, :]
        return jnp.sqrt(jnp.maximum(squares, 1e-30))
    diff = jnp.abs(x1[..., :, None, :] - x2[..., None, :, :])
    if p == 0:
        return (diff != 0).sum(-1).astype(diff.dtype)
    if p == float("inf"):
        return jnp.max(diff, axis=-1)
    total = (diff**p).sum(-1)
    apart = total > 0
    return jnp.where(apart, jnp.where(apart, total, 1) ** (1 / p), 0)
'''

HELPERS = {"cosine_similarity": COSINE_SIMILARITY, "cdist": CDIST}


def _helper(state, base: str) -> cst.Name:
    name = helper_name(state, base)
    define_helper(state, name, HELPERS[base].replace(f"def {base}(", f"def {name}(", 1))
    return cst.Name(name)


@handler("cosine_similarity")
def cosine_similarity(rule, node, state, receiver):
    """``F.cosine_similarity(a, b, dim=-1)`` -> ``cosine_similarity(a, b, dim=-1)``, the arguments as written;
    ``nn.CosineSimilarity(dim=-1)`` -> ``functools.partial(cosine_similarity, dim=-1)``."""
    bound = bind(rule, node)
    name = _helper(state, "cosine_similarity")
    if rule.kind == "module_fn":
        options = {key: bound[key] for key in ("dim", "eps") if key in bound}
        return call(state.imports.ref("functools.partial"), [name], options) if options else name
    return node.with_changes(func=name)


@handler("cdist")
def cdist(rule, node, state, receiver):
    """``torch.cdist(a, b, p)`` -> ``cdist(a, b, p)``: the helper has torch's signature and compute modes."""
    bound = bind(rule, node)
    mode = literal(bound["compute_mode"]) if "compute_mode" in bound else "use_mm_for_euclid_dist_if_necessary"
    if mode is not MISSING and mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                                            "donot_use_mm_for_euclid_dist"):
        raise Unsupported("T2J302", f"`torch.cdist` with compute_mode={mode!r}: torch rejects it")
    return node.with_changes(func=_helper(state, "cdist"))
