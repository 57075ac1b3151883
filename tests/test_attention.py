"""Attention against torch: nn.MultiheadAttention, F.scaled_dot_product_attention and the Transformer
layers, outputs and gradients of every parameter and float input, hypothesis drawing sizes and options,
weights brought across with load_torch_weights."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from numeric import covers, translate  # noqa: E402
from torch2jax import load_torch_weights  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")
SETTINGS = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
TOL = 3e-5

TEMPLATE = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class M(nn.Module):
    def __init__(self):
        super().__init__()
        # the layer under test
        self.layer = {layer}

    def forward(self, *args):
        return {forward}
"""


def is_tensor(x):
    return isinstance(x, torch.Tensor)


def check(layer: str, inputs: list, forward: str = "self.layer(*args)", float_inputs=None, train=False):
    """Outputs, and gradients of the sum of the float outputs with respect to every parameter and the
    float inputs (indices ``float_inputs``), of torch's module and its translation."""
    tmod, jmod, diags = translate(TEMPLATE.format(layer=layer, forward=forward))
    assert not [d for d in diags if d.severity in ("error", "warning")], [d.text() for d in diags]
    torch.manual_seed(0)
    t, j = tmod.M(), jmod.M(rngs=nnx.Rngs(0))
    with torch.no_grad():  # LayerNorm and biases start constant: make a swapped mapping visible
        for p in t.parameters():
            p.add_(0.1 * torch.randn_like(p))
    load_torch_weights(j, t)
    t.train(train)
    j.train() if train else j.eval()
    float_inputs = [i for i, x in enumerate(inputs) if x is not None and x.dtype == np.float32] \
        if float_inputs is None else float_inputs
    t_in = [None if x is None else torch.from_numpy(x) for x in inputs]
    for i in float_inputs:
        t_in[i].requires_grad_()
    t_out = t(*t_in)
    t_leaves = [o for o in jax.tree.leaves(t_out, is_leaf=is_tensor) if o is not None]
    sum(o.sum() for o in t_leaves).backward()

    def loss(model, floats):
        args = [None if x is None else jnp.asarray(x) for x in inputs]
        for i, f in zip(float_inputs, floats):
            args[i] = f
        out = model(*args)
        return sum(o.sum() for o in jax.tree.leaves(out)), out

    floats = [jnp.asarray(inputs[i]) for i in float_inputs]
    (_, j_out), (g_model, g_in) = nnx.value_and_grad(loss, argnums=(0, 1), has_aux=True)(j, floats)
    j_leaves = jax.tree.leaves(j_out)
    assert len(t_leaves) == len(j_leaves)
    for a, b in zip(t_leaves, j_leaves):
        a = a.detach().numpy()
        assert a.shape == b.shape
        assert np.abs(a - np.asarray(b)).max() <= TOL * max(1.0, float(np.abs(a).max()))
    path_of = {id(v): ".".join(map(str, p)) for p, v in nnx.iter_graph(j) if isinstance(v, nnx.Variable)}
    grads = {".".join(map(str, p)): np.asarray(v) for p, v in nnx.to_flat_state(g_model)}
    from torch2jax.weights import plan_transfer, torch_tensors

    plan, problems = plan_transfer(j, torch_tensors({n: p.grad for n, p in t.named_parameters()}))
    assert not problems and len(plan) == len(list(t.parameters()))
    for name, variable, t_grad in plan:  # torch's gradient in the Flax variable's layout
        g = grads[path_of[id(variable)]]
        assert np.abs(g - t_grad).max() <= TOL * max(1.0, float(np.abs(t_grad).max())), name
    for i, g in zip(float_inputs, g_in):
        tg = t_in[i].grad.numpy()
        assert np.abs(np.asarray(g) - tg).max() <= TOL * max(1.0, float(np.abs(tg).max()))
    return t_out, j_out


def _normal(rng, *shape):
    return rng.normal(size=shape).astype(np.float32)


@covers("torch.nn.MultiheadAttention")
@given(
    heads=st.integers(1, 3),
    head_dim=st.integers(1, 4),
    batch=st.integers(1, 3),
    length=st.integers(1, 5),
    source=st.integers(1, 5),
    batch_first=st.booleans(),
    bias=st.booleans(),
    attn_mask=st.sampled_from([None, "bool", "float", "bool3d"]),
    padding=st.booleans(),
    need_weights=st.booleans(),
    average=st.booleans(),
)
@SETTINGS
def test_multihead_attention(heads, head_dim, batch, length, source, batch_first, bias, attn_mask, padding,
                             need_weights, average):
    embed = heads * head_dim
    rng = np.random.default_rng(embed * 31 + length * 7 + source)
    shape = (lambda n: (batch, n, embed)) if batch_first else (lambda n: (n, batch, embed))
    q, k, v = _normal(rng, *shape(length)), _normal(rng, *shape(source)), _normal(rng, *shape(source))
    keep_one = np.zeros((length, source), bool)
    keep_one[:, 0] = True  # every query keeps key 0: no row is fully masked (NaN on both sides)
    mask = None
    if attn_mask == "bool":
        mask = (rng.random((length, source)) < 0.4) & ~keep_one
    elif attn_mask == "bool3d":
        mask = (rng.random((batch * heads, length, source)) < 0.4) & ~keep_one
    elif attn_mask == "float":
        mask = _normal(rng, length, source)
    pad = ((rng.random((batch, source)) < 0.4) & ~np.eye(1, source, dtype=bool)) if padding else None
    layer = f"nn.MultiheadAttention({embed}, {heads}, bias={bias}, batch_first={batch_first})"
    forward = (f"self.layer(args[0], args[1], args[2], key_padding_mask=args[3], attn_mask=args[4], "
               f"need_weights={need_weights}, average_attn_weights={average})")
    t_out, _ = check(layer, [q, k, v, pad, mask], forward, float_inputs=[0, 1, 2] + ([4] if attn_mask == "float" else []))
    assert (t_out[1] is None) == (not need_weights)


def test_multihead_attention_unbatched_and_self_attention():
    rng = np.random.default_rng(0)
    x = _normal(rng, 5, 8)
    check("nn.MultiheadAttention(8, 2)", [x], "self.layer(args[0], args[0], args[0])")


@covers("torch.nn.functional.scaled_dot_product_attention")
@given(
    batch=st.integers(1, 2),
    heads=st.integers(1, 3),
    length=st.integers(1, 5),
    source=st.integers(1, 5),
    dim=st.integers(1, 4),
    causal=st.booleans(),
    mask=st.sampled_from([None, "bool", "float"]),
    scale=st.sampled_from([None, 0.3]),
)
@SETTINGS
def test_scaled_dot_product_attention(batch, heads, length, source, dim, causal, mask, scale):
    rng = np.random.default_rng(length * 10 + source)
    q, k, v = _normal(rng, batch, heads, length, dim), _normal(rng, batch, heads, source, dim), _normal(rng, batch, heads, source, 3)
    m = None
    if mask == "bool":
        m = rng.random((length, source)) < 0.6
        m[:, 0] = True
    elif mask == "float":
        m = _normal(rng, batch, 1, length, source)
    forward = f"F.scaled_dot_product_attention(args[0], args[1], args[2], attn_mask=args[3], is_causal={causal}, scale={scale})"
    if causal and mask is not None:
        return  # torch refuses both together
    check("nn.Identity()", [q, k, v, m], forward, float_inputs=[0, 1, 2])


def test_scaled_dot_product_attention_dropout_in_training():
    """dropout_p draws from the module's rngs: the weights are dropped and rescaled as torch's are."""
    source = TEMPLATE.format(layer="nn.Identity()", forward="F.scaled_dot_product_attention("
                             "args[0], args[1], args[2], dropout_p=0.5 if self.training else 0.0)")
    _, jmod, diags = translate(source)
    assert not [d for d in diags if d.severity == "error"]
    j = jmod.M(rngs=nnx.Rngs(0))
    q = jnp.zeros((1, 1, 200, 2))
    v = jnp.ones((1, 1, 4, 1))
    j.eval()
    assert np.allclose(np.asarray(j(q, q[..., :4, :], v)), 1.0)
    j.train()
    out = np.asarray(j(q, q[..., :4, :], v)).ravel()  # kept weights (1/4 each) scaled by 2: multiples of 0.5
    assert np.allclose(out * 2, np.round(out * 2)) and out.std() > 0.1 and abs(out.mean() - 1.0) < 0.15


@covers("torch.nn.TransformerEncoderLayer")
@given(
    norm_first=st.booleans(),
    activation=st.sampled_from(["'relu'", "'gelu'", "F.gelu"]),
    batch_first=st.booleans(),
    bias=st.booleans(),
    heads=st.integers(1, 2),
    padding=st.booleans(),
)
@SETTINGS
def test_transformer_encoder_layer(norm_first, activation, batch_first, bias, heads, padding):
    rng = np.random.default_rng(heads)
    x = _normal(rng, *((2, 5, 8) if batch_first else (5, 2, 8)))
    pad = np.array([[False] * 5, [False, False, False, True, True]]) if padding else None
    mask = np.triu(np.ones((5, 5), bool), 1)
    layer = (f"nn.TransformerEncoderLayer(8, {heads}, dim_feedforward=12, dropout=0.0, activation={activation}, "
             f"batch_first={batch_first}, norm_first={norm_first}, bias={bias})")
    check(layer, [x, mask, pad], "self.layer(args[0], src_mask=args[1], src_key_padding_mask=args[2])",
          float_inputs=[0], train=True)


@covers("torch.nn.TransformerEncoder")
@given(norm_first=st.booleans(), batch_first=st.booleans(), layers=st.integers(1, 3), final_norm=st.booleans())
@SETTINGS
def test_transformer_encoder(norm_first, batch_first, layers, final_norm):
    x = _normal(np.random.default_rng(layers), *((2, 4, 8) if batch_first else (4, 2, 8)))
    layer = (f"nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first={batch_first}, "
             f"norm_first={norm_first}), {layers}{', norm=nn.LayerNorm(8)' if final_norm else ''})")
    check(layer, [x])


@covers("torch.nn.TransformerDecoderLayer", "torch.nn.TransformerDecoder")
@given(norm_first=st.booleans(), batch_first=st.booleans(), activation=st.sampled_from(["'relu'", "'gelu'"]))
@SETTINGS
def test_transformer_decoder_layer_and_stack(norm_first, batch_first, activation):
    rng = np.random.default_rng(1)
    tgt = _normal(rng, *((2, 4, 8) if batch_first else (4, 2, 8)))
    memory = _normal(rng, *((2, 6, 8) if batch_first else (6, 2, 8)))
    mask = np.triu(np.ones((4, 4), bool), 1)
    pad = np.array([[False] * 6, [False, False, True, True, True, True]])
    layer = (f"nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, activation={activation}, batch_first={batch_first}, "
             f"norm_first={norm_first})")
    forward = "self.layer(args[0], args[1], tgt_mask=args[2], memory_key_padding_mask=args[3])"
    check(layer, [tgt, memory, mask, pad], forward, float_inputs=[0, 1], train=True)
    check(f"nn.TransformerDecoder({layer}, 2)", [tgt, memory, mask, pad], forward, float_inputs=[0, 1])
