"""What the stages share: the report being filled, the loaded models, the inputs, the weight plan, and
how to run either side."""

from __future__ import annotations

from torch2jax.verify.compare import compare_arrays, structure
from torch2jax.verify.errors import VerifyError, exc_text, where
from torch2jax.verify.sides import JaxSide, TorchSide


def apply_model(model, *inputs):
    return model(*inputs)


class Context:
    """``r`` the report; ``source`` the torch file; the model expression compiled for each side; the
    input specs and their arrays; the options. The spec stage adds the loaded models (``tmodel``,
    ``jmodel``), the weight plan, the torch state and the inputs of each side (``t_in``, ``j_in``)."""

    def __init__(self, report, source, torch_code, jax_code, is_call, specs, arrays, translated, loss, rules, perturb):
        self.r, self.source = report, source
        self.torch_code, self.jax_code, self.is_call = torch_code, jax_code, is_call
        self.specs, self.arrays = specs, arrays
        self.translated, self.loss, self.rules, self.perturb = translated, loss, rules, perturb
        self.T, self.J = TorchSide(), JaxSide()
        self.use_jit = True
        self.optimizer = self.scheduler = self.steps = None  # the behavioral stage's, set by verify()
        self.bindings: dict = {}  # names bound by --data / --batches
        self.float64 = False  # the rounding re-check: both sides in float64 (see rounding.py)

    def call_jax(self, fn, *args):
        """``fn(*args)`` under ``nnx.jit``; eagerly if the translation does not trace."""
        if self.use_jit:
            try:
                return self.J.nnx.jit(fn)(*args)
            except self.J.jax.errors.JAXTypeError as exc:
                self.use_jit = False
                self.r.notes.append(
                    f"the translation does not trace under jax.jit ({type(exc).__name__}); it was compared eagerly"
                )
        return fn(*args)

    def load_weights(self) -> None:
        jnp = self.J.jnp
        self.tmodel.load_state_dict(self.torch_state)
        for _, variable, array in self.plan:
            variable.set_value(jnp.array(array))

    def torch_forward(self, inputs=None, grad=False):
        torch = self.T.torch
        try:
            with torch.enable_grad() if grad else torch.no_grad():
                out = self.tmodel(*(inputs if inputs is not None else self.t_in))
        except Exception as exc:
            raise VerifyError(f"the PyTorch model's forward raised {exc_text(exc)}{where(exc, self.source)}") from exc
        if grad:
            return out
        leaves: list = []
        return structure(out, "output", self.T.is_array, self.T.to_numpy, leaves), leaves

    def jax_forward(self, inputs):
        out = self.call_jax(apply_model, self.jmodel, *inputs)
        leaves: list = []
        return structure(out, "output", self.J.is_array, self.J.to_numpy, leaves), leaves

    def compare_outputs(self, t_leaves, j_leaves, mode) -> list[dict]:
        return [compare_arrays(n, j, t, self.r.rtol, self.r.atol, mode=mode) for (n, t), (_, j) in zip(t_leaves, j_leaves)]

    def submodule(self, name: str):
        try:
            return self.tmodel.get_submodule(name)
        except AttributeError:
            return None
