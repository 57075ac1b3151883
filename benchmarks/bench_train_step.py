"""Speed of the training step torch2jax generates, against a hand-written Flax NNX + Optax step and
the original torch step, on CPU, in one run.

For each training fixture the torch source is translated now (``convert_source``), and the
module-level ``train_step`` the translation emits is timed beside:

- **hand-written**: the same model written by hand in Flax NNX, with the step a JAX engineer writes
  (DESIGN.md 4b: ``@nnx.jit``, ``nnx.value_and_grad``, ``optimizer.update(model, grads)``), the same
  Optax optimizer, taking torch's layout (NCHW) where the torch model does;
- **hand-written, channels-last**: the same, written for Flax's layout (NHWC / NLC input, no
  transposes), where the torch model has channels-first convolutions: the difference to the row
  above is what the NCHW transposes cost;
- **hand-written, jax.jit**: the hand-written step as a pure function of ``nnx.split`` state under
  ``jax.jit`` (no NNX object traversal per call), to show what ``nnx.jit`` itself costs per step;
- **torch**: the fixture's own loop body (``zero_grad``, forward, loss, ``backward``, ``step``).

Every variant gets the same batch, step after step. Each is called once to compile (that time is
reported on its own, as "first call"), warmed up, and then timed over several repeats of N steps,
alternating the variants within each repeat (each repeat starting one variant further on) so that
changes in machine load and the order hit all of them alike; the median is reported. Two rates: "async" dispatches N steps and waits for the last loss (JAX
overlaps dispatch with compute), "synced" reads each loss as a float (``loss.item()``, which the
translated loops and torch's do every step). Both libraries run on one thread by default
(``--threads``): on a loaded machine torch's two OpenMP threads fall over each other (a 20x slower
step measured here), which says nothing about either translation.

    python benchmarks/bench_train_step.py [--repeat 5] [--seconds 0.5] [--case NAME] [--size N]
                                          [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent.parent
FIXTURES = HERE / "fixtures"
sys.path.insert(0, str(HERE))


def _threads(argv: list[str]) -> int:
    """``--threads N`` (default 1), read before JAX is imported: XLA takes its thread count from XLA_FLAGS."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 1


THREADS = _threads(sys.argv[1:])
if THREADS:  # 0: each library's default (all cores)
    eigen = "false" if THREADS == 1 else "true"
    os.environ["XLA_FLAGS"] = (f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_multi_thread_eigen={eigen} "
                               f"intra_op_parallelism_threads={THREADS}").strip()

import flax  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import torch  # noqa: E402
from flax import nnx  # noqa: E402

from torch2jax import convert_source  # noqa: E402

if THREADS:
    torch.set_num_threads(THREADS)


# ---------------------------------------------------------------------- loading the two sides


def _import(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_TMP = tempfile.TemporaryDirectory(prefix="t2j-bench-")


def translated(case: str):
    """The fixture's torch module, translated now, imported."""
    source = (FIXTURES / case / "torch_model.py").read_text()
    result = convert_source(source, filename=f"{case}/torch_model.py")
    path = Path(_TMP.name) / f"{case}_jax.py"
    path.write_text(result.code)
    return _import(path, f"{case}_jax"), result.code


def torch_side(case: str):
    return _import(FIXTURES / case / "torch_model.py", f"{case}_torch")


# ---------------------------------------------------------------------- the hand-written steps


@nnx.jit
def softmax_step(model, optimizer, x, y):
    def loss_fn(model):
        return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


@nnx.jit
def bce_step(model, optimizer, x, y):
    def loss_fn(model):
        p = model(x)
        return -(y * jnp.log(p) + (1 - y) * jnp.log1p(-p)).mean()

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


def functional(model, optimizer, loss_of: Callable):
    """The step as a pure function of the split state under jax.jit; returns step(x, y) -> loss
    (with ``.transposes(x, y)``: the transposes in its compiled HLO)."""
    graphdef, state = nnx.split((model, optimizer))

    def pure(state, x, y):
        model, optimizer = nnx.merge(graphdef, state)
        loss, grads = nnx.value_and_grad(lambda m: loss_of(m(x), y))(model)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), loss

    step = jax.jit(pure)
    box = [state]

    def run(x, y):
        box[0], loss = step(box[0], x, y)
        return loss

    run.transposes = lambda x, y: step.lower(box[0], x, y).compile().as_text().count(" transpose(")
    return run


def softmax_loss(logits, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def bce_loss(p, y):
    return -(y * jnp.log(p) + (1 - y) * jnp.log1p(-p)).mean()


class CNN(nnx.Module):
    """fixtures/train_cnn's Net by hand. ``channels_last``: takes NHWC; else NCHW like torch's, with one
    transpose in and one back before the flatten (torch's flatten order)."""

    def __init__(self, *, channels_last: bool, rngs: nnx.Rngs):
        self.channels_last = channels_last
        self.conv1 = nnx.Conv(3, 6, (5, 5), padding="VALID", rngs=rngs)
        self.conv2 = nnx.Conv(6, 16, (5, 5), padding="VALID", rngs=rngs)
        self.fc1 = nnx.Linear(16 * 5 * 5, 120, rngs=rngs)
        self.fc2 = nnx.Linear(120, 84, rngs=rngs)
        self.fc3 = nnx.Linear(84, 10, rngs=rngs)

    def __call__(self, x):
        if not self.channels_last:
            x = jnp.transpose(x, (0, 2, 3, 1))
        x = nnx.max_pool(nnx.relu(self.conv1(x)), (2, 2), strides=(2, 2))
        x = nnx.max_pool(nnx.relu(self.conv2(x)), (2, 2), strides=(2, 2))
        if not self.channels_last:
            x = jnp.transpose(x, (0, 3, 1, 2))
        x = x.reshape(x.shape[0], -1)
        x = nnx.relu(self.fc1(x))
        x = nnx.relu(self.fc2(x))
        return self.fc3(x)


class MLP(nnx.Module):
    """fixtures/train_mlp_bce's MLP by hand (sigmoid output, as torch's BCELoss expects)."""

    def __init__(self, in_dim, hidden=16, *, rngs: nnx.Rngs):
        self.fc1 = nnx.Linear(in_dim, hidden, rngs=rngs)
        self.fc2 = nnx.Linear(hidden, 1, rngs=rngs)

    def __call__(self, x):
        return nnx.sigmoid(self.fc2(nnx.relu(self.fc1(x)))).squeeze(-1)


class SequenceClassifier(nnx.Module):
    """fixtures/train_sequence's model by hand: Flax's layout throughout (batch, length, features)."""

    def __init__(self, vocab=50, dim=16, classes=4, *, rngs: nnx.Rngs):
        self.embed = nnx.Embed(vocab, dim, rngs=rngs)
        self.conv = nnx.Conv(dim, dim, (3,), padding=1, rngs=rngs)
        self.head = nnx.Linear(dim, classes, rngs=rngs)

    def __call__(self, tokens):
        x = nnx.relu(self.conv(self.embed(tokens)))
        return self.head(x.mean(1))


# ---------------------------------------------------------------------- the cases


@dataclass
class Variant:
    name: str
    step: Callable[[], Callable]  # builds the model and optimizer, returns step(x, y) -> loss
    inputs: Callable[[np.ndarray, np.ndarray], tuple]  # the numpy batch -> this side's arguments


@dataclass
class Case:
    name: str
    fixture: str
    batch: Callable[[int], tuple[np.ndarray, np.ndarray]]  # batch size -> (x, y), torch's layout
    sizes: tuple[int, ...]
    variants: Callable[[], list[Variant]] = field(repr=False, default=None)


def _jax(x, y):
    return jnp.asarray(x), jnp.asarray(y)


def _nhwc(x, y):
    return jnp.asarray(x.transpose(0, 2, 3, 1)), jnp.asarray(y)


def _torch(x, y):
    return torch.from_numpy(x), torch.from_numpy(y)


def _translated_step(module, build_model, optimizer_text: str, code: str, **names):
    """The translation's own train_step, with the optimizer the translation builds (checked in its code)."""
    if optimizer_text not in code:
        raise SystemExit(f"the translation no longer builds `{optimizer_text}`: update the benchmark")

    def build():
        model = build_model(module)
        optimizer = eval(optimizer_text, vars(module), {**names, "net": model, "model": model})
        return lambda x, y: module.train_step(model, optimizer, x, y)

    return build


def _hand(build_model, tx, step, loss_of, jit: str = "nnx"):
    """A model and its optimizer, stepped by ``step`` under nnx.jit, by ``nnx.cached_partial`` of it
    (Flax's advice for small models), or by the same step as a pure function under jax.jit."""

    def build():
        model = build_model()
        optimizer = nnx.Optimizer(model, tx(), wrt=nnx.Param)
        if jit == "jax":
            return functional(model, optimizer, loss_of)
        if jit == "cached":
            return nnx.cached_partial(step, model, optimizer)
        return lambda x, y: step(model, optimizer, x, y)

    return build


def _torch_step(module, build_model, loss, optimizer):
    def build():
        torch.manual_seed(0)
        model = build_model(module)
        criterion = loss()
        opt = optimizer(model)

        def step(x, y):  # the fixture's loop body
            opt.zero_grad()
            out = criterion(model(x), y)
            out.backward()
            opt.step()
            return out

        return step

    return build


def cnn_variants() -> list[Variant]:
    module, code = translated("train_cnn")
    theirs = torch_side("train_cnn")
    sgd = lambda: optax.sgd(0.001, momentum=0.9)  # noqa: E731
    nchw = lambda: CNN(channels_last=False, rngs=nnx.Rngs(0))  # noqa: E731
    nhwc = lambda: CNN(channels_last=True, rngs=nnx.Rngs(0))  # noqa: E731
    theirs_model = lambda: module.Net(rngs=nnx.Rngs(0))  # noqa: E731
    return [
        Variant("translated step (nnx.jit, as emitted)",
                _translated_step(module, lambda m: m.Net(rngs=nnx.Rngs(0)),
                                 "nnx.Optimizer(net, optax.sgd(0.001, momentum=0.9), wrt=nnx.Param)", code), _jax),
        Variant("translated model, hand-written step (nnx.jit)", _hand(theirs_model, sgd, softmax_step, softmax_loss),
                _jax),
        Variant("hand-written step (nnx.jit), NCHW", _hand(nchw, sgd, softmax_step, softmax_loss), _jax),
        Variant("hand-written, nnx.cached_partial, NCHW", _hand(nchw, sgd, softmax_step, softmax_loss, "cached"), _jax),
        Variant("hand-written, jax.jit, NCHW", _hand(nchw, sgd, softmax_step, softmax_loss, "jax"), _jax),
        Variant("translated model, jax.jit (its transposes)",
                _hand(theirs_model, sgd, softmax_step, softmax_loss, "jax"), _jax),
        Variant("hand-written, jax.jit, NHWC (no transposes)", _hand(nhwc, sgd, softmax_step, softmax_loss, "jax"),
                _nhwc),
        Variant("torch (CPU)",
                _torch_step(theirs, lambda m: m.Net(), torch.nn.CrossEntropyLoss,
                            lambda m: torch.optim.SGD(m.parameters(), lr=0.001, momentum=0.9)), _torch),
    ]


def mlp_variants() -> list[Variant]:
    module, code = translated("train_mlp_bce")
    theirs = torch_side("train_mlp_bce")
    adam = lambda: optax.chain(optax.add_decayed_weights(1e-4), optax.adam(1e-2))  # noqa: E731
    mlp = lambda: MLP(5, rngs=nnx.Rngs(0))  # noqa: E731
    theirs_model = lambda: module.MLP(5, rngs=nnx.Rngs(0))  # noqa: E731
    return [
        Variant("translated step (nnx.jit, as emitted)",
                _translated_step(module, lambda m: m.MLP(5, rngs=nnx.Rngs(0)),
                                 "nnx.Optimizer(model, optax.chain(optax.add_decayed_weights(1e-4), optax.adam(lr)), "
                                 "wrt=nnx.Param)", code, lr=1e-2), _jax),
        Variant("translated model, hand-written step (nnx.jit)", _hand(theirs_model, adam, bce_step, bce_loss), _jax),
        Variant("hand-written step (nnx.jit)", _hand(mlp, adam, bce_step, bce_loss), _jax),
        Variant("hand-written, nnx.cached_partial", _hand(mlp, adam, bce_step, bce_loss, "cached"), _jax),
        Variant("hand-written, jax.jit", _hand(mlp, adam, bce_step, bce_loss, "jax"), _jax),
        Variant("torch (CPU)",
                _torch_step(theirs, lambda m: m.MLP(5), torch.nn.BCELoss,
                            lambda m: torch.optim.Adam(m.parameters(), lr=1e-2, weight_decay=1e-4)), _torch),
    ]


def sequence_variants() -> list[Variant]:
    module, code = translated("train_sequence")
    theirs = torch_side("train_sequence")
    adam = lambda: optax.adam(1e-3)  # noqa: E731
    hand = lambda: SequenceClassifier(rngs=nnx.Rngs(0))  # noqa: E731
    theirs_model = lambda: module.SequenceClassifier(rngs=nnx.Rngs(0))  # noqa: E731
    return [
        Variant("translated step (nnx.jit, as emitted)",
                _translated_step(module, lambda m: m.SequenceClassifier(rngs=nnx.Rngs(0)),
                                 "nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)", code), _jax),
        Variant("translated model, hand-written step (nnx.jit)",
                _hand(theirs_model, adam, softmax_step, softmax_loss), _jax),
        Variant("hand-written step (nnx.jit), (N, L, C)", _hand(hand, adam, softmax_step, softmax_loss), _jax),
        Variant("hand-written, nnx.cached_partial", _hand(hand, adam, softmax_step, softmax_loss, "cached"), _jax),
        Variant("hand-written, jax.jit (no transposes)", _hand(hand, adam, softmax_step, softmax_loss, "jax"), _jax),
        Variant("translated model, jax.jit (torch's (N, C, L) inside)",
                _hand(theirs_model, adam, softmax_step, softmax_loss, "jax"), _jax),
        Variant("torch (CPU)",
                _torch_step(theirs, lambda m: m.SequenceClassifier(), torch.nn.CrossEntropyLoss,
                            lambda m: torch.optim.Adam(m.parameters(), lr=1e-3)), _torch),
    ]


def _rng(seed=0):
    return np.random.default_rng(seed)


CASES = [
    Case("train_cnn", "train_cnn",
         lambda n: (_rng().standard_normal((n, 3, 32, 32), dtype=np.float32), _rng(1).integers(0, 10, n)),
         (4, 64), cnn_variants),
    Case("train_mlp_bce", "train_mlp_bce",
         lambda n: (_rng().standard_normal((n, 5), dtype=np.float32),
                    _rng(1).integers(0, 2, n).astype(np.float32)),
         (16, 4096), mlp_variants),
    Case("train_sequence", "train_sequence",
         lambda n: (_rng().integers(0, 50, (n, 12)), _rng(1).integers(0, 4, n)),
         (4, 256), sequence_variants),
]


# ---------------------------------------------------------------------- timing


def _wait(loss) -> None:
    if isinstance(loss, torch.Tensor):
        return
    jax.block_until_ready(loss)


def _read(loss) -> float:
    return float(loss.item())


@dataclass
class Timing:
    first_call: float = 0.0
    transposes: int | None = None  # in the compiled step (jax.jit variants)
    per_step: float = 0.0  # from the warm-up, to choose N
    async_rates: list = field(default_factory=list)
    synced_rates: list = field(default_factory=list)


def _time_steps(step, args, n: int, synced: bool) -> float:
    start = time.perf_counter()
    loss = None
    for _ in range(n):
        loss = step(*args)
        if synced:
            _read(loss)
    _wait(loss)
    return n / (time.perf_counter() - start)


def run_case(case: Case, size: int, repeat: int, seconds: float) -> list[tuple[Variant, Timing]]:
    x, y = case.batch(size)
    rows = []
    for variant in case.variants():
        step = variant.step()
        args = variant.inputs(x, y)
        timing = Timing()
        start = time.perf_counter()
        _read(step(*args))  # trace + compile + one step
        timing.first_call = time.perf_counter() - start
        if hasattr(step, "transposes"):
            timing.transposes = step.transposes(*args)
        for _ in range(3):
            _read(step(*args))
        start = time.perf_counter()
        warm = 5
        for _ in range(warm):
            loss = step(*args)
        _wait(loss)
        timing.per_step = (time.perf_counter() - start) / warm
        rows.append((variant, step, args, timing))
    for r in range(repeat):  # alternate: each repeat times every variant once, starting one further on
        for variant, step, args, timing in rows[r % len(rows):] + rows[:r % len(rows)]:
            n = max(3, int(seconds / max(timing.per_step, 1e-6)))
            timing.async_rates.append(_time_steps(step, args, n, synced=False))
            timing.synced_rates.append(_time_steps(step, args, n, synced=True))
    return [(variant, timing) for variant, _, _, timing in rows]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    threads = f"{THREADS} thread{'s' if THREADS != 1 else ''} each" if THREADS else "library default threads"
    return (f"{cpu}, {os.cpu_count()} cores, load average {load}, {threads}; jax {jax.__version__} on {jax.devices()[0]}, "
            f"flax {flax.__version__}, optax {optax.__version__}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads)")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5, help="about how long one timing of one variant takes")
    parser.add_argument("--case", action="append", help="only these cases (default: all)")
    parser.add_argument("--size", type=int, action="append", help="only these batch sizes")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for XLA and torch (default 1: stable on a shared machine; 0: library defaults)")
    parser.add_argument("--quick", action="store_true", help="one repeat of a few steps, smallest sizes (a smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.seconds = 1, 0.01
    print(f"machine: {machine()}")
    print(f"median of {args.repeat} repeats of about {args.seconds:g} s per variant, variants alternating\n")
    for case in CASES:
        if args.case and case.name not in args.case:
            continue
        sizes = [s for s in case.sizes if not args.size or s in args.size]
        if args.quick:
            sizes = sizes[:1]
        for size in sizes:
            rows = run_case(case, size, args.repeat, args.seconds)
            reference = next(statistics.median(t.async_rates) for v, t in rows if v.name.startswith("hand-written"))
            print(f"{case.name}, batch {size}")
            print(f"  {'variant':50s} {'first call':>10s} {'steps/s async':>14s} {'steps/s synced':>15s} "
                  f"{'vs hand':>8s} {'HLO transposes':>15s}")
            for variant, timing in rows:
                rate = statistics.median(timing.async_rates)
                synced = statistics.median(timing.synced_rates)
                versus = f"{rate / reference:.2f}x"
                hlo = "" if timing.transposes is None else str(timing.transposes)
                print(f"  {variant.name:50s} {timing.first_call:9.2f}s {rate:14,.0f} {synced:15,.0f} {versus:>8s} "
                      f"{hlo:>15s}")
            translated_rate = statistics.median(rows[0][1].async_rates)
            print(f"  translated / first hand-written (async): {translated_rate / reference:.2f}\n")
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main(sys.argv[1:])
