"""Layers that draw random numbers in training and that Flax does not have: ``nn.AlphaDropout`` /
``F.alpha_dropout`` and their channel forms ``nn.FeatureAlphaDropout`` / ``F.feature_alpha_dropout``
(dropout that keeps SELU's zero mean and unit variance), and ``nn.RReLU`` / ``F.rrelu`` (a leaky ReLU
whose slope is drawn per element in training).

Each is a function defined once in the output with torch's arguments and a keyword ``rngs`` to draw
from (the module's own ``self.rngs`` at the call, as ``F.dropout``'s translation has), and, for the
modules, a small module holding ``rngs`` and the ``deterministic`` flag that ``model.train()`` /
``model.eval()`` set: the alpha dropouts subclass ``nnx.Dropout`` (its ``rate``, stream and flag, so
``torch2jax verify`` turns them off as it turns off dropout), RReLU is its own. In eval mode (and for the functional forms called
without ``training``, torch's default False) they compute what torch does then: the identity, and a
leaky ReLU with slope ``(lower + upper) / 2``."""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.handlers.recurrent import same_call
from torch2jax.handlers.support import class_definer, define_helper, helper_name
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, arg, call, code_of, expr, literal, simple, value_expr

ALPHA_DROPOUT = '''def alpha_dropout(input, p=0.5, training=False, *, feature=False, rngs=None):
    """torch's F.alpha_dropout (feature=True: F.feature_alpha_dropout, whole channels of axis 1 at once): in
    training, dropped values become SELU's negative saturation and all values are scaled and shifted so that
    zero mean and unit variance are kept; the identity otherwise. rngs: the nnx.Rngs (or stream) to draw from."""
    if not training or p == 0:
        return input
    if p == 1:
        return jnp.zeros_like(input)
    alpha = 1.7580993408473766  # SELU's scale * alpha: its negative saturation is -alpha
    a = ((alpha**2 * p + 1) * (1 - p)) ** -0.5
    shape = input.shape[:2] + (1,) * (input.ndim - 2) if feature else input.shape
    key = rngs() if isinstance(rngs, nnx.RngStream) else rngs.dropout()  # an nnx.Dropout's stream, or an nnx.Rngs
    keep = jax.random.bernoulli(key, 1 - p, shape)
    return jnp.where(keep, input * a + alpha * a * p, alpha * a * (p - 1)).astype(input.dtype)
'''

ALPHA_DROPOUT_CLASS = '''class {name}(nnx.Dropout):
    """torch.nn.AlphaDropout: nnx.Dropout's rate, rngs and train / eval flag, masking as {helper} does."""

    feature = False

    def __init__(self, p=0.5, inplace=False, *, rngs: nnx.Rngs):
        super().__init__(p, rngs=rngs)

    def __call__(self, input):
        return {helper}(input, self.rate, not self.deterministic, feature=self.feature, rngs=self.rngs)
'''

FEATURE_ALPHA_DROPOUT_CLASS = '''class {name}({base}):
    """torch.nn.FeatureAlphaDropout: {base} of whole channels (axis 1)."""

    feature = True
'''

RRELU = '''def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, *, rngs=None):
    """torch's F.rrelu: negative values scaled by a slope drawn uniformly from [lower, upper) for each element in
    training, by (lower + upper) / 2 otherwise. rngs: the nnx.Rngs to draw from."""
    if not training:
        return jax.nn.leaky_relu(input, negative_slope=(lower + upper) / 2)
    slope = jax.random.uniform(rngs.dropout(), input.shape, input.dtype, lower, upper)
    return jnp.where(input > 0, input, input * slope)
'''

RRELU_CLASS = '''class {name}(nnx.Module):
    """torch.nn.RReLU: {helper} with a slope drawn for each element in train mode, (lower + upper) / 2 in eval
    mode (model.train() / model.eval() set `deterministic`, as for nnx.Dropout)."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False, *, rngs: nnx.Rngs):
        self.lower, self.upper, self.rngs = lower, upper, rngs
        self.deterministic = False

    def __call__(self, input):
        return {helper}(input, self.lower, self.upper, not self.deterministic, rngs=self.rngs)
'''

FUNCTIONS = {"alpha_dropout": ALPHA_DROPOUT, "rrelu": RRELU}


def _function(state, base: str) -> str:
    name = helper_name(state, base)
    define_helper(state, name, FUNCTIONS[base].replace(f"def {base}(", f"def {name}(", 1))
    return name


def _drawn(rule, node, state, helper: str, arguments: list[str], feature: bool = False):
    """The helper called with torch's arguments as written (its order is torch's, up to ``training``;
    ``inplace`` goes) and the rngs in scope."""
    rngs = state.rngs_at_call()
    if rngs is None:
        raise Unsupported("T2J203", f"`{rule.torch}` in training needs random numbers; pass an nnx.Rngs into this function")
    args = [a for a in node.args if a.keyword is None][:len(arguments)]
    args += [a for a in node.args if a.keyword is not None and a.keyword.value != "inplace"]
    args = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args]
    if feature:
        args.append(arg(value_expr(True), "feature"))
    args.append(arg(rngs, "rngs"))
    return node.with_changes(func=cst.Name(_function(state, helper)), args=args)


def _training(bound):
    """torch's ``training`` argument as a literal (False when not given, torch's default), or MISSING."""
    return literal(bound["training"]) if "training" in bound else False


@handler("alpha_dropout")
def alpha_dropout(rule, node, state, receiver):
    """``F.alpha_dropout(x, p, self.training)`` -> ``alpha_dropout(x, p, not self.deterministic, rngs=self.rngs)``;
    with ``training`` False (torch's default) it is ``x`` itself."""
    bound = bind(rule, node)
    if _training(bound) is False:
        return bound["input"]
    return _drawn(rule, node, state, "alpha_dropout", ["input", "p", "training"],
                  feature=rule.torch.endswith("feature_alpha_dropout"))


@handler("rrelu")
def rrelu(rule, node, state, receiver):
    """``F.rrelu(x, lower, upper, self.training)`` -> ``rrelu(x, lower, upper, not self.deterministic, rngs=...)``;
    with ``training`` False (torch's default), the leaky ReLU torch computes then."""
    bound = bind(rule, node)
    if _training(bound) is not False:
        return _drawn(rule, node, state, "rrelu", ["input", "lower", "upper", "training"])
    lower = _operand(bound["lower"]) if "lower" in bound else "1 / 8"
    upper = _operand(bound["upper"]) if "upper" in bound else "1 / 3"
    slope = expr(f"({lower} + {upper}) / 2")
    return call(state.imports.ref("jax.nn.leaky_relu"), [bound["input"]], {"negative_slope": slope})


def _operand(node) -> str:
    text = code_of(node)
    return text if simple(node) or literal(node) is not MISSING else f"({text})"


@handler("random_layer")
def random_layer(rule, node, state, receiver):
    """``nn.AlphaDropout(0.2)`` -> ``AlphaDropout(0.2, rngs=rngs)``: the module defined once in the output, with
    torch's signature (the arguments stay as written)."""
    bind(rule, node)
    return same_call(node, random_layer_class(rule, state), state)


@class_definer("random_layer")
def random_layer_class(rule, state) -> str:
    torch_name = rule.torch.rpartition(".")[2]
    if torch_name == "RReLU":
        name, helper = helper_name(state, "RReLU"), _function(state, "rrelu")
        define_helper(state, name, RRELU_CLASS.format(name=name, helper=helper), needs=(helper,))
        return name
    helper = _function(state, "alpha_dropout")
    base = helper_name(state, "AlphaDropout")
    define_helper(state, base, ALPHA_DROPOUT_CLASS.format(name=base, helper=helper), needs=(helper,))
    if torch_name == "AlphaDropout":
        return base
    name = helper_name(state, "FeatureAlphaDropout")
    define_helper(state, name, FEATURE_ALPHA_DROPOUT_CLASS.format(name=name, base=base), needs=(base,))
    return name
