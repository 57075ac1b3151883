"""Attention: nn.MultiheadAttention, F.scaled_dot_product_attention and the Transformer layers.

``nnx.MultiHeadAttention`` differs from torch's in what a translation must keep: its mask is boolean
only and means "attend" (torch's ``attn_mask`` / ``key_padding_mask`` mean "do not attend", or are
added when float), it returns no attention weights (torch returns them averaged over heads by
default), takes (batch, seq, feature) only and keeps q/k/v kernels as (in, heads, head_dim). So, as
for the recurrent layers, the translation defines once per file a small module with torch's call,
returns and parameters (``in_proj_weight`` packing q, k, v; ``out_proj``), and the Transformer layers
built from it, nnx.Linear and nnx.LayerNorm as torch builds them: call sites stay as written and
weights transfer one to one.
"""

from __future__ import annotations

import libcst as cst

from torch2jax.arguments import bind
from torch2jax.diagnostics import Unsupported
from torch2jax.handlers.recurrent import append_arg, same_call
from torch2jax.handlers.support import class_definer, define_helper, helper_name
from torch2jax.registry import handler
from torch2jax.syntax import arg, code_of, literal

SDPA = '''def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 *, rngs=None):
    """torch.nn.functional.scaled_dot_product_attention over the last two axes: a boolean mask marks the
    positions that take part, a float mask is added to the scores; dropout (p > 0) draws from rngs."""
    scores = query @ jnp.swapaxes(key, -2, -1) * (query.shape[-1] ** -0.5 if scale is None else scale)
    if is_causal:
        scores = jnp.where(jnp.tril(jnp.ones(scores.shape[-2:], bool)), scores, -jnp.inf)
    if attn_mask is not None:
        scores = jnp.where(attn_mask, scores, -jnp.inf) if attn_mask.dtype == bool else scores + attn_mask
    weights = jax.nn.softmax(scores, axis=-1)
    if dropout_p > 0:
        keep = jax.random.bernoulli(rngs.dropout(), 1 - dropout_p, weights.shape)
        weights = jnp.where(keep, weights / (1 - dropout_p), 0)
    return weights @ value
'''

MHA = '''class {name}(nnx.Module):
    """torch.nn.MultiheadAttention with torch's parameters (in_proj_weight packs q, k, v; out_proj) and call:
    `attn_output, attn_weights = attn(query, key, value, key_padding_mask, need_weights, attn_mask)`; masks
    are True (or -inf) where attention is not allowed; weights are averaged over heads unless asked not to."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, *, rngs: nnx.Rngs):
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.in_proj_weight = nnx.Param(jax.nn.initializers.xavier_uniform()(rngs.params(), (3 * embed_dim, embed_dim)))
        self.in_proj_bias = nnx.Param(jnp.zeros((3 * embed_dim,))) if bias else None
        self.out_proj = nnx.Linear(embed_dim, embed_dim, use_bias=bias, rngs=rngs)
        self.attn_dropout = nnx.Dropout(dropout, rngs=rngs)  # on the attention weights

    def __call__(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                 average_attn_weights=True, is_causal=False):
        batched = query.ndim == 3
        if not batched:  # (seq, embed): one sequence
            query, key, value = query[None], key[None], value[None]
            key_padding_mask = None if key_padding_mask is None else key_padding_mask[None]
        elif not self.batch_first:  # (seq, batch, embed)
            query, key, value = (jnp.swapaxes(t, 0, 1) for t in (query, key, value))
        w = jnp.split(self.in_proj_weight[...], 3)
        b = jnp.split(self.in_proj_bias[...], 3) if self.in_proj_bias is not None else (0, 0, 0)

        def heads(x, i):  # (batch, seq, embed) -> (batch, heads, seq, head_dim)
            x = x @ w[i].T + b[i]
            return jnp.swapaxes(x.reshape(x.shape[:-1] + (self.num_heads, -1)), 1, 2)

        q, k, v = heads(query, 0), heads(key, 1), heads(value, 2)
        scores = q @ jnp.swapaxes(k, -2, -1) * q.shape[-1] ** -0.5
        for mask in (attn_mask, None if key_padding_mask is None else key_padding_mask[:, None, None, :]):
            if mask is None:
                continue
            if mask.ndim == 3:  # (batch * heads, seq, seq)
                mask = mask.reshape(-1, self.num_heads, *mask.shape[1:])
            scores = jnp.where(mask, -jnp.inf, scores) if mask.dtype == bool else scores + mask
        weights = self.attn_dropout(jax.nn.softmax(scores, axis=-1))
        out = jnp.swapaxes(weights @ v, 1, 2)
        out = self.out_proj(out.reshape(out.shape[:2] + (self.embed_dim,)))
        if not batched:
            out, weights = out[0], weights[0]
        elif not self.batch_first:
            out = jnp.swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        return out, (weights.mean(-3) if average_attn_weights else weights)
'''

_ACTIVATION = '''        if activation == "relu":
            activation = jax.nn.relu
        elif activation == "gelu":
            activation = functools.partial(jax.nn.gelu, approximate=False)
        self.activation = activation'''

ENCODER_LAYER = '''class {name}(nnx.Module):
    """torch.nn.TransformerEncoderLayer: self-attention and a feed-forward block, each with a residual and
    LayerNorm (before the block when norm_first, after it otherwise), torch's parameters and call."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, *, rngs: nnx.Rngs):
        self.self_attn = {mha}(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, rngs=rngs)
        self.linear1 = nnx.Linear(d_model, dim_feedforward, use_bias=bias, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.linear2 = nnx.Linear(dim_feedforward, d_model, use_bias=bias, rngs=rngs)
        self.norm_first = norm_first
        self.norm1 = nnx.LayerNorm(d_model, epsilon=layer_norm_eps, use_bias=bias, rngs=rngs)
        self.norm2 = nnx.LayerNorm(d_model, epsilon=layer_norm_eps, use_bias=bias, rngs=rngs)
        self.dropout1 = nnx.Dropout(dropout, rngs=rngs)
        self.dropout2 = nnx.Dropout(dropout, rngs=rngs)
{activation}

    def __call__(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))
'''

DECODER_LAYER = '''class {name}(nnx.Module):
    """torch.nn.TransformerDecoderLayer: self-attention, attention over the memory and a feed-forward block,
    each with a residual and LayerNorm (before the block when norm_first, after it otherwise)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, *, rngs: nnx.Rngs):
        self.self_attn = {mha}(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, rngs=rngs)
        self.multihead_attn = {mha}(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, rngs=rngs)
        self.linear1 = nnx.Linear(d_model, dim_feedforward, use_bias=bias, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.linear2 = nnx.Linear(dim_feedforward, d_model, use_bias=bias, rngs=rngs)
        self.norm_first = norm_first
        self.norm1 = nnx.LayerNorm(d_model, epsilon=layer_norm_eps, use_bias=bias, rngs=rngs)
        self.norm2 = nnx.LayerNorm(d_model, epsilon=layer_norm_eps, use_bias=bias, rngs=rngs)
        self.norm3 = nnx.LayerNorm(d_model, epsilon=layer_norm_eps, use_bias=bias, rngs=rngs)
        self.dropout1 = nnx.Dropout(dropout, rngs=rngs)
        self.dropout2 = nnx.Dropout(dropout, rngs=rngs)
        self.dropout3 = nnx.Dropout(dropout, rngs=rngs)
{activation}

    def __call__(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                 memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, memory, attn_mask, key_padding_mask):
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))
'''

STACK = '''class {name}(nnx.Module):
    """torch.nn.{torch_name}: num_layers copies of the given layer (torch deep-copies it: the copies start
    equal), applied in turn, then the optional norm."""

    def __init__(self, {layer_arg}, num_layers, norm=None, {extra}):
        self.layers = nnx.List([nnx.clone({layer_arg}) for _ in range(num_layers)])
        self.norm = norm

    def __call__(self, {call_args}):
        x = {first}
        for layer in self.layers:
            x = layer({layer_call})
        return x if self.norm is None else self.norm(x)
'''

_STACKS = {
    "TransformerEncoder": dict(
        layer_arg="encoder_layer", extra="enable_nested_tensor=True, mask_check=True",
        call_args="src, mask=None, src_key_padding_mask=None, is_causal=None", first="src",
        layer_call="x, src_mask=mask, src_key_padding_mask=src_key_padding_mask"),
    "TransformerDecoder": dict(
        layer_arg="decoder_layer", extra="",
        call_args="tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None, "
                  "memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False",
        first="tgt",
        layer_call="x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask, "
                   "memory_key_padding_mask=memory_key_padding_mask"),
}


def _mha(state) -> str:
    name = helper_name(state, "MultiheadAttention")
    define_helper(state, name, MHA.format(name=name))
    return name


def _false(rule, bound, names) -> None:
    for key in names:
        if key in bound and literal(bound[key]) not in (False, None):
            raise Unsupported("T2J102", f"`{rule.torch}` with {key}={code_of(bound[key])} is not translated")


@handler("attention_module")
def attention_module(rule, node, state, receiver):
    """nn.MultiheadAttention / nn.TransformerEncoderLayer / nn.TransformerDecoderLayer -> the module
    defined once in the output, called as torch is (device/dtype dropped)."""
    torch_name = rule.torch.rpartition(".")[2]
    bound = bind(rule, node)
    if "dtype" in bound and literal(bound["dtype"]) is not None:
        raise Unsupported("T2J102", f"`{rule.torch}` with dtype={code_of(bound['dtype'])}: the translation keeps float32 parameters")
    if torch_name == "MultiheadAttention":
        _false(rule, bound, ("add_bias_kv", "add_zero_attn"))
        for key in ("kdim", "vdim"):
            if key in bound and literal(bound[key]) is not None and code_of(bound[key]) != code_of(bound.get("embed_dim", cst.Name("_"))):
                raise Unsupported("T2J102", f"`{rule.torch}` with {key}={code_of(bound[key])} (separate q/k/v projections) "
                                            "is not translated")
        return same_call(node, _mha(state), state)
    return same_call(node, attention_class(rule, state), state)


@class_definer("attention_module")
def attention_class(rule, state) -> str:
    """The module standing for nn.MultiheadAttention / TransformerEncoderLayer / DecoderLayer, defined once."""
    torch_name = rule.torch.rpartition(".")[2]
    mha = _mha(state)
    if torch_name == "MultiheadAttention":
        return mha
    if torch_name == "Transformer":
        return _transformer(state, mha)
    return _layer_class(state, torch_name, mha)


def _layer_class(state, torch_name: str, mha: str) -> str:
    name = helper_name(state, torch_name)
    template = ENCODER_LAYER if torch_name == "TransformerEncoderLayer" else DECODER_LAYER
    define_helper(state, name, template.format(name=name, mha=mha, activation=_ACTIVATION))
    return name


def _stack_class(state, torch_name: str) -> str:
    name = helper_name(state, torch_name)
    spec = _STACKS[torch_name]
    define_helper(state, name, STACK.format(name=name, torch_name=torch_name, **spec).replace(", ):", "):"))
    return name


def _transformer(state, mha: str) -> str:
    names = {key: _layer_class(state, f"Transformer{key}Layer", mha) for key in ("Encoder", "Decoder")}
    stacks = {key: _stack_class(state, f"Transformer{key}") for key in ("Encoder", "Decoder")}
    name = helper_name(state, "Transformer")
    define_helper(state, name, TRANSFORMER.format(
        name=name, encoder_layer=names["Encoder"], decoder_layer=names["Decoder"], encoder=stacks["Encoder"],
        decoder=stacks["Decoder"]))
    return name


TRANSFORMER = '''class {name}(nnx.Module):
    """torch.nn.Transformer: an encoder stack and a decoder stack of torch's layers, each ending in a
    LayerNorm, weight matrices initialised as torch does (Xavier uniform), torch's call."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
                 dropout=0.1, activation="relu", custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, *, rngs: nnx.Rngs):
        layer = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            norm = nnx.LayerNorm(d_model, epsilon=layer_norm_eps, use_bias=bias, rngs=rngs)
            self.encoder = {encoder}({encoder_layer}(*layer, rngs=rngs), num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            norm = nnx.LayerNorm(d_model, epsilon=layer_norm_eps, use_bias=bias, rngs=rngs)
            self.decoder = {decoder}({decoder_layer}(*layer, rngs=rngs), num_decoder_layers, norm)
        for _, variable in nnx.iter_graph(self):
            if isinstance(variable, nnx.Param) and variable.ndim > 1:
                variable[...] = jax.nn.initializers.xavier_uniform()(rngs.params(), variable.shape, variable.dtype)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def __call__(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                 tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                 memory_is_causal=False):
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """torch's causal mask: -inf above the diagonal, 0 elsewhere."""
        return jnp.triu(jnp.full((sz, sz), -jnp.inf, dtype or jnp.float32), k=1)
'''


@handler("transformer_stack")
def transformer_stack(rule, node, state, receiver):
    """nn.TransformerEncoder(layer, num_layers, norm) -> the module defined once: clones of the layer."""
    torch_name = rule.torch.rpartition(".")[2]
    bind(rule, node)
    name = _stack_class(state, torch_name)
    args = [a for a in node.args if not (a.keyword is not None and a.keyword.value in ("device", "dtype"))]
    return node.with_changes(func=cst.Name(name), args=args)


@handler("scaled_dot_product_attention")
def scaled_dot_product_attention(rule, node, state, receiver):
    """F.scaled_dot_product_attention(...) -> the function defined once in the output, arguments as written;
    a dropout_p that is not literally 0 draws from the rngs in scope."""
    bound = bind(rule, node)
    _false(rule, bound, ("enable_gqa",))
    args = list(node.args)
    if "dropout_p" in bound and literal(bound["dropout_p"]) not in (0, 0.0):
        rngs = state.rngs_at_call()
        if rngs is None:
            raise Unsupported("T2J203", "`scaled_dot_product_attention` with dropout_p needs random numbers; "
                                        "pass an nnx.Rngs into this function")
        args = append_arg(args, arg(rngs, "rngs"))
    name = helper_name(state, "scaled_dot_product_attention")  # defined only when a call uses it
    define_helper(state, name, SDPA.replace("def scaled_dot_product_attention(", f"def {name}(", 1))
    return node.with_changes(func=cst.Name(name), args=args)
