"""Property tests of the data and device rules. torch.utils.data stays torch's (datasets, samplers,
loaders) with batches collated into numpy arrays and TensorDataset as rows of numpy arrays: a
pipeline written with each of them runs on both sides (the kept samplers draw from torch's generator,
seeded alike) and gives the same batches and values. Device calls (torch.device, is_available,
device_count, .to/.cuda/.cpu, DataParallel) become JAX's default device: the values a model computes
with them, and what the availability checks say on this machine, are torch's. Hypothesis draws the
sizes, batch sizes, indices, weights and devices."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("jax")

from hypothesis import given, strategies as st  # noqa: E402

from numeric import convert, covers, load_source  # noqa: E402
from properties import FEW, HEADER, check, compare, data  # noqa: E402

PIPELINE = """
import torch
from torch.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset, IterableDataset,
                              RandomSampler, Sampler, SequentialSampler, StackDataset, Subset, SubsetRandomSampler,
                              TensorDataset, WeightedRandomSampler, default_collate, get_worker_info, random_split)


class Stream(IterableDataset):
    def __init__(self, start, n):
        self.start, self.n = start, n

    def __iter__(self):
        return iter(range(self.start, self.start + self.n))


def pipeline(x, y, batch_size, indices, weights, drop_last):
    data = TensorDataset(x, y)
    part = Subset(data, indices)
    out = []
    for xb, yb in DataLoader(ConcatDataset([data, part]), batch_size=batch_size, drop_last=drop_last):
        out.append(xb.sum(1) * yb)
    for xb, yb in DataLoader(data, sampler=RandomSampler(data), batch_size=batch_size):
        out.append(xb.mean(1) + yb)
    for xb, yb in DataLoader(data, batch_sampler=BatchSampler(SequentialSampler(data), batch_size, drop_last)):
        out.append(xb[:, 0] - yb)
    for xb, yb in DataLoader(data, batch_size=batch_size, shuffle=True):
        out.append(xb.max(1).values)
    first, second = random_split(data, [len(data) // 2, len(data) - len(data) // 2])
    out += [len(first), [int(i) for i in first.indices], list(ChainDataset([Stream(0, 3), Stream(10, 2)]))]
    out += [list(WeightedRandomSampler(weights, 5)), list(SubsetRandomSampler(indices)), len(StackDataset(x, y))]
    rows = default_collate([x[0], x[1]])
    out += [rows.sum(), get_worker_info() is None, isinstance(part, Dataset), isinstance(SequentialSampler(data), Sampler)]
    return out
"""


@covers("torch.utils.data.DataLoader", "torch.utils.data.TensorDataset", "torch.utils.data.Dataset",
        "torch.utils.data.IterableDataset", "torch.utils.data.Subset", "torch.utils.data.ConcatDataset",
        "torch.utils.data.ChainDataset", "torch.utils.data.StackDataset", "torch.utils.data.random_split",
        "torch.utils.data.Sampler", "torch.utils.data.SequentialSampler", "torch.utils.data.RandomSampler",
        "torch.utils.data.SubsetRandomSampler", "torch.utils.data.WeightedRandomSampler", "torch.utils.data.BatchSampler",
        "torch.utils.data.default_collate", "torch.utils.data.get_worker_info")
@FEW
@given(n=st.integers(2, 9), features=st.integers(1, 3), batch_size=st.integers(1, 4), drop_last=st.booleans(), data_=st.data(),
       seed=st.integers(0, 9))
def test_data_pipeline(n, features, batch_size, drop_last, data_, seed):
    indices = data_.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4))
    weights = data_.draw(st.lists(st.sampled_from([0.5, 1.0, 3.0]), min_size=2, max_size=5))
    result = convert(PIPELINE)
    bad = [d.text() for d in result.diagnostics if d.severity in ("error", "warning")]
    assert not bad, f"{bad}\n{result.code}"
    tmod, jmod = load_source(PIPELINE, "torch_side"), load_source(result.code, "jax_side")
    x, y = data((n, features), seed), data((n,), seed + 1)
    torch.manual_seed(seed)  # the samplers both sides keep draw from torch's generator
    expected = tmod.pipeline(torch.from_numpy(x), torch.from_numpy(y), batch_size, indices, weights, drop_last)
    torch.manual_seed(seed)
    actual = jmod.pipeline(x, y, batch_size, indices, weights, drop_last)
    assert len(actual) == len(expected)
    for k, (e, a) in enumerate(zip(expected, actual)):
        if isinstance(e, torch.Tensor):
            compare(f"pipeline result {k}", e, np.asarray(a) if not isinstance(a, torch.Tensor) else a.numpy(), 2e-5)
        else:
            assert a == e, f"pipeline result {k}: {a} != torch {e}"


# (torch.device('cuda') is jax.devices('gpu')[0], which raises on a machine without one where torch makes
# the object: only the devices this machine has are drawn)
DEVICES = st.sampled_from(["'cpu'", "'cpu:0'", "'cpu', 0", "type='cpu'", "'cpu', index=0"])


@covers("torch.device", "torch.cuda.is_available", "torch.backends.mps.is_available", "torch.accelerator.is_available",
        "torch.cuda.device_count", "torch.nn.DataParallel", "Tensor.to", "Tensor.cuda", "Tensor.cpu")
@FEW
@given(fin=st.integers(1, 4), fout=st.integers(1, 4), device=DEVICES, seed=st.integers(0, 9))
def test_devices(fin, fout, device, seed):
    body = ("device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\n"
            f"chosen_device = torch.device({device})\n"
            "moved = x.to(device) if torch.cuda.is_available() else x.cpu()\n"
            "on_gpu = x.cuda() if torch.cuda.is_available() else x")
    outputs = ["self.net(moved)", "on_gpu * 2", "x.to(device, dtype=torch.float32)", "x.cpu().sum()", "x.to(chosen_device) + 1",
               "torch.cuda.is_available()", "torch.cuda.device_count()", "torch.backends.mps.is_available()",
               "torch.accelerator.is_available()"]
    check(outputs, {"x": data((3, fin), seed)}, {"net": f"nn.DataParallel(nn.Linear({fin}, {fout}))"}, body=body)


TORCHSCRIPT = HEADER + """
from typing import List


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({fin}, {fout})

    @torch.jit._overload_method
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ...

    def forward(self, x):
        if torch.jit.is_scripting() or torch.jit.is_tracing():
            return x
        h = self.scale(torch.jit.annotate(torch.Tensor, self.fc(x)))
        extra: List[int] = torch.jit.annotate(List[int], [])
        return (self.shift(h) + len(extra), helper(x), self.exported(x), self.parallel(x))

    def parallel(self, x):
        # (torch's data_parallel needs an accelerator: as DCGAN does, only on one)
        if torch.cuda.is_available():
            return nn.parallel.data_parallel(self.fc, x, {ids})
        return self.fc(x)

    @torch.jit.unused
    def scale(self, h):
        return h * {factor}

    @torch.jit.ignore
    def shift(self, h):
        return h - 1

    @torch.jit.export
    def exported(self, x):
        return x.sum(-1)


@torch.jit.script
def helper(x):
    return x * 2


@torch.jit._overload
def twice(x: int) -> int:
    ...


def twice(x):
    return 2 * x
"""


@covers("torch.jit.is_scripting", "torch.jit.is_tracing", "torch.jit.annotate", "torch.jit.unused", "torch.jit.ignore",
        "torch.jit.export", "torch.jit.script", "torch.jit._overload_method", "torch.jit._overload",
        "torch.nn.parallel.data_parallel")
@FEW
@given(fin=st.integers(1, 4), fout=st.integers(1, 4), factor=st.sampled_from([0.5, 2.0, -1.0]),
       ids=st.sampled_from(["None", "[0]", "range(1)"]), seed=st.integers(0, 9))
def test_torchscript_markers_and_data_parallel(fin, fout, factor, ids, seed):
    """TorchScript's decorators and checks go, the functions stay; data_parallel(module, x) is module(x)."""
    check(None, {"x": data((3, fin), seed)}, source_code=TORCHSCRIPT.format(fin=fin, fout=fout, factor=factor, ids=ids))
