"""Helper definitions a translation emits once per file, beside the code that uses them (torch's
recurrent layers and attention as small modules, adaptive pooling with uneven bins): what no
one-line JAX expression computes exactly."""

from __future__ import annotations

from typing import Callable

from torch2jax.handlers.training import request_imports

# handler name (or, for a layer whose construction is not a handler's, its torch name) -> fn(rule, state) -> the name of the class the output defines for that torch layer,
# defined there once (recurrent layers, attention): the class itself, for a layer held as a value or
# subclassed, where no construction is translated.
CLASS_DEFINERS: dict[str, Callable] = {}


def class_definer(handler_name: str):
    def register(fn):
        CLASS_DEFINERS[handler_name] = fn
        return fn

    return register


def defined_class(state, rule) -> str | None:
    """The class the output defines for ``rule``'s torch layer (defining it), or None for a layer without one."""
    definer = CLASS_DEFINERS.get(rule.handler) or CLASS_DEFINERS.get(rule.torch)
    return definer(rule, state) if definer is not None else None


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
