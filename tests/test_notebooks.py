"""The notebooks of examples/notebooks/ run from top to bottom in a fresh Jupyter kernel (on this
Python, in a temporary folder), and the copies saved in the repository, which the documentation
site renders as they are, hold their outputs and stay small."""
import importlib.util
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "examples" / "notebooks"


def load_execute():
    spec = importlib.util.spec_from_file_location("execute_notebooks", HERE / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXECUTE = load_execute()


@pytest.mark.parametrize("name", EXECUTE.NOTEBOOKS)
def test_the_notebook_runs_in_a_fresh_kernel(name, tmp_path):
    shutil.copy(HERE / f"{name}.ipynb", tmp_path)
    start = time.perf_counter()
    nb = EXECUTE.execute(tmp_path / f"{name}.ipynb", tmp_path)   # raises on a cell's error
    took = time.perf_counter() - start
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert (tmp_path / "runs").is_dir() and not (HERE / "runs").exists()
    assert took < 120, f"{name}.ipynb took {took:.0f} s: keep it small"


@pytest.mark.parametrize("name", EXECUTE.NOTEBOOKS)
def test_the_saved_notebook_holds_its_outputs_and_stays_small(name):
    path = HERE / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "saved unexecuted: run execute.py"
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), \
        "saved from a kernel that ran cells out of order: run execute.py"
    assert any(c.outputs for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert "widgets" not in nb.metadata
    assert path.stat().st_size < 1 << 20


def test_the_site_renders_every_notebook():
    site = (ROOT / "mkdocs.yml").read_text()
    assert "mkdocs-jupyter" in site and "examples/notebooks/mkdocs_hook.py" in site
    for name in EXECUTE.NOTEBOOKS:
        assert f"notebooks/{name}.ipynb" in site, f"{name}.ipynb is missing from mkdocs.yml's nav"
    assert sorted(p.stem for p in HERE.glob("*.ipynb")) == sorted(EXECUTE.NOTEBOOKS)


def test_the_kernel_is_this_python(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys, os; print(sys.executable); print(os.getcwd())")])
    nbformat.write(nb, tmp_path / "which.ipynb")
    out = EXECUTE.execute(tmp_path / "which.ipynb", tmp_path).cells[0].outputs[0].text.split()
    assert out[0] == sys.executable and Path(out[1]).resolve() == tmp_path.resolve()
