"""Rule handlers: the few torch APIs that a table cannot express.

A rule names its handler (``handler = "sequential"``); the function registered under that
name receives the rule, the call (its arguments already rewritten), the walk's State and
the receiver of a tensor method, and returns the replacement expression or raises
Unsupported. Importing this package registers every handler.
"""

from torch2jax.handlers import (  # noqa: F401  (imported for registration)
    activations,
    attention,
    convolution,
    creation,
    data,
    devices,
    distances,
    dtypes,
    einops_layers,
    embedding_bags,
    formulas,
    functional_layers,
    indexing,
    initializers,
    manual,
    modules,
    normalization,
    padding,
    pooling,
    random,
    random_layers,
    recurrent,
    resampling,
    reshaping,
    searching,
    shapes,
    views,
    torch_layout_convolution,
    torchscript,
    training,
)
