"""The harness of the property tests (tests/test_properties_*.py): many torch calls in one translated
module, compared one by one against torch.

``check(outputs, inputs, layers=...)`` writes a torch module ``M`` whose ``__init__`` builds
``layers`` and whose ``forward`` takes ``inputs`` (by name) and returns ``outputs`` (expressions, one
per rule application under test), translates it (one conversion, through ``numeric.convert``, so
``@covers`` sees the rules applied), transfers torch's weights (perturbed, so constant-initialised
ones cannot hide a swap) and compares, for every output: its value (within ``tol`` scaled to its
magnitude, integers and booleans exactly), its dtype (as JAX holds it without x64: int64 -> int32,
float64 -> float32) and, where torch can differentiate it, the gradient of a random projection of it
with respect to every float input and every parameter.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import jax
import jax.numpy as jnp
from flax import nnx
from hypothesis import HealthCheck, Phase, settings

from numeric import load_source, convert
from torch2jax.weights import load_torch_weights, plan_transfer

jax.config.update("jax_default_matmul_precision", "highest")
torch.backends.cudnn.allow_tf32 = False

# Few examples each, reproducible in CI: the same examples on every run, no example database.
# (T2J_PROPERTIES_NO_SHRINK=1 reports a failing example as found, without minimising it: quicker while
# working on a rule.)
SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                    phases=[p for p in Phase if p != Phase.shrink or not os.environ.get("T2J_PROPERTIES_NO_SHRINK")])
FEW = settings(SETTINGS, max_examples=8)
# Each example is a new program, compiled once: without LLVM's optimisations it compiles in about half
# the time (XLA's own passes, which decide what is computed, still run; float results agree to rounding).
FAST_COMPILE = {"xla_backend_optimization_level": 0}

HEADER = """import torch
import torch.nn as nn
import torch.nn.functional as F
"""

MODULE = """
class M(nn.Module):
    def __init__(self):
        super().__init__()
{init}
    def forward(self, {inputs}):
{body}        return (
{outputs}
        )
"""

# JAX without x64 holds these torch dtypes narrower
NARROWED = {"int64": "int32", "float64": "float32", "complex128": "complex64", "uint64": "uint32"}


def data(shape, seed=0, scale=1.0, low=None):
    """Standard normal float32 values (scaled); with ``low``, uniform in [low, low + scale)."""
    rng = np.random.default_rng(seed)
    if low is not None:
        return (low + scale * rng.random(shape)).astype(np.float32)
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def source(outputs, inputs, layers=None, body="", header=HEADER) -> str:
    init = "".join(f"        self.{name} = {ctor}\n" for name, ctor in (layers or {}).items()) or "        pass\n"
    body = "".join(f"        {line}\n" for line in body.strip().splitlines()) if body.strip() else ""
    return header + MODULE.format(init=init, inputs=", ".join(inputs), body=body,
                                  outputs="".join(f"            {o},\n" for o in outputs))


def _flat(value, torch_side):
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _flat(v, torch_side)]
    return [value]


def _numpy(value):
    if isinstance(value, torch.Tensor):
        value = value.detach()
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def _dtype_name(value) -> str:
    if isinstance(value, torch.Tensor):
        return str(value.dtype).removeprefix("torch.")
    return str(np.asarray(value).dtype)


def _expected_dtype(t) -> str | None:
    if not isinstance(t, torch.Tensor):
        return None  # a Python number: compared by value
    name = _dtype_name(t)
    return NARROWED.get(name, name)


def compare(what: str, expected, actual, tol: float) -> float:
    """Value and shape (and dtype for tensors) of one output; returns the error."""
    e, a = _numpy(expected), np.asarray(actual)
    assert e.shape == a.shape, f"{what}: shape {a.shape}, torch {e.shape}"
    want = _expected_dtype(expected)
    if want is not None:
        assert str(a.dtype) == want, f"{what}: dtype {a.dtype}, torch {_dtype_name(expected)}"
    if e.dtype.kind in "biu" or e.dtype == bool:
        assert np.array_equal(e.astype(np.int64), a.astype(np.int64)), f"{what}: {a} != torch {e}"
        return 0.0
    e64, a64 = e.astype(np.complex128 if e.dtype.kind == "c" else np.float64), a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    assert np.array_equal(np.isnan(e64), np.isnan(a64)), f"{what}: NaN at different places"
    finite = ~np.isnan(e64)
    assert np.array_equal(np.isinf(e64[finite]), np.isinf(a64[finite])) and np.array_equal(
        e64[finite][np.isinf(e64[finite])], a64[finite][np.isinf(a64[finite])]), f"{what}: infinities differ"
    ok = finite & ~np.isinf(e64)
    if not ok.any():
        return 0.0
    err = float(np.max(np.abs(e64[ok] - a64[ok])))
    scale = max(1.0, float(np.max(np.abs(e64[ok]))))
    assert err <= tol * scale, f"{what}: max error {err} (tolerance {tol} x {scale})\n jax {a}\n torch {e}"
    return err


def both_sides(code: str, allow=()):
    """The conversion of the torch module source ``code`` (asserted free of errors and warnings but those
    in ``allow``) and both modules loaded: (result, torch module, JAX module)."""
    result = convert(code)
    assert result.ok
    bad = [d.text() for d in result.diagnostics if d.severity in ("error", "warning") and d.code not in allow]
    assert not bad, f"{bad}\n{result.code}"
    return result, load_source(code, "torch_side"), load_source(result.code, "jax_side")


def check(outputs, inputs: dict, layers=None, *, body="", train=False, grads=True, tol=2e-5, grad_tol=None,
          allow=(), header=HEADER, perturb=True, constant=(), source_code=None):
    """Translate the module the arguments describe and compare every output (see the module docstring).

    ``outputs``: torch expressions over the inputs (and ``self.<layer>``); ``inputs``: name -> numpy
    array; ``layers``: attribute -> torch constructor expression; ``body``: statements before the
    return; ``allow``: warning codes expected (an approximate rule's report); ``constant``: float
    inputs not differentiated (torch has no derivative for a loss's class weights); ``source_code``:
    a whole torch file defining ``M`` instead (``outputs`` None: its forward returns a tuple). Returns
    the result of the conversion (its code and diagnostics)."""
    code = source_code or source(outputs, list(inputs), layers, body, header)
    result, tmod, jmod = both_sides(code, allow)
    torch.manual_seed(0)
    t = tmod.M()
    j = jmod.M(rngs=nnx.Rngs(0))
    if perturb:
        with torch.no_grad():
            for p in t.parameters():
                p.add_(0.1 * torch.randn_like(p))
    if list(t.parameters()) or list(t.buffers()):
        load_torch_weights(j, t)
    t.train(train)
    j.train() if train else j.eval()

    names = list(inputs)
    t_in = [torch.from_numpy(np.array(inputs[n])) for n in names]
    floats = [i for i, x in enumerate(t_in) if x.is_floating_point() and names[i] not in constant]
    for i in floats:
        t_in[i].requires_grad_(grads)
    t_raw = t(*t_in)
    if outputs is None:
        outputs = [f"result {k} of forward" for k in range(len(t_raw))]
    assert isinstance(t_raw, tuple) and len(t_raw) == len(outputs), (type(t_raw), len(outputs))
    labels, t_out = [], []
    for expr, value in zip(outputs, t_raw):
        leaves = _flat(value, True)
        labels += [expr] if len(leaves) == 1 else [f"{expr}[{i}]" for i in range(len(leaves))]
        t_out += leaves
    # the outputs torch differentiates (real floating tensors depending on an input or a parameter)
    diff = [k for k, te in enumerate(t_out) if isinstance(te, torch.Tensor) and te.requires_grad
            and te.is_floating_point()] if grads else []
    graphdef, state = nnx.split(j)

    constants = {}  # results that are Python values (x.size(1), finfo(...).max): kept as they are, not traced

    def pure(state, *xs):
        out = _flat(nnx.merge(graphdef, state)(*xs), False)
        assert len(out) == len(t_out), f"{len(out)} results, torch {len(t_out)}"
        for k, o in enumerate(out):
            if not isinstance(o, jax.Array):
                constants[k] = o
        return tuple(out[k] for k in diff), [None if k in constants else o for k, o in enumerate(out)]

    j_in = [jnp.asarray(inputs[n]) for n in names]
    rng = np.random.default_rng(1)
    cots = [rng.standard_normal(tuple(t_out[k].shape)).astype(np.float32) for k in diff]

    def run(state, xs, cots):
        """Every output, and the gradients of the sum of the projections of the differentiable
        ones on ``cots`` (one backward pass for all)."""
        if not cots:
            return pure(state, *xs)[1], None
        j_diff, vjp, j_out = jax.vjp(pure, state, *xs, has_aux=True)
        return j_out, vjp(tuple(c.astype(o.dtype) for c, o in zip(cots, j_diff)))

    j_cots = [jnp.asarray(c) for c in cots]
    try:  # one trace and one compilation for everything (op by op, every op compiles on its own)
        lowered = jax.jit(run).lower(state, j_in, j_cots)
    except jax.errors.ConcretizationTypeError:  # a translation that needs concrete values runs as it is
        j_out, j_grads = run(state, j_in, j_cots)
    else:
        j_out, j_grads = lowered.compile(compiler_options=FAST_COMPILE)(state, j_in, j_cots)
    j_out = [constants.get(k, o) for k, o in enumerate(j_out)]
    for label, te, ja in zip(labels, t_out, j_out):
        compare(label, te, ja, tol)
    if not diff:
        return result
    try:
        _compare_gradients(t, j, t_in, floats, names, [t_out[k] for k in diff], cots, j_grads, grad_tol or tol * 5)
    except AssertionError as failed:  # name the output whose gradient differs
        for k, cot in zip(diff, cots):
            only = [c if m == k else np.zeros_like(c) for m, c in zip(diff, cots)]
            _, grads = run(state, j_in, [jnp.asarray(c) for c in only])
            _compare_gradients(t, j, t_in, floats, names, [t_out[m] for m in diff], only, grads,
                               grad_tol or tol * 5, f"d({labels[k]})")
        raise failed
    return result


def _compare_gradients(t, j, t_in, floats, names, t_diff, cots, j_grads, tol, what="d(all outputs)"):
    """torch's gradients of sum(out * cot) against JAX's: every float input, every parameter."""
    t_params = {name: p for name, p in t.named_parameters() if p.requires_grad}
    wrt = [t_in[i] for i in floats] + list(t_params.values())
    total = sum((o * torch.from_numpy(c).to(o.dtype)).sum() for o, c in zip(t_diff, cots))
    t_grads = torch.autograd.grad(total, wrt, retain_graph=True, allow_unused=True)
    g_state, *g_in = j_grads
    for i, g in zip(floats, t_grads[:len(floats)]):
        compare(f"{what}/d{names[i]}", torch.zeros_like(t_in[i]) if g is None else g, g_in[i], tol)
    param_grads = {p: g.numpy() for p, g in zip(t_params, t_grads[len(floats):]) if g is not None}
    if not param_grads:
        return
    # torch's gradients brought to the Flax layout by the same plan as the weights
    t_state = {k: v.detach().numpy() for k, v in t.state_dict().items()}
    paths = {id(v): path for path, v in nnx.iter_graph(j) if isinstance(v, nnx.Variable)}
    flat = dict(nnx.to_flat_state(g_state))
    g_plan, _ = plan_transfer(j, {**t_state, **param_grads})
    for pname, variable, array in g_plan:
        if pname in param_grads:
            compare(f"{what}/d{pname}", array, flat[paths[id(variable)]][...], tol)
