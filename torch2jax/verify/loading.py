"""Executing user code: the PyTorch file and its translation as fresh module objects (nothing written
beside the user's files), and the model expression compiled for each side."""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import inspect
import itertools
import linecache
import os
import sys
import types
from pathlib import Path

from torch2jax.verify.errors import VerifyError

RNGS_NAME = "__torch2jax_verify_rngs__"
RNGS_FOR_NAME = "__torch2jax_verify_rngs_for__"
# torch module methods that move or cast the model and return it: nothing to do on the JAX side (the
# translation keeps float32 parameters; inputs given as float64 say so in a note).
MODEL_MOVES = {"to", "cuda", "cpu", "double", "float", "half", "eval", "train", "requires_grad_"}
_counter = itertools.count()


@contextlib.contextmanager
def _import_context(dirs: list[Path]):
    """Sibling imports resolve from ``dirs``; no bytecode is written; siblings are not cached after."""
    dirs = [str(d) for d in dict.fromkeys(dirs)]
    before = set(sys.modules)
    saved_path = list(sys.path)
    saved_bytecode = sys.dont_write_bytecode
    sys.path[:0] = dirs
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.path[:] = saved_path
        sys.dont_write_bytecode = saved_bytecode
        for name in set(sys.modules) - before:
            module_file = getattr(sys.modules.get(name), "__file__", None) or ""
            if any(os.path.dirname(os.path.abspath(module_file)) == d for d in dirs):
                del sys.modules[name]


def load_module(
    path, *, code: str | None = None, tag: str = "module", extra_dirs=(), display: str | None = None,
    main: bool = False, namespace: dict | None = None,
) -> types.ModuleType:
    """Execute ``code`` (default: the file's text) as a fresh module whose ``__file__`` is ``path``.

    ``display`` names the code in tracebacks when it is not the file's own text
    (e.g. ``<translation of model.py>``). The module is registered in
    ``sys.modules`` under a private unique name (some libraries, e.g. dataclasses,
    look a class's module up there). ``main`` runs it as a script (``__name__ == "__main__"``);
    ``namespace`` adds names before it runs. Exceptions from the code propagate.
    """
    path = Path(path).resolve()
    if code is None:
        code = path.read_text(encoding="utf-8")
    name = f"_torch2jax_verify_{tag}_{next(_counter)}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__builtins__ = builtins
    if main:
        module.__name__ = "__main__"
    module.__dict__.update(namespace or {})
    if display is not None:
        linecache.cache[display] = (len(code), None, code.splitlines(keepends=True), display)
    compiled = compile(code, display or str(path), "exec")
    sys.modules[name] = module
    try:
        with _import_context([*(Path(d).resolve() for d in extra_dirs), path.parent]):
            exec(compiled, module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def model_exprs(expr: str):
    """(torch expression, JAX expression with ``rngs=`` added to the outermost call and to every
    inner call of a function that takes ``rngs``: ``VGG(make_layers(cfg))``)."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise VerifyError(f"--model {expr!r} is not a Python expression: {exc.msg}") from None
    torch_code = compile(tree, "<--model>", "eval")
    jax_tree = ast.parse(expr.strip(), mode="eval")
    while (isinstance(jax_tree.body, ast.Call) and isinstance(jax_tree.body.func, ast.Attribute)
           and jax_tree.body.func.attr in MODEL_MOVES):  # `Net().double().to(device)`: the model itself in JAX
        jax_tree.body = jax_tree.body.func.value
    body = jax_tree.body
    for node in ast.walk(body):
        if not isinstance(node, ast.Call) or any(k.arg == "rngs" or k.arg is None for k in node.keywords):
            continue
        if node is body:
            node.keywords.append(ast.keyword(arg="rngs", value=ast.Name(id=RNGS_NAME, ctx=ast.Load())))
        elif _is_reference(node.func):  # rngs only where the callee takes it (known once the module is loaded)
            asked = ast.Call(ast.Name(id=RNGS_FOR_NAME, ctx=ast.Load()), [copy.deepcopy(node.func)], [])
            node.keywords.append(ast.keyword(arg=None, value=asked))
    ast.fix_missing_locations(jax_tree)
    return torch_code, compile(jax_tree, "<--model>", "eval"), isinstance(body, ast.Call)


def _is_reference(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def rngs_for(rngs):
    """``{'rngs': rngs}`` for a callable that takes an ``rngs`` argument, else ``{}``."""
    def asked(func) -> dict:
        try:
            params = inspect.signature(func).parameters
        except (TypeError, ValueError):
            return {}
        return {"rngs": rngs} if "rngs" in params else {}
    return asked
