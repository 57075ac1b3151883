"""Notebooks: code cells translated together (imports in one cell serve the others), IPython
lines kept verbatim, markdown/outputs/metadata untouched, valid nbformat out, diagnostics at
cell and line; and the translated cells compute what the torch cells computed."""

import json
import re

import nbformat
import numpy as np
import pytest

from torch2jax import convert_file, load_torch_weights
from torch2jax.cli import main
from torch2jax.notebooks import convert_notebook

CELLS = [
    ("markdown", "# A small classifier\nTrained on *nothing* at all."),
    ("code", "%matplotlib inline\n%load_ext autoreload\nimport torch\nimport torch.nn as nn\n!pip install --quiet tqdm"),
    ("code", "# the model\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
             "        self.fc1 = nn.Linear(6, 16)\n        self.fc2 = nn.Linear(16, 3)\n\n"
             "    def forward(self, x):\n        return self.fc2(torch.tanh(self.fc1(x)))"),
    ("code", "%%bash\necho torch.relu is not Python here"),
    ("code", ""),
    ("code", "%%time\nnet = Net()\nnet?\nfiles = !ls\nfor i in range(2):\n    %time y = net(torch.ones(3, 6))\n"
             "z = torch.fft.fft(y)\nw = torch.fft.fft(y)  # torch2jax: ignore[T2J901]\n"),
]


def notebook(cells=CELLS) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    for kind, source in cells:
        if kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            cell = nbformat.v4.new_code_cell(source, execution_count=3, metadata={"tags": ["keep"]})
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="torch output\n")]
            nb.cells.append(cell)
    return nb


def test_cells_converted_and_everything_else_kept():
    before = notebook()
    result = convert_notebook(nbformat.writes(before), filename="nb.ipynb")
    assert result.ok and result.changed
    after = nbformat.reads(result.code, as_version=4)
    nbformat.validate(after)
    assert after.metadata == before.metadata
    assert len(after.cells) == len(before.cells)
    for old, new in zip(before.cells, after.cells):
        assert new.cell_type == old.cell_type
        if old.cell_type == "markdown":
            assert new == old
        else:
            assert (new.outputs, new.metadata, new.execution_count) == (old.outputs, old.metadata, old.execution_count)
    imports, model, bash, empty, run = (c.source for c in after.cells[1:])
    assert imports.startswith("%matplotlib inline\n%load_ext autoreload\n") and imports.endswith("\n!pip install --quiet tqdm")
    assert "from flax import nnx" in imports
    assert model.startswith("# the model\nclass Net(nnx.Module):\n    def __init__(self, *, rngs: nnx.Rngs):\n")
    assert "return self.fc2(jnp.tanh(self.fc1(x)))" in model
    assert bash == before.cells[3].source and empty == ""
    assert run.startswith("%%time\n") and "\nnet?\nfiles = !ls\n" in run
    assert "    %time y = net(jnp.ones((3, 6)))\n" in run  # the timed statement is translated, the magic kept
    assert run.endswith("\n")  # the cell's own trailing newline kept
    # diagnostics name the cell (as Jupyter counts them) and the line in it; the ignore comment holds
    assert [d.text() for d in result.diagnostics] == [
        "nb.ipynb:cell 6:7:5: T2J901 error `torch.fft.fft` has no rule; left as is",
    ]
    again = convert_notebook(result.code, filename="nb.ipynb")
    assert again.code == result.code and not again.changed


def test_a_notebook_without_torch_is_left_byte_for_byte():
    text = nbformat.writes(notebook([("code", "import numpy as np\n%time np.ones(3)")]))
    result = convert_notebook(text, filename="plain.ipynb")
    assert result.code == text and not result.changed


def test_translated_cells_compute_what_the_torch_cells_computed():
    """Run the code cells (IPython lines aside) on both sides with the same weights."""
    import torch
    from flax import nnx

    cells = [("code", "import torch\nimport torch.nn as nn\n%config InlineBackend.figure_format = 'svg'"), CELLS[2],
             ("code", "%%time\ntorch.manual_seed(0)\nnet = Net()\n%time out = net(x)\nprobs = torch.softmax(out, dim=-1)")]
    result = convert_notebook(nbformat.writes(notebook(cells)), filename="nb.ipynb")
    assert result.ok and result.diagnostics == []
    translated = nbformat.reads(result.code, as_version=4)

    def run(nb, x):
        scope = {"x": x}
        for cell in nb.cells:
            code = "\n".join(re.sub(r"^(\s*)%time ", r"\1", line) for line in cell.source.splitlines()
                             if not re.match(r"\s*%%|\s*%(?!time )", line))
            exec(compile(code, "<cell>", "exec"), scope)
        return scope

    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    theirs = run(notebook(cells), torch.from_numpy(x))
    ours = run(translated, x)
    assert isinstance(ours["net"], nnx.Module)
    load_torch_weights(ours["net"], theirs["net"])
    probs = ours["net"](x)
    scope = {"net": ours["net"], "x": x}
    exec(compile("import jax\nprobs = jax.nn.softmax(net(x), axis=-1)", "<check>", "exec"), scope)
    expected = theirs["probs"].detach().numpy()
    assert probs.shape == (5, 3)
    np.testing.assert_allclose(np.asarray(scope["probs"]), expected, rtol=1e-5, atol=1e-6)
    translated_probs_line = translated.cells[2].source.splitlines()[-1]
    assert translated_probs_line == "probs = jax.nn.softmax(out, axis=-1)"


def test_notebooks_inside_directories(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    nbformat.write(notebook(), src / "sub" / "nb.ipynb")
    (src / ".ipynb_checkpoints").mkdir()
    nbformat.write(notebook(), src / ".ipynb_checkpoints" / "nb-checkpoint.ipynb")
    (src / "m.py").write_text("import torch\nx = torch.zeros(2)\n")
    assert main(["convert", str(src), "-o", str(tmp_path / "out")]) == 1  # the T2J901 in cell 6
    err = capsys.readouterr().err
    assert f"{src / 'sub' / 'nb.ipynb'}:cell 6:7:5: T2J901" in err
    nbformat.validate(nbformat.read(tmp_path / "out" / "sub" / "nb.ipynb", as_version=4))
    assert (tmp_path / "out" / "m.py").read_text() == "import jax.numpy as jnp\nx = jnp.zeros(2)\n"
    assert not (tmp_path / "out" / ".ipynb_checkpoints").exists()
    assert convert_file(src / "sub" / "nb.ipynb").code == (tmp_path / "out" / "sub" / "nb.ipynb").read_text()


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"cells": [', "not a valid notebook: invalid JSON at line 1 column 12"),
        ('{"nbformat": 4}', "not a valid notebook: no list of `cells`"),
        ('{"cells": [], "nbformat": 3}', "not a valid notebook: nbformat 3"),
    ],
)
def test_invalid_notebook_exit_2_nothing_written(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.ipynb"
    bad.write_text(content)
    out = tmp_path / "out.ipynb"
    assert main(["convert", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"torch2jax: error: {bad}:1:1: T2J002 error {message}")
    assert err.endswith("; nothing was written\n") and err.count("\n") == 1
    assert not out.exists()


def test_a_cell_that_is_not_python_is_reported_at_its_cell(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    nbformat.write(notebook([("code", "import torch"), ("markdown", "text"), ("code", "x = 1\ndef f(:\n    pass")]), bad)
    out = tmp_path / "out.ipynb"
    assert main(["convert", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert re.search(re.escape(f"{bad}:cell 3:2:") + r"\d+: T2J001 error syntax error", err), err
    assert not out.exists()


def test_json_layout_of_the_input_is_kept(tmp_path):
    nb = notebook([("code", "import torch\nx = torch.zeros(2)")])
    text = json.dumps(nb, indent=2) + "\n"
    result = convert_notebook(text, filename="nb.ipynb")
    assert result.code.startswith('{\n  "')
    assert json.loads(result.code)["cells"][0]["source"] == ["import jax.numpy as jnp\n", "x = jnp.zeros(2)"]


def test_a_training_loop_spread_over_cells_keeps_its_cells():
    """The training rewrite adds a jitted step and removes statements; the cell boundaries hold."""
    cells = [
        ("code", "import torch\nimport torch.nn as nn\nimport torch.optim as optim"),
        ("code", "net = nn.Linear(4, 2)\ncriterion = nn.MSELoss()\noptimizer = optim.SGD(net.parameters(), lr=0.1)"),
        ("markdown", "## Train"),
        ("code", "for x, y in [(torch.ones(3, 4), torch.zeros(3, 2))]:\n    optimizer.zero_grad()\n"
                 "    loss = criterion(net(x), y)\n    loss.backward()\n    optimizer.step()"),
        ("code", "%time print(loss.item())"),
    ]
    before = notebook(cells)
    result = convert_notebook(nbformat.writes(before), filename="train.ipynb")
    assert result.ok and result.changed and not [d for d in result.diagnostics if d.code == "T2J903"]
    out = nbformat.reads(result.code, as_version=4)
    nbformat.validate(out)
    setup, loop, timed = out.cells[1].source, out.cells[3].source, out.cells[4].source
    assert "optimizer = nnx.Optimizer(net, optax.sgd(0.1), wrt=nnx.Param)" in setup and "@nnx.jit" in setup
    assert "zero_grad" not in loop and "backward" not in loop and "train_step(" in loop
    assert timed == "%time print(loss.item())"
    assert out.cells[2] == before.cells[2] and [c.id for c in out.cells] == [c.id for c in before.cells]
    assert convert_notebook(result.code, filename="train.ipynb").code == result.code
