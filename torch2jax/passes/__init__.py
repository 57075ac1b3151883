"""The concerns of the rewrite, each a module of callbacks registered by node type.

Importing this package registers them; the order below is the order in which callbacks
for the same node type run (the first exclusive callback that returns a node claims it).
It matters only where two concerns could claim one node: grad-mode calls before other
torch calls (they go with their ``with``), torch calls before calls on the file's own
names and methods, tensor-method rules before the in-place report.
"""

from torch2jax.passes import (  # noqa: F401  (imported for registration, in this order)
    training,
    weight_tying,
    learning_rates,
    backend_flags,
    checkpoints,
    narrowing,
    parameters,
    initialization,
    layers,
    torch_functions,
    einops_layers,
    values_indices,
    layout,
    module_classes,
    training_flag,
    module_methods,
    tensor_methods,
    inplace,
    randomness,
    references,
    self_assignments,
    torch_only_imports,
    tensor_values,
    third_party_arrays,
)
