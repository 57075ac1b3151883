"""The concerns of the rewrite, each a module of callbacks registered by node type.

Importing this package registers them; the order of CONCERNS is the order in which callbacks
for the same node type run (the first exclusive callback that returns a node claims it),
whatever order their modules happen to be imported in.
It matters only where two concerns could claim one node: grad-mode calls before other
torch calls (they go with their ``with``), torch calls before calls on the file's own
names and methods, tensor-method rules before the in-place report.
"""

import importlib

from torch2jax import registry

CONCERNS = (
    "training",
    "weight_tying",
    "learning_rates",
    "backend_flags",
    "checkpoints",
    "narrowing",
    "parameters",
    "named_parameter_init",
    "initialization",
    "forwarded_kwargs",
    "layer_subclasses",
    "layout",
    "layers",
    "module_containers",
    "activation_checkpointing",
    "module_classes",
    "training_flag",
    "layer_values",
    "function_partials",
    "torch_lookups",
    "torch_functions",
    "einops_layers",
    "values_indices",
    "module_methods",
    "tensor_methods",
    "inplace",
    "randomness",
    "references",
    "torchscript",
    "self_assignments",
    "torch_only_imports",
    "tensor_values",
    "autograd_attributes",
    "array_attributes",
    "variable_indices",
    "third_party_arrays",
)

for _name in CONCERNS:
    importlib.import_module(f"{__name__}.{_name}")
registry.order_callbacks([f"{__name__}.{name}" for name in CONCERNS])
