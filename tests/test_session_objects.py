"""Where students and researchers work: Python objects as cells and tasks (a class typed into a
notebook cell, a task written in one), shipped configs by name, progress, a run shown as HTML,
and the researcher's sweep, table and report functions."""
import json
import os
import types
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import trainer
from trainer.cli import main
from trainer.errors import BadInput
from trainer.tasks import Key, StreamTask, stream_check

TINY = {"task": {"name": "sine", "length": 200, "val_length": 50}, "model": {"hidden": 6},
        "train": {"epochs": 1, "batch_size": 4, "bptt": 10}}


def book_time_rnn(extra=""):
    """The book's TimeRNN as a student types it into a cell (a class of a function's locals:
    not importable by any name, as a notebook's class is not)."""

    class TimeRNN:
        def __init__(self, Wx, Wh, b, stateful=False):
            self.params = [Wx, Wh, b]
            self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
            self.stateful, self.h, self.dh = stateful, None, None

        def set_state(self, h):
            self.h = h

        def reset_state(self):
            self.h = None

        def forward(self, xs):
            Wx, Wh, b = self.params
            N, T, _ = xs.shape
            H = Wh.shape[0]
            if not self.stateful or self.h is None or self.h.shape[0] != N:
                self.h = np.zeros((N, H), dtype=Wx.dtype)
            hs = np.empty((N, T, H), dtype=Wx.dtype)
            self.cache = []
            for t in range(T):
                h_prev = self.h
                self.h = np.tanh(xs[:, t] @ Wx + h_prev @ Wh + b)
                self.cache.append((xs[:, t], h_prev, self.h))
                hs[:, t] = self.h
            return hs

        def backward(self, dhs):
            Wx, Wh, b = self.params
            dxs = np.empty(dhs.shape[:2] + (Wx.shape[0],), dtype=dhs.dtype)
            dh = np.zeros_like(dhs[:, 0])
            gs = [np.zeros_like(g) for g in self.grads]
            for t in reversed(range(dhs.shape[1])):
                x, h_prev, h = self.cache[t]
                dt = (dhs[:, t] + dh) * (1 - h ** 2)
                gs[0] += x.T @ dt
                gs[1] += h_prev.T @ dt
                gs[2] += dt.sum(0)
                dxs[:, t] = dt @ Wx.T
                dh = dt @ Wh.T
            for g, new in zip(self.grads, gs):
                g[...] = new
            self.dh = dh
            return dxs

    if extra:
        TimeRNN.__doc__ = extra   # a change to the class, not to its source
    return TimeRNN


def recall_task():
    """A stream task written in a cell: output the symbol seen `delay` steps ago."""

    def make(cfg, rng):
        delay, vocab, n, m = cfg["delay"], cfg["vocab"], cfg["length"], cfg["val_length"]
        s = rng.integers(0, vocab, n + m + delay)
        x, y = s[delay:], s[:-delay]
        chance = {"train_loss": float(np.log(vocab)), "val_loss": float(np.log(vocab)),
                  "val_accuracy": 1.0 / vocab}
        return StreamTask("recall", "classification", "accuracy", x[:n], y[:n], x[n:], y[n:],
                          input_dim=vocab, output_dim=vocab, baseline=chance,
                          baseline_name="a uniform guess")

    keys = {"delay": Key(2, "steps back", min=1, max=100), "vocab": Key(4, "symbols", min=2, max=50),
            "length": Key(800, "training steps", min=2, max=1e6),
            "val_length": Key(200, "validation steps", min=2, max=1e6)}
    return types.SimpleNamespace(KEYS=keys, METRIC="accuracy", make=make, check=stream_check)


@pytest.fixture(scope="module")
def cell_run(tmp_path_factory):
    cls = book_time_rnn()
    run = trainer.train(TINY, overrides={"model.cell": cls}, runs_dir=tmp_path_factory.mktemp("r"))
    return cls, run


def test_a_class_object_trains_and_the_run_names_and_pins_it(cell_run):
    cls, run = cell_run
    assert run.summary["status"] == "completed"
    spec = run.config["model"]["cell"]
    assert spec == "<session>:TimeRNN"
    record = run.summary["plugins"]["cell"]
    assert record["origin"] == "object" and len(record["sha256"]) == 64
    kept = (run.path / record["source"]).read_text()      # the source, as the run trained it
    assert kept.lstrip().startswith("class TimeRNN:") and "dt = (dhs[:, t] + dh)" in kept
    import hashlib
    assert hashlib.sha256(kept.encode()).hexdigest() == record["sha256"]
    text = (run.path / "config.toml").read_text()
    assert 'cell = "<session>:TimeRNN"' in text and 'origin = "object"' in text


def test_a_run_of_a_class_object_reloads_with_it_and_says_so_without_it(cell_run):
    cls, run = cell_run
    with pytest.raises(BadInput, match=r"defined in a Python session.*load_run\(PATH, cell=TimeRNN\)"):
        trainer.load_run(run.path)
    again = trainer.load_run(run.path, cell=cls)
    assert again.predict(again.task.val_x[:20]).shape == (20, 1)


def test_a_class_whose_source_changed_is_refused_by_load_run(cell_run, tmp_path):
    _, run = cell_run
    ns = {}
    source = (Path(__file__).read_text().split("    class TimeRNN:", 1)[1]
              .split("    if extra:", 1)[0])
    code = "import numpy as np\nclass TimeRNN:" + source.replace("\n    ", "\n")
    code = code.replace("dt @ Wh.T", "dt @ Wh.T  # edited")
    (tmp_path / "cell.py").write_text(code)     # where Python finds the source of the class
    exec(compile(code, str(tmp_path / "cell.py"), "exec"), ns)
    with pytest.raises(BadInput, match="has changed since the run was made"):
        trainer.load_run(run.path, cell=ns["TimeRNN"])


@pytest.mark.parametrize("command", [["eval"], ["plot"], ["generate", "--steps", "5"],
                                     ["resume"]])
def test_the_command_line_says_in_one_line_that_the_run_needs_python(cell_run, command):
    _, run = cell_run
    result = CliRunner().invoke(main, [command[0], str(run.path), *command[1:]])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "defined in a Python session" in lines[0], result.output


def test_a_task_object_written_in_a_cell_trains(tmp_path, monkeypatch):
    import __main__
    recall = recall_task()
    monkeypatch.setattr(__main__, "recall", recall, raising=False)   # a notebook's global
    run = trainer.train({"task": {"name": recall}, "model": {"hidden": 8},
                         "train": {"epochs": 1, "bptt": 8, "batch_size": 4}}, runs_dir=tmp_path)
    assert run.summary["status"] == "completed"
    assert run.config["task"]["name"] == "<session>:recall"
    assert run.summary["plugins"]["task"]["origin"] == "object"
    with pytest.raises(BadInput, match="task=recall"):
        trainer.load_run(run.path)
    assert trainer.load_run(run.path, task=recall).summary["status"] == "completed"


def test_a_cell_spec_of_the_wrong_type_is_one_line(tmp_path):
    with pytest.raises(BadInput, match="model.cell: expected a cell name .* or a layer class, got 3"):
        trainer.train(TINY, overrides={"model.cell": 3}, runs_dir=tmp_path)
    with pytest.raises(BadInput, match="task.name: .*has no KEYS"):
        trainer.train(TINY, overrides={"task.name": types.SimpleNamespace()}, runs_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_an_importable_class_goes_by_its_name_and_a_built_in_by_its_own(tmp_path):
    from trainer.layers.lstm import TimeLSTM
    run = trainer.train(TINY, overrides={"model.cell": TimeLSTM}, runs_dir=tmp_path)
    assert run.config["model"]["cell"] == "lstm"
    assert "plugins" not in run.summary


def test_progress_shows_when_asked_and_stays_silent_in_a_script(tmp_path, capfd):
    trainer.train(TINY, runs_dir=tmp_path)
    assert capfd.readouterr().err == ""
    trainer.train(TINY, runs_dir=tmp_path, progress=True)
    err = capfd.readouterr().err
    assert "epoch 1/1" in err and "step" in err


def test_the_run_shows_as_html_with_its_figures_and_escapes_what_its_files_say(cell_run):
    _, run = cell_run
    page = run._repr_html_()
    assert "completed" in page and page.count("<img src=\"data:image/png;base64,") == 3
    from trainer.api.run_view import run_html
    hostile = {"status": "<script>x</script>", "final": {"<b>val": 1.0},
               "baseline": {}, "beats_baseline": True, "baseline_name": "<style>"}
    page = run_html(run.path, hostile)
    assert "<script>" not in page and "<style>" not in page and "&lt;script&gt;" in page


def test_plot_draws_missing_figures_and_returns_them(tmp_path):
    run = trainer.train(TINY, runs_dir=tmp_path)
    for p in run.plot():
        p.unlink()
    paths = run.plot()
    assert [p.name for p in paths] == ["loss_curves.png", "task_view.png", "gradient_reach.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_shipped_configs_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = trainer.train("sine", overrides={"train.epochs": 1, "task.length": 1600}, runs_dir="r")
    assert run.summary["status"] == "completed" and run.path.parent == Path("r")
    result = CliRunner().invoke(main, ["--config", "sine", "--set", "train.epochs=1", "--set",
                                       "task.length=1600", "--runs-dir", "r", "--quiet"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["--config", "sien"])
    assert result.exit_code == 2 and "did you mean 'sine'" in result.output
    Path("sine.toml").write_text('[train]\nepochs = 0\n')    # a path that exists wins
    result = CliRunner().invoke(main, ["--config", "sine.toml"])
    assert result.exit_code == 2 and result.output.startswith("error: sine.toml: train.epochs")
    listed = CliRunner().invoke(main, ["configs"]).output
    assert any(line.split()[:4] == ["sine", "run", "sine", "rnn"] for line in listed.splitlines())
    assert any(line.startswith("sweep-cell-bptt") and "rnn,lstm" in line
               for line in listed.splitlines())


def test_a_sweep_file_may_name_its_base_by_name(tmp_path):
    from trainer.sweeps import spec
    path = tmp_path / "s.toml"
    path.write_text('base = "counting"\n[sweep]\nseeds = [0]\n[sweep.params]\n'
                    '"train.bptt" = [4, 8]\n')
    assert spec.load(path).base["task"]["name"] == "counting"


def test_sweep_table_and_report_from_python_with_a_task_written_in_a_cell(tmp_path):
    recall = recall_task()
    sw = trainer.sweep({"base": {"task": {"name": recall}, "model": {"hidden": 8},
                                 "train": {"epochs": 1, "bptt": 8, "batch_size": 4}},
                        "sweep": {"seeds": [0, 1], "params": {"task.delay": [1, 2]}}},
                       name="s", runs_dir=tmp_path)
    df = sw.results
    assert len(df) == 4 and set(df["status"]) == {"completed"}
    table = trainer.table(sw.path)
    assert list(table["task.delay"]) == [1, 2] and list(table["runs"]) == [2, 2]
    assert "<table" in sw._repr_html_()
    page = trainer.report(sw.path)
    assert Path(page).name == "report.html" and Path(page).is_file()
    again = trainer.sweep({"base": {"task": {"name": recall}, "model": {"hidden": 8},
                                    "train": {"epochs": 1, "bptt": 8, "batch_size": 4}},
                           "sweep": {"seeds": [0, 1], "params": {"task.delay": [1, 2]}}},
                          name="s", runs_dir=tmp_path)   # the same name: resumed, nothing to run
    assert len(again.results) == 4


def test_the_researcher_api_refuses_bad_input_in_one_line(tmp_path):
    with pytest.raises(BadInput, match="no such directory"):
        trainer.table(tmp_path / "nothing")
    with pytest.raises(BadInput, match="no runs to table"):
        trainer.table(tmp_path)
    with pytest.raises(BadInput, match="expected a sweep file's path or name, or a dict"):
        trainer.sweep(3)
    with pytest.raises(BadInput, match="no such sweep file"):
        trainer.sweep("no-such-sweep", runs_dir=tmp_path)
    with pytest.raises(BadInput, match="no runs to report"):
        trainer.report(tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_sweep_made_with_objects_says_from_the_command_line_that_it_needs_python(tmp_path):
    recall = recall_task()
    sw = trainer.sweep({"base": {"task": {"name": recall}, "model": {"hidden": 4},
                                 "train": {"epochs": 1, "bptt": 8, "batch_size": 4}},
                        "sweep": {"seeds": [0]}}, name="s", runs_dir=tmp_path)
    result = CliRunner().invoke(main, ["sweep", str(sw.path / "sweep.toml"), "--runs-dir",
                                       str(tmp_path), "--name", "s"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "defined in a Python session" in lines[0]


SCRIPT = """import trainer
def main():
    sw = trainer.sweep({"base": "sine", "set": {"train.epochs": 1, "task.length": 1600},
                        "sweep": {"seeds": [0], "params": {"model.hidden": [4, 8]}}},
                       runs_dir="runs", workers=2)
    print(sorted(sw.results["status"]))
"""


@pytest.mark.parametrize("guarded", [False, True])
def test_a_sweep_from_a_script_needs_the_main_guard_and_says_so_instead_of_looping(guarded,
                                                                                   tmp_path):
    """Spawned workers import the script that started them: unguarded, each worker would start
    the sweep again and die, and the pool restarted them forever (790 sweep folders in 10
    minutes); now the second such round ends the sweep with one clear line."""
    import subprocess
    import sys
    call = "if __name__ == '__main__':\n    main()\n" if guarded else "main()\n"
    (tmp_path / "x.py").write_text(SCRIPT + call)
    done = subprocess.run([sys.executable, "x.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    if guarded:
        assert done.returncode == 0, done.stderr
        assert "['completed', 'completed']" in done.stdout
    else:
        assert done.returncode != 0
        assert 'needs its call under `if __name__ == "__main__":`' in done.stderr.splitlines()[-1]
        assert len(list((tmp_path / "runs").iterdir())) == 1
