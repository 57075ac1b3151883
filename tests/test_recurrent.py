"""Recurrent layers (nn.RNN / LSTM / GRU and their cells) against torch: outputs, returned states and
gradients of every parameter and of the input, with hypothesis drawing sizes and options, weights
brought across with load_torch_weights."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from numeric import covers, translate  # noqa: E402
from torch2jax import convert_source, load_torch_weights  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")
SETTINGS = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
TOL = 2e-5

TEMPLATE = """
import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self):
        super().__init__()
        # the layer under test
        self.layer = {layer}

    def forward(self, x, *state):
        return self.layer(x, *state)
"""


def leaves(tree, torch_side):
    if torch_side:
        return [t.detach().numpy() for t in jax.tree.leaves(tree, is_leaf=lambda t: isinstance(t, torch.Tensor))]
    return [np.asarray(a) for a in jax.tree.leaves(tree)]


def check(layer: str, x: np.ndarray, state=(), train=False):
    """Outputs and gradients (of the sum of everything returned) of torch's layer and its translation."""
    tmod, jmod, diags = translate(TEMPLATE.format(layer=layer))
    assert not [d for d in diags if d.severity in ("error", "warning")], [d.text() for d in diags]
    torch.manual_seed(0)
    t, j = tmod.M(), jmod.M(rngs=nnx.Rngs(0))
    load_torch_weights(j, t)
    t.train(train)
    j.train() if train else j.eval()
    tx = torch.from_numpy(x).requires_grad_()
    t_state = jax.tree.map(torch.from_numpy, state)
    t_out = t(tx, *t_state)
    sum(o.sum() for o in jax.tree.leaves(t_out, is_leaf=lambda o: isinstance(o, torch.Tensor))).backward()
    j_state = jax.tree.map(jnp.asarray, state)

    def loss(model, x):
        out = model(x, *j_state)
        return sum(o.sum() for o in jax.tree.leaves(out)), out

    (_, j_out), (g_model, g_x) = nnx.value_and_grad(loss, argnums=(0, 1), has_aux=True)(j, jnp.asarray(x))
    assert jax.tree.structure(jax.tree.map(lambda _: 0, leaves(t_out, True))) == jax.tree.structure(
        jax.tree.map(lambda _: 0, leaves(j_out, False)))
    for a, b in zip(leaves(t_out, True), leaves(j_out, False)):
        assert a.shape == b.shape
        assert np.abs(a - b).max() <= TOL * max(1.0, float(np.abs(a).max()))
    grads = {".".join(map(str, path)): np.asarray(v) for path, v in nnx.to_flat_state(g_model)}
    named = dict(t.named_parameters())
    assert set(grads) == set(named)  # torch's parameter names, one to one
    for name, p in named.items():
        assert np.abs(grads[name] - p.grad.numpy()).max() <= TOL * max(1.0, float(p.grad.abs().max())), name
    assert np.abs(np.asarray(g_x) - tx.grad.numpy()).max() <= TOL * max(1.0, float(tx.grad.abs().max()))
    return t_out, j_out


@covers("torch.nn.LSTM", "torch.nn.GRU", "torch.nn.RNN")
@given(
    kind=st.sampled_from(["LSTM", "GRU", "RNN"]),
    input_size=st.integers(1, 6),
    hidden_size=st.integers(1, 6),
    num_layers=st.integers(1, 3),
    bias=st.booleans(),
    batch_first=st.booleans(),
    bidirectional=st.booleans(),
    relu=st.booleans(),
    give_state=st.booleans(),
    seq=st.integers(1, 5),
    batch=st.integers(1, 3),
)
@SETTINGS
def test_stacked(kind, input_size, hidden_size, num_layers, bias, batch_first, bidirectional, relu, give_state,
                 seq, batch):
    options = f"num_layers={num_layers}, bias={bias}, batch_first={batch_first}, bidirectional={bidirectional}"
    if kind == "RNN" and relu:
        options += ", nonlinearity='relu'"
    rng = np.random.default_rng(input_size * 100 + hidden_size)
    shape = (batch, seq, input_size) if batch_first else (seq, batch, input_size)
    x = rng.normal(size=shape).astype(np.float32)
    state = ()
    if give_state:
        h = rng.normal(size=(num_layers * (2 if bidirectional else 1), batch, hidden_size)).astype(np.float32)
        state = ((h, rng.normal(size=h.shape).astype(np.float32)),) if kind == "LSTM" else (h,)
    t_out, _ = check(f"nn.{kind}({input_size}, {hidden_size}, {options})", x, state)
    output = t_out[0]
    assert tuple(output.shape) == shape[:2] + (hidden_size * (2 if bidirectional else 1),)


@given(kind=st.sampled_from(["LSTM", "GRU", "RNN"]), seq=st.integers(1, 4), bidirectional=st.booleans())
@SETTINGS
def test_unbatched(kind, seq, bidirectional):
    x = np.random.default_rng(seq).normal(size=(seq, 3)).astype(np.float32)
    check(f"nn.{kind}(3, 4, num_layers=2, bidirectional={bidirectional})", x)


def test_dropout_between_layers_in_train_mode_only():
    """Dropout acts between layers in training, not in eval; with rate 0 both modes match torch."""
    x = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32)
    check("nn.LSTM(3, 4, num_layers=2, dropout=0.0)", x, train=True)
    tmod, jmod, _ = translate(TEMPLATE.format(layer="nn.GRU(3, 4, num_layers=2, dropout=0.9)"))
    j = jmod.M(rngs=nnx.Rngs(0))
    eval_out = j.eval() or j(jnp.asarray(x))[0]
    j.train()
    train_out = j(jnp.asarray(x))[0]
    assert np.abs(np.asarray(train_out) - np.asarray(eval_out)).max() > 1e-3


@covers("torch.nn.LSTMCell", "torch.nn.GRUCell", "torch.nn.RNNCell")
@given(
    kind=st.sampled_from(["LSTMCell", "GRUCell", "RNNCell"]),
    input_size=st.integers(1, 6),
    hidden_size=st.integers(1, 6),
    bias=st.booleans(),
    relu=st.booleans(),
    give_state=st.booleans(),
    batch=st.sampled_from([(), (1,), (3,)]),
)
@SETTINGS
def test_cells(kind, input_size, hidden_size, bias, relu, give_state, batch):
    options = f"bias={bias}" + (", nonlinearity='relu'" if kind == "RNNCell" and relu else "")
    rng = np.random.default_rng(input_size * 10 + hidden_size)
    x = rng.normal(size=batch + (input_size,)).astype(np.float32)
    state = ()
    if give_state:
        h = rng.normal(size=batch + (hidden_size,)).astype(np.float32)
        state = ((h, rng.normal(size=h.shape).astype(np.float32)),) if kind == "LSTMCell" else (h,)
    check(f"nn.{kind}({input_size}, {hidden_size}, {options})", x, state)


def test_initialisation_follows_torch():
    """Parameters start as torch's do: uniform in +-1/sqrt(hidden_size), none identical."""
    _, jmod, _ = translate(TEMPLATE.format(layer="nn.GRU(4, 25, num_layers=2, bidirectional=True)"))
    params = dict(nnx.to_flat_state(nnx.state(jmod.M(rngs=nnx.Rngs(0)), nnx.Param)))
    assert len(params) == 16
    values = np.concatenate([np.asarray(v).ravel() for v in params.values()])
    assert np.abs(values).max() <= 0.2 and np.abs(values).max() > 0.19
    assert abs(values.std() - 0.2 / np.sqrt(3)) < 0.01


@pytest.mark.parametrize("layer, message", [
    ("nn.LSTM(3, 4, proj_size=2)", "proj_size"),
    ("nn.RNN(3, 4, nonlinearity='gelu')", "nonlinearity"),
    ("nn.GRU(3, 4, dtype=torch.float64)", "dtype"),
])
def test_untranslatable_options_are_reported(layer, message):
    source = TEMPLATE.format(layer=layer).replace("def __init__(self)", "def __init__(self, act='tanh')")
    result = convert_source(source)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert errors and message in errors[0].message and errors[0].code == "T2J102"
    assert "# torch2jax: T2J102" in result.code


def test_a_nonlinearity_known_only_when_built_is_checked_then():
    """`nn.RNN(..., nonlinearity=nonlinearity)` (the PyTorch examples' word language model): the helper
    takes it and raises as torch does for a value it does not know."""
    pytest.importorskip("flax")
    source = TEMPLATE.format(layer="nn.RNN(3, 4, nonlinearity=act)").replace("def __init__(self)", "def __init__(self, act='tanh')")
    tmod, jmod, diags = translate(source)
    assert not [d for d in diags if d.severity == "error"]
    jmod.M(act="relu", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="nonlinearity"):
        jmod.M(act="gelu", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="nonlinearity"):
        tmod.M(act="gelu")


def test_helper_defined_once_and_named_apart_from_the_files_own():
    source = TEMPLATE.format(layer="nn.LSTM(3, 4)").replace(
        "class M(", "class LSTM(nn.Module):\n    pass\n\n\nclass M(").replace("return self.layer(x, *state)",
                                                                          "return self.layer(x, *state), nn.LSTM(2, 2)")
    code = convert_source(source).code
    assert code.count("class TorchLSTM(nnx.Module)") == 1 and code.count("def lstm_step") == 1
    assert "self.layer = TorchLSTM(3, 4, rngs=rngs)" in code
    assert convert_source(code).code == code  # a second conversion changes nothing


def test_torch_attributes_and_flatten_parameters():
    """Code around an RNN reads its hyperparameters and calls flatten_parameters() (cuDNN): both work."""
    source = TEMPLATE.format(layer="nn.LSTM(3, 4, num_layers=2, dropout=0.25, bidirectional=True)").replace(
        "return self.layer(x, *state)",
        "self.layer.flatten_parameters()\n"
        "        n = self.layer.num_layers * (2 if self.layer.bidirectional else 1)\n"
        "        h = torch.zeros(n, x.size(1), self.layer.hidden_size)\n"
        "        return self.layer(x, (h, h))[0] * self.layer.dropout")
    x = np.random.default_rng(0).normal(size=(4, 2, 3)).astype(np.float32)
    tmod, jmod, diags = translate(source)
    assert not [d for d in diags if d.severity in ("error", "warning")], [d.text() for d in diags]
    t, j = tmod.M(), jmod.M(rngs=nnx.Rngs(0))
    load_torch_weights(j, t)
    t.eval()
    j.eval()
    expected = t(torch.from_numpy(x)).detach().numpy()
    assert np.abs(np.asarray(j(jnp.asarray(x))) - expected).max() <= TOL


LANGUAGE_MODEL = """
import torch.nn as nn


class LM(nn.Module):
    def __init__(self, vocab, hidden, layers):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.rnn = nn.LSTM(hidden, hidden, layers)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tokens, hidden):
        output, (h, c) = self.rnn(self.embed(tokens), hidden)
        return self.out(output), (h, c)
"""


def test_verify_takes_an_lstm_state_as_one_tuple_input(tmp_path):
    """``forward(tokens, hidden)`` with ``hidden = (h, c)`` (the PyTorch examples' word language model):
    the tuple input spec draws both arrays; a translation that swaps them is caught."""
    from numeric import verified

    state = "(float32[2,3,8],float32[2,3,8])"
    report = verified(tmp_path, LANGUAGE_MODEL, "LM(20, 8, 2)", ["int64[5,3]:0..20", state])
    assert report.ok, report.table()
    assert report.inputs[1] == state
    names = {t["name"] for t in report.stages["numeric"]["tensors"]}
    assert {"grad:rnn.weight_hh_l1", "grad:embed.weight"} <= names and len(names) >= 10, names
    swapped = tmp_path / "swapped.py"
    code = convert_source(LANGUAGE_MODEL).code
    assert "self.rnn(self.embed(tokens), hidden)" in code
    swapped.write_text(code.replace("self.rnn(self.embed(tokens), hidden)", "self.rnn(self.embed(tokens), hidden[::-1])"))
    assert not verified(tmp_path, LANGUAGE_MODEL, "LM(20, 8, 2)", ["int64[5,3]:0..20", state], translated=swapped).ok
