"""Parameters initialised by their torch names (passes/named_parameter_init.py), in the shape of
GPT-2's scaled residual projections (nanoGPT, minGPT): the name test written in Flax's names, the
variable assigned in place; what cannot be mapped exactly stays reported."""

import pytest

from numeric import model_file
from torch2jax import convert_source

MODEL = '''
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Mixer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.c_fc = nn.Linear(d, 4 * d)
        self.c_proj = nn.Linear(4 * d, d)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))


class Layer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.mix = Mixer(d)

    def forward(self, x):
        return x + self.mix(self.ln(x))


class TinyLM(nn.Module):
    def __init__(self, vocab=32, d=64, n_layer=2):
        super().__init__()
        self.body = nn.ModuleDict(dict(
            tok=nn.Embedding(vocab, d),
            layers=nn.ModuleList([Layer(d) for _ in range(n_layer)]),
        ))
        self.head = nn.Linear(d, vocab, bias=False)
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))
            elif 'c_fc.bias' in pn:
                p.data.fill_(0.5)
            elif pn.startswith('body.tok'):
                torch.nn.init.uniform_(p, -0.1, 0.1)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)

    def forward(self, idx):
        x = self.body.tok(idx)
        for layer in self.body.layers:
            x = layer(x)
        return self.head(x)
'''


def test_the_loop_runs_over_flax_variables_with_the_tests_in_flax_names():
    result = convert_source(MODEL)
    code = result.code
    assert ('for pn, p in ((".".join(map(str, path)), variable) for path, variable in nnx.iter_graph(self) '
            "if isinstance(variable, nnx.Param)):") in code
    assert "            if pn.endswith('c_proj.kernel'):\n                p[...] = (0.02 / math.sqrt(2 * n_layer)) * jax.random.normal(rngs.params(), p.shape, p.dtype)" in code
    assert "            elif 'c_fc.bias' in pn:\n                p[...] = jnp.full(p.shape, 0.5, p.dtype)" in code
    assert "            elif pn.startswith('body.tok'):\n                p[...] = jax.random.uniform(rngs.params(), p.shape, p.dtype, minval=-0.1, maxval=0.1)" in code
    assert not result.diagnostics, [d.text() for d in result.diagnostics]
    assert convert_source("import torch\n" + code).code.strip() == code.strip()


def _stds(model, named):
    return {name: float(value.std()) for name, value in named(model) if name.endswith(("proj.weight", "proj.kernel"))}


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    return model_file(tmp_path_factory, "tiny_lm.py", MODEL)


def _jax_model(code: str):
    from flax import nnx

    namespace: dict = {}
    exec(compile(code, "tiny_lm_jax", "exec"), namespace)
    return namespace["TinyLM"](rngs=nnx.Rngs(0))


def _flax_values(model):
    from flax import nnx

    import numpy as np

    return {".".join(map(str, path)): np.asarray(v[...]) for path, v in nnx.iter_graph(model) if isinstance(v, nnx.Param)}


def test_the_named_parameters_get_torchs_distributions(modules):
    """torch's and the translation's projections have the scaled std, the others 0.02; the biases
    named get 0.5 and the embedding uniform(-0.1, 0.1) on both sides."""
    import numpy as np
    import torch

    namespace: dict = {}
    exec(compile(MODEL, "tiny_lm", "exec"), namespace)
    torch.manual_seed(0)
    t = {n: p.detach().numpy() for n, p in namespace["TinyLM"]().named_parameters()}
    j = _flax_values(_jax_model(convert_source(MODEL).code))
    for torch_name, flax_name, std in [("body.layers.0.mix.c_proj.weight", "body.layers.0.mix.c_proj.kernel", 0.01),
                                       ("body.layers.1.mix.c_fc.weight", "body.layers.1.mix.c_fc.kernel", 0.02),
                                       ("head.weight", "head.kernel", 0.02)]:
        assert abs(t[torch_name].std() - std) < 0.1 * std and abs(j[flax_name].std() - std) < 0.1 * std, torch_name
    assert np.all(t["body.layers.0.mix.c_fc.bias"] == 0.5) and np.all(j["body.layers.0.mix.c_fc.bias"] == 0.5)
    assert np.all(t["body.layers.0.mix.c_proj.bias"] == 0) and np.all(j["body.layers.0.mix.c_proj.bias"] == 0)
    for table in (t["body.tok.weight"], j["body.tok.embedding"]):
        assert table.min() >= -0.1 and table.max() <= 0.1 and table.std() > 0.05


def test_a_test_left_in_torchs_names_is_caught():
    """'c_proj.weight' names nothing in Flax: the projections keep the 0.02 of _init_weights."""
    pytest.importorskip("flax")
    wrong = convert_source(MODEL).code.replace("pn.endswith('c_proj.kernel')", "pn.endswith('c_proj.weight')")
    std = _flax_values(_jax_model(wrong))["body.layers.0.mix.c_proj.kernel"].std()
    assert not abs(std - 0.01) < 0.1 * 0.01


def test_verifies_against_torch(modules):
    from torch2jax.verify import verify

    report = verify(modules, "TinyLM()", ["int64[2,5]:0..32"])
    assert report.ok, report.table()


REPORTED = MODEL.replace("if pn.endswith('c_proj.weight'):", "if pn.endswith('weight'):").replace(
    "torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))", "torch.nn.init.xavier_uniform_(p)")


@pytest.mark.parametrize("source, why", [
    (REPORTED, "weight is kernel, scale or embedding in Flax"),
    (MODEL.replace("elif pn.startswith('body.tok'):", "else:"), "an else branch"),
    (MODEL.replace("p.data.fill_(0.5)", "p.requires_grad = False"), "not an initialiser"),
    (MODEL.replace("'c_fc.bias' in pn", "'proj' in pn"), "a test naming no parameter"),
    (MODEL.replace("elif 'c_fc.bias' in pn:", "elif pn == 'head.weight':"), "an equality test"),
])
def test_what_cannot_be_mapped_exactly_is_reported(source, why):
    result = convert_source(source)
    assert [d.code for d in result.diagnostics if "named_parameters" in d.message] == ["T2J201"], why
    assert "for pn, p in self.named_parameters():" in result.code
