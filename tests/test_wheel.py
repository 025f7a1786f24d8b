"""The wheel, where researchers install it: into a fresh environment that already holds a
package named `datasets` (Hugging Face's import name), from which it must take nothing and
which it must leave working, installed or uninstalled; and `train --config sine` from an empty
folder, the shipped configs being package data.

The fresh environment gets our wheel and its dependencies from the package index (pip's cache
makes it quick after the first time); CI runs it as a user would."""
import functools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

STAND_IN = {  # a distribution that owns the top-level import name `datasets`
    "pyproject.toml": textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "datasets"
        version = "99.0"
        [tool.setuptools]
        packages = ["datasets"]
    """),
    "datasets/__init__.py": "def load_dataset(name):\n    return {'name': name, 'rows': 3}\n",
}


def run_in(*args, cwd, check=True):
    """A command in `cwd` (never the checkout, whose datasets/ folder would shadow any)."""
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if check:
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    """Our wheel (built from the checkout) and the stand-in's."""
    out = tmp_path_factory.mktemp("wheels")
    stand_in = tmp_path_factory.mktemp("stand-in")
    for name, text in STAND_IN.items():
        (stand_in / name).parent.mkdir(parents=True, exist_ok=True)
        (stand_in / name).write_text(text)
    for src in (ROOT, stand_in):
        run_in(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
            "-w", out, src, cwd=out)
    ours = next(out.glob("rnn_trainer-*.whl"))
    return ours, next(out.glob("datasets-*.whl"))


def test_the_wheel_holds_no_top_level_datasets_and_ships_the_configs(wheels):
    import zipfile
    names = zipfile.ZipFile(wheels[0]).namelist()
    tops = {n.split("/")[0] for n in names}
    assert "datasets" not in tops
    assert {"trainer", "rnn_trainer_datasets"} <= tops
    assert "trainer/configs/sine.toml" in names
    assert "trainer/configs/literature/copy-100.toml" in names


@pytest.mark.slow
def test_installed_beside_datasets_it_trains_from_an_empty_folder_and_leaves_datasets_alone(
        wheels, tmp_path):
    ours, stand_in = wheels
    env, empty = tmp_path / "env", tmp_path / "empty"
    empty.mkdir()
    run = functools.partial(run_in, cwd=empty)
    run(sys.executable, "-m", "venv", env)
    py, pip = env / "bin" / "python", [env / "bin" / "python", "-m", "pip"]
    run(*pip, "install", "--quiet", stand_in)
    check = "import datasets; assert datasets.load_dataset('x') == {'name': 'x', 'rows': 3}"
    run(py, "-c", check)
    site = Path(run(py, "-c", "import datasets, os; print(os.path.dirname(datasets.__file__))")
                .stdout.strip())
    before = sorted(p.name for p in site.iterdir())

    run(*pip, "install", "--quiet", ours)
    run(py, "-c", check)                                     # still Hugging Face's stand-in
    assert sorted(p.name for p in site.iterdir()) == before   # not one file of it touched
    done = run(env / "bin" / "train", "--config", "sine", "--set", "train.epochs=1", "--quiet")
    run_dir = empty / done.stdout.strip().splitlines()[-1]
    assert (run_dir / "summary.json").is_file()
    listed = run(env / "bin" / "train", "configs").stdout
    assert "sine" in listed and "sweep-cell-bptt" in listed
    run(py, "-c", "import trainer.tasks, rnn_trainer_datasets; "
                  "assert 'sine' in trainer.tasks.TASKS")

    run(*pip, "uninstall", "--yes", "--quiet", "rnn-trainer")
    run(py, "-c", check)
    assert sorted(p.name for p in site.iterdir()) == before
    assert run(py, "-c", "import trainer", check=False).returncode != 0
