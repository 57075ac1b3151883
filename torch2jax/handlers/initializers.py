"""``nn.init.*`` (and ``weight.data.normal_()`` & co) on a layer's parameter: the Flax variable is
assigned a fresh array with torch's distribution (``self.fc.kernel[...] = ...``).

Fans follow torch: for a Linear or conv kernel (stored transposed in Flax) they are the Flax
initializers' own (in = axis -2, out = axis -1); for a parameter stored as torch stores it
(Embedding, ...), torch's convention is passed explicitly (``in_axis=1, out_axis=0``). The values
differ from torch's (another generator); verify transfers torch's initial weights anyway.
The statement around the call becomes the assignment (see ``passes.initialization``).
"""

from __future__ import annotations

import math

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, code_of, expr, literal, value_expr

GAINS = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0,
         "conv_transpose1d": 1.0, "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0),
         "selu": 3.0 / 4}


def gain(nonlinearity, param=None) -> float | None:
    """torch.nn.init.calculate_gain for literal arguments."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2)) if isinstance(slope, (int, float)) else None
    return GAINS.get(nonlinearity)


def _number(node, what: str):
    value = literal(node) if node is not None else None
    if node is not None and value is MISSING:
        return code_of(node)  # an expression: carried through
    return value


def _text(value) -> str:
    return value if isinstance(value, str) else repr(value)


@handler("calculate_gain")
def calculate_gain(rule, node, state, receiver):
    bound = bind(rule, node)
    nonlinearity = literal(bound["nonlinearity"])
    param = literal(bound["param"]) if "param" in bound else None
    value = gain(nonlinearity, param) if nonlinearity is not MISSING else None
    if value is None:
        raise Unsupported("T2J302", "`calculate_gain` is translated for literal arguments")
    return value_expr(value)


@handler("init")
def init(rule, node, state, receiver):
    bound = bind(rule, node, receiver)
    target = bound.get("tensor") if receiver is None else receiver
    found = state.param_reads.get(id(target))
    if found is not None:
        variable, layer_rule, spec = found
        axes = "" if spec.transform in ("transpose", "conv_kernel", "mixed") else ", in_axis=1, out_axis=0"
        array = variable
    elif isinstance(target, cst.Name):
        axes, array, variable = ", in_axis=1, out_axis=0", target, None
    elif _own_parameter(state, target):  # `nn.init.trunc_normal_(self.pos_embedding, std=.02)`: torch's layout
        if target.attr.value == "data":  # `self.cls_token.data.normal_(...)`
            target = target.value
        axes, array, variable = ", in_axis=1, out_axis=0", target, target
    elif _fresh_array(target) is not None:
        return _fresh_value(rule, bound, state, target, *_fresh_array(target))
    else:
        raise Unsupported("T2J302", f"`{rule.torch}` on `{code_of(target)}`: only a layer's parameter, a plain "
                          "variable or a new array (`torch.zeros(...).uniform_()`) can be initialised in place")
    kind = rule.const["init"]
    shape, dtype = f"{code_of(array)}.shape", f"{code_of(array)}.dtype"
    if kind in ("zeros", "ones"):
        value = f"jnp.{kind}({shape}, {dtype})"
    elif kind == "constant":
        value = f"jnp.full({shape}, {code_of(bound['val'])}, {dtype})"
    elif kind == "eye":
        value = f"jnp.eye(*{shape}, dtype={dtype})"
    elif kind == "copy":
        value = f"jnp.asarray({code_of(bound['src'])}, {dtype})"
    else:
        key = state.key_expr()
        if key is None:
            raise Unsupported("T2J203", f"`{rule.torch}` needs a random key; pass an nnx.Rngs into this function")
        value = _random(rule, kind, bound, code_of(key), shape, dtype, axes)
    for name in ("jax.random.normal", "jax.numpy.zeros", "jax.nn.initializers.variance_scaling"):
        state.imports.ref(name)
    result = expr(value)
    state.init_targets[id(result)] = variable if variable is not None else target
    state.keep_alive.append(result)
    return result


def _own_parameter(state, target) -> bool:
    """``self.<attr>`` set to ``nn.Parameter(...)`` by the module (or a base in the file): an nnx.Param
    stored as torch stores it."""
    from torch2jax.analyze import mro

    cls = state.scope.cls
    if isinstance(target, cst.Attribute) and target.attr.value == "data":
        target = target.value
    return (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"
            and cls is not None and any(target.attr.value in state.facts.parameters.get(c, ()) for c in mro(state.facts, cls)))


FRESH = {"jnp.zeros", "jnp.ones", "jnp.empty", "jnp.full"}


def _fresh_array(node) -> tuple[str, str] | None:
    """(shape, dtype) of a new array nothing else refers to, ``jnp.zeros((1, 1, dim))`` (translated from
    ``torch.zeros(1, 1, dim)``): initialising it in place is making it with those values."""
    if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "astype"
            and len(node.args) == 1 and _fresh_array(node.func.value) is not None):  # torch.zeros(n).float()
        return _fresh_array(node.func.value)[0], code_of(node.args[0].value)
    if not (isinstance(node, cst.Call) and code_of(node.func) in FRESH and node.args and not node.args[0].keyword
            and not node.args[0].star):
        return None
    dtype_at = 2 if code_of(node.func) == "jnp.full" else 1
    dtype = next((a.value for a in node.args if a.keyword is not None and a.keyword.value == "dtype"), None)
    if dtype is None and len(node.args) > dtype_at and not node.args[dtype_at].keyword:
        dtype = node.args[dtype_at].value
    return code_of(node.args[0].value), code_of(dtype) if dtype is not None else "jnp.float32"


def _fresh_value(rule, bound: dict, state, fresh: cst.Call, shape: str, dtype: str) -> cst.BaseExpression:
    """``torch.zeros(2, n).uniform_(0, 1)`` -> ``jax.random.uniform(key, (2, n), jnp.float32, minval=0, maxval=1)``;
    ``torch.zeros(1, 1, d).fill_(eps)`` -> ``jnp.full((1, 1, d), eps, jnp.float32)``."""
    kind = rule.const["init"]
    if kind in ("zeros", "ones"):
        value = f"jnp.{kind}({shape}, {dtype})"
    elif kind == "constant":
        value = f"jnp.full({shape}, {code_of(bound['val'])}, {dtype})"
    elif kind in ("uniform", "normal", "trunc_normal"):
        key = state.key_expr()
        if key is None:
            raise Unsupported("T2J203", f"`{rule.torch}` needs a random key; pass an nnx.Rngs into this function")
        made = fresh.func.value if code_of(fresh.func).endswith(".astype") else fresh
        if not isinstance(made.args[0].value, (cst.Tuple, cst.List)):  # `jnp.zeros(n)`: n may be a size or a shape
            shape = f"{code_of(made)}.shape"
        value = _random(rule, kind, bound, code_of(key), shape, dtype, "")
    else:
        raise Unsupported("T2J302", f"`{rule.torch}` on a new array is not translated (its fans need a layer's layout)")
    for name in ("jax.random.normal", "jax.numpy.zeros"):
        state.imports.ref(name)
    return expr(value)


def _random(rule, kind: str, bound: dict, key: str, shape: str, dtype: str, axes: str) -> str:
    n = lambda name, default: _text(_number(bound.get(name), name) if name in bound else default)  # noqa: E731
    if kind == "uniform":
        return f"jax.random.uniform({key}, {shape}, {dtype}, minval={n('a', 0.0)}, maxval={n('b', 1.0)})"
    if kind == "normal":
        mean, std = n("mean", 0.0), n("std", 1.0)
        draw = f"jax.random.normal({key}, {shape}, {dtype})"
        scaled = draw if std in ("1.0", "1") else f"{_group(std)} * {draw}"
        return scaled if mean in ("0.0", "0") else f"{_group(mean)} + {scaled}"
    if kind == "trunc_normal":
        mean, std, a, b = n("mean", 0.0), n("std", 1.0), n("a", -2.0), n("b", 2.0)
        lower, upper = f"({a} - {_group(mean)}) / {_group(std)}", f"({b} - {_group(mean)}) / {_group(std)}"
        draw = f"jax.random.truncated_normal({key}, {lower}, {upper}, {shape}, {dtype})"
        return f"{_group(mean)} + {_group(std)} * {draw}"
    if kind == "orthogonal":
        return f"jax.nn.initializers.orthogonal(scale={n('gain', 1.0)})({key}, {shape}, {dtype})"
    if kind in ("xavier_uniform", "xavier_normal"):
        g = _number(bound.get("gain"), "gain") if "gain" in bound else 1.0
        scale, mode = (_square(g), "fan_avg")
    else:  # kaiming_uniform / kaiming_normal
        a = _number(bound.get("a"), "a") if "a" in bound else 0.0
        nonlinearity = literal(bound["nonlinearity"]) if "nonlinearity" in bound else "leaky_relu"
        mode = literal(bound["mode"]) if "mode" in bound else "fan_in"
        if nonlinearity is MISSING or mode is MISSING or (isinstance(a, str) and nonlinearity != "leaky_relu"):
            raise Unsupported("T2J302", f"`{rule.torch}`: mode, nonlinearity and a must be literals to translate")
        if isinstance(a, str):  # `a=math.sqrt(5)` (torch's own Linear reset): gain ** 2 = 2 / (1 + a ** 2)
            scale = f"2.0 / (1 + {_group(a)} ** 2)"
        else:
            g = gain(nonlinearity, a)
            if g is None:
                raise Unsupported("T2J302", f"`{rule.torch}` with nonlinearity={nonlinearity!r} is not translated")
            scale = _square(g)
    distribution = "uniform" if kind.endswith("uniform") else "normal"
    return (f"jax.nn.initializers.variance_scaling({scale}, {mode!r}, {distribution!r}{axes})"
            f"({key}, {shape}, {dtype})")


def _square(g) -> str:
    if isinstance(g, str):
        return f"{_group(g)} ** 2"
    return repr(round(g * g, 12))


def _group(text: str) -> str:
    return text if text.replace(".", "").replace("_", "").isalnum() else f"({text})"
