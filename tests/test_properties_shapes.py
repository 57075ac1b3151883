"""Property tests of the shape rules: reshaping, flattening, permuting, joining and splitting,
repeating, flipping and rolling, triangles, einsum and the pixel shuffles. Hypothesis draws the
shapes and the arguments each rule handles; values and gradients are compared against torch
(tests/properties.py)."""

import math

import pytest

pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import given, strategies as st  # noqa: E402

from numeric import covers  # noqa: E402
from properties import HEADER, SETTINGS, check, data  # noqa: E402
from strategies import axes, axis, call_args, shapes  # noqa: E402


@st.composite
def reshaped(draw, shape):
    """Another shape with as many elements, one side possibly -1."""
    n = math.prod(shape)
    sides = []
    rest = n
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        side = draw(st.sampled_from(divisors))
        sides.append(side)
        rest //= side
    sides.append(rest)
    sides = draw(st.permutations(sides))
    if draw(st.booleans()):
        sides[draw(st.integers(0, len(sides) - 1))] = -1
    return tuple(sides)


@covers("Tensor.view", "Tensor.reshape", "torch.reshape", "Tensor.view_as", "Tensor.reshape_as", "Tensor.size",
        "Tensor.dim", "Tensor.numel", "Tensor.contiguous", "Tensor.flatten", "torch.flatten", "torch.nn.Flatten",
        "Tensor.unflatten", "torch.unflatten", "torch.nn.Unflatten")
@SETTINGS
@given(shape=shapes(), data_=st.data(), seed=st.integers(0, 9))
def test_reshaping(shape, data_, seed):
    rank = len(shape)
    new = data_.draw(reshaped(shape))
    start = data_.draw(st.one_of(st.none(), axis(rank)))
    d = data_.draw(axis(rank))
    side = shape[d]
    split = data_.draw(st.sampled_from([(a, side // a) for a in range(1, side + 1) if side % a == 0]))
    split = data_.draw(st.sampled_from([split, (-1, split[1]), (split[0], -1)]))
    fixed = tuple(s if s != -1 else math.prod(shape) // -math.prod(new) for s in new)
    outputs = [f"x.view({', '.join(map(str, new))})", f"x.view({new})", f"x.reshape({', '.join(map(str, new))})",
               f"x.reshape({new})", f"torch.reshape(x, {new})", "x.view_as(y)", "x.reshape_as(y)",
               "x.size()", *(f"x.size({i})" for i in range(-rank, rank)), "x.size(dim=0)", "x.dim()", "x.numel()",
               "x.contiguous()", f"x.flatten({call_args(start_dim=start)})", f"torch.flatten(x, {call_args(start_dim=start)})",
               "x.flatten(0, -1)", f"x.unflatten({d}, {split})", f"torch.unflatten(x, {d}, {split})", "self.unflatten(x)"]
    layers = {"unflatten": f"nn.Unflatten({d}, {split})"}
    if rank >= 2:
        dim = data_.draw(st.integers(1, rank - 1))
        outputs += ["self.flatten(x)", "self.flatten_from(x)"]
        layers.update(flatten="nn.Flatten()", flatten_from=f"nn.Flatten({dim})")
    check(outputs, {"x": data(shape, seed), "y": data(fixed, seed + 1)}, layers)


@covers("Tensor.permute", "torch.permute", "Tensor.transpose", "torch.transpose", "Tensor.t", "Tensor.unsqueeze",
        "torch.unsqueeze", "Tensor.squeeze", "Tensor.flip", "torch.flip", "torch.roll", "torch.Tensor.roll")
@SETTINGS
@given(shape=shapes(), data_=st.data(), seed=st.integers(0, 9))
def test_axes(shape, data_, seed):
    rank = len(shape)
    perm = data_.draw(st.permutations(range(rank)))
    perm = [p - rank if data_.draw(st.booleans()) else p for p in perm]
    a, b = data_.draw(axis(rank)), data_.draw(axis(rank))
    new = data_.draw(st.integers(-rank - 1, rank))
    flips = data_.draw(axes(rank))
    shifts = data_.draw(st.lists(st.integers(-7, 7), min_size=len(flips), max_size=len(flips)))
    ones = [i for i, s in enumerate(shape) if s == 1]
    outputs = [f"x.permute({', '.join(map(str, perm))})", f"x.permute({tuple(perm)})", f"torch.permute(x, {tuple(perm)})",
               f"x.transpose({a}, {b})", f"torch.transpose(x, {a}, {b})", f"torch.swapaxes(x, {a}, {b})",
               f"x.unsqueeze({new})", f"torch.unsqueeze(x, {new})", f"x.unsqueeze(dim={new})",
               "x.squeeze()", f"x.flip({list(flips)})", f"torch.flip(x, {flips})", f"x.flip({flips[0]})",
               f"torch.roll(x, {shifts[0]})", f"torch.roll(x, {tuple(shifts)}, {flips})", f"x.roll({shifts[0]}, {flips[0]})",
               f"x.roll(shifts={tuple(shifts)}, dims={flips})"]
    if ones:
        outputs += [f"x.squeeze({data_.draw(st.sampled_from(ones))})", f"x.squeeze(dim={ones[-1] - rank})"]
    outputs.append("x.t()" if rank <= 2 else "x.reshape(x.shape[0], -1).t()")  # torch: t() of at most 2-D
    # squeeze is approximate (T2J301): jnp.squeeze raises on an axis of size other than 1, torch leaves it
    check(outputs, {"x": data(shape, seed)}, allow=("T2J301",))


@covers("Tensor.repeat", "Tensor.repeat_interleave", "torch.repeat_interleave", "Tensor.expand_as", "Tensor.expand", "torch.tril",
        "Tensor.tril", "torch.triu", "Tensor.triu")
@SETTINGS
@given(shape=shapes(), data_=st.data(), seed=st.integers(0, 9))
def test_repeats_and_triangles(shape, data_, seed):
    rank = len(shape)
    reps = data_.draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank + 2))
    times = data_.draw(st.integers(1, 3))
    d = data_.draw(st.one_of(st.none(), axis(rank)))
    diagonal = data_.draw(st.sampled_from([None, 0, 1, -1, 2, -3]))
    total = times * (math.prod(shape) if d is None else shape[d])
    outputs = [f"x.repeat({', '.join(map(str, reps))})", f"x.repeat({tuple(reps)})",
               f"x.repeat_interleave({times}, {call_args(dim=d)})", f"torch.repeat_interleave(x, {times}, {call_args(dim=d)})",
               f"torch.repeat_interleave(x, {times}, {call_args(dim=d, output_size=total)})", "b.expand_as(x)"]
    if rank >= 2:
        args = call_args(diagonal=diagonal)
        outputs += [f"torch.tril(x, {args})", f"x.tril({args})", f"torch.triu(x, {args})", f"x.triu({args})"]
        if diagonal is not None:
            outputs += [f"torch.tril(x, {diagonal})", f"x.triu({diagonal})"]
    b_shape = tuple(s if data_.draw(st.booleans()) else 1 for s in shape)[data_.draw(st.integers(0, rank)):]
    # expand: -1 keeps b's side, a 1 grows to x's, new leading sides are added
    sizes = [s if k < rank - len(b_shape) or data_.draw(st.booleans()) else -1 for k, s in enumerate(shape)]
    lead = data_.draw(st.lists(st.integers(1, 3), max_size=2))
    outputs += [f"b.expand({', '.join(map(str, lead + sizes))})", f"b.expand({tuple(sizes)})", "b.expand(*x.shape)",
                "b.expand(x.size())"]
    check(outputs, {"x": data(shape, seed), "b": data(b_shape, seed + 1)})


@covers("torch.cat", "torch.stack", "torch.chunk", "Tensor.chunk", "Tensor.split", "torch.unbind", "Tensor.unbind")
@SETTINGS
@given(shape=shapes(), data_=st.data(), seed=st.integers(0, 9))
def test_join_and_split(shape, data_, seed):
    rank = len(shape)
    d = data_.draw(axis(rank))
    n = shape[d]
    new = data_.draw(st.integers(-rank - 1, rank))
    divisors = [k for k in range(1, n + 1) if n % k == 0]
    # chunk: equal chunks (jnp.split raises where torch would make the last one smaller; see test below)
    chunks = data_.draw(st.sampled_from(divisors))
    size = data_.draw(st.integers(1, n))
    sections = data_.draw(st.lists(st.integers(0, n), min_size=0, max_size=3)).copy()
    sections = sorted(sections)
    sizes = [b - a for a, b in zip([0] + sections, sections + [n])]
    other = list(shape)
    other[d] = data_.draw(st.integers(1, 3))
    outputs = [f"torch.cat([x, y], {d})", f"torch.cat((x, y, x), dim={d})", f"torch.concat([y, x], dim={d})",
               f"torch.concatenate([x], {d})", f"torch.stack([x, x * 2], {new})", f"torch.stack((x,))",
               f"torch.stack([x, x], dim={new})", f"torch.chunk(x, {chunks}, {d})", f"x.chunk({chunks}, dim={d})",
               f"x.chunk({chunks})" if shape[0] % chunks == 0 else "x.chunk(1)",
               f"x.split({size}, {d})", f"x.split({size}, dim={d})", f"x.split({sizes}, {d})", f"x.split({size})",
               f"torch.unbind(x, {d})", f"torch.unbind(x, dim={d})", "x.unbind()", f"x.unbind(dim={d})", f"x.unbind({d})"]
    check(outputs, {"x": data(shape, seed), "y": data(tuple(other), seed + 1)})


def test_unequal_chunks_raise_instead_of_differing():
    """torch makes the last chunk smaller (7 into 3: 3, 3, 1); jnp.split refuses: an error, never other values."""
    with pytest.raises(ValueError, match="equal division"):
        check(["torch.chunk(x, 3, 1)"], {"x": data((2, 7))})


@covers("torch.meshgrid", "torch.outer", "Tensor.outer", "torch.einsum")
@SETTINGS
@given(n=st.integers(1, 4), m=st.integers(1, 4), k=st.integers(1, 3), indexing=st.sampled_from([None, "ij", "xy"]),
       seed=st.integers(0, 9))
def test_grids_outer_einsum(n, m, k, indexing, seed):
    args = call_args(indexing=indexing)
    comma = ", " if args else ""
    outputs = [f"torch.meshgrid(a, b{comma}{args})", f"torch.meshgrid(a, b, c{comma}{args})",
               f"torch.meshgrid([a, b]{comma}{args})", "torch.outer(a, b)", "a.outer(b)", "torch.ger(b, a)", "a.ger(c)",
               "torch.einsum('i,j->ij', a, b)", "torch.einsum('bij,bjk->bik', p, q)", "torch.einsum('bij->j', p)",
               "torch.einsum('...j,jk', p, q[0])", "torch.einsum('ii', s)", "torch.einsum('ij,ij->i', s, s)",
               "torch.einsum('ij,jk->ik', [s, s])", "torch.einsum('bij->bj', (p,))"]
    inputs = {"a": data((n,), seed), "b": data((m,), seed + 1), "c": data((k,), seed + 2),
              "p": data((2, n, m), seed + 3), "q": data((2, m, k), seed + 4), "s": data((n, n), seed + 5)}
    check(outputs, inputs)


@covers("torch.nn.PixelShuffle", "torch.nn.PixelUnshuffle", "torch.nn.functional.pixel_shuffle",
        "torch.nn.functional.pixel_unshuffle")
@SETTINGS
@given(r=st.integers(1, 3), batch=st.integers(1, 2), channels=st.integers(1, 3), h=st.integers(1, 3), w=st.integers(1, 3),
       seed=st.integers(0, 9))
def test_pixel_shuffles(r, batch, channels, h, w, seed):
    outputs = ["self.shuffle(x)", f"F.pixel_shuffle(x, {r})", "self.unshuffle(y)", f"F.pixel_unshuffle(y, {r})",
               f"F.pixel_shuffle(x, upscale_factor={r})", f"F.pixel_unshuffle(y, downscale_factor={r})"]
    layers = {"shuffle": f"nn.PixelShuffle({r})", "unshuffle": f"nn.PixelUnshuffle(downscale_factor={r})"}
    check(outputs, {"x": data((batch, channels * r * r, h, w), seed), "y": data((batch, channels, h * r, w * r), seed + 1)},
          layers)


@covers("torch.nn.ChannelShuffle", "torch.nn.functional.channel_shuffle")
@SETTINGS
@given(groups=st.integers(1, 3), per_group=st.integers(1, 3), batch=st.integers(1, 2),
       spatial=st.sampled_from([(4,), (2, 3), (2, 1, 2)]), seed=st.integers(0, 9))
def test_channel_shuffle(groups, per_group, batch, spatial, seed):
    outputs = ["self.shuffle(x)", f"F.channel_shuffle(x, {groups})", f"torch.channel_shuffle(x, groups={groups})"]
    check(outputs, {"x": data((batch, groups * per_group) + spatial, seed)}, {"shuffle": f"nn.ChannelShuffle({groups})"})


@covers("einops.layers.torch.Rearrange", "einops.layers.torch.Reduce")
@SETTINGS
@given(b=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(1, 2), p=st.integers(1, 3),
       reduction=st.sampled_from(["mean", "max", "min", "sum", "prod"]), seed=st.integers(0, 9))
def test_einops_layers(b, c, h, p, reduction, seed):
    layers = {"flat": "Rearrange('b c h w -> b (c h w)')",
              "patches": f"Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)', p1={p}, p2={p})",
              "pool": f"Reduce('b c h w -> b c', '{reduction}')",
              "pool_named": f"Reduce('b c (h p) w -> b c h', reduction='{reduction}', p={p})"}
    header = HEADER + "from einops.layers.torch import Rearrange, Reduce\n"
    outputs = [f"self.{name}(x)" for name in layers]
    check(outputs, {"x": data((b, c, h * p, h * p), seed)}, layers, header=header)

