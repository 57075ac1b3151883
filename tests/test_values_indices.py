"""torch's (values, indices) results picked by attribute or by index read as the one JAX call."""

import pytest

from torch2jax import convert_source

SOURCE = """
import torch


def f(x):
    return torch.max(x, 1)[1], x.min(dim=0)[0], x.max(1).indices, torch.min(x, -1).values
"""


def test_picked_by_index_or_attribute():
    code = convert_source(SOURCE).code
    assert ("return jnp.argmax(x, axis=1), jnp.min(x, axis=0), jnp.argmax(x, axis=1), jnp.min(x, axis=-1)") in code


def test_against_torch():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    from layer_check import check, data

    check("nn.Identity()", data((3, 4, 5)), forward="torch.max(x, 1)[0] + x.min(dim=1)[1].float() + torch.max(x, -1)[1].float().sum()")


def test_a_second_operand_made_by_torch_is_elementwise():
    """The continuous-Bernoulli VAE: torch.max(torch.le(lam, a), torch.gt(lam, b)) is a logical or."""
    code = convert_source("import torch\n\ndef f(lam):\n    return torch.max(torch.le(lam, 0.4), torch.gt(lam, 0.6))\n").code
    assert "jnp.maximum(jnp.less_equal(lam, 0.4), jnp.greater(lam, 0.6))" in code
