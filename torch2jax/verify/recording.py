"""Watching a training run on each side, so that the two runs can be compared step by step.

The torch run records: the loss of every ``backward()``, every optimizer step, the models it
builds at top level (in order, each with its initial weights), and the random numbers the user's
code draws (``torch.randn`` & co, outside model construction). The JAX run, executed eagerly
(``jax.disable_jit``: the translation's ``nnx.jit`` steps run op by op), gets each model it builds
at top level paired with the torch model built at the same point (same class, same order) and
given that model's initial weights; the random numbers the translation draws with ``jax.random``
are torch's, replayed in order and shape-checked; and the loss of every ``value_and_grad`` and
every ``optimizer.update`` are recorded.

Everything is patched for the duration of a ``with`` block and restored after.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field

from torch2jax.verify.sides import JaxSide, TorchSide, widen_to_float64, zero_dropout

TORCH_DRAWS = ("randn", "rand", "randint", "randn_like", "rand_like", "randint_like", "normal", "bernoulli",
               "randperm", "multinomial")
JAX_DRAWS = ("normal", "uniform", "randint", "bernoulli", "permutation", "categorical", "truncated_normal")


class ReplayError(Exception):
    """The translation drew a random number torch did not draw (or of another shape)."""


@dataclass
class Built:
    cls: str  # class name
    model: object
    initial: dict | None = None  # torch: the state dict right after construction


def _from_user_code(files: set[str]) -> bool:
    """The draw was called directly by the user's code (not by a library: an initializer, a dropout layer)."""
    return sys._getframe(2).f_code.co_filename in files


@dataclass
class TorchRecording:
    user_files: set[str]
    losses: list[float] = field(default_factory=list)
    steps: int = 0
    dropout_off: int = 0  # dropout layers of built models set to rate 0 (masks differ across frameworks)
    losses_at_step: list[int] = field(default_factory=list)  # losses recorded when each step completed
    built: list[Built] = field(default_factory=list)
    draws: list = field(default_factory=list)
    _depth: int = 0
    _undo: list = field(default_factory=list)

    def __enter__(self):
        import torch
        import torch.optim.optimizer as optimizer_module

        recording = self

        original_backward = torch.Tensor.backward

        def backward(tensor, *args, **kwargs):
            if tensor.numel() == 1:
                recording.losses.append(float(tensor.detach()))
            return original_backward(tensor, *args, **kwargs)

        self._patch(torch.Tensor, "backward", backward)
        handle = optimizer_module.register_optimizer_step_post_hook(lambda *a, **k: self._step())
        self._undo.append(handle.remove)
        for cls in _subclasses(torch.nn.Module):
            if "__init__" in vars(cls):
                self._patch(cls, "__init__", self._constructor(vars(cls)["__init__"], cls))
        original_init_subclass = vars(torch.nn.Module).get("__init_subclass__")

        def init_subclass(cls, **kwargs):  # the user's classes, defined during the run
            super(torch.nn.Module, cls).__init_subclass__(**kwargs)
            if "__init__" in vars(cls):
                type.__setattr__(cls, "__init__", recording._constructor(vars(cls)["__init__"], cls))

        self._patch(torch.nn.Module, "__init_subclass__", classmethod(init_subclass), original_init_subclass)
        for name in TORCH_DRAWS:
            if hasattr(torch, name):
                self._patch(torch, name, self._drawer(getattr(torch, name)))
        return self

    def __exit__(self, *exc):
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    def _patch(self, owner, name, value, original=None):
        had = name in vars(owner)
        old = vars(owner).get(name) if original is None else original

        def undo():
            if had:
                type.__setattr__(owner, name, old) if isinstance(owner, type) else setattr(owner, name, old)
            else:
                type.__delattr__(owner, name) if isinstance(owner, type) else delattr(owner, name)

        type.__setattr__(owner, name, value) if isinstance(owner, type) else setattr(owner, name, value)
        self._undo.append(undo)

    def _step(self):
        self.steps += 1
        self.losses_at_step.append(len(self.losses))

    def _constructor(self, init, cls):
        recording = self

        def __init__(module, *args, **kwargs):
            recording._depth += 1
            try:
                init(module, *args, **kwargs)
            finally:
                recording._depth -= 1
            if recording._depth == 0:
                recording.dropout_off += zero_dropout(TorchSide().dropout_layers(module))
                state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                recording.built.append(Built(type(module).__name__, module, copy.deepcopy(state)))

        __init__.__wrapped__ = init
        return __init__

    def _drawer(self, fn):
        recording = self

        def draw(*args, **kwargs):
            value = fn(*args, **kwargs)
            if recording._depth == 0 and _from_user_code(recording.user_files):
                recording.draws.append(value.detach().cpu().numpy().copy())
            return value

        return draw


def _subclasses(cls) -> list:
    seen, todo = [], [cls]
    while todo:
        c = todo.pop()
        if c not in seen:
            seen.append(c)
            todo += c.__subclasses__()
    return seen


@dataclass
class JaxRecording:
    user_files: set[str]
    torch_built: list[Built]
    draws: list  # torch's, replayed in order
    layer_names: dict[str, str]  # torch layer class name -> the Flax class it becomes
    rules: object = None
    losses: list[float] = field(default_factory=list)
    steps: int = 0
    dropout_off: int = 0  # dropout layers of built models set to rate 0 (masks differ across frameworks)
    losses_at_step: list[int] = field(default_factory=list)
    built: list[Built] = field(default_factory=list)
    pairs: list[tuple[Built, Built]] = field(default_factory=list)
    replayed: int = 0
    problems: list[str] = field(default_factory=list)
    float64: bool = False  # the rounding re-check: models the run builds are widened before the transfer
    _depth: int = 0
    _watching: int = 0
    _next_torch: int = 0
    _undo: list = field(default_factory=list)

    def __enter__(self):
        import jax
        from flax import nnx

        recording = self
        meta = type(nnx.Module)
        original_call = meta.__call__

        def construct(cls, *args, **kwargs):
            recording._depth += 1
            try:
                module = original_call(cls, *args, **kwargs)
            finally:
                recording._depth -= 1
            if recording._depth == 0:
                recording.dropout_off += zero_dropout(JaxSide().dropout_layers(module))
                recording._pair(cls, module)
            return module

        self._set(meta, "__call__", construct, original_call)
        for name in JAX_DRAWS:
            self._set(jax.random, name, self._replayer(name, getattr(jax.random, name)), getattr(jax.random, name))
        for owner in (nnx, jax):
            original = owner.value_and_grad
            self._set(owner, "value_and_grad", self._loss_watcher(original), original)
        original_update = nnx.Optimizer.update

        def update(optimizer, *args, **kwargs):
            result = original_update(optimizer, *args, **kwargs)
            recording.steps += 1
            recording.losses_at_step.append(len(recording.losses))
            return result

        self._set(nnx.Optimizer, "update", update, original_update)
        self._no_jit = jax.disable_jit()
        self._no_jit.__enter__()
        return self

    def __exit__(self, *exc):
        self._no_jit.__exit__(*exc)
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    def _set(self, owner, name, value, original):
        own = name in vars(owner)
        setattr(owner, name, value)
        self._undo.append(lambda: setattr(owner, name, original) if own else delattr(owner, name))

    def _pair(self, cls, module) -> None:
        """Give a model built at top level the initial weights of the torch model built at the same point."""
        from torch2jax.weights import WeightTransferError, load_torch_weights

        built = Built(cls.__name__, module)
        self.built.append(built)
        for k in range(self._next_torch, len(self.torch_built)):
            candidate = self.torch_built[k]
            if candidate.cls == cls.__name__ or self.layer_names.get(candidate.cls) == cls.__name__:
                self._next_torch = k + 1
                if self.float64:
                    widen_to_float64(module)
                try:
                    load_torch_weights(module, candidate.initial, rules=self.rules)
                except WeightTransferError as exc:
                    self.problems.append(f"the {cls.__name__} built by the run does not take the weights of torch's: "
                                         f"{exc.problems[0]}")
                    return
                self.pairs.append((candidate, built))
                return

    def _replayer(self, name, fn):
        recording = self

        def draw(key, *args, **kwargs):
            if recording._depth > 0 or not _from_user_code(recording.user_files):
                return fn(key, *args, **kwargs)
            import jax.numpy as jnp

            expected = fn(key, *args, **kwargs)  # for its shape and dtype
            if recording.replayed >= len(recording.draws):
                raise ReplayError(f"the translation draws more random numbers than torch (jax.random.{name}, "
                                  f"draw {recording.replayed + 1})")
            value = recording.draws[recording.replayed]
            recording.replayed += 1
            if tuple(value.shape) != tuple(expected.shape):
                raise ReplayError(f"random draw {recording.replayed}: torch drew shape {tuple(value.shape)}, "
                                  f"the translation jax.random.{name} of shape {tuple(expected.shape)}")
            return jnp.asarray(value, expected.dtype)

        return draw

    def _loss_watcher(self, value_and_grad):
        recording = self

        def watched(fn, *args, **kwargs):
            compute = value_and_grad(fn, *args, **kwargs)
            has_aux = kwargs.get("has_aux", False)

            def run(*a, **k):
                recording._watching += 1  # nnx.value_and_grad calls jax.value_and_grad: count the outer one
                try:
                    value, grads = compute(*a, **k)
                finally:
                    recording._watching -= 1
                loss = value[0] if has_aux else value
                if recording._watching == 0 and getattr(loss, "size", 0) == 1:
                    recording.losses.append(float(loss))
                return value, grads

            return run

        return watched
