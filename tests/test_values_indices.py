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
