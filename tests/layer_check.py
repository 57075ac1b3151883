"""Checking one translated layer against torch: outputs and gradients (input and every parameter).

A one-layer torch module is written as source, translated, given torch's weights (perturbed so
that constant-initialised ones cannot hide a swap) and run on the same input on both sides;
the gradient of a random projection of the output is compared for the input and each parameter.
"""

import numpy as np
import torch
import jax
import jax.numpy as jnp
from flax import nnx

from numeric import max_error, translate
from torch2jax.weights import plan_transfer, load_torch_weights

jax.config.update("jax_default_matmul_precision", "highest")
torch.backends.cudnn.allow_tf32 = False

TEMPLATE = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = {layer}

    def forward(self, x):
        # the call under test
        return {forward}
"""


def data(shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _close(a, b, tol, what):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    err = max_error(a, b)
    assert err <= tol * max(1.0, float(np.abs(a).max()) if a.size else 1.0), f"{what}: max error {err}"
    return err


def check(layer, x, forward="self.layer(x)", train=False, tol=2e-5, grads=True, allow=(), source=None):
    """Translate, transfer weights, compare outputs and gradients; returns the largest error seen.

    ``source`` replaces the one-layer template (a module ``M`` whose forward takes ``x``)."""
    tmod, jmod, diags = translate(source or TEMPLATE.format(layer=layer, forward=forward))
    bad = [d.text() for d in diags if d.severity in ("error", "warning") and d.code not in allow]
    assert not bad, bad
    torch.manual_seed(0)
    t = tmod.M()
    j = jmod.M(rngs=nnx.Rngs(0))
    with torch.no_grad():
        for p in t.parameters():
            p.add_(0.1 * torch.randn_like(p))
    load_torch_weights(j, t)
    t.train(train)
    j.train() if train else j.eval()
    xt = torch.from_numpy(x.copy())
    floating = xt.is_floating_point()
    if floating and grads:
        xt.requires_grad_(True)
    yt = t(xt)
    cot = data(tuple(yt.shape), seed=1)
    errors = [_close(yt.detach().numpy(), np.asarray(j(jnp.asarray(x))), tol, f"{layer} / {forward}: output")]
    if not grads or not yt.is_floating_point():
        return max(errors)
    (yt * torch.from_numpy(cot)).sum().backward()

    def loss(model, xj):
        return (model(xj) * cot).sum()

    if floating:
        gm, gx = nnx.grad(loss, argnums=(0, 1))(j, jnp.asarray(x))
        errors.append(_close(xt.grad.numpy(), gx, tol, "grad:input"))
    else:
        gm = nnx.grad(loss)(j, jnp.asarray(x))
    torch_grads = {n: p.grad.numpy() for n, p in t.named_parameters() if p.grad is not None}
    plan, _ = plan_transfer(j, {**{k: v.detach().numpy() for k, v in t.state_dict().items()}, **torch_grads})
    paths = {id(v): path for path, v in nnx.iter_graph(j) if isinstance(v, nnx.Variable)}
    flat = dict(nnx.to_flat_state(gm))
    for name, variable, array in plan:
        if name not in torch_grads:
            continue
        errors.append(_close(array, flat[paths[id(variable)]][...], tol, f"grad:{name}"))
    assert set(torch_grads) <= {name for name, _, _ in plan}
    return max(errors)
