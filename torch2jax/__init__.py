"""torch2jax: translate PyTorch source to JAX (Flax NNX, Optax) and verify it numerically.

Conversion is static and needs only libcst; ``convert_tree`` converts a whole tree (Python
files and notebooks) and returns a report per file. ``load_torch_weights`` and ``verify``
need the ``verify`` extra (torch, jax, flax, optax) and import it on first use.
"""

from torch2jax.config import ConfigError
from torch2jax.convert import ConversionResult, InputError, convert_source
from torch2jax.diagnostics import Diagnostic
from torch2jax.notebooks import convert_notebook
from torch2jax.project import FileReport, TreeReport, convert_file, convert_tree
from torch2jax.rules import RuleError, load_rules

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ConversionResult",
    "Diagnostic",
    "FileReport",
    "InputError",
    "RuleError",
    "TreeReport",
    "convert_file",
    "convert_notebook",
    "convert_source",
    "convert_tree",
    "load_rules",
    "load_torch_weights",
    "verify",
]


def load_torch_weights(nnx_model, torch_model_or_state_dict, *, rules=None):
    """Copy a torch model's (or state dict's) parameters and buffers into the translated model."""
    from torch2jax.weights import load_torch_weights as _load

    return _load(nnx_model, torch_model_or_state_dict, rules=rules)


def verify(*args, **kwargs):
    """Run the spec / numeric / behavioral checks; see torch2jax.verify.verify."""
    from torch2jax.verify import verify as _verify

    return _verify(*args, **kwargs)
