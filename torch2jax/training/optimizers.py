"""torch optimizers as Optax transformations with torch's exact update rules.

``optax_for(torch_name, args)`` takes the optimizer's arguments by name (source text, bound
through ``SIGNATURES``) and returns the Optax expression, plus any module-level helper it needs.
Optax's own aliases are used where they compute exactly what torch computes:

- SGD: ``optax.sgd`` (torch's first momentum step uses the raw gradient, as ``optax.trace`` does);
  ``weight_decay`` -> ``optax.add_decayed_weights`` first; ``maximize`` -> ``optax.scale(-1.0)`` first;
- Adam / AdamW: ``optax.adam`` (L2 decay added to the gradient first) / ``optax.adamw`` (decoupled,
  torch's default 1e-2 always written out);
- RMSprop: ``optax.rmsprop(..., eps_in_sqrt=False)`` (torch adds eps outside the root), centered and
  momentum included; Adadelta: ``optax.adadelta``; Adamax: ``optax.adamax`` (eps inside the max, as torch).

Where Optax differs, a short module-level ``scale_by_torch_*`` transformation is emitted once and
chained with ``optax.scale_by_learning_rate``: Adagrad (eps outside the root, lr_decay, initial
accumulator), NAdam (torch's momentum-decay schedule), RAdam (eps outside the un-corrected root),
AMSGrad (the maximum of the raw second moment, bias-corrected after). SGD's ``dampening`` has no
exact Optax form and is reported.

``settable_lr=True`` wraps the result in ``optax.inject_hyperparams`` so that the rate is always at
``optimizer.opt_state.hyperparams['learning_rate']`` (see ``set_lr_statement``); ``schedule`` puts an
Optax schedule in place of the rate (Optax evaluates it at the update count: torch's per-batch
``scheduler.step()``). Pure Python: no jax/optax/torch import here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from torch2jax.training.errors import NotTranslatable

# torch class -> positional parameters after `params`, and torch's defaults (source text).
SIGNATURES: dict[str, tuple[list[str], dict[str, str]]] = {
    "torch.optim.SGD": (["lr", "momentum", "dampening", "weight_decay", "nesterov"],
                        {"lr": "0.001", "momentum": "0", "dampening": "0", "weight_decay": "0", "nesterov": "False"}),
    "torch.optim.Adam": (["lr", "betas", "eps", "weight_decay", "amsgrad"],
                         {"lr": "0.001", "betas": "(0.9, 0.999)", "eps": "1e-08", "weight_decay": "0", "amsgrad": "False"}),
    "torch.optim.AdamW": (["lr", "betas", "eps", "weight_decay", "amsgrad"],
                          {"lr": "0.001", "betas": "(0.9, 0.999)", "eps": "1e-08", "weight_decay": "0.01",
                           "amsgrad": "False"}),
    "torch.optim.RMSprop": (["lr", "alpha", "eps", "weight_decay", "momentum", "centered"],
                            {"lr": "0.01", "alpha": "0.99", "eps": "1e-08", "weight_decay": "0", "momentum": "0",
                             "centered": "False"}),
    "torch.optim.Adagrad": (["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"],
                            {"lr": "0.01", "lr_decay": "0", "weight_decay": "0", "initial_accumulator_value": "0",
                             "eps": "1e-10"}),
    "torch.optim.Adadelta": (["lr", "rho", "eps", "weight_decay"],
                             {"lr": "1.0", "rho": "0.9", "eps": "1e-06", "weight_decay": "0"}),
    "torch.optim.Adamax": (["lr", "betas", "eps", "weight_decay"],
                           {"lr": "0.002", "betas": "(0.9, 0.999)", "eps": "1e-08", "weight_decay": "0"}),
    "torch.optim.NAdam": (["lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay"],
                          {"lr": "0.002", "betas": "(0.9, 0.999)", "eps": "1e-08", "weight_decay": "0",
                           "momentum_decay": "0.004", "decoupled_weight_decay": "False"}),
    "torch.optim.RAdam": (["lr", "betas", "eps", "weight_decay", "decoupled_weight_decay"],
                          {"lr": "0.001", "betas": "(0.9, 0.999)", "eps": "1e-08", "weight_decay": "0",
                           "decoupled_weight_decay": "False"}),
}
IRRELEVANT = {"foreach", "fused", "capturable", "differentiable"}  # how torch runs, not what it computes
KEYWORDS = {"maximize", "decoupled_weight_decay"} | IRRELEVANT

SUPPORT: dict[str, str] = {
    "scale_by_torch_adagrad": '''def scale_by_torch_adagrad(initial_accumulator_value=0.0, eps=1e-10, lr_decay=0.0):
    """torch.optim.Adagrad's update without the learning rate: g / (sqrt(sum of g**2) + eps) / (1 + (t - 1) * lr_decay)."""

    def init(params):
        return jnp.zeros([], jnp.int32), jax.tree.map(lambda p: jnp.full_like(p, initial_accumulator_value), params)

    def update(grads, state, params=None):
        count, sums = state
        sums = jax.tree.map(lambda s, g: s + g * g, sums, grads)
        decay = 1 + count * lr_decay
        updates = jax.tree.map(lambda g, s: g / (jnp.sqrt(s) + eps) / decay, grads, sums)
        return updates, (count + 1, sums)

    return optax.GradientTransformation(init, update)
''',
    "scale_by_torch_radam": '''def scale_by_torch_radam(b1=0.9, b2=0.999, eps=1e-8):
    """torch.optim.RAdam's update without the learning rate (eps added outside the uncorrected root)."""
    # The rectification term cancels catastrophically in float32 during the first steps; torch computes
    # it in float64, and so do we, once, for the first 10,000 steps (later steps do not cancel).
    rho_inf = 2 / (1 - b2) - 1
    steps = np.arange(1, 10_001, dtype=np.float64)
    rho = rho_inf - 2 * steps * b2**steps / (1 - b2**steps)
    rect = np.sqrt(np.clip((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho), 0, None))
    early = jnp.asarray(np.where(rho > 5.0, rect, 0.0), jnp.float32)

    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return jnp.zeros([], jnp.int32), zeros, zeros

    def update(grads, state, params=None):
        count, mu, nu = state
        count = count + 1
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, mu, grads)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, nu, grads)
        t = count.astype(jnp.float32)
        correction1, correction2 = 1 - b1**t, 1 - b2**t
        rho_t = rho_inf - 2 * t * b2**t / correction2
        later = jnp.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        rectification = jnp.where(count <= early.shape[0], early[jnp.minimum(count, early.shape[0]) - 1], later)

        def scale(m, v):
            adaptive = jnp.sqrt(correction2) / (jnp.sqrt(v) + eps)
            return m / correction1 * jnp.where(rectification > 0, rectification * adaptive, 1.0)

        return jax.tree.map(scale, mu, nu), (count, mu, nu)

    return optax.GradientTransformation(init, update)
''',
    "scale_by_torch_nadam": '''def scale_by_torch_nadam(b1=0.9, b2=0.999, eps=1e-8, momentum_decay=0.004):
    """torch.optim.NAdam's update without the learning rate (torch's momentum-decay schedule)."""

    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return jnp.zeros([], jnp.int32), jnp.ones([], jnp.float32), zeros, zeros

    def update(grads, state, params=None):
        count, mu_product, m, v = state
        count = count + 1
        t = count.astype(jnp.float32)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_product = mu_product * mu
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        correction2 = 1 - b2**t

        def step(g, m, v):
            denom = jnp.sqrt(v / correction2) + eps
            return (g * (1 - mu) / (1 - mu_product) + m * mu_next / (1 - mu_product * mu_next)) / denom

        return jax.tree.map(step, grads, m, v), (count, mu_product, m, v)

    return optax.GradientTransformation(init, update)
''',
    "scale_by_torch_amsgrad": '''def scale_by_torch_amsgrad(b1=0.9, b2=0.999, eps=1e-8):
    """torch's AMSGrad (Adam/AdamW amsgrad=True) without the learning rate: the maximum of the raw second moment."""

    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return jnp.zeros([], jnp.int32), zeros, zeros, zeros

    def update(grads, state, params=None):
        count, mu, nu, nu_max = state
        count = count + 1
        t = count.astype(jnp.float32)
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, mu, grads)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, nu, grads)
        nu_max = jax.tree.map(jnp.maximum, nu_max, nu)
        updates = jax.tree.map(
            lambda m, v: m / (1 - b1**t) / (jnp.sqrt(v) / jnp.sqrt(1 - b2**t) + eps), mu, nu_max
        )
        return updates, (count, mu, nu, nu_max)

    return optax.GradientTransformation(init, update)
''',
}


@dataclass(frozen=True)
class OptaxExpr:
    expr: str
    lr_settable: bool = False
    support: tuple[str, ...] = ()  # names in SUPPORT to emit once at module level
    diagnostics: tuple[tuple[str, str, str], ...] = ()  # (code, severity, message)


def _literal(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError):
        return _EXPRESSION


_EXPRESSION = object()


def _zero(text: str | None) -> bool:
    return text is None or (_literal(text) is not _EXPRESSION and not isinstance(_literal(text), bool) and _literal(text) == 0)


def _flag(args: dict, name: str, default: bool = False) -> bool:
    text = args.get(name)
    if text is None:
        return default
    value = _literal(text)
    if not isinstance(value, bool):
        raise NotTranslatable("T2J302", f"`{name}={text}` must be a literal True or False to translate")
    return value


def _betas(args: dict, default: str) -> tuple[str, str]:
    text = args.get("betas", default)
    value = _literal(text)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return repr(float(value[0])), repr(float(value[1]))
    return f"{text}[0]", f"{text}[1]"


@dataclass
class _Build:
    before: list[str] = field(default_factory=list)  # transformations before the optimizer's own
    support: list[str] = field(default_factory=list)


def clip_transform(clip: tuple[str, str]) -> str:
    """``clip_grad_norm_`` / ``clip_grad_value_`` as the Optax transformation that goes first."""
    kind, value = clip
    return f"optax.clip_by_global_norm({value})" if kind == "norm" else f"optax.clip({value})"


def optax_for(torch_name: str, args: dict[str, str], *, settable_lr: bool = False, schedule: str | None = None,
              clip: tuple[str, str] | None = None, momentum_schedule: str | None = None) -> OptaxExpr:
    """The Optax transformation for ``torch_name(params, **args)``; ``args`` are source texts by name.

    ``momentum_schedule`` (OneCycleLR's momentum cycle) is injected as SGD's ``momentum`` or Adam's
    ``b1``, which Optax then evaluates at each update like the rate."""
    if torch_name not in SIGNATURES:
        raise NotTranslatable("T2J302", f"`{torch_name}` has no Optax translation")
    unknown = set(args) - set(SIGNATURES[torch_name][0]) - KEYWORDS
    if unknown:
        raise NotTranslatable("T2J302", f"`{torch_name}` argument(s) {sorted(unknown)} are not translated")
    defaults = SIGNATURES[torch_name][1]
    full = {**defaults, **{k: v for k, v in args.items() if k not in IRRELEVANT}}
    build = _Build()
    if clip is not None:
        build.before.append(clip_transform(clip))
    if _flag(full, "maximize"):
        build.before.append("optax.scale(-1.0)")
    core = _CORES[torch_name.rsplit(".", 1)[-1]](full, build)  # a function of the learning-rate text
    lr = schedule if schedule is not None else full["lr"]
    parts = build.before
    support = tuple(dict.fromkeys(build.support))
    if not settable_lr and momentum_schedule is None:
        text = core(lr)
        if parts:
            text = f"optax.chain({', '.join([*parts, text])})"
        return OptaxExpr(text, False, support)
    inner = core("learning_rate")
    alias = _plain_alias(inner)
    if momentum_schedule is not None:
        name = {"optax.sgd": "momentum", "optax.adam": "b1", "optax.adamw": "b1"}.get(alias[0] if alias else "")
        if name is None or parts:
            raise NotTranslatable("T2J204", f"OneCycleLR's momentum cycle is translated for SGD, Adam and AdamW "
                                  f"without extra options; set cycle_momentum=False or change the optimizer")
        rest = alias[1]
        kept = [item for item in rest.split(", ") if item and not item.startswith(f"{name}=")]
        options = "".join(f", {item}" for item in kept)
        return OptaxExpr(f"optax.inject_hyperparams({alias[0]})(learning_rate={lr}{options}, {name}={momentum_schedule})",
                         True, support)
    if not parts and alias is not None:
        name, rest = alias
        return OptaxExpr(f"optax.inject_hyperparams({name})(learning_rate={lr}{rest})", True, support)
    chained = f"optax.chain({', '.join([*parts, inner])})" if parts else inner
    return OptaxExpr(f"optax.inject_hyperparams(lambda learning_rate: {chained})(learning_rate={lr})", True, support)


def _plain_alias(text: str):
    """``optax.sgd(learning_rate, momentum=0.9)`` -> ("optax.sgd", ", momentum=0.9")."""
    head, sep, tail = text.partition("(learning_rate")
    if not sep or "(" in head or not head.startswith("optax."):
        return None
    if not tail.endswith(")") or tail.count("(") != tail.count(")") - 1:
        return None
    return head, tail[:-1]


def _keywords(pairs) -> str:
    return "".join(f", {k}={v}" for k, v in pairs)


def _unless_default(pairs, optax_defaults: dict) -> list:
    """Options whose literal value is already Optax's default are left out (idiomatic output)."""
    return [(k, v) for k, v in pairs if not (k in optax_defaults and _literal(v) == optax_defaults[k])]


def _l2(full: dict, build: _Build) -> None:
    if not _zero(full.get("weight_decay")):
        build.before.append(f"optax.add_decayed_weights({full['weight_decay']})")


def _sgd(full, build):
    if not _zero(full.get("dampening")):
        raise NotTranslatable("T2J302", "SGD with dampening has no exact Optax form (torch's first step is undampened)")
    _l2(full, build)
    nesterov = _flag(full, "nesterov")
    options = []
    if not _zero(full.get("momentum")):
        options.append(("momentum", full["momentum"]))
    elif nesterov:
        raise NotTranslatable("T2J302", "SGD with nesterov=True needs a momentum")
    if nesterov:
        options.append(("nesterov", "True"))
    return lambda lr: f"optax.sgd({lr}{_keywords(options)})"


def _adam(full, build, decoupled_default=False):
    b1, b2 = _betas(full, "(0.9, 0.999)")
    eps = full["eps"]
    decoupled = decoupled_default or _flag(full, "decoupled_weight_decay")
    wd = full.get("weight_decay")
    if _flag(full, "amsgrad"):
        if not decoupled:
            _l2(full, build)
        build.support.append("scale_by_torch_amsgrad")
        scale = f"scale_by_torch_amsgrad(b1={b1}, b2={b2}, eps={eps})"
        decay = f", optax.add_decayed_weights({wd})" if decoupled and not _zero(wd) else ""
        return lambda lr: f"optax.chain({scale}{decay}, optax.scale_by_learning_rate({lr}))"
    options = _unless_default([("b1", b1), ("b2", b2), ("eps", eps)], {"b1": 0.9, "b2": 0.999, "eps": 1e-8})
    if decoupled:  # Optax's default decay is 1e-4, torch's AdamW 1e-2: always written out
        return lambda lr: f"optax.adamw({lr}{_keywords([*options, ('weight_decay', wd)])})"
    _l2(full, build)
    return lambda lr: f"optax.adam({lr}{_keywords(options)})"


def _adamw(full, build):
    return _adam(full, build, decoupled_default=True)


def _rmsprop(full, build):
    _l2(full, build)
    options = [("decay", full["alpha"]), *_unless_default([("eps", full["eps"])], {"eps": 1e-8}), ("eps_in_sqrt", "False")]
    if _flag(full, "centered"):
        options.append(("centered", "True"))
    if not _zero(full.get("momentum")):
        options.append(("momentum", full["momentum"]))
    return lambda lr: f"optax.rmsprop({lr}{_keywords(options)})"


def _adagrad(full, build):
    _l2(full, build)
    build.support.append("scale_by_torch_adagrad")
    options = [(k, full[k]) for k in ("initial_accumulator_value", "eps", "lr_decay")]
    scale = f"scale_by_torch_adagrad({', '.join(f'{k}={v}' for k, v in options)})"
    return lambda lr: f"optax.chain({scale}, optax.scale_by_learning_rate({lr}))"


def _adadelta(full, build):
    _l2(full, build)
    options = _unless_default([("rho", full["rho"]), ("eps", full["eps"])], {"rho": 0.9, "eps": 1e-6})
    return lambda lr: f"optax.adadelta({lr}{_keywords(options)})"


def _adamax(full, build):
    _l2(full, build)
    b1, b2 = _betas(full, "(0.9, 0.999)")
    options = _unless_default([("b1", b1), ("b2", b2), ("eps", full["eps"])], {"b1": 0.9, "b2": 0.999, "eps": 1e-8})
    return lambda lr: f"optax.adamax({lr}{_keywords(options)})"


def _decoupled_chain(full, build, scale: str):
    if _flag(full, "decoupled_weight_decay"):
        wd = full.get("weight_decay")
        decay = f", optax.add_decayed_weights({wd})" if not _zero(wd) else ""
    else:
        _l2(full, build)
        decay = ""
    return lambda lr: f"optax.chain({scale}{decay}, optax.scale_by_learning_rate({lr}))"


def _nadam(full, build):
    b1, b2 = _betas(full, "(0.9, 0.999)")
    build.support.append("scale_by_torch_nadam")
    scale = f"scale_by_torch_nadam(b1={b1}, b2={b2}, eps={full['eps']}, momentum_decay={full['momentum_decay']})"
    return _decoupled_chain(full, build, scale)


def _radam(full, build):
    b1, b2 = _betas(full, "(0.9, 0.999)")
    build.support.append("scale_by_torch_radam")
    return _decoupled_chain(full, build, f"scale_by_torch_radam(b1={b1}, b2={b2}, eps={full['eps']})")


_CORES = {"SGD": _sgd, "Adam": _adam, "AdamW": _adamw, "RMSprop": _rmsprop, "Adagrad": _adagrad,
          "Adadelta": _adadelta, "Adamax": _adamax, "NAdam": _nadam, "RAdam": _radam}


def set_lr_statement(optimizer: str, value: str) -> str:
    """The statement that sets the rate of an ``nnx.Optimizer`` built with ``settable_lr=True``."""
    return f"{optimizer}.opt_state.hyperparams['learning_rate'][...] = {value}"


def get_lr_expression(optimizer: str) -> str:
    return f"{optimizer}.opt_state.hyperparams['learning_rate'][...]"
