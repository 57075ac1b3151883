"""The two sides: torch and JAX arrays, inputs, dropout layers, and the shared numerics (highest
matmul precision, no TF32, CPU) a comparison runs under."""

from __future__ import annotations

import contextlib


class TorchSide:
    def __init__(self):
        import torch

        self.torch = torch

    def is_array(self, x) -> bool:
        return isinstance(x, self.torch.Tensor)

    def to_numpy(self, x):
        x = x.detach().cpu()
        if x.dtype in (self.torch.bfloat16, self.torch.float16):
            x = x.float()
        return x.numpy().copy()

    def inputs(self, arrays):
        return [_each(a, lambda x: self.torch.from_numpy(x.copy())) for a in arrays]

    def dropout_layers(self, model) -> list:
        nn = self.torch.nn
        return [m for m in model.modules() if isinstance(m, (nn.modules.dropout._DropoutNd, nn.MultiheadAttention, nn.RNNBase))]


class JaxSide:
    def __init__(self):
        import jax
        import jax.numpy as jnp
        from flax import nnx

        self.jax, self.jnp, self.nnx = jax, jnp, nnx

    def is_array(self, x) -> bool:
        import numpy as np

        return isinstance(x, (self.jax.Array, np.ndarray, np.generic))

    def to_numpy(self, x):
        import numpy as np

        return np.array(x)

    def inputs(self, arrays):
        return [_each(a, self.jnp.asarray) for a in arrays]  # int64 -> int32, float64 -> float32 without x64

    def dropout_layers(self, model) -> list:
        nnx = self.nnx
        return [n for _, n in nnx.iter_graph(model) if isinstance(n, (nnx.Dropout, nnx.MultiHeadAttention))]


def _each(value, convert):
    """``convert`` on an input array, or on each array of a tuple input."""
    return tuple(_each(v, convert) for v in value) if isinstance(value, tuple) else convert(value)


@contextlib.contextmanager
def numerics(float64: bool = False):
    """Highest matmul precision, no TF32, both sides on CPU; restored afterwards. With ``float64``,
    both sides compute in float64 (jax_enable_x64, torch's default dtype) for the rounding re-check."""
    import jax
    import torch

    old_x64, old_dtype = jax.config.jax_enable_x64, torch.get_default_dtype()
    if float64:
        jax.config.update("jax_enable_x64", True)
        torch.set_default_dtype(torch.float64)
    old_prec = jax.config.jax_default_matmul_precision
    old_tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    old_f32 = torch.get_float32_matmul_precision()
    jax.config.update("jax_default_matmul_precision", "highest")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        with jax.default_device(jax.devices("cpu")[0]), torch.random.fork_rng(devices=[]):
            yield
    finally:
        jax.config.update("jax_default_matmul_precision", old_prec)
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old_tf32
        torch.set_float32_matmul_precision(old_f32)
        jax.config.update("jax_enable_x64", old_x64)
        torch.set_default_dtype(old_dtype)


def zero_dropout(layers) -> int:
    """Set every dropout rate of ``layers`` to 0 for good (a training run compared step by step: the two
    frameworks draw different masks). Returns how many were set."""
    count = 0
    for layer in layers:
        for attr in ("p", "dropout", "rate", "dropout_rate"):
            value = getattr(layer, attr, None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if value:
                    setattr(layer, attr, 0.0)
                    count += 1
                break
    return count


@contextlib.contextmanager
def dropout_off(torch_layers, jax_layers):
    """Set every dropout rate to 0 (torch ``p``/``dropout``, NNX ``rate``/``dropout_rate``) for the block."""
    saved = []
    for layer in [*torch_layers, *jax_layers]:
        for attr in ("p", "dropout", "rate", "dropout_rate"):
            if isinstance(getattr(layer, attr, None), (int, float)) and not isinstance(getattr(layer, attr), bool):
                saved.append((layer, attr, getattr(layer, attr)))
                setattr(layer, attr, 0.0)
                break
    try:
        yield
    finally:
        for layer, attr, value in saved:
            setattr(layer, attr, value)


def perturb_constant_tensors(model, seed: int) -> list[str]:
    """Give every constant-initialised float parameter/buffer (BatchNorm's ones and zeros,
    a zero bias, ...) random values, so that a mapping that mixes them up cannot pass."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed + 7919)
    changed = []
    seen = set()
    named = list(model.named_parameters(remove_duplicate=False)) + list(model.named_buffers(remove_duplicate=False))
    with torch.no_grad():
        for name, t in named:
            if t is None or id(t) in seen or not t.is_floating_point() or t.numel() == 0:
                continue
            seen.add(id(t))
            if bool((t == t.reshape(-1)[0]).all()):
                c = float(t.reshape(-1)[0])
                if c > 0:
                    noise = torch.from_numpy(rng.uniform(0.5, 1.5, size=tuple(t.shape))).to(t.dtype)
                    t.mul_(noise)
                else:
                    t.add_(torch.from_numpy(rng.normal(0.0, 0.1, size=tuple(t.shape))).to(t.dtype))
                changed.append(name)
    return changed


def widen_to_float64(model) -> None:
    """Every float32 variable of an NNX model as float64 (for the float64 re-check)."""
    import jax.numpy as jnp
    from flax import nnx

    for _, variable in nnx.iter_graph(model):
        if isinstance(variable, nnx.Variable) and not isinstance(variable, nnx.RngState):
            value = variable.get_value()
            if getattr(value, "dtype", None) == jnp.float32:
                variable.set_value(value.astype(jnp.float64))


def tied_aliases(model) -> set[str]:
    """Names under which torch holds a parameter it already holds under an earlier name (weight
    tying: ``lm_head.weight`` is ``wte.weight``). The translation shares one variable (``attend``), so
    the alias is compared once, under its first name."""
    seen: set[int] = set()
    aliases = set()
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in seen:
            aliases.add(name)
        seen.add(id(p))
    return aliases
