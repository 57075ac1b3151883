# A deliberately broken translation (see tests/test_verify.py): the head keeps a kernel of its own
# instead of sharing the embedding table, so the table's gradient misses the head's part.
"""Weight tying as language models write it: the output projection shares the embedding table
(`self.lm_head.weight = self.wte.weight`), with and without a bias of its own."""

import jax
import jax.numpy as jnp
import optax
from flax import nnx


class TinyLM(nnx.Module):
    def __init__(self, vocab=50, dim=16, *, rngs: nnx.Rngs):
        self.wte = nnx.Embed(vocab, dim, rngs=rngs)
        self.proj = nnx.Linear(dim, dim, rngs=rngs)
        self.lm_head = nnx.Linear(dim, vocab, use_bias=False, rngs=rngs)
        # the head and the embedding are one matrix

    def __call__(self, idx):
        x = jnp.tanh(self.proj(self.wte(idx)))
        return self.lm_head(x)


class BiasedHead(nnx.Module):
    def __init__(self, vocab=30, dim=8, *, rngs: nnx.Rngs):
        self.embed = nnx.Embed(vocab, dim, rngs=rngs)
        self.decoder = nnx.Linear(dim, vocab, rngs=rngs)

    def __call__(self, idx):
        return (self.embed.attend(jax.nn.gelu(self.embed(idx), approximate=False)) + self.decoder.bias[...])


@nnx.jit
def train_step(model, optimizer, tokens, targets):
    def loss_fn(model):
        logits = model(tokens)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), axis=1).mean()
        return loss
    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


def train(model, batches, steps=6):
    optimizer = nnx.Optimizer(model, optax.adamw(1e-2, weight_decay=0.01), wrt=nnx.Param)
    for tokens, targets in batches[:steps]:
        loss = train_step(model, optimizer, tokens, targets)
    return model
