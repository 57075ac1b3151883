# A deliberately broken translation (see tests/test_verify_behavioral.py): verify must fail on it.
"""AdamW with a cosine learning-rate schedule stepped every batch, and gradient clipping."""

import jax
import jax.numpy as jnp
import optax
from flax import nnx


class Classifier(nnx.Module):
    def __init__(self, dim=8, classes=3, *, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(dim, 32, rngs=rngs)
        self.norm = nnx.LayerNorm(32, epsilon=1e-05, rngs=rngs)
        self.out = nnx.Linear(32, classes, rngs=rngs)

    def __call__(self, x):
        return self.out(jax.nn.gelu(self.norm(self.hidden(x)), approximate=False))


@nnx.jit
def train_step(model, optimizer, x, y):
    def loss_fn(model):
        logits = model(x)
        loss = optax.softmax_cross_entropy(logits, (1 - 0.1) * jax.nn.one_hot(y, logits.shape[1], axis=1) + 0.1 / logits.shape[1], axis=1).mean()
        return loss
    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


def train(model, batches, epochs=2, max_norm=1.0):
    optimizer = nnx.Optimizer(model, optax.chain(optax.clip_by_global_norm(max_norm), optax.adamw(lambda count: 3e-3 * (1 + jnp.cos(jnp.pi * count / (epochs * len(batches)))) / 2, b2=0.95)), wrt=nnx.Param)
    losses = []
    for epoch in range(epochs):
        for x, y in batches:
            loss = train_step(model, optimizer, x, y)
            losses.append(loss.item())
    return losses
