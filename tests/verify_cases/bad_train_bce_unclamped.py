# A deliberately broken translation (see tests/test_verify_behavioral.py): verify must fail on it.
"""A binary classifier (MLP + sigmoid) trained with BCELoss and Adam; the model is built inside fit()."""

import jax
import jax.numpy as jnp
import optax
from flax import nnx


class MLP(nnx.Module):
    def __init__(self, in_dim, hidden=16, *, rngs: nnx.Rngs):
        self.net = nnx.Sequential(
            nnx.Linear(in_dim, hidden, rngs=rngs),
            jax.nn.relu,
            nnx.Linear(hidden, 1, rngs=rngs),
            jax.nn.sigmoid,  # BCELoss expects probabilities
        )

    def __call__(self, x):
        return self.net(x).squeeze(-1)


@nnx.jit
def train_step(model, optimizer, x, y):
    def loss_fn(model):
        probs = model(x)
        loss = (-(y * jnp.log(probs) + (1 - y) * jnp.log1p(-probs))).mean()
        return loss
    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


def fit(x, y, epochs=5, lr=1e-2, *, rngs: nnx.Rngs):
    """Full-batch training; returns the trained model and the loss of every epoch."""
    model = MLP(x.shape[1], rngs=rngs)
    optimizer = nnx.Optimizer(model, optax.chain(optax.add_decayed_weights(1e-4), optax.adam(lr)), wrt=nnx.Param)
    history = []
    model.train()
    for epoch in range(epochs):
        loss = train_step(model, optimizer, x, y)
        history.append(loss.item())
    return model, history
