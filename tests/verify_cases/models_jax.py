"""Correct hand-made Flax NNX translations of models.py (as the translator writes them)."""

import jax
import jax.numpy as jnp
from flax import nnx


class RawLinear(nnx.Module):
    def __init__(self, d=6, *, rngs: nnx.Rngs):
        self.w = nnx.Param(jax.random.normal(rngs.params(), (d, d)) / d**0.5)
        self.b = nnx.Param(jnp.zeros(d))

    def __call__(self, x):
        return x @ self.w.T + self.b


class PaddedConv(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        self.conv = nnx.Conv(3, 4, (3, 3), padding=1, rngs=rngs)

    def __call__(self, x):
        return jax.nn.relu(jnp.transpose(self.conv(jnp.transpose(x, (0, 2, 3, 1))), (0, 3, 1, 2)))


class Normed(nnx.Module):
    def __init__(self, d=16, *, rngs: nnx.Rngs):
        self.norm = nnx.LayerNorm(d, epsilon=1e-05, rngs=rngs)
        self.fc = nnx.Linear(d, 4, rngs=rngs)

    def __call__(self, x):
        return self.fc(self.norm(x))


class ConvBN(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        self.conv = nnx.Conv(3, 4, (3, 3), padding=1, use_bias=False, rngs=rngs)
        self.bn = nnx.BatchNorm(4, momentum=0.9, axis=1, rngs=rngs)

    def __call__(self, x):
        return jax.nn.relu(self.bn(jnp.transpose(self.conv(jnp.transpose(x, (0, 2, 3, 1))), (0, 3, 1, 2))))
