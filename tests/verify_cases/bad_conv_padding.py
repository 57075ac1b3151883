"""Defective translation of models.PaddedConv: padding=0 where torch has padding=1."""

import jax
import jax.numpy as jnp
from flax import nnx


class PaddedConv(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        self.conv = nnx.Conv(3, 4, (3, 3), padding=0, rngs=rngs)  # DEFECT: torch has padding=1

    def __call__(self, x):
        return jax.nn.relu(jnp.transpose(self.conv(jnp.transpose(x, (0, 2, 3, 1))), (0, 3, 1, 2)))
