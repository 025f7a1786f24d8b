"""Sweeps end to end on a local process pool: results.csv, statuses, plots, resume, failures, stop."""
import csv
import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from trainer.sweeps import execute as sweep_run, spec as sweep
from trainer.cli import main
from trainer.sweeps.results import RESULTS
from tiny_configs import TINY_SINE

BASE = TINY_SINE.replace("epochs = 1", "epochs = 2") + '[optim]\nname = "sgd"\nlr = 0.05\nclip = 0.0\n'
RUN_FILES = {"config.toml", "metrics.csv", "summary.json", "checkpoint.npz", "gradient_reach.csv"}
FIGURES = {"loss_curves.png", "task_view.png", "gradient_reach.png"}


def write_sweep(tmp_path, params, seeds="[0]", name="sweep-test.toml"):
    (tmp_path / "base.toml").write_text(BASE)
    path = tmp_path / name
    path.write_text(f'base = "base.toml"\n[sweep]\nseeds = {seeds}\n[sweep.params]\n'
                    + textwrap.dedent(params))
    return path


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def invoke(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_a_sweep_writes_runs_as_train_does_results_and_plots(tmp_path):
    path = write_sweep(tmp_path, '"train.bptt" = [5, 10]\n"optim.lr" = [0.05, 100.0]\n')
    runs = tmp_path / "runs"
    result = invoke(["sweep", str(path), "--workers", "2", "--runs-dir", str(runs), "--name", "s"])
    assert result.exit_code == 0, result.output
    sweep_dir = runs / "s"
    assert result.stdout.strip() == str(sweep_dir)
    rows = read_csv(sweep_dir / RESULTS)
    assert list(rows[0]) == ["train.bptt", "optim.lr", "seed", "status", "train_loss", "val_loss",
                             "val_mse", "baseline_val_loss", "baseline_val_mse", "beats_baseline",
                             "best_epoch", "best_val_loss", "best_val_mse", "target_epoch", "target_step",
                             "target_sequences", "wall_s", "run_dir"]
    by_name = {r["run_dir"]: r for r in rows}
    assert set(by_name) == {"bptt=5-lr=0.05-seed=0", "bptt=5-lr=100-seed=0",
                            "bptt=10-lr=0.05-seed=0", "bptt=10-lr=100-seed=0"}
    for name, r in by_name.items():
        lr = float(r["optim.lr"])
        assert r["status"] == ("completed" if lr < 1 else "diverged"), (name, r)
        assert float(r["baseline_val_loss"]) > 0 and float(r["wall_s"]) >= 0
        if r["status"] == "completed":
            assert float(r["val_loss"]) == float(r["val_mse"]) > 0
            assert r["beats_baseline"] == str(float(r["val_mse"]) < float(r["baseline_val_mse"]))
            assert int(r["best_epoch"]) >= 1 and float(r["best_val_mse"]) <= float(r["val_mse"]) * 1.0001
            assert r["target_epoch"] == r["target_step"] == ""      # no train.target
            files = set(p.name for p in (sweep_dir / name).iterdir())
            assert files >= RUN_FILES and not files & FIGURES, files  # figures are drawn on demand
    for png in ("final_vs_bptt.png", "final_vs_lr.png", "loss_curves.png"):
        assert (sweep_dir / png).stat().st_size > 10_000
    assert sweep.load(sweep_dir / "sweep.toml").points()[0].name == "bptt=5-lr=0.05-seed=0"

    # the same run by `train` writes the same files, up to timings
    one = invoke(["--config", str(tmp_path / "base.toml"), "--set", "train.bptt=10", "--quiet",
                  "--runs-dir", str(tmp_path / "single"), "--name", "one"])
    assert one.exit_code == 0, one.output
    ours, theirs = sweep_dir / "bptt=10-lr=0.05-seed=0", tmp_path / "single" / "one"
    assert (ours / "config.toml").read_text() == (theirs / "config.toml").read_text()
    strip = lambda rows: [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows]  # noqa: E731
    assert strip(read_csv(ours / "metrics.csv")) == strip(read_csv(theirs / "metrics.csv"))
    s1, s2 = (json.loads((d / "summary.json").read_text()) for d in (ours, theirs))
    assert {**s1, "wall_s": 0} == {**s2, "wall_s": 0}
    # ... and `train plot` draws the sweep run's figures from its files, as `train` drew them
    assert invoke(["plot", str(ours)]).exit_code == 0
    assert {p.name for p in ours.iterdir()} & FIGURES == {p.name for p in theirs.iterdir()} & FIGURES


def test_run_figures_draws_each_runs_figures_as_it_ends(tmp_path):
    path = write_sweep(tmp_path, '"train.bptt" = [5]\n')
    runs = tmp_path / "runs"
    result = invoke(["sweep", str(path), "--workers", "1", "--runs-dir", str(runs), "--name", "f",
                     "--run-figures", "--quiet"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in (runs / "f" / "bptt=5-seed=0").iterdir()} >= RUN_FILES | FIGURES


def test_rerunning_skips_finished_runs_redoes_broken_ones_and_runs_only_new_values(tmp_path):
    path = write_sweep(tmp_path, '"train.bptt" = [5, 10]\n', seeds="[0, 1]")
    sweep_dir = sweep_run.open_dir(sweep.load(path), tmp_path / "runs", "r")
    ran = []
    sweep_run.run(sweep.load(path), sweep_dir, workers=2, on_result=lambda p, s: ran.append(p.name))
    assert sorted(ran) == ["bptt=10-seed=0", "bptt=10-seed=1", "bptt=5-seed=0", "bptt=5-seed=1"]
    kept = sweep_dir / "bptt=5-seed=0" / "summary.json"
    stamp = kept.stat().st_mtime_ns
    broken = sweep_dir / "bptt=10-seed=1"
    summary = json.loads((broken / "summary.json").read_text())
    (broken / "summary.json").write_text(json.dumps({**summary, "status": "interrupted"}))
    (broken / "stale.txt").write_text("from the interrupted attempt")
    (broken / "checkpoint.npz").unlink()  # no training to keep: the run is started over

    path = write_sweep(tmp_path, '"train.bptt" = [5, 10, 20]\n', seeds="[0, 1]")
    ran.clear()
    results = sweep_run.run(sweep.load(path), sweep_dir, workers=2,
                            on_result=lambda p, s: ran.append(p.name))
    assert sorted(ran) == ["bptt=10-seed=1", "bptt=20-seed=0", "bptt=20-seed=1"]
    assert kept.stat().st_mtime_ns == stamp
    assert not (broken / "stale.txt").exists()
    assert [r["status"] for r in results.rows()] == ["completed"] * 6
    assert len(read_csv(sweep_dir / RESULTS)) == 6

    # through the command line: nothing left to do, and another base config is refused
    again = invoke(["sweep", str(path), "--runs-dir", str(tmp_path / "runs"), "--name", "r"])
    assert again.exit_code == 0 and "6 already done, 0 to run" in again.stderr
    (tmp_path / "base.toml").write_text(BASE.replace("hidden = 8", "hidden = 9"))
    other = invoke(["sweep", str(path), "--runs-dir", str(tmp_path / "runs"), "--name", "r"])
    assert other.exit_code == 2 and "model.hidden: 8 there, 9 now" in other.stderr


def _limit_memory():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, resource.getrlimit(resource.RLIMIT_AS)[1]))


def test_a_failing_run_is_recorded_and_does_not_stop_the_others(tmp_path):
    """A run too big for the memory here (a valid config: 16384 hidden units need some GiB,
    the sweep runs under `ulimit -v` 3 GiB) fails in its worker, recorded in one line, before
    allocating anything; the others go on."""
    import os
    import subprocess
    import sys
    path = write_sweep(tmp_path, '"model.hidden" = [8, 16384, 6]\n')
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-m", "trainer", "sweep", str(path), "--workers", "2",
                           "--runs-dir", str(runs), "--name", "f"], capture_output=True, text=True,
                          env=env, preexec_fn=_limit_memory, timeout=120)
    assert proc.returncode == 1, proc.stderr
    rows = {r["model.hidden"]: r for r in read_csv(runs / "f" / RESULTS)}
    assert [rows[h]["status"] for h in ("8", "16384", "6")] == ["completed", "failed", "completed"]
    failed = json.loads((runs / "f" / "hidden=16384-seed=0" / "summary.json").read_text())
    assert failed["status"] == "failed" and "of memory for its arrays" in failed["error"]
    assert rows["16384"]["val_loss"] == ""
    assert "1 failed" in proc.stderr


def test_stopping_keeps_finished_runs_and_the_next_run_finishes_the_sweep(tmp_path):
    path = write_sweep(tmp_path, '"train.bptt" = [5, 10]\n', seeds="[0, 1, 2]")
    loaded = sweep.load(path)
    sweep_dir = sweep_run.open_dir(loaded, tmp_path / "runs", "stop")
    landed = []
    results = sweep_run.run(loaded, sweep_dir, workers=1, on_result=lambda p, s: landed.append(s),
                            should_stop=lambda: bool(landed))
    statuses = [r["status"] for r in results.rows()]
    assert statuses[0] == "completed" and statuses.count("completed") < 6
    assert set(statuses) <= {"completed", "interrupted", "pending"}
    for r in results.rows():  # pending runs have no directory; others are whole
        assert bool(r["run_dir"]) == (r["status"] != "pending")
    first = sweep_dir / "bptt=5-seed=0" / "metrics.csv"
    before = first.read_bytes()
    results = sweep_run.run(sweep.load(path), sweep_dir, workers=2)
    assert [r["status"] for r in results.rows()] == ["completed"] * 6
    assert first.read_bytes() == before
    assert len(read_csv(sweep_dir / RESULTS)) == 6


def test_compare_tabulates_and_overlays_any_runs(tmp_path):
    runs = tmp_path / "runs"
    for bptt in (5, 10):
        r = invoke(["--config", str(Path(write_sweep(tmp_path, "").parent / "base.toml")),
                    "--set", f"train.bptt={bptt}", "--quiet", "--runs-dir", str(runs), "--name", f"b{bptt}"])
        assert r.exit_code == 0, r.output
    out = tmp_path / "cmp"
    result = invoke(["compare", str(runs / "b5"), str(runs / "b10"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_csv(out / RESULTS)
    assert [(r["train.bptt"], r["seed"], r["status"]) for r in rows] == [("5", "0", "completed"),
                                                                        ("10", "0", "completed")]
    assert (out / rows[0]["run_dir"] / "metrics.csv").is_file()
    assert (out / "loss_curves.png").stat().st_size > 10_000
    bad = invoke(["compare", str(tmp_path / "nope"), "--out", str(out)])
    assert bad.exit_code == 2 and "not a run directory" in bad.stderr


def test_a_sweep_over_a_string_key_plots_it_as_categories(tmp_path):
    """Swept strings (cells, optimizers) come back from results.csv as a string column."""
    path = write_sweep(tmp_path, '"optim.name" = ["sgd", "adam"]\n')
    result = invoke(["sweep", str(path), "--workers", "1", "--runs-dir", str(tmp_path), "--name", "s"])
    assert result.exit_code == 0, result.output
    assert [r["optim.name"] for r in read_csv(tmp_path / "s" / RESULTS)] == ["sgd", "adam"]
    assert (tmp_path / "s" / "final_vs_name.png").stat().st_size > 10_000
