"""torch losses as JAX expressions with torch's exact semantics.

``loss_expression(torch_name, inputs, options)`` takes the loss (class ``torch.nn.MSELoss`` or
function ``torch.nn.functional.mse_loss``: they share the semantics), the source text of its
inputs (already translated) and of its options, and returns one expression. Literal options
are specialised (no masking code when nothing is masked); other expressions are carried
through; an option that changes the shape of the computation (``reduction``) must be literal.

Conventions of torch kept here: the class axis is 1 (inputs (N, C) or (N, C, d1, ...));
``ignore_index`` targets are left out of the mean's denominator; a weighted mean divides by the
sum of the targets' weights; BCELoss clamps each log at -100; KLDivLoss's 'mean' is the
elementwise mean ('batchmean' divides by the batch size); distances add ``eps`` as torch does.

Pure Python: no jax/torch/libcst import (conversion is static).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from torch2jax.training.errors import NotTranslatable

DEFAULT_IGNORE = -100


@dataclass(frozen=True)
class LossExpr:
    expr: str
    diagnostics: tuple[tuple[str, str, str], ...] = ()  # (code, severity, message)


# torch name (class and function) -> (call inputs, options in torch's positional order after the inputs, torch defaults).
_CE = ["weight", "size_average", "ignore_index", "reduce", "reduction", "label_smoothing"]
SIGNATURES: dict[str, tuple[list[str], list[str], dict[str, str]]] = {
    "mse": (["input", "target"], ["size_average", "reduce", "reduction", "weight"], {}),
    "l1": (["input", "target"], ["size_average", "reduce", "reduction"], {}),
    "smooth_l1": (["input", "target"], ["size_average", "reduce", "reduction", "beta"], {"beta": "1.0"}),
    "huber": (["input", "target"], ["reduction", "delta", "weight"], {"delta": "1.0"}),
    "cross_entropy": (["input", "target"], _CE, {"ignore_index": "-100", "label_smoothing": "0.0"}),
    "nll": (["input", "target"], ["weight", "size_average", "ignore_index", "reduce", "reduction"], {"ignore_index": "-100"}),
    "bce": (["input", "target"], ["weight", "size_average", "reduce", "reduction"], {}),
    "bce_with_logits": (["input", "target"], ["weight", "size_average", "reduce", "reduction", "pos_weight"], {}),
    "kl_div": (["input", "target"], ["size_average", "reduce", "reduction", "log_target"], {"log_target": "False"}),
    "cosine_embedding": (["input1", "input2", "target"], ["margin", "size_average", "reduce", "reduction"], {"margin": "0.0"}),
    "margin_ranking": (["input1", "input2", "target"], ["margin", "size_average", "reduce", "reduction"], {"margin": "0.0"}),
    "triplet_margin": (["anchor", "positive", "negative"],
                       ["margin", "p", "eps", "swap", "size_average", "reduce", "reduction"],
                       {"margin": "1.0", "p": "2.0", "eps": "1e-06", "swap": "False"}),
}
# The class form takes the options at construction, in the order of its __init__.
CLASS_OPTIONS = {
    "mse": ["size_average", "reduce", "reduction"],
    "l1": ["size_average", "reduce", "reduction"],
    "smooth_l1": ["size_average", "reduce", "reduction", "beta"],
    "huber": ["reduction", "delta"],
    "cross_entropy": _CE,
    "nll": ["weight", "size_average", "ignore_index", "reduce", "reduction"],
    "bce": ["weight", "size_average", "reduce", "reduction"],
    "bce_with_logits": ["weight", "size_average", "reduce", "reduction", "pos_weight"],
    "kl_div": ["size_average", "reduce", "reduction", "log_target"],
    "cosine_embedding": ["margin", "size_average", "reduce", "reduction"],
    "margin_ranking": ["margin", "size_average", "reduce", "reduction"],
    "triplet_margin": ["margin", "p", "eps", "swap", "size_average", "reduce", "reduction"],
}
NAMES = {
    "torch.nn.MSELoss": "mse", "torch.nn.functional.mse_loss": "mse",
    "torch.nn.L1Loss": "l1", "torch.nn.functional.l1_loss": "l1",
    "torch.nn.SmoothL1Loss": "smooth_l1", "torch.nn.functional.smooth_l1_loss": "smooth_l1",
    "torch.nn.HuberLoss": "huber", "torch.nn.functional.huber_loss": "huber",
    "torch.nn.CrossEntropyLoss": "cross_entropy", "torch.nn.functional.cross_entropy": "cross_entropy",
    "torch.nn.NLLLoss": "nll", "torch.nn.functional.nll_loss": "nll",
    "torch.nn.BCELoss": "bce", "torch.nn.functional.binary_cross_entropy": "bce",
    "torch.nn.BCEWithLogitsLoss": "bce_with_logits",
    "torch.nn.functional.binary_cross_entropy_with_logits": "bce_with_logits",
    "torch.nn.KLDivLoss": "kl_div", "torch.nn.functional.kl_div": "kl_div",
    "torch.nn.CosineEmbeddingLoss": "cosine_embedding", "torch.nn.functional.cosine_embedding_loss": "cosine_embedding",
    "torch.nn.MarginRankingLoss": "margin_ranking", "torch.nn.functional.margin_ranking_loss": "margin_ranking",
    "torch.nn.TripletMarginLoss": "triplet_margin", "torch.nn.functional.triplet_margin_loss": "triplet_margin",
}


def kind_of(torch_name: str) -> str:
    return NAMES[torch_name]


def _literal(text: str | None):
    if text is None:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return _NOT_LITERAL


_NOT_LITERAL = object()


def _group(text: str) -> str:
    """Parenthesised unless it is a name, an attribute, a call, a subscript or a number."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return f"({text})"
    if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)) and not (
        isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value < 0
    ):
        return text
    return f"({text})"


def reduction_of(options: dict[str, str]) -> str:
    """'mean' / 'sum' / 'none', from ``reduction`` or the deprecated ``size_average`` / ``reduce``."""
    size_average, reduce = options.get("size_average"), options.get("reduce")
    if size_average is not None or reduce is not None:
        sa, rd = _literal(size_average), _literal(reduce)
        if sa is _NOT_LITERAL or rd is _NOT_LITERAL:
            raise NotTranslatable("T2J302", "size_average/reduce must be literals to translate")
        if rd is False:
            return "none"
        return "sum" if sa is False else "mean"
    value = _literal(options.get("reduction", "'mean'"))
    if value not in ("mean", "sum", "none", "batchmean"):
        raise NotTranslatable("T2J302", f"reduction={options.get('reduction')} must be a literal 'mean', 'sum' or 'none'")
    return value


def _reduce(per_element: str, reduction: str) -> str:
    if reduction == "none":
        return per_element
    return f"{_group(per_element)}.{'sum' if reduction == 'sum' else 'mean'}()"


def loss_expression(torch_name: str, inputs: list[str], options: dict[str, str]) -> LossExpr:
    kind = NAMES[torch_name]
    reduction = reduction_of(options)
    if reduction == "batchmean" and kind != "kl_div":
        raise NotTranslatable("T2J302", "reduction='batchmean' is KLDivLoss's only")
    return globals()[f"_{kind}"](inputs, options, reduction)


def _present(options: dict[str, str], name: str) -> str | None:
    """The option's text, or None when it is absent or literally None."""
    text = options.get(name)
    if text is None or _literal(text) is None:
        return None
    return text


def _mse(inputs, options, reduction):
    if _present(options, "weight") is not None:
        raise NotTranslatable("T2J302", "mse_loss with weight is not translated")
    x, y = inputs
    return LossExpr(_reduce(f"optax.squared_error({x}, {y})", reduction))


def _l1(inputs, options, reduction):
    x, y = inputs
    return LossExpr(_reduce(f"jnp.abs({_group(x)} - {_group(y)})", reduction))


def _smooth_l1(inputs, options, reduction):
    x, y = inputs
    beta = options.get("beta", "1.0")
    value = _literal(beta)
    if value == 0:
        return LossExpr(_reduce(f"jnp.abs({_group(x)} - {_group(y)})", reduction))
    if value == 1:
        return LossExpr(_reduce(f"optax.huber_loss({x}, {y})", reduction))
    return LossExpr(_reduce(f"optax.huber_loss({x}, {y}, delta={beta}) / {_group(beta)}", reduction))


def _huber(inputs, options, reduction):
    if _present(options, "weight") is not None:
        raise NotTranslatable("T2J302", "huber_loss with weight is not translated")
    x, y = inputs
    delta = options.get("delta", "1.0")
    extra = "" if _literal(delta) == 1 else f", delta={delta}"
    return LossExpr(_reduce(f"optax.huber_loss({x}, {y}{extra})", reduction))


def _ignore_index(options) -> tuple[str | None, tuple]:
    """The ignore_index to mask, and an info diagnostic when torch's default is left unmasked."""
    text = options.get("ignore_index")
    if text is None:
        note = ("T2J301", "info", "targets equal to -100 (torch's default ignore_index) are not masked; pass "
                "ignore_index explicitly to keep torch's masking")
        return None, (note,)
    return text, ()


def _class_nll(logp: str, y: str, weight: str | None, ignore: str | None, reduction: str) -> str:
    """Negative log-likelihood of integer targets ``y`` under log-probabilities ``logp`` (class axis 1)."""
    index = f"jnp.where({_group(y)} != {ignore}, {y}, 0)" if ignore is not None else y
    picked = f"-jnp.take_along_axis({logp}, jnp.expand_dims({index}, 1), axis=1).squeeze(1)"
    factors = []
    if weight is not None:
        factors.append(f"{_group(weight)}[{index}]")
    if ignore is not None:
        factors.append(f"({_group(y)} != {ignore})")
    per = picked if not factors else f"{picked} * {' * '.join(factors)}"
    if reduction == "none":
        return per
    if reduction == "sum":
        return f"{_group(per)}.sum()"
    if not factors:
        return f"{_group(per)}.mean()"
    return f"{_group(per)}.sum() / {_group(' * '.join(factors))}.sum()"


def _cross_entropy(inputs, options, reduction):
    x, y = inputs
    weight = _present(options, "weight")
    ignore, notes = _ignore_index(options)
    smoothing = options.get("label_smoothing", "0.0")
    eps = _literal(smoothing)
    if eps == 0 and weight is None and ignore is None:
        return LossExpr(_reduce(f"optax.softmax_cross_entropy_with_integer_labels({x}, {y}, axis=1)", reduction), notes)
    if weight is None and ignore is None:  # smoothing alone: smoothed one-hot targets (classes on axis 1)
        classes = f"{_group(x)}.shape[1]"
        smoothed = (f"(1 - {_group(smoothing)}) * jax.nn.one_hot({y}, {classes}, axis=1) + "
                    f"{_group(smoothing)} / {classes}")
        per = f"optax.softmax_cross_entropy({x}, {smoothed}, axis=1)"
        return LossExpr(_reduce(per, reduction), notes)
    logp = f"jax.nn.log_softmax({x}, axis=1)"
    nll = _class_nll(logp, y, weight, ignore, reduction)
    if eps == 0:
        return LossExpr(nll, notes)
    # label smoothing: (1 - eps) * nll + eps * (mean over classes of -log p, weighted as torch weights it)
    smooth_terms = f"-{logp}" if weight is None else f"-{logp} * jnp.expand_dims({_group(weight)}, tuple(range(1, {_group(x)}.ndim - 1)))"
    classes = f"{_group(x)}.shape[1]"
    smooth = f"{_group(smooth_terms)}.sum(axis=1) / {classes}"
    if ignore is not None:
        smooth = f"{smooth} * ({_group(y)} != {ignore})"
    if reduction == "none":
        smooth_red = smooth
    elif reduction == "sum":
        smooth_red = f"{_group(smooth)}.sum()"
    elif weight is None and ignore is None:
        smooth_red = f"{_group(smooth)}.mean()"
    else:
        index = f"jnp.where({_group(y)} != {ignore}, {y}, 0)" if ignore is not None else y
        factors = ([f"{_group(weight)}[{index}]"] if weight is not None else []) + (
            [f"({_group(y)} != {ignore})"] if ignore is not None else [])
        smooth_red = f"{_group(smooth)}.sum() / {_group(' * '.join(factors))}.sum()"
    return LossExpr(f"(1 - {_group(smoothing)}) * {_group(nll)} + {_group(smoothing)} * {_group(smooth_red)}", notes)


def _nll(inputs, options, reduction):
    x, y = inputs
    ignore, notes = _ignore_index(options)
    return LossExpr(_class_nll(x, y, _present(options, "weight"), ignore, reduction), notes)


def _bce(inputs, options, reduction):
    x, y = inputs
    per = (f"-({_group(y)} * jnp.maximum(jnp.log({x}), -100.0) + (1 - {_group(y)}) * "
           f"jnp.maximum(jnp.log1p(-{_group(x)}), -100.0))")
    weight = _present(options, "weight")
    if weight is not None:
        per = f"{per} * {_group(weight)}"
    return LossExpr(_reduce(per, reduction))


def _bce_with_logits(inputs, options, reduction):
    x, y = inputs
    pos_weight = _present(options, "pos_weight")
    if pos_weight is None:
        per = f"optax.sigmoid_binary_cross_entropy({x}, {y})"
    else:
        per = (f"-({_group(pos_weight)} * {_group(y)} * jax.nn.log_sigmoid({x}) + (1 - {_group(y)}) * "
               f"jax.nn.log_sigmoid(-{_group(x)}))")
    weight = _present(options, "weight")
    if weight is not None:
        per = f"{per} * {_group(weight)}"
    return LossExpr(_reduce(per, reduction))


def _kl_div(inputs, options, reduction):
    x, y = inputs
    log_target = _literal(options.get("log_target", "False"))
    if log_target is _NOT_LITERAL:
        raise NotTranslatable("T2J302", "kl_div's log_target must be a literal to translate")
    if log_target:
        per = f"jnp.exp({y}) * ({_group(y)} - {_group(x)})"
    else:
        per = f"jax.scipy.special.xlogy({y}, {y}) - {_group(y)} * {_group(x)}"
    if reduction == "batchmean":
        return LossExpr(f"{_group(per)}.sum() / {_group(x)}.shape[0]")
    return LossExpr(_reduce(per, reduction))


def _cosine_embedding(inputs, options, reduction):
    x1, x2, y = inputs
    margin = options.get("margin", "0.0")
    cos = (f"({_group(x1)} * {_group(x2)}).sum(-1) / jnp.sqrt((({_group(x1)} ** 2).sum(-1) + 1e-12) * "
           f"(({_group(x2)} ** 2).sum(-1) + 1e-12))")
    neg = f"jnp.maximum({cos} - {_group(margin)}, 0.0)" if _literal(margin) != 0 else f"jnp.maximum({cos}, 0.0)"
    per = f"jnp.where({_group(y)} == 1, 1 - {cos}, jnp.where({_group(y)} == -1, {neg}, 0.0))"
    return LossExpr(_reduce(per, reduction))


def _margin_ranking(inputs, options, reduction):
    x1, x2, y = inputs
    margin = options.get("margin", "0.0")
    plus = "" if _literal(margin) == 0 else f" + {_group(margin)}"
    return LossExpr(_reduce(f"jnp.maximum(-{_group(y)} * ({_group(x1)} - {_group(x2)}){plus}, 0.0)", reduction))


def _triplet_margin(inputs, options, reduction):
    a, p, n = inputs
    margin, norm, eps = options.get("margin", "1.0"), options.get("p", "2.0"), options.get("eps", "1e-06")
    swap = _literal(options.get("swap", "False"))
    if swap is _NOT_LITERAL:
        raise NotTranslatable("T2J302", "triplet_margin_loss's swap must be a literal to translate")

    def dist(u, v):
        return f"jnp.linalg.norm({_group(u)} - {_group(v)} + {eps}, ord={norm}, axis=-1)"

    d_ap, d_an = dist(a, p), dist(a, n)
    if swap:
        d_an = f"jnp.minimum({d_an}, {dist(p, n)})"
    return LossExpr(_reduce(f"jnp.maximum({d_ap} - {d_an} + {_group(margin)}, 0.0)", reduction))
