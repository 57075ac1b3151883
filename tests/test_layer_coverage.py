"""Activation modules and functions added for coverage, against torch: outputs and gradients."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from layer_check import TEMPLATE, check, data  # noqa: E402
from torch2jax import convert_source  # noqa: E402

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("layer", [
    "nn.ELU()", "nn.ELU(alpha=0.5)", "nn.SELU()", "nn.CELU(2.0)", "nn.Hardswish()", "nn.Hardsigmoid()",
    "nn.Mish()", "nn.Softplus()", "nn.Softsign()", "nn.LogSigmoid()", "nn.GLU()", "nn.GLU(dim=1)",
    "nn.Tanhshrink()", "nn.Threshold(0.1, 20.0)", "nn.Hardtanh()", "nn.Hardtanh(0.0, 6.0)", "nn.Hardshrink()",
    "nn.Softshrink(0.3)", "nn.Softmin(dim=1)", "nn.PReLU()", "nn.PReLU(init=0.1)",
])
def test_activation_modules(layer):
    check(layer, data((4, 6), scale=3.0))


def test_softmax2d():
    check("nn.Softmax2d()", data((2, 3, 4, 5)))


@pytest.mark.parametrize("forward", [
    "F.elu(x, 0.5)", "F.selu(x)", "torch.selu(x)", "F.celu(x, alpha=1.5)", "F.hardswish(x)", "F.hardsigmoid(x)",
    "F.mish(x)", "F.softplus(x)", "F.softsign(x)", "F.logsigmoid(x)", "F.glu(x, 1)", "F.tanhshrink(x)",
    "F.threshold(x, 0.5, -1.0)", "F.hardtanh(x, -2.0, 2.0)", "F.hardshrink(x, 0.3)", "F.softshrink(x)",
    "F.softmin(x, dim=-1)", "F.softplus(x, 2.0, 1.0)",
])
def test_activation_functions(forward):
    check("nn.Identity()", data((4, 6), scale=3.0), forward=forward)


def test_formula_using_its_input_twice_on_an_expression_is_reported():
    result = convert_source(TEMPLATE.format(layer="nn.Identity()", forward="F.tanhshrink(x * 2)"))
    assert [d.code for d in result.diagnostics] == ["T2J302"]
    assert "# torch2jax: T2J302" in result.code


@SETTINGS
@given(beta=st.sampled_from([0.5, 1.0, 2.0, 3]), threshold=st.sampled_from([20.0, 1.0, 5.0]), functional=st.booleans())
def test_softplus(beta, threshold, functional):
    if functional:
        check("nn.Identity()", data((5, 7), scale=4.0), forward=f"F.softplus(x, beta={beta}, threshold={threshold})")
    else:
        check(f"nn.Softplus(beta={beta}, threshold={threshold})", data((5, 7), scale=4.0))


# ---------------------------------------------------------------------- convolutions


@SETTINGS
@given(
    cin=st.integers(1, 3), cout=st.integers(1, 3), k=st.integers(1, 4), stride=st.integers(1, 3),
    padding=st.integers(0, 2), extra=st.integers(0, 2), dilation=st.integers(1, 2), bias=st.booleans(),
    dims=st.sampled_from([1, 2]),
)
def test_conv_transpose(cin, cout, k, stride, padding, extra, dilation, bias, dims):
    extra = min(extra, max(stride, dilation) - 1)  # torch: output_padding < stride or dilation
    shape = (2, cin) + (5, 4)[:dims]
    layer = (f"nn.ConvTranspose{dims}d({cin}, {cout}, {k}, stride={stride}, padding={padding}, "
             f"output_padding={extra}, dilation={dilation}, bias={bias})")
    check(layer, data(shape))


def test_conv_transpose_in_a_sequential_and_per_dimension_values():
    check("nn.Sequential(nn.ConvTranspose2d(3, 2, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0)), nn.Tanh())",
          data((2, 3, 4, 5)))


@SETTINGS
@given(k=st.integers(1, 3), stride=st.integers(1, 2), padding=st.integers(0, 1), bias=st.booleans(), grouped=st.booleans())
def test_conv3d(k, stride, padding, bias, grouped):
    groups = 2 if grouped else 1
    check(f"nn.Conv3d(2, 4, {k}, stride={stride}, padding={padding}, groups={groups}, bias={bias})", data((2, 2, 5, 4, 6)))


def test_grouped_conv_transpose_is_reported():
    result = convert_source(TEMPLATE.format(layer="nn.ConvTranspose2d(4, 4, 3, groups=2)", forward="self.layer(x)"))
    assert [d.code for d in result.diagnostics] == ["T2J102"]


# ---------------------------------------------------------------------- resizing


@SETTINGS
@given(
    mode=st.sampled_from(["nearest", "bilinear", "nearest-exact"]),
    align=st.sampled_from([None, False, True]),
    how=st.sampled_from(["scale", "scale_tuple", "size", "size_int"]),
    factor=st.integers(1, 3),
    size=st.tuples(st.integers(1, 11), st.integers(2, 9)),
    module=st.booleans(),
)
def test_interpolate_2d(mode, align, how, factor, size, module):
    if mode.startswith("nearest"):
        align = None  # torch: align_corners only for the linear modes
    if mode == "nearest-exact" and how.startswith("size"):
        how = "scale"
    if mode == "nearest" and how == "size_int":
        how = "size"  # a single size with an unknown rank is reported (see below)
    arg = {"scale": f"scale_factor={factor}", "scale_tuple": f"scale_factor=({factor}, {factor + 1})",
           "size": f"size={size}", "size_int": f"size={size[0] + 1}"}[how]
    extra = f", align_corners={align}" if align is not None else ""
    if module:
        check(f"nn.Upsample({arg}, mode='{mode}'{extra})", data((2, 3, 4, 5)))
    else:
        check("nn.Identity()", data((2, 3, 4, 5)), forward=f"F.interpolate(x, {arg}, mode='{mode}'{extra})")


@pytest.mark.parametrize("forward", [
    "F.interpolate(x, scale_factor=2, mode='linear')",
    "F.interpolate(x, size=9, mode='linear', align_corners=True)",
    "F.interpolate(x, size=(5,))",
    "F.interpolate(x, size=(10,), mode='nearest')",
    "F.interpolate(x, scale_factor=3)",
])
def test_interpolate_1d(forward):
    check("nn.Identity()", data((2, 3, 7)), forward=forward)


@pytest.mark.parametrize("layer", ["nn.UpsamplingNearest2d(scale_factor=2)", "nn.UpsamplingBilinear2d(size=(7, 3))",
                                   "nn.Upsample(scale_factor=2, mode='trilinear')"])
def test_upsampling_modules(layer):
    check(layer, data((2, 2, 4, 5, 3)) if "trilinear" in layer else data((2, 3, 4, 5)))


@pytest.mark.parametrize("forward, code", [
    ("F.interpolate(x, scale_factor=2, mode='bicubic')", "T2J302"),
    ("F.interpolate(x, scale_factor=1.5)", "T2J302"),
    ("F.interpolate(x + 1, scale_factor=2)", "T2J302"),
    ("F.interpolate(x, size=5)", "T2J302"),
])
def test_interpolate_reported(forward, code):
    result = convert_source(TEMPLATE.format(layer="nn.Identity()", forward=forward))
    assert [d.code for d in result.diagnostics] == [code]


# ---------------------------------------------------------------------- pooling


@SETTINGS
@given(
    dims=st.sampled_from([1, 2, 3]), kind=st.sampled_from(["Max", "Avg"]), k=st.integers(1, 3),
    stride=st.one_of(st.none(), st.integers(1, 3)), padding=st.integers(0, 1), ceil=st.booleans(),
    include_pad=st.booleans(), functional=st.booleans(),
)
def test_pools(dims, kind, k, stride, padding, ceil, include_pad, functional):
    padding = min(padding, k // 2)  # torch: padding at most half the kernel
    s = stride or k
    if ceil and (k - 1 <= padding + s - 2 or (kind == "Avg" and padding and include_pad)):
        ceil = False  # reported instead (test_pool_reported)
    shape = (2, 3) + (7, 6, 5)[:dims]
    extra = f", count_include_pad={include_pad}" if kind == "Avg" else ""
    if functional:
        check("nn.Identity()", data(shape), forward=f"F.{kind.lower()}_pool{dims}d(x, {k}, {stride}, {padding}, ceil_mode={ceil}{extra})")
    else:
        check(f"nn.{kind}Pool{dims}d({k}, stride={stride}, padding={padding}, ceil_mode={ceil}{extra})", data(shape))


@pytest.mark.parametrize("layer", [
    "nn.MaxPool2d(1, 2, ceil_mode=True)", "nn.AvgPool2d(3, 2, 1, ceil_mode=True)",
    "nn.AdaptiveAvgPool2d(x)", "nn.MaxPool2d(3, dilation=2)",
])
def test_pool_reported(layer):
    result = convert_source(TEMPLATE.format(layer=layer, forward="self.layer(x)"))
    assert [d.code for d in result.diagnostics] == ["T2J102"]


@SETTINGS
@given(out=st.tuples(st.sampled_from([1, 2, 3, 6, None]), st.sampled_from([1, 2, 4, None])), kind=st.sampled_from(["Max", "Avg"]),
       functional=st.booleans())
def test_adaptive_pools_2d(out, kind, functional):
    if functional:
        check("nn.Identity()", data((2, 3, 6, 8)), forward=f"F.adaptive_{kind.lower()}_pool2d(x, {out})")
    else:
        check(f"nn.Adaptive{kind}Pool2d({out})", data((2, 3, 6, 8)))


@pytest.mark.parametrize("layer", ["nn.AdaptiveAvgPool1d(3)", "nn.AdaptiveMaxPool1d(1)", "nn.AdaptiveMaxPool1d(2)", "nn.AdaptiveAvgPool2d(2)"])
def test_adaptive_pools(layer):
    check(layer, data((2, 3, 6) if "1d" in layer else (2, 3, 6, 4)))


@SETTINGS
@given(out=st.tuples(st.integers(1, 9), st.sampled_from([1, 3, 4, 5, 7, None])), size=st.tuples(st.integers(1, 8), st.integers(1, 8)),
       kind=st.sampled_from(["Max", "Avg"]), functional=st.booleans())
def test_adaptive_pools_to_any_size(out, size, kind, functional):
    """Bins as torch's when they differ in size, overlap, or repeat a smaller map (1x1 to 7x7)."""
    if functional:
        check("nn.Identity()", data((2, 3, *size)), forward=f"F.adaptive_{kind.lower()}_pool2d(x, {out})")
    else:
        check(f"nn.Adaptive{kind}Pool2d({out})", data((2, 3, *size)))


@pytest.mark.parametrize("layer, shape", [("nn.AdaptiveAvgPool1d(4)", (2, 3, 6)), ("nn.AdaptiveMaxPool1d(5)", (3, 7)),
                                          ("nn.AdaptiveAvgPool2d((7, 7))", (2, 3, 1, 1)), ("nn.AdaptiveAvgPool2d(3)", (3, 5, 4))])
def test_adaptive_pools_uneven_and_unbatched(layer, shape):
    check(layer, data(shape))


# ---------------------------------------------------------------------- normalisation, embedding, reshaping


@SETTINGS
@given(groups=st.sampled_from([1, 2, 4]), eps=st.sampled_from([1e-5, 1e-3]), affine=st.booleans(), train=st.booleans())
def test_group_norm(groups, eps, affine, train):
    check(f"nn.GroupNorm({groups}, 8, eps={eps}, affine={affine})", data((2, 8, 5, 4), scale=2.0) + 1.0, train=train)


@SETTINGS
@given(dims=st.sampled_from([1, 2, 3]), eps=st.sampled_from([1e-5, 1e-3]), affine=st.booleans(), train=st.booleans())
def test_instance_norm(dims, eps, affine, train):
    check(f"nn.InstanceNorm{dims}d(3, eps={eps}, affine={affine})", data((2, 3) + (6, 5, 4)[:dims], scale=2.0) + 1.0, train=train)


def test_instance_norm_with_running_stats_is_reported():
    result = convert_source(TEMPLATE.format(layer="nn.InstanceNorm2d(3, track_running_stats=True)", forward="self.layer(x)"))
    assert [d.code for d in result.diagnostics] == ["T2J102"]


@SETTINGS
@given(size=st.integers(1, 6), alpha=st.sampled_from([1e-4, 0.1, 1.0]), beta=st.sampled_from([0.75, 0.5]), k=st.sampled_from([1.0, 2.0]),
       rank=st.sampled_from([3, 4]))
def test_local_response_norm(size, alpha, beta, k, rank):
    check(f"nn.LocalResponseNorm({size}, alpha={alpha}, beta={beta}, k={k})", data((2, 7, 5, 4)[:rank], scale=2.0))


def test_embedding_padding_idx():
    x = np.array([[0, 3, 1], [2, 0, 4]], dtype=np.int64)
    check("nn.Embedding(6, 4, padding_idx=0)", x, allow=("T2J101",), grads=False)  # the padding row's gradient differs (reported)
    result = convert_source(TEMPLATE.format(layer="nn.Embedding(6, 4, padding_idx=0)", forward="self.layer(x)"))
    assert [d.code for d in result.diagnostics] == ["T2J101"]
    result = convert_source(TEMPLATE.format(layer="nn.Embedding(6, 4, max_norm=1.0)", forward="self.layer(x)"))
    assert [d.code for d in result.diagnostics] == ["T2J102"]


@pytest.mark.parametrize("layer, shape", [
    ("nn.Unflatten(1, (4, 3))", (2, 12, 5)), ("nn.Unflatten(-1, (2, 3))", (2, 5, 6)),
    ("nn.PixelShuffle(2)", (2, 8, 3, 4)), ("nn.PixelShuffle(3)", (1, 9, 2, 2)),
    ("nn.PixelUnshuffle(2)", (2, 3, 4, 6)),
])
def test_reshaping_layers(layer, shape):
    check(layer, data(shape))


@pytest.mark.parametrize("forward", [
    "F.pixel_shuffle(x, 2).sum((2, 3)) + F.pixel_unshuffle(x[:, :, :2], 2).sum((1, 2, 3))[:, None]",
    "torch.unflatten(x, 1, (2, 4)).reshape(2, 8, 3, 6) * x.unflatten(-1, (2, 3)).sum(-1).sum(-1)[..., None]",
])
def test_reshaping_functions(forward):
    check("nn.Identity()", data((2, 8, 3, 6)), forward=forward)


# ---------------------------------------------------------------------- padding


@SETTINGS
@given(kind=st.sampled_from(["Zero", "Constant", "Reflection", "Replication", "Circular"]), dims=st.sampled_from([1, 2, 3]),
       pads=st.lists(st.integers(0, 2), min_size=6, max_size=6), as_int=st.booleans(), batched=st.booleans())
def test_padding_layers(kind, dims, pads, as_int, batched):
    padding = str(pads[0]) if as_int else str(tuple(pads[:2 * dims]))
    value = ", 0.5" if kind == "Constant" else ""
    shape = ((2,) if batched else ()) + (3,) + (5, 4, 3)[:dims]
    check(f"nn.{kind}Pad{dims}d({padding}{value})", data(shape))


@SETTINGS
@given(mode=st.sampled_from(["constant", "reflect", "replicate", "circular"]), pads=st.lists(st.integers(0, 2), min_size=2, max_size=4),
       value=st.sampled_from([None, 0.0, -1.5]))
def test_functional_pad(mode, pads, value):
    if len(pads) % 2 or mode != "constant":
        pads = (pads + [1, 1])[:4]  # torch: other modes pad the last 2 axes of a 4D input
    extra = f", value={value}" if value is not None and mode == "constant" else ""
    check("nn.Identity()", data((2, 3, 5, 4)), forward=f"F.pad(x, {pads}, mode='{mode}'{extra})")


def test_pad_by_computed_amounts():
    # the U-Net way: pads computed from the shapes
    forward = "F.pad(x, [(8 - x.size(3)) // 2, 8 - x.size(3) - (8 - x.size(3)) // 2, 1, 0])"
    check("nn.Identity()", data((2, 3, 5, 3)), forward=forward)


PRELU = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class M(nn.Module):
    def __init__(self):
        super().__init__()
        # one slope per channel and one for all
        self.slopes = nn.Parameter(torch.full((3,), 0.2))
        self.slope = nn.Parameter(torch.tensor([0.1]))

    def forward(self, x):
        return F.prelu(x, self.slopes) + F.prelu(x, self.slope)
"""


def test_functional_prelu():
    check(None, data((2, 3, 4, 5), scale=2.0), source=PRELU)
