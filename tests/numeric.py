"""Helpers for numeric tests: run a torch source and its translation side by side."""

import numpy as np

from torch2jax import convert_source
from torch2jax.verify import load_module


def load_source(code: str, name: str):
    return load_module(f"{name}.py", code=code, tag=name, display=f"<{name}>")


def translate(torch_code: str):
    """(torch module, translated module, diagnostics)."""
    result = convert_source(torch_code)
    assert result.ok
    return load_source(torch_code, "torch_side"), load_source(result.code, "jax_side"), result.diagnostics


def max_error(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def verified(tmp_path, source: str, model: str, inputs: list, **options):
    """``torch2jax.verify`` on ``source`` written to a file (skipped without torch and flax)."""
    import pytest

    pytest.importorskip("torch")
    pytest.importorskip("flax")
    from torch2jax.verify import verify

    path = tmp_path / "model.py"
    path.write_text(source)
    return verify(path, model, inputs, **options)
