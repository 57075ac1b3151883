# A deliberately broken translation (see tests/test_verify_behavioral.py): verify must fail on it.
# The layer in no parameter group is updated (torch leaves it alone).
"""Parameter groups with their own options (a decayed body, a slower head with less momentum, a layer in
no group that torch leaves alone), gradient clipping over the whole model."""

import jax
import optax
from flax import nnx


class Net(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        self.body = nnx.Sequential(nnx.Linear(4, 8, rngs=rngs), jax.nn.relu)
        self.head = nnx.Linear(8, 2, rngs=rngs)
        self.extra = nnx.Linear(2, 2, rngs=rngs)

    def __call__(self, x):
        return self.extra(self.head(self.body(x)))


@nnx.jit
def train_step(model, optimizer, x, y):
    def loss_fn(model):
        loss = optax.softmax_cross_entropy_with_integer_labels(model(x), y, axis=1).mean()
        return loss
    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


def fit(model, batches):
    # each group: the optimizer's options with its own on top
    optimizer = nnx.Optimizer(model, optax.chain(optax.clip_by_global_norm(1.0), optax.multi_transform({'body': optax.chain(optax.add_decayed_weights(1e-2), optax.sgd(0.1, momentum=0.9)), 'head': optax.sgd(0.05, momentum=0.5), 'frozen': optax.sgd(0.1)}, lambda params: jax.tree_util.tree_map_with_path(lambda path, _: 'body' if path[0].key == 'body' else 'head' if path[0].key == 'head' else 'frozen', params))), wrt=nnx.Param)
    for x, y in batches:
        loss = train_step(model, optimizer, x, y)
    return model
