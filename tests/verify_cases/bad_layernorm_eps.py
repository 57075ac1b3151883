"""Defective translation of models.Normed: LayerNorm epsilon 1e-6 where torch uses 1e-5."""

from flax import nnx


class Normed(nnx.Module):
    def __init__(self, d=16, *, rngs: nnx.Rngs):
        self.norm = nnx.LayerNorm(d, epsilon=1e-06, rngs=rngs)  # DEFECT: torch's default eps is 1e-5
        self.fc = nnx.Linear(d, 4, rngs=rngs)

    def __call__(self, x):
        return self.fc(self.norm(x))
