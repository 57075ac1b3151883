"""Helper definitions a translation emits once per file, beside the code that uses them (torch's
recurrent layers and attention as small modules, adaptive pooling with uneven bins): what no
one-line JAX expression computes exactly."""

from __future__ import annotations

from torch2jax.handlers.training import request_imports


def helper_name(state, base: str) -> str:
    """A helper's name: ``base``, unless the file already uses that name for something else."""
    facts = state.facts
    taken = set(facts.module_classes) | {key[1] for key in facts.functions if key[0] is None}
    taken |= set(getattr(facts.imports, "aliases", None) or ())
    return base if base not in taken else f"Torch{base}" if base[:1].isupper() else f"torch_{base}"


def define_helper(state, name: str, source: str, needs: tuple[str, ...] = ()) -> None:
    """Emit ``source`` once at module level (after the definitions it ``needs``), with its imports."""
    for other in needs:
        request_imports(state, state.support[other])
    state.support[name] = source
    request_imports(state, source)
    if "functools." in source:
        state.imports.ref("functools.partial")
