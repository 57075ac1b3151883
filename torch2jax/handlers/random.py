"""Random numbers: JAX needs an explicit key. Outside modules it comes from the ``rngs`` in
scope (``torch.randn(3)`` -> ``jax.random.normal(rngs.params(), (3,))``); a module that draws at
call time (dropout, sampling, reparameterisation) holds ``self.rngs`` and draws from it, as
NNX's own Dropout does."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind, build, target_arguments
from torch2jax.diagnostics import Unsupported
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, call, code_of, expr, literal, simple, value_expr


def _key(state, rule, stream: str = "params"):
    key = state.key_expr(stream)
    if key is None:
        raise Unsupported("T2J203", f"`{rule.torch}` needs a random key; pass an nnx.Rngs into this function")
    return key


@handler("random")
def random(rule, node, state, receiver):
    """``torch.randn(2, 3)``, ``torch.rand(...)``: the rule's jax.random function with a key first."""
    key = _key(state, rule)
    kwargs = target_arguments(rule, bind(rule, node), state.imports)
    return build(rule, state.imports.ref(rule.target), kwargs, extra_first=[key])


@handler("random_like")
def random_like(rule, node, state, receiver):
    """``torch.randn_like(x)`` -> ``jax.random.normal(key, x.shape, x.dtype)``."""
    bound = bind(rule, node, receiver)
    x = bound["input"]
    if not simple(x):
        raise Unsupported("T2J302", f"`{rule.torch}` of an expression: bind it to a name first")
    dtype = bound.get("dtype") or cst.Attribute(value=x, attr=cst.Name("dtype"))
    shape = cst.Attribute(value=x, attr=cst.Name("shape"))
    if rule.target.endswith("randint"):
        low, high = (bound.get("low"), bound.get("high"))
        if high is None:  # randint_like(x, high)
            low, high = value_expr(0), low
        # integers drawn, then cast: torch gives x's dtype, a float one too (jax.random.randint takes only integer dtypes)
        draw = call(state.imports.ref(rule.target), [_key(state, rule, "sample"), shape, low or value_expr(0), high])
        return call(cst.Attribute(value=draw, attr=cst.Name("astype")), [dtype])
    return call(state.imports.ref(rule.target), [_key(state, rule, "sample"), shape, dtype])


@handler("randint")
def randint(rule, node, state, receiver):
    """``torch.randint(low=0, high, size)`` -> ``jax.random.randint(key, size, low, high)``."""
    positional = [a.value for a in node.args if a.keyword is None]
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    if len(positional) == 2:
        low, high, size = value_expr(0), positional[0], positional[1]
    elif len(positional) == 3:
        low, high, size = positional
    else:
        low = keywords.get("low", positional[0] if positional else value_expr(0))
        high, size = keywords.get("high"), keywords.get("size")
        if high is None or size is None:
            raise Unsupported("T2J302", "`torch.randint` needs high and size to translate")
    kwargs = {}
    if "dtype" in keywords:
        kwargs["dtype"] = keywords["dtype"]
    return call(state.imports.ref("jax.random.randint"), [_key(state, rule), size, low, high], kwargs)


@handler("bernoulli")
def bernoulli(rule, node, state, receiver):
    """``torch.bernoulli(p)`` -> ``jax.random.bernoulli(key, p).astype(p.dtype)`` (torch returns p's dtype);
    ``torch.bernoulli(x, p)`` draws with the probability ``p`` in ``x``'s shape and dtype."""
    bound = bind(rule, node, receiver)
    x = bound["input"]
    if not simple(x):
        raise Unsupported("T2J302", "`torch.bernoulli` of an expression: bind the probabilities to a name first")
    if "p" in bound:
        shape = cst.Attribute(value=x, attr=cst.Name("shape"))
        draw = call(state.imports.ref("jax.random.bernoulli"), [_key(state, rule, "sample"), bound["p"], shape])
    else:
        draw = call(state.imports.ref("jax.random.bernoulli"), [_key(state, rule, "sample"), x])
    return call(cst.Attribute(value=draw, attr=cst.Name("astype")), [cst.Attribute(value=x, attr=cst.Name("dtype"))])


@handler("multinomial")
def multinomial(rule, node, state, receiver):
    """``torch.multinomial(probs, 1)`` -> one categorical draw per row, shape (..., 1)."""
    bound = bind(rule, node, receiver)
    probs = bound["input"]
    n = literal(bound.get("num_samples", value_expr(1)))
    replacement = literal(bound["replacement"]) if "replacement" in bound else False
    if n is MISSING or not isinstance(n, int) or (n > 1 and replacement is not True):
        raise Unsupported("T2J302", "`torch.multinomial` is translated for num_samples=1, or with replacement=True")
    logits = call(state.imports.ref("jax.numpy.log"), [probs])
    key = _key(state, rule, "sample")
    categorical = state.imports.ref("jax.random.categorical")
    if n == 1:
        return expr(f"{code_of(categorical)}({code_of(key)}, {code_of(logits)}, axis=-1)[..., None]")
    shape = f"({n},) + {code_of(probs)}.shape[:-1]"
    return expr(f"jnp.moveaxis({code_of(categorical)}({code_of(key)}, {code_of(logits)}, axis=-1, shape={shape}), 0, -1)")


@handler("randperm")
def randperm(rule, node, state, receiver):
    bound = bind(rule, node)
    return call(state.imports.ref("jax.random.permutation"), [_key(state, rule), bound["n"]])


@handler("normal")
def normal(rule, node, state, receiver):
    """``torch.normal(mean, std, size)`` -> ``mean + std * jax.random.normal(key, size)``; with tensor
    mean/std, the shape is theirs broadcast."""
    bound = bind(rule, node)
    mean, std = bound.get("mean", value_expr(0.0)), bound.get("std", value_expr(1.0))
    key = _key(state, rule, "sample")
    if "size" in bound:
        shape = bound["size"]
    else:
        shape = expr(f"jnp.broadcast_shapes(jnp.shape({code_of(mean)}), jnp.shape({code_of(std)}))")
        state.imports.ref("jax.numpy.shape")
    draw = call(state.imports.ref("jax.random.normal"), [key, shape])
    return expr(f"{_paren(mean)} + {_paren(std)} * {code_of(draw)}")


def _paren(node) -> str:
    text = code_of(node)
    return text if simple(node) or literal(node) is not MISSING else f"({text})"


@handler("functional_dropout")
def functional_dropout(rule, node, state, receiver):
    """``F.dropout(x, p, training)`` -> ``nnx.Dropout(p)(x, deterministic=..., rngs=...)``; channel
    dropout (``dropout2d``) drops whole feature maps: ``broadcast_dims`` over the spatial axes."""
    bound = bind(rule, node)
    rngs = state.rngs_at_call()
    if rngs is None:
        raise Unsupported("T2J203", f"`{rule.torch}` needs random numbers; pass an nnx.Rngs into this function")
    p = bound.get("p", value_expr(0.5))
    options = {}
    if rule.spatial_dims:
        options["broadcast_dims"] = value_expr(tuple(range(2, 2 + rule.spatial_dims)))
    layer = call(state.imports.ref("flax.nnx.Dropout"), [p], options)
    training = bound.get("training", value_expr(True))
    if code_of(training) == "(not self.deterministic)" or code_of(training) == "not self.deterministic":
        deterministic = expr("self.deterministic")
    elif literal(training) in (True, False):
        deterministic = value_expr(not literal(training))
    else:
        deterministic = expr(f"not {_paren(training)}")
    return call(layer, [bound["input"]], {"deterministic": deterministic, "rngs": rngs})
