"""The researcher's smaller asks: a multirun from the command line without a sweep file,
`train table --within`, and a run config handed to `train sweep`."""
import csv
import numpy as np
import io

import pytest
from click.testing import CliRunner

from trainer.cli import main

QUICK = ["--set", "train.epochs=1", "--set", "task.length=1600", "--set", "model.hidden=8"]


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = cli("sweep", "--config", "counting", "--grid", "model.cell=rnn,gru", "--grid",
                 "task.repeat=2,3", "--seeds", "0-1", *QUICK, "--runs-dir", runs, "--name", "g",
                 "--workers", 2, "--quiet")
    assert result.exit_code == 0, result.output
    return runs / "g"


def test_a_grid_from_the_command_line_runs_every_combination_and_seed(grid):
    rows = list(csv.DictReader(io.StringIO((grid / "results.csv").read_text())))
    got = sorted((r["model.cell"], r["task.repeat"], r["seed"]) for r in rows)
    assert got == sorted((c, r, s) for c in ("rnn", "gru") for r in ("2", "3") for s in ("0", "1"))
    assert all(r["status"] == "completed" for r in rows)
    assert (grid / "cell=gru-repeat=3-seed=1" / "summary.json").is_file()


def test_the_same_command_with_its_name_resumes_and_runs_nothing_again(grid):
    result = cli("sweep", "--config", "counting", "--grid", "model.cell=rnn,gru", "--grid",
                 "task.repeat=2,3", "--seeds", "0-1", *QUICK, "--runs-dir", grid.parent,
                 "--name", "g")
    assert result.exit_code == 0, result.output
    assert "8 runs, 8 already done, 0 to run" in result.output


@pytest.mark.parametrize("args,message", [
    (["--config", "counting", "--grid", "train.bptt=2,x"], "'x': expected an integer"),
    (["--config", "counting", "--grid", "train.bpt=2"], "did you mean 'train.bptt'"),
    (["--config", "counting", "--grid", "train.bptt"], "expected KEY=V1,V2"),
    (["--config", "counting", "--grid", "train.bptt=2", "--grid", "train.bptt=4"], "swept twice"),
    (["--config", "counting", "--grid", "train.bptt=2", "--seeds", "4-1"], "--seeds 4-1"),
    (["--config", "counting", "--grid", "train.bptt=2", "--seeds", "a"], "--seeds a"),
    (["--config", "counting", "--grid", "train.bptt=2,2"], "listed twice"),
    (["--config", "counting", "--grid", "train.bptt=0"], "train.bptt"),
    (["configs/sweep-bptt.toml", "--grid", "train.bptt=2"], "go with --config"),
    ([], "give a sweep file, or --config"),
])
def test_a_bad_command_line_sweep_is_one_line_and_writes_nothing(args, message, tmp_path):
    result = cli("sweep", *args, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_a_run_config_given_as_a_sweep_file_points_to_both_ways(tmp_path):
    result = cli("sweep", "configs/sine.toml", "--runs-dir", tmp_path)
    assert result.exit_code == 2
    assert "a run config (it has a [task] table), not a sweep file" in result.output
    assert "train --config configs/sine.toml" in result.output
    assert "train sweep --config configs/sine.toml --grid" in result.output


def test_within_compares_each_value_of_a_key_apart(grid):
    result = cli("table", grid, "--within", "task.repeat", "--csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["task.repeat"], r["model.cell"]) for r in rows] == [
        ("2", "gru"), ("2", "rnn"), ("3", "gru"), ("3", "rnn")]
    for repeat in ("2", "3"):   # one best in each block: its P(better than best) is empty
        block = [r for r in rows if r["task.repeat"] == repeat]
        assert sum(r["p_improvement_vs_best"] == "" for r in block) == 1
    text = cli("table", grid, "--within", "task.repeat").stdout
    assert "within repeat=2: best by mean" in text and "within repeat=3: best by mean" in text
    whole = list(csv.DictReader(io.StringIO(cli("table", grid, "--csv").stdout)))
    assert sum(r["p_improvement_vs_best"] == "" for r in whole) == 1    # one best over all
    bad = cli("table", grid, "--within", "task.nothing")
    assert bad.exit_code == 2 and "--within task.nothing: no run's config has this key" in bad.output


def test_the_python_table_takes_within_too(grid):
    import trainer
    df = trainer.table(grid, within="task.repeat")
    assert df["p_improvement_vs_best"].isna().sum() == 2


def test_ls_shows_swept_values_and_whole_names_when_piped(grid):
    out = cli("ls", grid).stdout.splitlines()
    assert out[0].split()[-1] == "values"
    row = next(line for line in out if line.startswith("cell=gru-repeat=3-seed=1 "))
    assert row.endswith("repeat=3 seed=1")


def test_ls_cuts_names_to_the_terminal_width_on_a_terminal(grid, monkeypatch):
    import trainer.cli.ls
    for width in (100, 200):
        monkeypatch.setattr(trainer.cli.ls, "terminal_columns", lambda width=width: width)
        lines = cli("ls", grid).stdout.splitlines()
        assert max(map(len, lines)) <= width - 1
        assert any("cell=gru-repeat=3-seed=1" in line for line in lines) == (width == 200)


def test_compare_never_overlays_mse_and_cross_entropy_without_a_word(grid, tmp_path):
    sine = cli("--config", "sine", "--set", "train.epochs=1", "--set", "task.length=1600",
               "--runs-dir", tmp_path / "runs", "--name", "sine", "--quiet")
    assert sine.exit_code == 0, sine.output
    runs = [tmp_path / "runs" / "sine", grid / "cell=rnn-repeat=2-seed=0",
            grid / "cell=rnn-repeat=2-seed=1"]
    result = cli("compare", *runs, "--out", tmp_path / "cmp")
    assert result.exit_code == 0, result.output
    assert "1 run whose loss is MSE is left out of the loss curves, which show the 2 " \
           "cross-entropy runs" in result.stderr
    assert not list((tmp_path / "cmp").glob("*.png"))
    page = (tmp_path / "cmp" / "report.html").read_text()
    assert "whose loss is MSE is left out of the loss curves" in page


def test_a_dry_run_estimates_the_wall_time_from_a_measured_stretch_then_from_past_runs(grid,
                                                                                      tmp_path):
    args = ["sweep", "--config", "counting", "--grid", "model.cell=rnn,gru", "--grid",
            "task.repeat=2,3", "--seeds", "0-1", *QUICK, "--dry-run", "--workers", 2]
    fresh = cli(*args, "--runs-dir", tmp_path / "empty")
    assert fresh.exit_code == 0, fresh.output
    assert "estimated wall time: ~" in fresh.stdout and "on 2 local workers" in fresh.stdout
    assert "from a measured stretch of 4 configs" in fresh.stdout
    assert not (tmp_path / "empty").exists()             # a dry run writes nothing
    again = cli(*args, "--runs-dir", grid.parent)        # the same configs ran under g/
    assert "from 8 past runs of 4 of its configs" in again.stdout, again.stdout
    assert "to run (~" in again.stdout


def test_the_estimate_spreads_runs_over_workers_longest_first():
    from trainer.sweeps.estimate import Estimate
    guess = Estimate({"a": 4.0, "b": 3.0, "c": 3.0, "d": 2.0}, 0, 1, 0)
    assert guess.wall(1) == 12.0 and guess.wall(2) == 6.0 and guess.wall(8) == 4.0


SCORED_TASK = '''
import numpy as np
from trainer.tasks import Key, StreamTask, stream_check

METRIC = "abs_error"
KEYS = {"length": Key(1600, "steps", min=2, max=1e6), "val_length": Key(400, "steps", min=2, max=1e6)}
check = stream_check


def make(cfg, rng):
    t = np.arange(cfg["length"] + cfg["val_length"] + 1)
    s = np.sin(2 * np.pi * t / 25.0)[:, None]
    n = cfg["length"]
    err = float(np.abs(s[1:] - s[:-1])[n:].mean())
    base = {"train_loss": 0.1, "val_loss": 0.1, "val_abs_error": err}
    return StreamTask("scored", "regression", METRIC, s[:n], s[1:n + 1], s[n:-1], s[n + 1:],
                      input_dim=1, output_dim=1, baseline=base, baseline_name="persistence")


def score(outputs, targets, mask):
    return SCORE
'''


@pytest.mark.parametrize("body,status", [
    ("float(np.abs(outputs - targets).sum()), outputs.size", "completed"),
    ("'many', 0", "failed"),
])
def test_a_tasks_own_score_is_the_figure_the_run_reports(body, status, tmp_path):
    (tmp_path / "scored.py").write_text(SCORED_TASK.replace("SCORE", body))
    (tmp_path / "scored.toml").write_text('[task]\nname = "scored.py"\n[model]\nhidden = 16\n'
                                          '[optim]\nname = "adam"\nlr = 0.01\n'
                                          '[train]\nepochs = 3\nbptt = 25\nmonitor = "val_abs_error"\n')
    result = cli("--config", tmp_path / "scored.toml", "--runs-dir", tmp_path / "runs",
                 "--name", "r", "--quiet")
    import json
    summary = json.loads((tmp_path / "runs" / "r" / "summary.json").read_text())
    assert summary["status"] == status, result.output
    if status == "failed":
        assert result.exit_code == 1
        assert "score(outputs, targets, mask) returned ('many', 0)" in summary["error"]
        return
    assert result.exit_code == 0, result.output
    assert summary["metric"] == "abs_error" and summary["monitor"] == "val_abs_error"
    val = summary["final"]["val_abs_error"]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "runs" / "r" / "metrics.csv").read_text())))
    errors = [float(r["abs_error"]) for r in rows if r["split"] == "val"]
    assert errors[-1] == pytest.approx(val)
    assert summary["best"]["val_abs_error"] == pytest.approx(min(errors))   # an error: lowest best
    import trainer
    run = trainer.load_run(tmp_path / "runs" / "r")
    xs = run.task.val_x[None]
    ys = run.predict(xs)
    assert abs(val - float(np.abs(ys - run.task.val_y[None]).mean())) < 0.05
