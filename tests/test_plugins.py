"""Plug-in tasks and cells in every command: a FILE.py, a module and an entry point of an
installed package; the bad plug-ins, each one line, exit 2, nothing written; provenance and a
changed source refused."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FAST = ["--set", "train.epochs=2", "--set", "task.length=800", "--set", "task.val_length=200"]


PLAIN = """# no task keys: any task's defaults
[model]
hidden = 16
embed = 8
[optim]
name = "adam"
lr = 0.01
[train]
epochs = 1
batch_size = 8
bptt = 10
"""


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def last_path(result):
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's folder with the examples' plug-ins and config copied in; the working directory."""
    for name in ("delayed_recall.py", "my_rnn.py", "delayed.toml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    (tmp_path / "plain.toml").write_text(PLAIN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def summary(run):
    return json.loads((Path(run) / "summary.json").read_text())


def test_a_file_task_trains_and_every_command_reads_its_run(project):
    result = invoke("--config", "delayed.toml", "--runs-dir", "runs", "--name", "d", "--quiet", *FAST)
    assert result.exit_code == 0, result.output
    run = project / "runs" / "d"
    s = summary(run)
    assert s["status"] == "completed" and s["task"] == "delayed_recall"
    assert s["final"]["val_accuracy"] > 0.9 > s["baseline"]["val_accuracy"]
    record = s["plugins"]["task"]
    assert record["spec"] == "delayed_recall.py" and record["origin"] == "file"
    assert record["file"] == str(project / "delayed_recall.py")
    import hashlib
    assert record["sha256"] == hashlib.sha256((project / "delayed_recall.py").read_bytes()).hexdigest()
    assert 'name = "delayed_recall.py"' in (run / "config.toml").read_text()  # as written

    assert invoke("resume", run, "--epochs", 3, "--quiet").exit_code == 0
    assert summary(run)["epochs_done"] == 3
    ev = invoke("eval", run)
    assert ev.exit_code == 0 and "val_accuracy" in ev.stdout
    gen = invoke("generate", run, "--steps", 5)
    assert gen.exit_code == 0 and len(gen.stdout.splitlines()[0].split()) == 5
    assert invoke("plot", run).exit_code == 0
    ls = invoke("ls", "runs")
    assert "delayed_recall.py" in ls.stdout and ls.exit_code == 0
    assert invoke("report", run, "--out", project / "rep").exit_code == 0
    assert (project / "rep" / "report.html").is_file()
    # a copy of the run's config reproduces it: [plugins] says where the plug-in was found
    again = invoke("--config", run / "config.toml", "--runs-dir", "runs", "--name", "d2", "--quiet")
    assert again.exit_code == 0, again.output
    assert summary(project / "runs" / "d2")["final"] == summary(run)["final"]
    cmp = invoke("compare", run, project / "runs" / "d2", "--out", project / "cmp")
    assert cmp.exit_code == 0, cmp.output


def test_set_names_a_file_relative_to_the_working_directory_and_its_keys_are_checked(project):
    base = ["--config", "plain.toml", "--runs-dir", "runs", "--quiet",
            "--set", "task.name=delayed_recall.py"]
    ok = invoke(*base, "--set", "task.delay=3", "--name", "k")
    assert ok.exit_code == 0, ok.output
    assert summary(project / "runs" / "k")["plugins"]["task"]["file"] == str(project / "delayed_recall.py")
    for extra, expected in [("task.dleay=3", "unknown key 'task.dleay' (did you mean 'task.delay'?)"),
                            ("task.delay=two", "task.delay=two: expected an integer"),
                            ("task.delay=0", "expected a number >= 1"),
                            ("task.repeat=2", "a key of task 'counting', not of 'delayed_recall.py'")]:
        bad = invoke(*base, "--set", extra, "--name", "x")
        assert bad.exit_code == 2 and expected in bad.stderr, bad.output
        assert len(bad.stderr.strip().splitlines()) == 1
    assert not (project / "runs" / "x").exists()


def test_a_module_task_and_cell_train_through_the_api(project, monkeypatch):
    monkeypatch.syspath_prepend(str(project))
    import trainer
    run = trainer.train(project / "plain.toml", runs_dir=project / "runs",
                        overrides={"task.name": "delayed_recall", "model.cell": "my_rnn:MyRNN"})
    s = run.summary
    assert s["status"] == "completed"
    assert s["plugins"]["task"] == {**s["plugins"]["task"], "origin": "module",
                                    "module": "delayed_recall"}
    assert s["plugins"]["cell"]["module"] == "my_rnn" and s["plugins"]["cell"]["class"] == "MyRNN"
    assert s["plugins"]["cell"]["checked"] is True
    loaded = trainer.load_run(run.path)
    assert type(loaded.model.rnn).__name__ == "MyRNN"
    assert loaded.predict([0, 1, 2, 3]).shape == (4, 4)


def test_a_file_cell_is_checked_before_it_trains_and_recorded(project):
    result = invoke("--config", ROOT / "configs" / "sine.toml", "--runs-dir", "runs", "--name", "c",
                    "--quiet", "--set", "model.cell=my_rnn.py:MyRNN", "--set", "train.epochs=1")
    assert result.exit_code == 0, result.output
    s = summary(project / "runs" / "c")
    assert s["plugins"]["cell"]["spec"] == "my_rnn.py:MyRNN" and s["plugins"]["cell"]["checked"]
    assert "task" not in s["plugins"]                  # sine is built in
    ls = invoke("ls", "runs")
    assert "my_rnn.py:MyRNN" in ls.stdout or "my_rnn.py" in ls.stdout


def test_a_changed_plug_in_is_refused_by_resume_and_named_by_eval(project):
    result = invoke("--config", "delayed.toml", "--runs-dir", "runs", "--name", "d", "--quiet",
                    "--set", "train.epochs=1")
    assert result.exit_code == 0
    with open(project / "delayed_recall.py", "a") as f:
        f.write("# edited\n")
    bad = invoke("resume", "runs/d", "--epochs", "2")
    assert bad.exit_code == 2, bad.output
    line, = bad.stderr.strip().splitlines()
    assert "delayed_recall.py" in line and "has changed since the run was made" in line
    ev = invoke("eval", "runs/d")   # read-only: goes on, warning (tests/test_plugin_changes.py)
    assert ev.exit_code == 0 and "delayed_recall.py" in ev.stderr and "has changed" in ev.stderr
    assert summary(project / "runs" / "d")["epochs_done"] == 1


BAD_TASKS = {
    "no_make.py": ("from trainer.tasks import Key\nKEYS = {}\nMETRIC = 'mse'\n",
                   "has no make(task_cfg, rng)"),
    "no_keys.py": ("METRIC = 'mse'\ndef make(cfg, rng):\n    pass\n", "has no KEYS"),
    "wrong_shape.py": ("""import numpy as np
from trainer.tasks import StreamTask
KEYS = {}
METRIC = "mse"
def make(cfg, rng):
    x = np.zeros((100, 2))
    b = {"train_loss": 1.0, "val_loss": 1.0, "val_mse": 1.0}
    return StreamTask("w", "regression", "mse", x, x[:, :1], x, x[:, :1], 1, 1, b, "zero")
""", "train_x: shape (100, 2), expected 1 values a step"),
    "nan_data.py": ("""import numpy as np
from trainer.tasks import StreamTask
KEYS = {}
METRIC = "mse"
def make(cfg, rng):
    x = np.zeros((100, 1))
    y = x.copy()
    y[5] = np.nan
    b = {"train_loss": 1.0, "val_loss": 1.0, "val_mse": 1.0}
    return StreamTask("n", "regression", "mse", x, y, x, x, 1, 1, b, "zero")
""", "train_y: holds non-finite values"),
    "no_baseline.py": ("""import numpy as np
from trainer.tasks import StreamTask
KEYS = {}
METRIC = "mse"
def make(cfg, rng):
    x = np.zeros((100, 1))
    return StreamTask("n", "regression", "mse", x, x, x, x, 1, 1, {"val_loss": 1.0}, "zero")
""", "baseline['train_loss']: missing"),
    "bad_ids.py": ("""import numpy as np
from trainer.tasks import StreamTask
KEYS = {}
METRIC = "accuracy"
def make(cfg, rng):
    x = np.arange(100) % 7
    b = {"train_loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.1}
    return StreamTask("i", "classification", "accuracy", x, x, x, x, 5, 5, b, "guess")
""", "train_x: ids from 0 to 6, expected 0 to 4"),
    "raises.py": ("KEYS = {}\nMETRIC = 'mse'\n\n\ndef make(cfg, rng):\n    return 1 / 0\n",
                  "raises.py:6: in make: ZeroDivisionError: division by zero"),
    "syntax.py": ("KEYS = {}\nMETRIC = 'mse'\ndef make(cfg, rng)\n    pass\n",
                  "syntax.py:3: loading it: SyntaxError"),
    "bad_sample.py": ("""import numpy as np
from trainer.tasks import Batch, EpisodeTask
KEYS = {}
METRIC = "mse"
def sample(rng, n):
    raise RuntimeError("no episodes today")
def make(cfg, rng):
    z = np.zeros((4, 5, 1)); m = np.ones((4, 5))
    b = {"train_loss": 1.0, "val_loss": 1.0, "val_mse": 1.0}
    return EpisodeTask("s", "regression", "mse", False, 1, 1, 5, 16, sample, Batch(z, z, m, m), b, "zero")
""", "bad_sample.py:6: in sample: RuntimeError: no episodes today"),
}


@pytest.mark.parametrize("name", BAD_TASKS)
def test_a_bad_task_plug_in_is_one_line_naming_it_exit_2_and_nothing_written(project, name):
    text, expected = BAD_TASKS[name]
    (project / name).write_text(text)
    result = invoke("--config", "plain.toml", "--runs-dir", "runs", "--set", f"task.name={name}")
    assert result.exit_code == 2, result.output
    line, = result.stderr.strip().splitlines()
    assert name in line and expected in line, line
    assert not (project / "runs").exists()


BAD_CELLS = {
    "no_backward": ("def backward(self, dhs):", "def backward_(self, dhs):", "has no backward()"),
    "rebound": ("self.grads[0][...], self.grads[1][...], self.grads[2][...] = dWx, dWh, db",
                "self.grads = [dWx, dWh, db]", "grads written in place"),
    "bug_002": ("dt = (dhs[:, t] + dh) * (1 - hs[:, t] ** 2)", "dt = 1 - hs[:, t] ** 2",
                "not multiplied by the incoming gradient"),
}


@pytest.mark.parametrize("name", BAD_CELLS)
def test_a_bad_cell_is_refused_before_training_naming_the_failing_gradient(project, name):
    old, new, expected = BAD_CELLS[name]
    source = (project / "my_rnn.py").read_text()
    assert old in source
    (project / f"{name}.py").write_text(source.replace(old, new))
    args = ["--config", ROOT / "configs" / "sine.toml", "--runs-dir", "runs",
            "--set", f"model.cell={name}.py:MyRNN", "--set", "train.epochs=1"]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    line, = result.stderr.strip().splitlines()
    assert f"{name}.py:MyRNN" in line and expected in line, line
    assert not (project / "runs").exists()
    if name == "bug_002":   # trained anyway on request, and the summary says it was unchecked
        forced = invoke(*args, "--set", "model.check=false", "--name", "u", "--quiet")
        assert forced.exit_code == 0, forced.output
        forced_summary = summary(project / "runs" / "u")
        assert forced_summary["plugins"]["cell"]["checked"] is False
        assert forced_summary["beats_baseline"] is False   # it learnt nothing, and says so
        assert "does not beat the baseline's" in forced.stderr, forced.stderr


def test_a_plug_in_task_without_footprint_is_measured_for_the_memory_check(project):
    from trainer.config.load import load
    from trainer.training.memory import estimate_bytes
    from trainer.training.preflight import make_checked_task, measured_footprint
    from trainer.training.streams import streams
    cfg = load(project / "delayed.toml")
    task = make_checked_task(cfg, streams(0)["data"])
    floats, steps, width = measured_footprint(task)
    assert floats == 2 * (4000 + 1000) and steps is None and width == 4   # int64 ids: 8 bytes each
    need = estimate_bytes(cfg, (floats, steps, width))
    assert need > 8 * floats
    from trainer.errors import ConfigError
    from trainer.training.preflight import check_run
    with pytest.raises(ConfigError, match="of memory for its arrays"):
        check_run(cfg, available=need - 1)
    check_run(cfg, available=need)


def test_a_sweep_over_a_plug_in_tasks_key_on_two_local_workers(project):
    (project / "sweep.toml").write_text('base = "delayed.toml"\n[set]\n"train.epochs" = 1\n'
                                        '"task.length" = 800\n[sweep]\nseeds = [0]\n'
                                        '[sweep.params]\n"task.delay" = [1, 3]\n')
    result = invoke("sweep", "sweep.toml", "--workers", 2, "--runs-dir", "runs", "--name", "s",
                    "--quiet")
    assert result.exit_code == 0, result.output
    import csv
    with open(project / "runs" / "s" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["task.delay"] for r in rows] == ["1", "3"]
    assert {r["status"] for r in rows} == {"completed"}
    assert summary(project / "runs" / "s" / rows[1]["run_dir"])["plugins"]["task"]["spec"] == \
        "delayed_recall.py"
    report = invoke("report", project / "runs" / "s")
    assert report.exit_code == 0, report.output


def test_a_sweep_with_a_bad_plug_in_is_refused_before_anything_is_written(project):
    source = (project / "my_rnn.py").read_text()
    (project / "bad.py").write_text(source.replace("dt = (dhs[:, t] + dh) * (1 - hs[:, t] ** 2)",
                                                   "dt = 1 - hs[:, t] ** 2"))
    (project / "sweep.toml").write_text('base = "delayed.toml"\n[sweep]\nseeds = [0]\n'
                                        '[sweep.params]\n"model.cell" = ["rnn", "bad.py:MyRNN"]\n')
    result = invoke("sweep", "sweep.toml", "--runs-dir", "runs", "--name", "s")
    assert result.exit_code == 2, result.output
    assert "bad.py:MyRNN: its gradient check failed" in result.stderr
    assert not (project / "runs").exists()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The examples built and installed as a package (into a folder of their own), whose entry
    points name the task "delayed-recall" and the cell "my-rnn"."""
    tmp = tmp_path_factory.mktemp("package")
    shutil.copytree(EXAMPLES, tmp / "src")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation",
                    "--no-deps", "--target", str(tmp / "site"), str(tmp / "src")], check=True,
                   capture_output=True)
    return tmp / "site"


KINDS = {  # kind -> (task.name, model.cell, what summary.json says of their origin)
    "file": ("delayed_recall.py", "my_rnn.py:MyRNN", "file"),
    "module": ("delayed_recall", "my_rnn:MyRNN", "module"),
    "entry point": ("delayed-recall", "my-rnn", "entry point"),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_every_command_works_with_a_file_a_module_and_an_entry_point_plug_in(kind, installed,
                                                                           project):
    """train, resume, eval, generate, plot, ls, report, compare and sweep, as processes of their
    own (the entry points are those of the examples installed as a package)."""
    task, cell, origin = KINDS[kind]
    path = {"file": [], "module": [str(project)], "entry point": [str(installed)]}[kind]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path + [str(ROOT)])}

    def train(*args):
        done = subprocess.run([sys.executable, "-m", "trainer", *map(str, args)], env=env,
                              cwd=project, capture_output=True, text=True)
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    train("--config", "plain.toml", "--runs-dir", "runs", "--name", "a", "--quiet",
          "--set", f"task.name={task}", "--set", f"model.cell={cell}")
    s = summary(project / "runs" / "a")
    assert s["plugins"]["task"]["origin"] == s["plugins"]["cell"]["origin"] == origin
    assert s["plugins"]["task"]["spec"] == task and s["plugins"]["cell"]["checked"] is True
    train("resume", "runs/a", "--epochs", 2, "--quiet")
    assert f"task  {task} (plug-in: {origin}" in train("eval", "runs/a")
    assert len(train("generate", "runs/a", "--steps", 4).split("\n")[0].split()) == 4
    assert "task_view.png" in train("plot", "runs/a")
    listed = train("ls", "runs")
    assert task in listed and cell.split(":")[0] in listed
    train("--config", "runs/a/config.toml", "--runs-dir", "runs", "--name", "b", "--quiet")
    assert summary(project / "runs" / "b")["final"] == summary(project / "runs" / "a")["final"]
    train("report", "runs/a", "runs/b", "--out", "rep")
    train("compare", "runs/a", "runs/b", "--out", "cmp")
    (project / "s.toml").write_text(f'base = "plain.toml"\n[set]\n"task.name" = "{task}"\n'
                                    f'"model.cell" = "{cell}"\n[sweep]\nseeds = [0, 1]\n')
    train("sweep", "s.toml", "--workers", 2, "--runs-dir", "runs", "--name", "s", "--quiet")
    assert all(summary(r)["status"] == "completed" for r in (project / "runs" / "s").glob("seed=*"))


def test_the_installed_entry_points_are_listed_and_checked(installed, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(ROOT)])}

    def train(*args):
        return subprocess.run([sys.executable, "-m", "trainer", *map(str, args)], env=env,
                              cwd=tmp_path, capture_output=True, text=True)

    assert "delayed-recall  (entry point delayed_recall)" in train("tasks").stdout
    assert "my-rnn         gates 1  entry point my_rnn:MyRNN" in train("cells").stdout
    check = train("gradcheck", "my-rnn")
    assert check.returncode == 0 and "checks passed" in check.stdout
