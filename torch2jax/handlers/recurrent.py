"""Recurrent layers: nn.RNN / nn.LSTM / nn.GRU and their cells.

Flax's cells do not compute what torch's do: ``nnx.GRUCell`` has no hidden bias inside the reset
gate (torch: ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``), and ``nnx.LSTMCell`` /
``nnx.SimpleCell`` keep one bias per gate where torch keeps two (``b_ih`` and ``b_hh``): the
outputs can be matched by adding the two, but training cannot (an optimizer moves torch's sum
twice as far). So the translation defines, once per file, a small module with torch's equations,
torch's call (``output, (h_n, c_n) = lstm(x, (h0, c0))``) and torch's parameters by name and
layout (``weight_ih_l0``, ``bias_hh_l1_reverse``, gates packed in torch's order), scanning the time
axis with ``jax.lax.scan``: the call sites stay as written and a torch checkpoint loads one to one.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.handlers.support import class_definer, define_helper, helper_name
from torch2jax.registry import handler
from torch2jax.syntax import MISSING, arg, code_of, literal

# One time step of each unit, from the input projection `gx` (x @ W_ih.T + b_ih) of that step, the
# previous state and the recurrent weights: (new state, output). Emitted once, beside the module.
STEPS = {
    "lstm_step": '''def lstm_step(gx, state, w_hh, b_hh):
    """One torch LSTM step: gates (i, f, g, o) from the input projection gx and the state (h, c)."""
    h, c = state
    i, f, g, o = jnp.split(gx + h @ w_hh.T + b_hh, 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return (h, c), h
''',
    "gru_step": '''def gru_step(gx, h, w_hh, b_hh):
    """One torch GRU step: gates (r, z, n); the reset gate scales the hidden projection and its bias."""
    xr, xz, xn = jnp.split(gx, 3, axis=-1)
    hr, hz, hn = jnp.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r = jax.nn.sigmoid(xr + hr)
    z = jax.nn.sigmoid(xz + hz)
    h = (1 - z) * jnp.tanh(xn + r * hn) + z * h
    return h, h
''',
    "rnn_step": '''def rnn_step(gx, h, w_hh, b_hh, nonlinearity="tanh"):
    """One torch Elman RNN step (tanh or relu)."""
    h = gx + h @ w_hh.T + b_hh
    h = jnp.tanh(h) if nonlinearity == "tanh" else jax.nn.relu(h)
    return h, h
''',
}

_PARAMETERS = '''\
        bound = hidden_size**-0.5  # torch's initialisation: U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))
        for name, shape in shapes.items():
            setattr(self, name, nnx.Param(jax.random.uniform(rngs.params(), shape, minval=-bound, maxval=bound)))'''

_STACK = '''class {name}(nnx.Module):
    """torch.nn.{torch_name}: {doc}, layer by layer over the time axis (jax.lax.scan), with torch's
    parameters (weight_ih_l0, bias_hh_l1_reverse, ...) and call: `{call}`."""

    def __init__(self, input_size, hidden_size, num_layers=1, {extra}bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, *, rngs: nnx.Rngs):
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
{extra_attr}        self.directions = ("", "_reverse") if bidirectional else ("",)
        self.between_layers = nnx.Dropout(dropout, rngs=rngs)  # on the output of every layer but the last
        shapes = {{}}
        for layer in range(num_layers):
            size = input_size if layer == 0 else hidden_size * len(self.directions)
            for suffix in self.directions:
                shapes[f"weight_ih_l{{layer}}{{suffix}}"] = ({gates}hidden_size, size)
                shapes[f"weight_hh_l{{layer}}{{suffix}}"] = ({gates}hidden_size, hidden_size)
                if bias:
                    shapes[f"bias_ih_l{{layer}}{{suffix}}"] = shapes[f"bias_hh_l{{layer}}{{suffix}}"] = ({gates}hidden_size,)
{parameters}

    def __call__(self, input, hx=None):
        batched = input.ndim == 3
        x = (jnp.swapaxes(input, 0, 1) if self.batch_first else input) if batched else input[:, None]  # (seq, batch, feature)
        if hx is None:
            zeros = jnp.zeros((self.num_layers * len(self.directions), x.shape[1], self.hidden_size), x.dtype)
            hx = {zero_state}
        elif not batched:
            hx = jax.tree.map(lambda s: s[:, None], hx)
        last = []
        for layer in range(self.num_layers):
            if layer > 0:
                x = self.between_layers(x)
            outputs = []
            for d, suffix in enumerate(self.directions):
                w_ih, w_hh = getattr(self, f"weight_ih_l{{layer}}{{suffix}}"), getattr(self, f"weight_hh_l{{layer}}{{suffix}}")
                b_ih, b_hh = (getattr(self, f"bias_ih_l{{layer}}{{suffix}}"), getattr(self, f"bias_hh_l{{layer}}{{suffix}}")) if self.bias else (0, 0)
                state = jax.tree.map(lambda s: s[layer * len(self.directions) + d], hx)
                # the input projection of every time step at once, then the recurrence step by step
                state, y = jax.lax.scan(lambda s, gx: {step_call}, state, x @ w_ih.T + b_ih, reverse=d == 1)
                outputs.append(y)
                last.append(state)
            x = jnp.concatenate(outputs, axis=-1)
        h_n = {stack_last}
        if not batched:
            return x[:, 0], jax.tree.map(lambda s: s[:, 0], h_n)
        return (jnp.swapaxes(x, 0, 1) if self.batch_first else x), h_n

    def flatten_parameters(self):
        """torch packs its weights for cuDNN here; nothing to do in JAX."""
'''

_CELL = '''class {name}(nnx.Module):
    """torch.nn.{torch_name}: one step of {doc}, with torch's parameters (weight_ih, weight_hh, bias_ih,
    bias_hh) and call: `{call}`."""

    def __init__(self, input_size, hidden_size, bias=True, {extra}*, rngs: nnx.Rngs):
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
{extra_attr}        shapes = {{"weight_ih": ({gates}hidden_size, input_size), "weight_hh": ({gates}hidden_size, hidden_size)}}
        if bias:
            shapes["bias_ih"] = shapes["bias_hh"] = ({gates}hidden_size,)
{parameters}

    def __call__(self, input, hx=None):
        if hx is None:
            zeros = jnp.zeros(input.shape[:-1] + (self.hidden_size,), input.dtype)
            hx = {zero_state}
        b_ih, b_hh = (self.bias_ih, self.bias_hh) if self.bias else (0, 0)
        gx, s, w_hh = input @ self.weight_ih.T + b_ih, hx, self.weight_hh
        state, _ = {step_call}
        return state
'''

# torch class -> template, step function, gates, what it computes, its call, zero state, h_n from `last`
_KINDS = {
    "LSTM": (_STACK, "lstm_step", 4, "LSTM (gates i, f, g, o)", "output, (h_n, c_n) = lstm(input, (h_0, c_0))",
             "(zeros, zeros)", "(jnp.stack([h for h, _ in last]), jnp.stack([c for _, c in last]))"),
    "GRU": (_STACK, "gru_step", 3, "GRU (gates r, z, n)", "output, h_n = gru(input, h_0)", "zeros", "jnp.stack(last)"),
    "RNN": (_STACK, "rnn_step", 1, "Elman RNN", "output, h_n = rnn(input, h_0)", "zeros", "jnp.stack(last)"),
    "LSTMCell": (_CELL, "lstm_step", 4, "an LSTM", "h_1, c_1 = cell(input, (h_0, c_0))", "(zeros, zeros)", ""),
    "GRUCell": (_CELL, "gru_step", 3, "a GRU", "h_1 = cell(input, h_0)", "zeros", ""),
    "RNNCell": (_CELL, "rnn_step", 1, "an Elman RNN", "h_1 = cell(input, h_0)", "zeros", ""),
}


def helper_source(torch_name: str, name: str) -> tuple[str, str]:
    """(step function name, class source) of the module standing for ``torch.nn.<torch_name>``."""
    template, step, gates, doc, call, zero_state, stack_last = _KINDS[torch_name]
    is_rnn = step == "rnn_step"
    step_call = f"{step}(gx, s, w_hh, b_hh{', self.nonlinearity' if is_rnn else ''})"
    source = template.format(
        name=name, torch_name=torch_name, doc=doc, call=call, zero_state=zero_state, stack_last=stack_last,
        gates=f"{gates} * " if gates > 1 else "", step_call=step_call, parameters=_PARAMETERS,
        extra='nonlinearity="tanh", ' if is_rnn else "",
        extra_attr=('        if nonlinearity not in ("tanh", "relu"):\n'
                    '            raise ValueError(f"Unknown nonlinearity \'{nonlinearity}\'. Select from \'tanh\' or \'relu\'.")\n'
                    "        self.nonlinearity = nonlinearity\n") if is_rnn else "",
    )
    return step, source


DROPPED = ("device", "dtype")


def same_call(node: cst.Call, name: str, state, drop=DROPPED) -> cst.Call:
    """The construction as written, calling ``name`` instead, without ``drop`` keywords, plus ``rngs=``."""
    args = [a for a in node.args if not (a.keyword is not None and a.keyword.value in drop)]
    if len(args) != len(node.args) and args:
        args[-1] = args[-1].with_changes(comma=node.args[-1].comma, whitespace_after_arg=node.args[-1].whitespace_after_arg)
    return node.with_changes(func=cst.Name(name), args=append_arg(args, arg(state.rngs_expr(), "rngs")))


def append_arg(args: list, new: cst.Arg) -> list:
    """``args`` and ``new`` after them, in the call's own layout (one line, or one argument a line)."""
    if not args:
        return [new]
    last = args[-1]
    if isinstance(last.comma, cst.Comma) and "\n" in code_of_node(last.comma):  # a trailing comma, a line each
        return [*args, new.with_changes(comma=last.comma, whitespace_after_arg=last.whitespace_after_arg)]
    if isinstance(last.comma, cst.Comma):  # `f(a, b, )`
        return [*args[:-1], last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                new.with_changes(whitespace_after_arg=last.whitespace_after_arg)]
    return [*args[:-1], last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                                          whitespace_after_arg=cst.SimpleWhitespace("")),
            new.with_changes(whitespace_after_arg=last.whitespace_after_arg)]


def code_of_node(node) -> str:
    return cst.Module(body=[]).code_for_node(node)


def check_device_dtype(rule, bound) -> None:
    for key in DROPPED:
        if key in bound and literal(bound[key]) is not None and key == "dtype":
            raise Unsupported("T2J102", f"`{rule.torch}` with dtype={code_of(bound[key])}: the translation keeps float32 parameters")


@handler("recurrent")
def recurrent(rule, node, state, receiver):
    """``nn.LSTM(...)`` -> ``LSTM(..., rngs=rngs)``: the module defined once in the output with torch's
    semantics and signature, so the arguments stay as written (device= goes)."""
    torch_name = rule.torch.rpartition(".")[2]
    bound = bind(rule, node)
    if "proj_size" in bound and literal(bound["proj_size"]) != 0:
        raise Unsupported("T2J102", f"`{rule.torch}` with proj_size={code_of(bound['proj_size'])} is not translated")
    if "nonlinearity" in bound and literal(bound["nonlinearity"]) not in ("tanh", "relu", MISSING):  # a variable: checked when built
        raise Unsupported("T2J102", f"`{rule.torch}` with nonlinearity={code_of(bound['nonlinearity'])}: "
                                    "only 'tanh' and 'relu' are translated")
    check_device_dtype(rule, bound)
    return same_call(node, recurrent_class(rule, state), state, drop=(*DROPPED, "proj_size"))


@class_definer("recurrent")
def recurrent_class(rule, state) -> str:
    """The module standing for ``rule``'s torch layer, defined once in the output with its step function."""
    torch_name = rule.torch.rpartition(".")[2]
    name = helper_name(state, torch_name)
    step, source = helper_source(torch_name, name)
    if step not in state.support:
        define_helper(state, step, STEPS[step])
    define_helper(state, name, source)
    return name
