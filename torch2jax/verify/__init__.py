"""``torch2jax verify``: prove a translation numerically equivalent to its PyTorch source.

The PyTorch file and its translation (made here with ``convert_source``, or read from
``translated``) are both executed in fresh module objects -- nothing is written next to the
user's files -- the same model is built on both sides, the torch weights are copied into the
NNX model, and the two are run on the same inputs. Stages, each run only when the one before
it passed (a module each):

``spec_stage``
    both files import, the model builds on both sides, every torch parameter and buffer has
    exactly one place in the translation, and the outputs agree in structure, shape and kind.
``numeric_stage``
    forward outputs in eval and/or train mode, running statistics after a train-mode forward,
    and the gradients of a scalar loss for every parameter and float input, each compared
    element by element with ``|jax - torch| <= atol + rtol * |torch|`` (a near miss is re-checked
    in float64, where rounding vanishes and a wrong translation does not: ``rounding``).
``behavioral_stage``
    training compared step by step: the loss at every optimizer step and the final parameters.

The rest: ``specs`` (input specs and seeded data), ``loading`` (executing user code),
``sides`` (torch and JAX specifics, numerics), ``compare`` (arrays and output structures),
``context`` (what the stages share), ``report`` (table and JSON), ``run`` (``verify()``),
``cli`` (``torch2jax verify``). Importing this package imports only the standard library; torch,
jax, flax and numpy are imported when a check runs.
"""

from torch2jax.verify.cli import add_arguments, main
from torch2jax.verify.compare import compare_arrays
from torch2jax.verify.errors import VerifyError
from torch2jax.verify.loading import load_module
from torch2jax.verify.report import STAGES, VerifyReport
from torch2jax.verify.run import verify
from torch2jax.verify.specs import SPEC_HELP, InputSpec, make_inputs, parse_input_spec

__all__ = [
    "STAGES",
    "SPEC_HELP",
    "InputSpec",
    "VerifyError",
    "VerifyReport",
    "add_arguments",
    "compare_arrays",
    "load_module",
    "main",
    "make_inputs",
    "parse_input_spec",
    "verify",
]
