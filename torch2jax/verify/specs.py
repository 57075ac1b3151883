"""Input specs (``float32[2,3,32,32]``, ``int64[4,16]:0..10000``, a tuple of them such as an LSTM's
``(float32[2,3,16],float32[2,3,16])``) and the seeded arrays drawn from them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from torch2jax.verify.errors import VerifyError

DEFAULT_INT_RANGE = (0, 10)

_SPEC_RE = re.compile(
    r"^\s*(?P<dtype>float32|float64|int32|int64|bool)\s*\[(?P<shape>[^\]]*)\]"
    r"\s*(?::\s*(?P<low>[-+0-9.eE]+)\s*\.\.\s*(?P<high>[-+0-9.eE]+))?\s*$"
)

SPEC_HELP = (
    "DTYPE[SHAPE] or DTYPE[SHAPE]:LOW..HIGH, DTYPE one of float32, float64, int32, int64, bool; "
    "e.g. float32[2,3,32,32], int64[4,16]:0..10000 (integers in [LOW, HIGH), default 0..10), "
    "float32[4,16]:-1e-3..1e-3 (uniform; without a range floats are standard normal); "
    "(SPEC,SPEC,...) is one input that is a tuple of arrays, e.g. an LSTM's (h, c): (float32[2,3,16],float32[2,3,16])"
)


@dataclass(frozen=True)
class InputSpec:
    """One model input: dtype, shape and (for ints, optionally floats) the half-open value range."""

    text: str
    dtype: str
    shape: tuple[int, ...]
    low: float | int | None = None
    high: float | int | None = None
    parts: tuple[InputSpec, ...] = ()  # a tuple input (dtype "tuple"): its arrays' specs

    @property
    def is_float(self) -> bool:
        """A float array (a tuple input is passed as it is: no input gradient is taken through it)."""
        return self.dtype.startswith("float")

    def leaves(self) -> list[InputSpec]:
        """The array specs: this one, or a tuple's parts."""
        return [leaf for p in self.parts for leaf in p.leaves()] if self.dtype == "tuple" else [self]


def parse_input_spec(text: str) -> InputSpec:
    """``float32[2,3,32,32]``, ``int64[4,16]:0..10000``, ``bool[4,16]``, ``(float32[2,4],float32[2,4])``;
    raises VerifyError."""
    inner = text.strip()
    if inner.startswith("(") or inner.endswith(")"):
        if not (inner.startswith("(") and inner.endswith(")")) or not inner[1:-1].strip():
            raise VerifyError(f"bad input spec {text!r}: a tuple input is (SPEC,SPEC,...), e.g. (float32[2,3,16],float32[2,3,16])")
        parts = tuple(parse_input_spec(p) for p in _split_specs(inner[1:-1]))
        return InputSpec(inner, "tuple", (), parts=parts)
    match = _SPEC_RE.match(text)
    if not match:
        raise VerifyError(f"bad input spec {text!r}: expected {SPEC_HELP}")
    dtype = match["dtype"]
    dims = [d.strip() for d in match["shape"].split(",")] if match["shape"].strip() else []
    if not all(re.fullmatch(r"\d+", d) for d in dims):
        raise VerifyError(f"bad input spec {text!r}: the shape must be non-negative integers separated by commas")
    shape = tuple(int(d) for d in dims)
    low = high = None
    if match["low"] is not None:
        if dtype == "bool":
            raise VerifyError(f"bad input spec {text!r}: bool inputs take no range")
        try:
            if dtype.startswith("int"):
                low, high = int(match["low"]), int(match["high"])
            else:
                low, high = float(match["low"]), float(match["high"])
        except ValueError:
            kind = "integers" if dtype.startswith("int") else "numbers"
            raise VerifyError(f"bad input spec {text!r}: the range bounds must be {kind}") from None
        if not low < high:
            raise VerifyError(f"bad input spec {text!r}: the range LOW..HIGH is half-open and needs LOW < HIGH")
    elif dtype.startswith("int"):
        low, high = DEFAULT_INT_RANGE
    return InputSpec(text.strip(), dtype, shape, low, high)


def given_array(item):
    """An input the caller gave as data: a numpy array, or a tuple of them (a tuple input)."""
    import numpy as np

    return tuple(given_array(v) for v in item) if isinstance(item, tuple) else np.asarray(item)


def given_spec(item) -> InputSpec:
    """The spec of an input given as data (see ``given_array``)."""
    if isinstance(item, tuple):
        parts = tuple(given_spec(v) for v in item)
        return InputSpec("(" + ",".join(p.text for p in parts) + ")", "tuple", (), parts=parts)
    arr = given_array(item)
    return InputSpec(f"{arr.dtype}{list(arr.shape)}", str(arr.dtype), tuple(arr.shape))


def make_inputs(specs: list[InputSpec], seed: int) -> list:
    """numpy arrays drawn once from ``numpy.random.default_rng(seed)``, in spec order."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def draw(spec: InputSpec):
        if spec.dtype == "tuple":
            return tuple(draw(p) for p in spec.parts)
        if spec.dtype == "bool":
            return rng.random(spec.shape) < 0.5
        if spec.dtype.startswith("int"):
            return rng.integers(spec.low, spec.high, size=spec.shape, dtype=np.int64).astype(spec.dtype)
        if spec.low is not None:
            return rng.uniform(spec.low, spec.high, size=spec.shape).astype(spec.dtype)
        return rng.standard_normal(spec.shape).astype(spec.dtype)

    return [draw(spec) for spec in specs]


def _split_specs(text: str) -> list[str]:
    """``float32[4,3],int64[4]:0..10`` -> the two specs (commas inside brackets and parentheses stay)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[("
        depth -= ch in "])"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current] if current.strip() else parts


def parse_data(text: str) -> tuple[str, InputSpec]:
    """``--data NAME=SPEC``: one seeded array bound to NAME."""
    name, sep, spec = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise VerifyError(f"bad --data {text!r}: expected NAME=SPEC, e.g. x=float32[100,1]")
    return name.strip(), parse_input_spec(spec)


def parse_batches(text: str) -> tuple[str, int, list[InputSpec]]:
    """``--batches NAME=N:SPEC[,SPEC...]``: N seeded tuples (a stand-in for a DataLoader) bound to NAME."""
    name, sep, rest = text.partition("=")
    count, colon, specs = rest.partition(":")
    if not sep or not colon or not name.strip().isidentifier() or not count.strip().isdigit():
        raise VerifyError(f"bad --batches {text!r}: expected NAME=N:SPEC[,SPEC...], e.g. B=3:float32[4,10],int64[4]:0..2")
    return name.strip(), int(count), [parse_input_spec(s) for s in _split_specs(specs)]


def make_bindings(data: list[tuple[str, InputSpec]], batches: list[tuple[str, int, list[InputSpec]]], seed: int) -> dict:
    """NAME -> numpy array (``--data``) or list of tuples of arrays (``--batches``), drawn once, seeded."""
    out: dict = {}
    for i, (name, spec) in enumerate(data):
        out[name] = make_inputs([spec], seed + 1000 + i)[0]
    for i, (name, count, specs) in enumerate(batches):
        out[name] = [tuple(make_inputs(specs, seed + 2000 + 100 * i + k)) for k in range(count)]
    return out
