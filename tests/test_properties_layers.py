"""Property tests of the layer rules: Linear and the containers, convolutions and their transposes,
normalisations, embedding, dropout (eval), PReLU, pooling, resampling and padding. Hypothesis draws the
hyperparameters each rule handles (kernel, stride, padding, dilation, groups, bias, eps, momentum,
affine, sizes, modes...) and the input shapes; torch's weights are transferred, and outputs and the
gradients of the input and of every parameter are compared against torch (tests/properties.py)."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import assume, given, strategies as st  # noqa: E402

from numeric import covers  # noqa: E402
from properties import FEW, HEADER, SETTINGS, check, data  # noqa: E402
from strategies import call_args  # noqa: E402

BATCHNORM = ("T2J104",)  # BatchNorm's running variance: Flax keeps the biased estimate (reported, approximate)


@covers("torch.nn.Linear", "torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict", "torch.nn.Identity",
        "torch.nn.Parameter")
@FEW
@given(fin=st.integers(1, 5), fout=st.integers(1, 5), bias=st.sampled_from([None, True, False]), batch=st.sampled_from([(), (3,), (2, 2)]),
       depth=st.integers(1, 3), seed=st.integers(0, 9))
def test_linear_and_containers(fin, fout, bias, batch, depth, seed):
    args = call_args(bias=bias)
    extra = f", {args}" if args else ""
    chain = ", ".join([f"nn.Linear({fin}, {fin}{extra})", "nn.Tanh()"] * (depth - 1) + [f"nn.Linear({fin}, {fout}{extra})"])
    layers = {"fc": f"nn.Linear({fin}, {fout}{extra})", "fc_positional": f"nn.Linear({fin}, {fout}, {bias is not False})",
              "seq": f"nn.Sequential({chain})", "blocks": f"nn.ModuleList([nn.Linear({fin}, {fin}) for _ in range({depth})])",
              "heads": f"nn.ModuleDict({{'a': nn.Linear({fin}, 2), 'b': nn.Sequential(nn.Identity(), nn.Linear({fin}, 1))}})",
              "same": "nn.Identity()", "same_args": "nn.Identity(54, unused_argument=0.1)",
              "scale": f"nn.Parameter(torch.ones({fout}) * 0.5)", "frozen": f"nn.Parameter(torch.zeros({fin}), requires_grad=False)"}
    body = "h = x\nfor block in self.blocks:\n    h = torch.tanh(block(h))"
    outputs = ["self.fc(x)", "self.fc_positional(x) * self.scale", "self.seq(x)", "h", "self.blocks[-1](x)",
               "self.heads['a'](x)", "self.heads['b'](x)", "self.same(x)", "self.same_args(x)", "x + self.frozen"]
    check(outputs, {"x": data(batch + (fin,), seed)}, layers, body=body)


@covers("torch.nn.Conv1d", "torch.nn.Conv2d", "torch.nn.Conv3d")
@FEW
@given(cin=st.integers(1, 3), mult=st.integers(1, 2), k=st.integers(1, 3), stride=st.integers(1, 2),
       padding=st.sampled_from([0, 1, 2, "'same'", "'valid'", "tuple"]), dilation=st.integers(1, 2),
       grouped=st.booleans(), bias=st.booleans(), seed=st.integers(0, 9))
def test_convolutions(cin, mult, k, stride, padding, dilation, grouped, bias, seed):
    if padding == "'same'":
        stride = 1  # torch: padding='same' only with stride 1
    groups = cin if grouped else 1
    cout = cin * mult if grouped else mult + 1
    layers, outputs, inputs = {}, [], {}
    for n, side in ((1, 9), (2, 7), (3, 5)):
        pad = str(tuple(range(n))) if padding == "tuple" else padding
        args = f"{cin}, {cout}, {k}, stride={stride}, padding={pad}, dilation={dilation}, groups={groups}, bias={bias}"
        layers[f"conv{n}"] = f"nn.Conv{n}d({args})"
        layers[f"seq{n}"] = f"nn.Sequential(nn.Conv{n}d({args}), nn.ReLU())"  # wrapped to keep NCHW
        layers[f"kt{n}"] = f"nn.Conv{n}d({cin}, 2, kernel_size={(k,) * n}, stride={(stride,) * n})"
        outputs += [f"self.conv{n}(x{n})", f"self.seq{n}(x{n})", f"self.kt{n}(x{n})"]
        inputs[f"x{n}"] = data((2, cin) + (side,) * n, seed + n)
    check(outputs, inputs, layers)


@covers("torch.nn.ConvTranspose1d", "torch.nn.ConvTranspose2d", "torch.nn.ConvTranspose3d")
@FEW
@given(cin=st.integers(1, 3), cout=st.integers(1, 3), k=st.integers(1, 3), stride=st.integers(1, 3), padding=st.integers(0, 2),
       extra=st.integers(0, 2), dilation=st.integers(1, 2), bias=st.booleans(), seed=st.integers(0, 9))
def test_conv_transposes(cin, cout, k, stride, padding, extra, dilation, bias, seed):
    extra = min(extra, max(stride, dilation) - 1)  # torch: output_padding below stride or dilation
    # torch: a positive output size, (side - 1) * stride - 2 * padding + dilation * (k - 1) + extra + 1
    padding = min(padding, ((3 - 1) * stride + dilation * (k - 1) + extra) // 2)
    layers, outputs, inputs = {}, [], {}
    for n, side in ((1, 5), (2, 4), (3, 3)):
        args = (f"{cin}, {cout}, {k}, stride={stride}, padding={padding}, output_padding={extra}, dilation={dilation}, "
                f"bias={bias}")
        layers[f"up{n}"] = f"nn.ConvTranspose{n}d({args})"
        outputs.append(f"self.up{n}(x{n})")
        inputs[f"x{n}"] = data((2, cin) + (side,) * n, seed + n)
    check(outputs, inputs, layers)


@covers("torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d", "torch.nn.LayerNorm", "torch.nn.GroupNorm",
        "torch.nn.InstanceNorm1d", "torch.nn.InstanceNorm2d", "torch.nn.InstanceNorm3d", "torch.nn.LocalResponseNorm")
@FEW
@given(channels=st.sampled_from([2, 4, 6]), eps=st.sampled_from([None, 1e-5, 1e-3, 0.1]), momentum=st.sampled_from([None, 0.1, 0.5]),
       affine=st.sampled_from([None, True, False]), bias=st.sampled_from([None, True, False]), train=st.booleans(),
       groups=st.sampled_from([1, 2]), size=st.integers(1, 4), alpha=st.sampled_from([1e-4, 0.1]), beta=st.sampled_from([0.5, 0.75]),
       k=st.sampled_from([1.0, 2.0]), scale=st.sampled_from([1e-2, 1.0]), seed=st.integers(0, 9))
def test_normalisations(channels, eps, momentum, affine, bias, train, groups, size, alpha, beta, k, scale, seed):
    c = channels
    bn = call_args(eps=eps, momentum=momentum)
    layers = {"bn1": f"nn.BatchNorm1d({c}{', ' if bn else ''}{bn})", "bn2": f"nn.BatchNorm2d({c}{', ' if bn else ''}{bn})",
              "ln": f"nn.LayerNorm({c}, {call_args(eps=eps, bias=bias)})", "ln_list": f"nn.LayerNorm([{c}])",
              "gn": f"nn.GroupNorm({groups}, {c}, {call_args(eps=eps, affine=affine)})",
              "in1": f"nn.InstanceNorm1d({c}, {call_args(eps=eps, affine=affine)})",
              "in2": f"nn.InstanceNorm2d({c}, {call_args(eps=eps, affine=affine)})",
              "in3": f"nn.InstanceNorm3d({c}, {call_args(eps=eps, affine=affine, momentum=momentum)})",
              "lrn": f"nn.LocalResponseNorm({size}, alpha={alpha}, beta={beta}, k={k})"}
    outputs = ["self.bn1(v)", "self.bn1(s)", "self.bn2(x)", "self.ln(v)", "self.ln(x.transpose(1, 3))", "self.ln_list(v)",
               "self.gn(x)", "self.in1(s)", "self.in2(x)", "self.in3(w)", "self.lrn(x)", "self.lrn(s)"]
    # small-variance inputs make an eps default (torch 1e-5, Flax 1e-6) visible
    inputs = {"x": data((3, c, 4, c), seed, scale) + 1.0, "v": data((5, c), seed + 1, scale),
              "s": data((3, c, 5), seed + 2, scale), "w": data((2, c, 3, 2, 3), seed + 3, scale)}
    check(outputs, inputs, layers, train=train, allow=BATCHNORM, tol=5e-5)


@covers("torch.nn.Embedding", "torch.nn.Dropout", "torch.nn.PReLU", "torch.nn.functional.prelu")
@FEW
@given(num=st.integers(1, 6), dim=st.integers(1, 4), shape=st.sampled_from([(3,), (2, 4), (1, 2, 2)]),
       p=st.sampled_from([None, 0.0, 0.3, 0.9]), init=st.sampled_from([None, 0.1, 0.25, -0.5]), channels=st.integers(1, 4),
       seed=st.integers(0, 9))
def test_embedding_dropout_prelu(num, dim, shape, p, init, channels, seed):
    layers = {"embed": f"nn.Embedding({num}, {dim})", "embed_kw": f"nn.Embedding(num_embeddings={num}, embedding_dim={dim})",
              "drop": f"nn.Dropout({call_args(p=p)})", "act": f"nn.PReLU({call_args(init=init)})",
              "slopes": f"nn.Parameter(torch.full(({channels},), {init or 0.25}))", "slope": "nn.Parameter(torch.tensor([0.2]))"}
    outputs = ["self.embed(i)", "self.embed_kw(i) * 2", "self.drop(x)", "self.act(x)", "F.prelu(x, self.slopes)",
               "F.prelu(x, self.slope)", "F.prelu(x, weight=self.slope)"]
    ids = np.random.default_rng(seed).integers(0, num, shape).astype(np.int64)
    check(outputs, {"i": ids, "x": data((2, channels, 3), seed, 3.0)}, layers)  # eval: dropout is the identity


POOLS = [f"torch.nn.{kind}Pool{n}d" for kind in ("Max", "Avg") for n in (1, 2, 3)]
FUNCTIONAL_POOLS = [f"torch.nn.functional.{kind}_pool{n}d" for kind in ("max", "avg") for n in (1, 2, 3)]


@covers(*POOLS, *FUNCTIONAL_POOLS)
@FEW
@given(k=st.integers(1, 3), stride=st.sampled_from([None, 1, 2, 3]), padding=st.integers(0, 1), ceil=st.booleans(),
       include_pad=st.sampled_from([None, True, False]), as_tuple=st.booleans(), seed=st.integers(0, 9))
def test_pooling(k, stride, padding, ceil, include_pad, as_tuple, seed):
    padding = min(padding, k // 2)  # torch: padding at most half the kernel
    s = stride or k
    if ceil and k - 1 <= padding + s - 2:
        ceil = False  # the last window would start in the padding: reported (test_layer_coverage.test_pool_reported)
    layers, outputs, inputs = {}, [], {}
    for n, side in ((1, 7), (2, 6), (3, 5)):
        kernel = (k,) * n if as_tuple else k
        for kind in ("Max", "Avg"):
            extra = call_args(count_include_pad=include_pad) if kind == "Avg" else ""
            if kind == "Avg" and ceil and padding and include_pad is not False:
                extra = "count_include_pad=False"  # with ceil_mode: reported (the divisor differs at the edge)
            args = ", ".join(a for a in (f"{kernel}", call_args(stride=stride, padding=padding, ceil_mode=ceil), extra) if a)
            layers[f"{kind.lower()}{n}"] = f"nn.{kind}Pool{n}d({args})"
            outputs += [f"self.{kind.lower()}{n}(x{n})", f"F.{kind.lower()}_pool{n}d(x{n}, {args})"]
        inputs[f"x{n}"] = data((2, 2) + (side,) * n, seed + n)
    check(outputs, inputs, layers)


ADAPTIVE = ["torch.nn.AdaptiveAvgPool1d", "torch.nn.AdaptiveAvgPool2d", "torch.nn.AdaptiveMaxPool1d", "torch.nn.AdaptiveMaxPool2d",
            "torch.nn.functional.adaptive_avg_pool1d", "torch.nn.functional.adaptive_avg_pool2d",
            "torch.nn.functional.adaptive_max_pool1d", "torch.nn.functional.adaptive_max_pool2d"]


@covers(*ADAPTIVE)
@SETTINGS
@given(h=st.sampled_from([1, 2, 3, 4, 6]), w=st.sampled_from([2, 4, 8]), data_=st.data(), seed=st.integers(0, 9))
def test_adaptive_pooling(h, w, data_, seed):
    # output sizes that divide the input (uneven bins raise: test_layer_coverage.test_adaptive_pool_with_uneven_bins...)
    oh = data_.draw(st.sampled_from([d for d in range(1, h + 1) if h % d == 0] + [None]))
    ow = data_.draw(st.sampled_from([d for d in range(1, w + 1) if w % d == 0] + [None]))
    o1 = data_.draw(st.sampled_from([d for d in range(1, w + 1) if w % d == 0]))
    layers, outputs = {}, []
    for kind in ("Avg", "Max"):
        layers[f"{kind.lower()}1"] = f"nn.Adaptive{kind}Pool1d({o1})"
        layers[f"{kind.lower()}2"] = f"nn.Adaptive{kind}Pool2d(({oh}, {ow}))"
        layers[f"{kind.lower()}2_int"] = f"nn.Adaptive{kind}Pool2d({oh or 1})"
        outputs += [f"self.{kind.lower()}1(s)", f"self.{kind.lower()}2(x)", f"self.{kind.lower()}2_int(x)",
                    f"F.adaptive_{kind.lower()}_pool1d(s, {o1})", f"F.adaptive_{kind.lower()}_pool2d(x, ({oh}, {ow}))",
                    f"F.adaptive_{kind.lower()}_pool2d(x, output_size={oh or 1})"]
    check(outputs, {"x": data((2, 3, h, w), seed), "s": data((2, 3, w), seed + 1)}, layers)


@covers("torch.nn.Upsample", "torch.nn.UpsamplingNearest2d", "torch.nn.UpsamplingBilinear2d", "torch.nn.functional.interpolate")
@FEW
@given(factor=st.integers(1, 3), size=st.tuples(st.integers(1, 9), st.integers(2, 8)),
       align=st.sampled_from([None, False, True]), seed=st.integers(0, 9))
def test_resampling(factor, size, align, seed):
    corners = call_args(align_corners=align)
    corners = f", {corners}" if corners else ""
    layers = {"near": f"nn.Upsample(scale_factor={factor})", "near_size": f"nn.Upsample(size={size}, mode='nearest')",
              "bilinear": f"nn.Upsample(scale_factor={factor}, mode='bilinear'{corners})",
              "bilinear_size": f"nn.Upsample(size={size}, mode='bilinear'{corners})",
              "nearest2d": f"nn.UpsamplingNearest2d(scale_factor={factor})", "nearest2d_size": f"nn.UpsamplingNearest2d(size={size})",
              "bilinear2d": f"nn.UpsamplingBilinear2d(scale_factor={factor})", "bilinear2d_size": f"nn.UpsamplingBilinear2d({size})",
              "trilinear": f"nn.Upsample(scale_factor={factor}, mode='trilinear'{corners})"}
    outputs = [f"self.{name}(x)" for name in layers if name != "trilinear"] + [
        "self.trilinear(v)", f"F.interpolate(x, scale_factor={factor})", f"F.interpolate(x, size={size})",
        f"F.interpolate(x, scale_factor=({factor}, {factor + 1}), mode='nearest-exact')",
        f"F.interpolate(x, size={size}, mode='bilinear'{corners})", f"F.interpolate(s, scale_factor={factor}, mode='linear'{corners})",
        f"F.interpolate(s, size={size[0]}, mode='linear'{corners})", f"F.interpolate(s, size=({size[1]},))"]
    check(outputs, {"x": data((2, 2, 4, 3), seed), "v": data((1, 2, 3, 2, 2), seed + 1), "s": data((2, 3, 5), seed + 2)}, layers)


PADS = [f"torch.nn.{kind}Pad{n}d" for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular") for n in (1, 2, 3)]


@covers(*PADS, "torch.nn.functional.pad")
@FEW
@given(pads=st.lists(st.integers(0, 2), min_size=6, max_size=6), as_int=st.booleans(), value=st.sampled_from([0.5, -2.0]),
       batched=st.booleans(), seed=st.integers(0, 9))
def test_padding(pads, as_int, value, batched, seed):
    layers, outputs, inputs = {}, [], {}
    for n in (1, 2, 3):
        padding = str(pads[0]) if as_int else str(tuple(pads[:2 * n]))
        for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular"):
            layers[f"{kind.lower()}{n}"] = f"nn.{kind}Pad{n}d({padding}{f', {value}' if kind == 'Constant' else ''})"
            outputs.append(f"self.{kind.lower()}{n}(x{n})")
        flat = list(pads[:2 * n])
        outputs += [f"F.pad(x{n}, {flat})", f"F.pad(x{n}, {tuple(flat)}, value={value})",
                    f"F.pad(x{n}, {flat}, mode='constant', value={value})"]
        for mode in ("reflect", "replicate", "circular"):
            outputs.append(f"F.pad(x{n}, {flat}, mode='{mode}')")
        inputs[f"x{n}"] = data(((2,) if batched else ()) + (3,) + (5, 4, 3)[:n], seed + n)
    check(outputs, inputs, layers)


@covers("torch.nn.functional.linear", "torch.nn.functional.embedding")
@SETTINGS
@given(fin=st.integers(1, 5), fout=st.integers(1, 5), batch=st.sampled_from([(), (3,), (2, 2)]), bias=st.sampled_from(["b", "None", ""]),
       num=st.integers(1, 6), dim=st.integers(1, 4), keywords=st.booleans(), seed=st.integers(0, 9))
def test_functional_linear_and_embedding(fin, fout, batch, bias, num, dim, keywords, seed):
    layers = {"w": f"nn.Parameter(torch.randn({fout}, {fin}))", "b": f"nn.Parameter(torch.randn({fout}))",
              "table": f"nn.Parameter(torch.randn({num}, {dim}))"}
    b = {"b": "self.b", "None": "None", "": ""}[bias]
    args = (f"weight=self.w{f', bias={b}' if b else ''}" if keywords else f"self.w{f', {b}' if b else ''}")
    outputs = [f"F.linear(x, {args})", "F.linear(x * 2, self.w, self.b)", "F.embedding(i, self.table)",
               "F.embedding(i, weight=self.table) * 2", "self.b.sum() * 0"]
    ids = np.random.default_rng(seed).integers(0, num, batch + (2,)).astype(np.int64)
    check(outputs, {"x": data(batch + (fin,), seed), "i": ids}, layers)


@covers("torch.nn.Transformer")
@FEW
# (a LayerNorm over 2 or 3 features of near-equal values loses float32 digits in torch too: d_model >= 4)
@given(heads=st.integers(1, 2), head_dim=st.integers(4, 5), encoders=st.integers(1, 2), decoders=st.integers(1, 2),
       ff=st.integers(2, 6), batch_first=st.booleans(), norm_first=st.booleans(), activation=st.sampled_from([None, "'relu'", "'gelu'"]),
       masked=st.booleans(), seed=st.integers(0, 9))
def test_transformer(heads, head_dim, encoders, decoders, ff, batch_first, norm_first, activation, masked, seed):
    d = heads * head_dim
    args = call_args(d_model=d, nhead=heads, num_encoder_layers=encoders, num_decoder_layers=decoders, dim_feedforward=ff,
                     dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    if activation:
        args += f", activation={activation}"
    shape = (lambda n: (2, n, d)) if batch_first else (lambda n: (n, 2, d))
    mask = "tgt_mask=self.t.generate_square_subsequent_mask(3)" if masked else ""
    outputs = [f"self.t(s, t{', ' + mask if mask else ''})", "self.t(s, t, src_key_padding_mask=p)"]
    pad = np.array([[False] * 4, [False, False, True, True]])
    check(outputs, {"s": data(shape(4), seed), "t": data(shape(3), seed + 1), "p": pad}, {"t": f"nn.Transformer({args})"},
          tol=5e-5)


@covers("torch.nn.RMSNorm")
@FEW
@given(c=st.integers(1, 6), eps=st.sampled_from([None, 1e-6, 1e-3, 0.1]), affine=st.sampled_from([None, True, False]),
       batch=st.sampled_from([(), (3,), (2, 2)]), scale=st.sampled_from([1e-2, 1.0, 10.0]), seed=st.integers(0, 9))
def test_rms_norm(c, eps, affine, batch, scale, seed):
    args = call_args(eps=eps, elementwise_affine=affine)
    layers = {"norm": f"nn.RMSNorm({c}{', ' if args else ''}{args})", "norm_list": f"nn.RMSNorm([{c}], {call_args(eps=eps)})"}
    check(["self.norm(x)", "self.norm_list(x) * 2"], {"x": data(batch + (c,), seed, scale)}, layers, allow=("T2J101",),
          tol=5e-5)


@covers("torch.nn.Unfold", "torch.nn.functional.unfold")
@FEW
@given(c=st.integers(1, 3), size=st.tuples(st.integers(5, 8), st.integers(5, 8)), k=st.sampled_from([1, 2, 3, (2, 3)]),
       dilation=st.sampled_from([None, 1, 2, (1, 2)]), padding=st.sampled_from([None, 0, 1, (1, 0)]),
       stride=st.sampled_from([None, 1, 2, (2, 1)]), seed=st.integers(0, 9))
def test_unfold(c, size, k, dilation, padding, stride, seed):
    args = call_args(dilation=dilation, padding=padding, stride=stride)
    extra = f", {args}" if args else ""
    layers = {"unfold": f"nn.Unfold({k!r}{extra})", "unfold_kw": f"nn.Unfold(kernel_size={k!r}{extra})"}
    outputs = ["self.unfold(x)", "self.unfold_kw(x) * 2", f"F.unfold(x, {k!r}{extra})",
               f"F.unfold(x, kernel_size={k!r}{extra})"]
    check(outputs, {"x": data((2, c) + size, seed)}, layers)


@covers("torch.nn.Fold", "torch.nn.functional.fold")
@FEW
@given(c=st.integers(1, 3), size=st.tuples(st.integers(4, 7), st.integers(4, 7)), k=st.sampled_from([1, 2, 3, (2, 3)]),
       dilation=st.sampled_from([None, 1, 2, (1, 2)]), padding=st.sampled_from([None, 0, 1, (1, 0)]),
       stride=st.sampled_from([None, 1, 2, (2, 1)]), batched=st.booleans(), seed=st.integers(0, 9))
def test_fold(c, size, k, dilation, padding, stride, batched, seed):
    """Overlapping blocks (stride below the kernel) are summed, as torch sums them."""
    pair = lambda v, d: (v, v) if isinstance(v, int) else (v or (d, d))  # noqa: E731
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = pair(k, 1), pair(dilation, 1), pair(padding, 0), pair(stride, 1)
    blocks = [(side + 2 * p - d * (kk - 1) - 1) // s + 1 for side, p, d, kk, s in zip(size, (ph, pw), (dh, dw), (kh, kw), (sh, sw))]
    assume(min(blocks) >= 1)  # torch: the kernel must fit the padded output
    args = call_args(dilation=dilation, padding=padding, stride=stride)
    extra = f", {args}" if args else ""
    layers = {"fold": f"nn.Fold({size!r}, {k!r}{extra})", "fold_kw": f"nn.Fold(output_size={size!r}, kernel_size={k!r}{extra})"}
    outputs = ["self.fold(x)", "self.fold_kw(x) * 2", f"F.fold(x, {size!r}, {k!r}{extra})",
               f"F.fold(x, output_size={size!r}, kernel_size={k!r}{extra})"]
    shape = ((2,) if batched else ()) + (c * kh * kw, blocks[0] * blocks[1])
    check(outputs, {"x": data(shape, seed)}, layers)


@covers("torch.nn.ParameterList", "torch.nn.ParameterDict")
@FEW
@given(n=st.integers(1, 3), f=st.integers(1, 4), seed=st.integers(0, 9))
def test_parameter_containers(n, f, seed):
    layers = {"scales": f"nn.ParameterList([nn.Parameter(torch.ones({f}) * (k + 1)) for k in range({n})])",
              "extra": f"nn.ParameterDict({{'shift': nn.Parameter(torch.zeros({f})), 'gain': nn.Parameter(torch.ones({f}))}})"}
    body = "h = x\nfor s in self.scales:\n    h = h * s"
    outputs = ["h", "x * self.scales[0] + self.scales[-1]", "x * self.extra['gain'] + self.extra['shift']"]
    check(outputs, {"x": data((3, f), seed)}, layers, body=body)


@covers("torch.utils.checkpoint.checkpoint")
@FEW
@given(fin=st.integers(1, 4), fout=st.integers(1, 4), preserve=st.sampled_from([None, True, False]), seed=st.integers(0, 9))
def test_activation_checkpointing(fin, fout, preserve, seed):
    # (torch's reentrant variant, its default, refuses torch.autograd.grad: use_reentrant=False as torch advises)
    extra = ", " + call_args(use_reentrant=False, preserve_rng_state=preserve)
    body = "def run(a, b):\n    return torch.tanh(self.fc(a)) + b.sum()"
    outputs = [f"torch.utils.checkpoint.checkpoint(torch.tanh, x{extra})",
               f"torch.utils.checkpoint.checkpoint(self.fc, x{extra})",
               f"torch.utils.checkpoint.checkpoint(lambda t: self.fc(t) * 2, x{extra})",
               f"torch.utils.checkpoint.checkpoint(run, x, y{extra})"]
    check(outputs, {"x": data((3, fin), seed), "y": data((2,), seed + 1)}, {"fc": f"nn.Linear({fin}, {fout})"},
          body=body, header=HEADER + "import torch.utils.checkpoint\n")


@covers("torch.nn.EmbeddingBag", "torch.nn.functional.embedding_bag")
@FEW
@given(num=st.integers(2, 8), dim=st.integers(1, 4), mode=st.sampled_from([None, "sum", "mean", "max"]),
       padding_idx=st.sampled_from([None, 0, -1]), bags=st.integers(1, 4), size=st.integers(1, 4), length=st.integers(0, 9),
       seed=st.integers(0, 9))
def test_embedding_bag(num, dim, mode, padding_idx, bags, size, length, seed):
    rng = np.random.default_rng(seed)
    options = call_args(mode=mode, padding_idx=padding_idx)
    extra = f", {options}" if options else ""
    layers = {"bag": f"nn.EmbeddingBag({num}, {dim}{extra})",
              "bag_last": f"nn.EmbeddingBag({num}, {dim}, {call_args(mode=mode, include_last_offset=True)})",
              "bag_sum": f"nn.EmbeddingBag(num_embeddings={num}, embedding_dim={dim}, mode='sum', padding_idx={padding_idx})",
              "table": f"nn.Parameter(torch.randn({num}, {dim}))"}
    outputs = ["self.bag(rows)", "self.bag(flat, offsets)", "self.bag_last(flat, ends)",
               "self.bag_sum(flat, offsets, per_sample_weights=w)", "self.bag_sum(rows, None, v)",
               f"F.embedding_bag(rows, self.table{extra})", f"F.embedding_bag(flat, self.table, offsets{extra})",
               f"F.embedding_bag(flat, self.table, ends, include_last_offset=True{extra})",
               "F.embedding_bag(flat, self.table, offsets, mode='sum', per_sample_weights=w)"]
    # offsets start at 0 and never decrease (equal ones are empty bags); with include_last_offset the last one is
    # the input's length (torch's contract: short of it, torch's sum, mean and max disagree on the indices after it)
    offsets = np.concatenate([[0], np.sort(rng.integers(0, length + 1, bags - 1))]).astype(np.int64)
    ends = np.concatenate([offsets, [length]]).astype(np.int64)
    inputs = {"rows": rng.integers(0, num, (bags, size)).astype(np.int64), "flat": rng.integers(0, num, length).astype(np.int64),
              "offsets": offsets, "ends": ends, "w": data(length, seed), "v": data((bags, size), seed + 1)}
    check(outputs, inputs, layers)


def test_embedding_bag_reports_what_it_does_not_translate():
    """max_norm (torch renormalises the table in place) and scale_grad_by_freq are reported and left as torch;
    sparse=True is translated with a note (JAX's gradient is dense, with the same values)."""
    from numeric import convert

    result = convert(HEADER + "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                     "        self.a = nn.EmbeddingBag(10, 4, max_norm=1.0)\n"
                     "        self.b = nn.EmbeddingBag(10, 4, scale_grad_by_freq=True)\n"
                     "        self.c = nn.EmbeddingBag(10, 4, mode='sum', sparse=True)\n"
                     "    def forward(self, i, w):\n        return F.embedding_bag(i, w, max_norm=2.0), F.embedding_bag(i, w, sparse=True)\n")
    assert [(d.code, d.severity) for d in result.diagnostics] == [
        ("T2J102", "error"), ("T2J102", "error"), ("T2J101", "info"), ("T2J302", "error"), ("T2J301", "info")]
    assert "self.a = nn.EmbeddingBag(10, 4, max_norm=1.0)" in result.code
    assert "self.c = EmbeddingBag(10, 4, mode='sum', sparse=True, rngs=rngs)" in result.code
