"""Weight-transfer transforms for the layers of ``rules/layers.toml`` and ``rules/activations.toml``
that the common ones (``param_transforms``) do not cover. Registered by name like them."""

from __future__ import annotations

from torch2jax.registry import param_transform


@param_transform("scalar")
def scalar(array):
    """torch's one-element parameter (PReLU's weight, shape (1,)) -> Flax's scalar variable."""
    return array.reshape(())
