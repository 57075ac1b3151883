"""Every .py file of the installed torch package (2,285 files, 1.2 million lines for torch 2.13)
through the converter twice, spread over the CPU cores with the library's own parallel driver:
no exception, every output parses, files Python cannot parse are reported as such (T2J001), and
converting an output again changes nothing.

A few files still trip converter bugs that are reported and tracked; they are listed below with
what goes wrong, so the test fails on any new crash or instability while those are fixed. When one
is fixed the test says so, and its entry should go.
"""

import ast
import importlib.util
import sys
import time
from pathlib import Path

from torch2jax.project import convert_many

TORCH = Path(list(importlib.util.find_spec("torch").submodule_search_locations)[0])

# Converter bugs found by this test (torch 2.13), reported and not this test's to fix: a file whose
# translation a rewrite broke is given back unchanged with a T2J903 (loud, nothing lost), and a file
# whose second conversion differs. Seen causes of instability: `self.training = ...` rewritten into an
# invalid target, `torch.nn.Module` in attribute chains becoming `torch.nn.nnx.Module`, dict item
# assignments in an expanded nn.RNN/GRU/LSTM taken for tensor updates (`.at[].set()`), and methods
# already in JAX form (`x.max(axis=-1)`) reported and marked again.
KNOWN_INTERNAL_ERRORS: dict[str, str] = {
    '_dynamo/eval_frame.py': 'an assignment to self.training becomes `not self.deterministic = ...` (reverted)',
    '_subclasses/fake_tensor.py': "the draft translation does not parse (reverted): expected ':'",
    'ao/nn/quantizable/modules/rnn.py': 'an assignment to self.training becomes `not self.deterministic = ...` (reverted)',
    'ao/nn/quantized/dynamic/modules/rnn.py': 'an assignment to self.training becomes `not self.deterministic = ...` (reverted)',
    'ao/nn/sparse/quantized/linear.py': 'an assignment to self.training becomes `not self.deterministic = ...` (reverted)',
    'distributed/algorithms/ddp_comm_hooks/quantization_hooks.py': "internal error while translating `torch.ao.quantization.PerChannelMinMaxObserver().to( tensor.`: IndexError('list index out of range')",
    'distributed/nn/api/remote_module.py': "internal error while translating `class _RemoteModule(nn.Module): expected str instance, Name found')",
    'fx/experimental/const_fold.py': "internal error while translating `torch.nn.Parameter()`: KeyError('data')",
    'fx/graph_module.py': 'an assignment to self.training becomes `not self.deterministic = ...` (reverted)',
    'jit/_trace.py': "internal error while translating `class ONNXTracedModule(torch.nn.Module): expected str instance, Name found')",
    'nn/utils/memory_format.py': 'an assignment target rewritten into a call (reverted)',
    'testing/_internal/common_fsdp.py': "internal error while translating `nn.functional.cross_entropy( output.view(-1, output.size(-1)`: IndexError('list index out of range')",
    'testing/_internal/distributed/rpc/rpc_test.py': 'internal error while translating `( rpc.remote("w0", torch.nn.Linear, (2048, 20000)) .remote()`: IndexError(\'list index out of range\')',
}
KNOWN_UNSTABLE: frozenset[str] = frozenset({
    '_decomp/decompositions.py',
    '_dynamo/mutation_guard.py',
    '_dynamo/polyfills/pytree.py',
    '_dynamo/variables/torch.py',
    '_functorch/aot_autograd.py',
    '_higher_order_ops/auto_functionalize.py',
    '_inductor/codegen/simd.py',
    '_inductor/fx_passes/post_grad.py',
    '_inductor/fx_passes/reduced_atomic_contention.py',
    '_inductor/inductor_prims.py',
    '_inductor/lowering.py',
    '_inductor/runtime/triton_heuristics.py',
    '_numpy/_reductions_impl.py',
    '_prims/__init__.py',
    '_refs/__init__.py',
    '_tensor.py',
    '_vendor/quack/blockscaled_gemm_utils.py',
    'ao/ns/fx/mappings.py',
    'ao/pruning/_experimental/pruner/base_structured_sparsifier.py',
    'ao/quantization/fx/_decomposed.py',
    'distributed/_functional_collectives.py',
    'distributed/_local_tensor/__init__.py',
    'distributed/_symmetric_memory/__init__.py',
    'distributed/fsdp/_fully_shard/_fsdp_collectives.py',
    'distributed/fsdp/_optim_utils.py',
    'distributed/nn/api/remote_module.py',
    'distributed/tensor/_collective_utils.py',
    'distributed/tensor/_dtensor_spec.py',
    'distributed/tensor/_ops/utils.py',
    'distributed/tensor/experimental/_context_parallel/_cp_custom_ops.py',
    'distributions/dirichlet.py',
    'distributions/one_hot_categorical.py',
    'distributions/wishart.py',
    'jit/_recursive.py',
    'jit/_trace.py',
    'nested/_internal/ops.py',
    'nested/_internal/sdpa.py',
    'nn/attention/varlen.py',
    'nn/modules/activation.py',
    'nn/modules/linear_cross_entropy.py',
    'nn/parallel/data_parallel.py',
    'nn/utils/rnn.py',
    'onnx/_internal/exporter/_input_observer.py',
    'overrides.py',
    'testing/_internal/common_fsdp.py',
    'testing/_internal/common_pruning.py',
    'testing/_internal/common_quantization.py',
    'testing/_internal/common_subclass.py',
    'testing/_internal/common_utils.py',
    'testing/_internal/composite_compliance.py',
    'testing/_internal/distributed/_tensor/common_dtensor.py',
    'testing/_internal/distributed/ddp_under_dist_autograd_test.py',
    'testing/_internal/distributed/distributed_test.py',
    'testing/_internal/distributed/rpc/dist_autograd_test.py',
    'testing/_internal/distributed/rpc/examples/reinforcement_learning_rpc_test.py',
    'testing/_internal/distributed/rpc/rpc_test.py',
    'testing/_internal/inductor_utils.py',
    'utils/_cxx_pytree.py',
    'utils/_pytree.py',
})


def test_every_torch_file_converts_and_is_stable():
    files = sorted(TORCH.rglob("*.py"))
    assert len(files) > 2000, "the whole torch package, not only torch/nn"
    texts = [p.read_text(encoding="utf-8") for p in files]
    names = [str(p.relative_to(TORCH)) for p in files]
    started = time.perf_counter()
    first = convert_many(names, texts)
    changed = [i for i, r in enumerate(first) if r.ok and r.changed]
    second = convert_many([names[i] for i in changed], [first[i].code for i in changed])
    elapsed = time.perf_counter() - started

    crashed, unparsable, wrongly_rejected, unstable = {}, [], [], []
    for name, text, result in zip(names, texts, first):
        internal = [d.message for d in result.diagnostics if d.code == "T2J903"]
        if internal:
            crashed[name] = internal[0]
        python_parses = _parses(text)
        if result.ok != python_parses:
            wrongly_rejected.append(name)
        elif result.ok:
            if not _parses(result.code):
                unparsable.append(name)
        else:
            assert result.diagnostics[0].code == "T2J001" and result.code == text
    for i, result in zip(changed, second):
        if result.code != first[i].code:
            unstable.append(names[i])

    lines = sum(t.count("\n") for t in texts)
    print(f"\n{len(files)} files, {lines} lines, {len(changed)} changed; both passes in {elapsed:.0f} s", file=sys.stderr)
    problems = {
        "rejected although Python parses it (or accepted although it does not)": wrongly_rejected,
        "output does not parse": unparsable,
        "internal error (T2J903), not known": {n: m for n, m in crashed.items() if n not in KNOWN_INTERNAL_ERRORS},
        "second conversion changes the output, not known": [n for n in unstable if n not in KNOWN_UNSTABLE],
    }
    fixed = sorted((KNOWN_UNSTABLE - set(unstable)) | (set(KNOWN_INTERNAL_ERRORS) - set(crashed)))
    if fixed:
        print(f"fixed now, remove from the known lists: {fixed}", file=sys.stderr)
    assert not any(problems.values()), "\n".join(f"{what}: {found!r}" for what, found in problems.items() if found)


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True
