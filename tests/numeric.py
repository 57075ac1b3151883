"""Helpers for numeric tests: run a torch source and its translation side by side, and know which
rules a property test really exercised (``covers``)."""

import contextlib
import functools

import numpy as np

from torch2jax import convert_source
from torch2jax.verify import load_module

# rule (torch name) -> the property tests that declare they check it against torch (see ``covers``)
DECLARED: dict[str, set[str]] = {}
_RECORDING: list[set[str]] = []  # the rules applied by the conversions of the running property test(s)


def convert(torch_code: str):
    """``convert_source``, recording the rules it applied for the property test running."""
    result = convert_source(torch_code)
    for seen in _RECORDING:
        seen |= result.rules_applied
    return result


def load_source(code: str, name: str):
    return load_module(f"{name}.py", code=code, tag=name, display=f"<{name}>")


def translate(torch_code: str):
    """(torch module, translated module, diagnostics)."""
    result = convert(torch_code)
    assert result.ok
    return load_source(torch_code, "torch_side"), load_source(result.code, "jax_side"), result.diagnostics


def max_error(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def model_file(tmp_path_factory, name: str, source: str):
    """``source`` written to ``name`` in a new temporary directory, for a module-scoped fixture that
    verifies it (skipped without torch and flax)."""
    import pytest

    pytest.importorskip("torch")
    pytest.importorskip("flax")
    path = tmp_path_factory.mktemp(name.removesuffix(".py")) / name
    path.write_text(source)
    return path


def verifier(tmp_path_factory, name: str, source: str, model: str, inputs: list):
    """For a module-scoped fixture: ``check(translated=None)`` verifies ``model`` of ``source`` (written to
    ``name``) on ``inputs``, against the translation torch2jax makes or the one given."""
    path = model_file(tmp_path_factory, name, source)
    from torch2jax.verify import verify

    return lambda translated=None: verify(path, model, inputs, translated=translated)


def verified(tmp_path, source: str, model: str, inputs: list, **options):
    """``torch2jax.verify`` on ``source`` written to a file (skipped without torch and flax)."""
    import pytest

    pytest.importorskip("torch")
    pytest.importorskip("flax")
    from torch2jax.verify import verify

    path = tmp_path / "model.py"
    path.write_text(source)
    return verify(path, model, inputs, **options)


@contextlib.contextmanager
def recording():
    """The rules applied by the conversions (through ``convert``) made inside the block."""
    seen: set[str] = set()
    _RECORDING.append(seen)
    try:
        yield seen
    finally:
        _RECORDING.remove(seen)


def covers(*rules: str):
    """Declare the rules (torch names, as in ``rules/*.toml``) a hypothesis property test checks
    against torch. The declaration is checked: after all its examples ran, the test fails unless
    its conversions applied every rule it names (tests/test_property_coverage.py counts them)."""

    def declare(test):
        if not hasattr(test, "hypothesis"):
            raise TypeError(f"{test.__name__}: @covers goes above @given (on a hypothesis property test)")
        name = f"{test.__module__}.{test.__name__}"
        for rule in rules:
            DECLARED.setdefault(rule, set()).add(name)

        @functools.wraps(test)
        def checked(*args, **kwargs):
            with recording() as seen:
                test(*args, **kwargs)
            missing = sorted(set(rules) - seen)
            assert not missing, f"{name} declares rules its conversions never applied: {missing}"

        return checked

    return declare
