"""Weight-transfer transforms that layer rules name in ``params.<torch name>.transform``: each
takes torch's array (numpy) and returns it in the layout of the Flax variable it fills.

numpy is imported by weight transfer, not here: conversion, which loads the rules that name
these, needs only libcst.
"""

from __future__ import annotations

from torch2jax.registry import param_transform


@param_transform("none")
def none(array):
    return array


@param_transform("transpose")
def transpose(array):
    """torch's Linear weight (out, in) -> Flax's kernel (in, out)."""
    return array.T


@param_transform("conv_kernel")
def conv_kernel(array):
    """torch (O, I, *spatial) -> Flax (*spatial, I, O)."""
    return array.transpose(tuple(range(2, array.ndim)) + (1, 0))
