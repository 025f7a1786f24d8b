"""The `train` command end to end: run directories, exit codes, reproducibility, eval and plot."""
import csv
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def train(args, runs_dir):
    result = CliRunner().invoke(main, [*args, "--runs-dir", str(runs_dir)], catch_exceptions=False)
    return result


def run_path(result):
    return Path(result.stdout.strip().splitlines()[-1])


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def sine_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = train(["--config", str(CONFIGS / "sine.toml"), "--quiet"], runs)
    assert result.exit_code == 0, result.output
    return run_path(result)


@pytest.fixture(scope="module")
def counting_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = train(["--config", str(CONFIGS / "counting.toml"), "--quiet"], runs)
    assert result.exit_code == 0, result.output
    return run_path(result)


def test_sine_beats_persistence_by_far(sine_run):
    s = json.loads((sine_run / "summary.json").read_text())
    assert s["status"] == "completed" and s["steps"] == s["total_steps"] > 0
    assert s["final"]["val_loss"] <= s["baseline"]["val_loss"] / 40
    assert s["final"]["val_mse"] == s["final"]["val_loss"]
    assert s["final"]["train_loss"] < s["baseline"]["train_loss"] / 50


def test_counting_reaches_99_percent(counting_run):
    s = json.loads((counting_run / "summary.json").read_text())
    assert s["status"] == "completed"
    assert s["final"]["val_accuracy"] >= 0.99 > s["baseline"]["val_accuracy"] == 0.75
    assert s["final"]["val_loss"] < s["baseline"]["val_loss"] / 10


def test_run_directory_contents(sine_run):
    names = {p.name for p in sine_run.iterdir()}
    assert {"config.toml", "metrics.csv", "summary.json", "checkpoint.npz", "best.npz",
            "loss_curves.png", "task_view.png"} <= names
    assert not [n for n in names if n.startswith(".") and n != ".lock"]  # no temporaries left
    rows = read_rows(sine_run / "metrics.csv")
    assert list(rows[0]) == ["step", "epoch", "split", "loss", "mse", "lr", "grad_norm", "elapsed_s"]
    assert {r["split"] for r in rows} == {"train", "val"}
    summary = json.loads((sine_run / "summary.json").read_text())
    epochs = tomllib.loads((sine_run / "config.toml").read_text())["train"]["epochs"]
    assert sum(r["split"] == "val" for r in rows) == epochs == summary["epochs_done"]
    steps = [int(r["step"]) for r in rows]
    assert steps == sorted(steps) and steps[-1] == summary["total_steps"]
    import numpy as np
    with np.load(sine_run / "checkpoint.npz", allow_pickle=False) as z:
        assert z["rnn.Wx"].dtype == np.float32  # not float16, as the textbook saved


def test_same_config_and_seed_give_identical_metrics(sine_run, tmp_path):
    again = train(["--config", str(sine_run / "config.toml"), "--quiet"], tmp_path)
    assert again.exit_code == 0
    a, b = read_rows(sine_run / "metrics.csv"), read_rows(run_path(again) / "metrics.csv")
    for row in a + b:
        row.pop("elapsed_s")
    assert a == b
    assert (sine_run / "config.toml").read_text() == (run_path(again) / "config.toml").read_text()


def test_other_seed_gives_other_numbers(tmp_path):
    runs = [train(["--config", str(CONFIGS / "sine.toml"), "--quiet", "--set", f"train.seed={s}",
                   "--set", "train.epochs=1"], tmp_path) for s in (0, 1)]
    losses = [read_rows(run_path(r) / "metrics.csv")[0]["loss"] for r in runs]
    assert losses[0] != losses[1]


def test_counting_with_longer_holds_from_the_issue(tmp_path):
    result = train(["--config", str(CONFIGS / "counting.toml"), "--quiet",
                    "--set", "task.repeat=8", "--set", "train.bptt=16"], tmp_path)
    assert result.exit_code == 0
    s = json.loads((run_path(result) / "summary.json").read_text())
    assert s["baseline"]["val_accuracy"] == pytest.approx(7 / 8, abs=0.01)
    assert s["final"]["val_accuracy"] > 0.97


def test_eval_prints_final_figures_and_baseline(counting_run):
    result = CliRunner().invoke(main, ["eval", str(counting_run)])
    assert result.exit_code == 0, result.output
    s = json.loads((counting_run / "summary.json").read_text())
    line = next(l for l in result.stdout.splitlines() if l.startswith("val_accuracy"))
    model, base = (float(v) for v in line.split()[1:])
    assert model == pytest.approx(s["final"]["val_accuracy"], abs=1e-6)
    assert base == pytest.approx(0.75)


def test_plot_redraws_from_files(sine_run):
    for png in ("loss_curves.png", "task_view.png"):
        (sine_run / png).unlink()
    result = CliRunner().invoke(main, ["plot", str(sine_run), "--steps", "400"])
    assert result.exit_code == 0, result.output
    assert (sine_run / "task_view.png").stat().st_size > 10000
    assert (sine_run / "loss_curves.png").exists()


@pytest.mark.parametrize("args,expected", [
    (["--config", "nope.toml"], "no such config file"),
    (["--config", "{configs}/sine.toml", "--set", "train.bpt=3"], "did you mean 'train.bptt'"),
    (["--config", "{configs}/sine.toml", "--set", "train.bptt"], "expected KEY=VALUE"),
    (["--config", "{configs}/sine.toml", "--name", "../x"], "--name"),
    (["--config", "{configs}/sine.toml", "--name", "a/b"], "--name"),
    (["--config", "{configs}"], "is a directory"),
    (["--config", "{configs}/sine.toml", "--set", "optim.lr=-1"], "optim.lr"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, expected):
    runs = tmp_path / "runs"
    args = [a.format(configs=CONFIGS) for a in args]
    result = CliRunner().invoke(main, [*args, "--runs-dir", str(runs)])
    assert result.exit_code == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not runs.exists()


def test_existing_name_is_refused_and_left_alone(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["--config", str(CONFIGS / "sine.toml"), "--name", "taken",
                                       "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]


def test_divergence_exits_3_with_status(tmp_path):
    result = CliRunner().invoke(main, [
        "--config", str(CONFIGS / "sine.toml"), "--quiet", "--runs-dir", str(tmp_path),
        "--set", "optim.name=sgd", "--set", "optim.lr=1e30", "--set", "optim.clip=0"])
    assert result.exit_code == 3, result.output
    s = json.loads((run_path(result) / "summary.json").read_text())
    assert s["status"] == "diverged" and s["diverged_at_step"] >= 1
    assert s["diverged_what"] in ("loss", "gradient", "validation loss")
    assert f"non-finite {s['diverged_what']}" in result.stderr and "optim.lr" in result.stderr


@pytest.mark.parametrize("every,kept", [(0, "before its first checkpoint"),
                                         (1, "the last good checkpoint is kept")])
def test_divergence_is_one_message_with_the_step_and_what(tmp_path, every, kept):
    """Was: 'diverged after 1 steps' then 'error: training diverged at step 2'."""
    result = CliRunner().invoke(main, [
        "--config", str(CONFIGS / "sine.toml"), "--runs-dir", str(tmp_path), "--set",
        "optim.lr=1e30", "--set", "optim.clip=0", "--set", f"train.checkpoint_every={every}"])
    assert result.exit_code == 3, result.output
    s = json.loads((run_path(result) / "summary.json").read_text())
    assert s["steps"] == 1 and s["diverged_at_step"] == 2 and s["diverged_what"] == "loss"
    assert result.stderr == (f"error: training diverged at step 2 (non-finite loss), {kept}; "
                             "try a lower optim.lr or set optim.clip\n")
    evaluated = CliRunner().invoke(main, ["eval", str(run_path(result))])
    if every:   # the step-1 checkpoint is there to evaluate
        assert evaluated.exit_code == 0, evaluated.output
    else:
        assert evaluated.exit_code == 2 and "before its first checkpoint" in evaluated.stderr


def test_module_entry_point_and_help_with_examples():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "trainer", "--help"], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert "--config" in out and "Examples" in out and "eval" in out and "plot" in out


def _broken_probe(*args, **kwargs):
    raise RuntimeError("the probe broke")


def test_a_failure_inside_a_run_is_recorded_in_one_line(tmp_path, monkeypatch):
    """Anything but bad input or divergence (a bug, memory, the disk): status failed with the error
    and traceback in summary.json, one line on stderr, exit 1. (A failure while drawing leaves the
    run completed: tests/test_one_writer.py.)"""
    import trainer.training.recorder
    monkeypatch.setattr(trainer.training.recorder, "probe_gradient_reach", _broken_probe)
    result = CliRunner().invoke(main, ["--config", str(CONFIGS / "sine.toml"), "--quiet",
                                       "--set", "train.epochs=1", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "RuntimeError: the probe broke" in result.stderr
    s = json.loads((run_path(result) / "summary.json").read_text())
    assert s["status"] == "failed" and s["error"] == "RuntimeError: the probe broke"
    assert "Traceback" in s["traceback"]


def test_run_files_get_the_usual_permissions(sine_run):
    import os
    umask = os.umask(0)
    os.umask(umask)
    for p in sine_run.iterdir():
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask, p.name  # not mkstemp's 0600


def test_a_generated_run_name_that_collides_is_drawn_again(tmp_path, monkeypatch):
    from trainer.rundir import layout
    names = iter(["sine-same", "sine-same", "sine-other"])
    monkeypatch.setattr(layout, "new_run_id", lambda prefix: next(names))
    first = layout.RunDir.create(tmp_path, prefix="sine")
    second = layout.RunDir.create(tmp_path, prefix="sine")
    assert (first.path.name, second.path.name) == ("sine-same", "sine-other")
