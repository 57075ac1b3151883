"""Property tests of the rules that make arrays or change their type: zeros/ones/full and their
``_like`` forms, arange, linspace, eye, tensor; the dtypes (torch.float32 ... torch.complex64), casts
(``x.float()``, ``x.to(dtype)``, ``x.type(...)``, ``x.type_as(y)``), finfo/iinfo, clone/detach,
``torch.Tensor`` and ``nn.Module`` in type checks, complex numbers. Hypothesis draws the sizes, values
and dtypes; values and dtypes (as JAX holds them without x64: int64 as int32, float64 as float32)
and, where differentiable, gradients are compared against torch (tests/properties.py)."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import given, strategies as st  # noqa: E402

from numeric import covers  # noqa: E402
from properties import SETTINGS, check, data  # noqa: E402
from strategies import Src, call_args, shapes  # noqa: E402

DTYPES = {  # torch dtype (constant rule) -> its alias, if any
    "torch.float32": "torch.float", "torch.float16": "torch.half", "torch.bfloat16": None, "torch.int32": "torch.int",
    "torch.int64": "torch.long", "torch.bool": None, "torch.float64": "torch.double", "torch.int16": "torch.short",
    "torch.int8": None, "torch.uint8": None, "torch.complex64": "torch.cfloat",
}
APPROXIMATE = ("T2J301",)  # int64 as int32 (x.long()), squeeze: reported as approximate where used as methods
REAL = [d for d in DTYPES if d != "torch.complex64"]


def _dtype(name):
    return st.sampled_from([Src(name)] + ([Src(DTYPES[name])] if DTYPES[name] else []))


@covers(*DTYPES, "torch.zeros", "torch.ones", "torch.full", "torch.zeros_like", "torch.ones_like", "torch.full_like",
        "torch.eye", "torch.tensor", "torch.empty")
@SETTINGS
@given(shape=shapes(min_rank=0, max_rank=3), data_=st.data(), fill=st.sampled_from([0.5, -2, 3, True, 1e-3]),
       seed=st.integers(0, 9))
def test_filled_arrays_and_dtypes(shape, data_, fill, seed):
    dtype = data_.draw(st.sampled_from(list(DTYPES)).flatmap(_dtype))
    real = data_.draw(st.sampled_from(REAL).flatmap(_dtype))
    n, m = data_.draw(st.integers(0, 4)), data_.draw(st.one_of(st.none(), st.integers(0, 4)))
    sizes = ", ".join(map(str, shape))
    values = data_.draw(st.lists(st.integers(-5, 5), min_size=1, max_size=4))
    outputs = [f"torch.zeros({sizes})" if shape else "torch.zeros(())", f"torch.ones({shape})",
               f"torch.zeros({shape}, dtype={dtype})", f"torch.ones({sizes if shape else '()'}, dtype={dtype})",
               f"torch.full({shape}, {fill})", f"torch.full({shape}, {fill}, dtype={real})",
               f"torch.full(size={shape}, fill_value={fill})",
               "torch.zeros_like(x)", "torch.ones_like(x)", f"torch.zeros_like(x, dtype={dtype})",
               f"torch.ones_like(i, dtype={real})", f"torch.full_like(x, {fill})", f"torch.full_like(i, {fill})",
               f"torch.full_like(x, {fill}, dtype={real})",
               f"torch.eye({n}{'' if m is None else f', {m}'})", f"torch.eye({n}, dtype={real})",
               f"torch.tensor({values})", f"torch.tensor({[v / 2 for v in values]})", f"torch.tensor({values[0]})",
               f"torch.tensor({[abs(v) for v in values]}, dtype={real})", f"torch.as_tensor({[float(v) for v in values]})",
               f"torch.tensor([[{fill}, 1], [2, 3]])",
               # torch.empty's values are whatever memory held (JAX: zeros): its shape and dtype are compared
               f"torch.zeros_like(torch.empty({sizes if shape else '()'}))", f"torch.empty({shape}, dtype={dtype}).shape",
               f"torch.ones_like(torch.empty({shape}, dtype={real}))"]
    for name, alias in DTYPES.items():  # every dtype in every example
        outputs += [f"torch.zeros({shape}, dtype={name})"] + ([f"torch.ones({shape}, dtype={alias})"] if alias else [])
    check(outputs, {"x": data(shape, seed), "i": data(shape, seed).round().astype("int64")}, allow=APPROXIMATE)


@covers("torch.arange", "torch.linspace")
@SETTINGS
@given(start=st.sampled_from([0, 1, -3, 0.5, -1.25]), span=st.sampled_from([1, 4, 7.5, 10]),
       step=st.sampled_from([None, 1, 2, 0.5, 0.3, -1]), steps=st.integers(0, 6),
       dtype=st.sampled_from([None, Src("torch.float32"), Src("torch.int64"), Src("torch.int32")]))
def test_ranges(start, span, step, steps, dtype):
    end = start + span if (step or 1) > 0 else start - span
    if dtype is not None and "int" in dtype and any(isinstance(v, float) for v in (start, end, step or 1)):
        dtype = None  # torch: an integer range of float bounds computes its length in floats, then truncates
    kwargs = call_args(dtype=dtype)
    rest = f", {kwargs}" if kwargs else ""
    outputs = [f"torch.arange({span})", f"torch.arange({start}, {end}{rest})",
               f"torch.arange({start}, {end}, {step or 1}{rest})", f"torch.arange(start={start}, end={end}{rest})",
               f"torch.arange({span}{rest})" if not isinstance(span, float) or dtype is None else "torch.arange(2)",
               f"torch.linspace({start}, {end}, {steps})", f"torch.linspace({start}, {end}, steps={steps})",
               f"torch.linspace(start={start}, end={end}, steps={steps}, dtype=torch.float32)"]
    check(outputs, {"x": data((2,))})


@covers("Tensor.float", "Tensor.long", "Tensor.int", "Tensor.bool", "Tensor.half", "Tensor.type", "Tensor.type_as",
        "Tensor.to", "torch.Tensor.is_floating_point", "torch.clone", "Tensor.clone", "Tensor.detach")
@SETTINGS
@given(shape=shapes(min_rank=0, max_rank=3), data_=st.data(), scale=st.sampled_from([1.0, 50.0]), seed=st.integers(0, 9))
def test_casts(shape, data_, scale, seed):
    dtype = data_.draw(st.sampled_from(REAL).flatmap(_dtype))
    other = data_.draw(st.sampled_from(["x", "i", "b", "h"]))
    # (a float out of an integer type's range has no defined cast: values are drawn in range)
    u = "a" if "uint8" in dtype else "x"
    outputs = ["x.float()", "i.float()", "x.long()", "x.int()", "b.int()", "x.bool()", "i.bool()", "x.half()",
               f"{u}.type({dtype})", f"i.abs().type(dtype={dtype})", f"x.type_as({other})", f"i.type_as({other})",
               f"{u}.to({dtype})", f"{u}.to(dtype={dtype})", f"i.abs().to({dtype})", f"x.to({other}.dtype)",
               "x.is_floating_point()", "i.is_floating_point()", "h.is_floating_point()", "b.is_floating_point()",
               "torch.clone(x)", "x.clone()", "i.clone()", "x.detach()", "x.detach() * x", "x.clone().detach() + x"]
    x = data(shape, seed, scale).clip(-120, 120)
    inputs = {"x": x, "a": abs(x), "i": x.round().astype("int64"), "b": x > 0, "h": x.astype("float16")}
    check(outputs, inputs, allow=APPROXIMATE, tol=1e-3 if "16" in dtype else 2e-5)


@covers("torch.finfo", "torch.iinfo", "torch.Tensor", "torch.nn.Module")
@SETTINGS
@given(real=st.sampled_from(["torch.float32", "torch.float16", "torch.bfloat16", "torch.float64"]),
       integer=st.sampled_from(["torch.int8", "torch.int16", "torch.int32", "torch.uint8"]), seed=st.integers(0, 9))
def test_type_information(real, integer, seed):
    body = "h = x.to(%s)" % real
    outputs = [f"torch.finfo({real}).eps", f"torch.finfo({real}).max", f"torch.finfo({real}).min",
               f"torch.finfo({real}).tiny", f"torch.finfo({real}).resolution", f"torch.finfo({real}).bits",
               "torch.finfo(x.dtype).eps", f"x.clamp(min=torch.finfo({real}).tiny)",
               # (a float64 array is float32 in JAX without x64: its dtype's limits are float32's)
               "torch.finfo(h.dtype).max" if real != "torch.float64" else "torch.finfo(x.dtype).max",
               f"torch.iinfo({integer}).max", f"torch.iinfo({integer}).min", f"torch.iinfo({integer}).bits",
               "isinstance(x, torch.Tensor)", "isinstance(self.fc, nn.Module)", "isinstance(1.0, torch.Tensor)"]
    check(outputs, {"x": data((3,), seed)}, {"fc": "nn.Linear(3, 2)"}, body=body, allow=APPROXIMATE)


@covers("torch.polar", "torch.view_as_complex", "torch.view_as_real")
@SETTINGS
@given(shape=shapes(max_rank=3), seed=st.integers(0, 9))
def test_complex_numbers(shape, seed):
    outputs = ["torch.polar(r, t)", "torch.view_as_real(torch.polar(r, t))", "torch.view_as_complex(p)",
               "torch.view_as_real(torch.view_as_complex(p))", "torch.view_as_real(torch.view_as_complex(p) * torch.polar(r, t))",
               "torch.view_as_real(z)", "torch.view_as_complex(torch.view_as_real(z))"]
    z = (data(shape, seed) + 1j * data(shape, seed + 1)).astype("complex64")
    inputs = {"r": data(shape, seed + 2, low=0.1), "t": data(shape, seed + 3, scale=3.0), "p": data(shape + (2,), seed + 4),
              "z": z}
    check(outputs, inputs)
