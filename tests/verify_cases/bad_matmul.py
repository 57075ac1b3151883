"""Defective translation of models.RawLinear: multiplies by W instead of W^T."""

import jax
import jax.numpy as jnp
from flax import nnx


class RawLinear(nnx.Module):
    def __init__(self, d=6, *, rngs: nnx.Rngs):
        self.w = nnx.Param(jax.random.normal(rngs.params(), (d, d)) / d**0.5)
        self.b = nnx.Param(jnp.zeros(d))

    def __call__(self, x):
        return x @ self.w + self.b  # DEFECT: torch computes x @ w.T
