"""Convolutions kept in torch's layout, for the code that treats ``nn.Conv1d/2d/3d`` as a class rather
than building one: a class of the file subclassing it (EfficientNet's ``Conv2dStaticSamePadding``,
a TCN's causal ``Conv1d``, weight-standardised convolutions) or a convolution class held as a value
(``partial(nn.Conv1d, kernel_size=1)``).

Such code reads torch's attributes (``self.weight.size()[-2:]``, ``self.stride``, ``self.dilation[0]``,
``self.padding``, ``self.groups``) and calls ``F.conv2d(x, self.weight, self.bias, self.stride, ...)``
or ``super().forward(x)`` itself, on NCHW input. ``nnx.Conv`` keeps none of these as torch does (its
kernel is HWIO, its input channels-last), so the translation defines, once per file, a module with
torch's signature, attributes and parameters (``weight`` as (out, in / groups, *kernel), ``bias``),
computing with the ``conv`` helper of ``F.conv2d`` (``jax.lax.conv_general_dilated`` in torch's
dimension order). A subclass derives from it as it derived from torch's class, and a torch checkpoint
loads one to one. A convolution the file builds itself (``nn.Conv2d(3, 8, 3)``) is still ``nnx.Conv``.
"""

from __future__ import annotations

from torch2jax.handlers.functional_layers import HELPERS
from torch2jax.handlers.support import class_definer, define_helper, helper_name

TEMPLATE = '''class {name}(nnx.Module):
    """torch.nn.{torch_name} in torch's layout (input (N, C, {spatial}), weight (out, in / groups, {kernel})), with
    torch's attributes (kernel_size, stride, dilation and padding as tuples) and initialisation."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None, *, rngs: nnx.Rngs):
        per_axis = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * {n}  # noqa: E731
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', not {{padding_mode!r}}")
        self.in_channels, self.out_channels, self.groups, self.padding_mode = in_channels, out_channels, groups, padding_mode
        self.kernel_size, self.stride, self.dilation = per_axis(kernel_size), per_axis(stride), per_axis(dilation)
        self.padding = padding if isinstance(padding, str) else per_axis(padding)
        # torch's initialisation: kaiming_uniform_(a=sqrt(5)), that is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the bias alike
        bound = 1 / math.sqrt(in_channels // groups * math.prod(self.kernel_size))
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = nnx.Param(jax.random.uniform(rngs.params(), shape, minval=-bound, maxval=bound))
        self.bias = nnx.Param(jax.random.uniform(rngs.params(), (out_channels,), minval=-bound, maxval=bound)) if bias else None

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode == "zeros":
            return {conv}(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)
        if self.padding == "same":  # torch's split: the odd element of the total on the high side
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            pads = [(t // 2, t - t // 2) for t in total]
        else:
            pads = [(0, 0)] * {n} if self.padding == "valid" else [(p, p) for p in self.padding]
        mode = {{"reflect": "reflect", "replicate": "edge", "circular": "wrap"}}[self.padding_mode]
        input = jnp.pad(input, [(0, 0), (0, 0), *pads], mode=mode)
        return {conv}(input, weight, bias, self.stride, 0, self.dilation, self.groups)

    def __call__(self, input):
        return self._conv_forward(input, self.weight, self.bias)
'''

SPATIAL = {1: ("L", "k"), 2: ("H, W", "kH, kW"), 3: ("D, H, W", "kD, kH, kW")}


def _torch_layout_conv(rule, state) -> str:
    """The module standing for ``rule``'s convolution in torch's layout, defined once in the output."""
    torch_name = rule.torch.rpartition(".")[2]
    name = helper_name(state, torch_name)
    if name in state.support:
        return name
    conv = helper_name(state, "conv")
    if conv not in state.support:
        define_helper(state, conv, HELPERS["conv"].replace("def conv(", f"def {conv}(", 1))
    spatial, kernel = SPATIAL[rule.spatial_dims]
    source = TEMPLATE.format(name=name, torch_name=torch_name, n=rule.spatial_dims, spatial=spatial, kernel=kernel,
                             conv=conv)
    define_helper(state, name, source, needs=(conv,))
    state.imports.ref("math.prod")
    return name


for _torch in ("torch.nn.Conv1d", "torch.nn.Conv2d", "torch.nn.Conv3d"):
    class_definer(_torch)(_torch_layout_conv)
