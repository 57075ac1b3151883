"""Defective translation of models.ConvBN: BatchNorm momentum not inverted (Flax's
momentum is 1 - torch's, so torch's 0.1 must become 0.9)."""

import jax
import jax.numpy as jnp
from flax import nnx


class ConvBN(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        self.conv = nnx.Conv(3, 4, (3, 3), padding=1, use_bias=False, rngs=rngs)
        self.bn = nnx.BatchNorm(4, momentum=0.1, axis=1, rngs=rngs)  # DEFECT: should be 0.9

    def __call__(self, x):
        return jax.nn.relu(self.bn(jnp.transpose(self.conv(jnp.transpose(x, (0, 2, 3, 1))), (0, 3, 1, 2))))
