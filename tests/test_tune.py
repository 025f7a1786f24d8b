"""`train tune`: bad spaces, a tiny study end to end, pruning, resume after SIGKILL, no Optuna."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main
from tiny_configs import TINY_SINE

optuna = pytest.importorskip("optuna")

SPACE = """\
"optim.lr" = {low = 1e-6, high = 0.3, log = true}
"model.hidden" = {choices = [4, 8]}
"""


def write_tune(tmp_path, tune="", params=SPACE, epochs=3, name="t.toml"):
    (tmp_path / "tiny.toml").write_text(TINY_SINE.replace("epochs = 1", f"epochs = {epochs}"))
    text = f'base = "tiny.toml"\n[tune]\n{tune}\n[tune.params]\n{params}'
    (tmp_path / name).write_text(text)
    return tmp_path / name


def tune(*args):
    return CliRunner().invoke(main, ["tune", *map(str, args)])


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("params, words", [
    ('"optim.lr" = {low = 0.1, high = 0.01}', "low must be below high"),
    ('"optim.lr" = {low = 0.0, high = 0.1, log = true}', "log range needs low > 0"),
    ('"optim.nope" = {low = 0.01, high = 0.1}', "nope"),
    ('"model.hidden" = {low = 0, high = 8}', "model.hidden"),           # hidden >= 1
    ('"model.hidden" = {choices = [8]}', "at least two values"),
    ('"model.cell" = {choices = ["rnn", "nosuchcell"]}', "nosuchcell"),
])
def test_a_bad_space_is_one_line_exit_2_and_nothing_written(tmp_path, params, words):
    path = write_tune(tmp_path, "trials = 2", params)
    result = tune(path, "--runs-dir", tmp_path / "runs", "--name", "s")
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and words in result.output, result.output
    assert not (tmp_path / "runs").exists()


def test_a_sweep_file_is_refused_in_one_line(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY_SINE)
    (tmp_path / "s.toml").write_text('base = "tiny.toml"\n[sweep]\n[sweep.params]\n"train.bptt" = [2, 4]\n')
    result = tune(tmp_path / "s.toml", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2 and "sweep file" in result.output and "train sweep" in result.output
    assert result.output.count("\n") == 1


def test_dry_run_lists_the_space_and_writes_nothing(tmp_path):
    path = write_tune(tmp_path, "trials = 4\nseeds = [0, 1]")
    result = tune(path, "--dry-run", "--runs-dir", tmp_path / "runs", "--name", "s")
    assert result.exit_code == 0, result.output
    assert "optim.lr" in result.output and "log-uniform" in result.output
    assert "estimated wall time" in result.output and "runs: at most 8" in result.output
    assert not (tmp_path / "runs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.toml", "tiny.toml"]


def test_a_tiny_study_end_to_end(tmp_path):
    path = write_tune(tmp_path, 'trials = 6\nseeds = [0, 1]\nsampler = "random"\npruner = "median"')
    runs = tmp_path / "runs"
    result = tune(path, "--runs-dir", runs, "--name", "s")
    assert result.exit_code == 0, result.output
    study = runs / "s"
    assert (study / "study.log").is_file()
    rows = read_csv(study / "trials.csv")
    assert [r["number"] for r in rows] == [str(i) for i in range(6)]
    assert {r["state"] for r in rows} <= {"complete", "pruned"}
    complete = [r for r in rows if r["state"] == "complete"]
    assert complete and all(r["seed_0"] and r["seed_1"] for r in complete)
    for r in complete:  # the value is the seeds' mean
        assert float(r["value"]) == pytest.approx((float(r["seed_0"]) + float(r["seed_1"])) / 2)
    best = min(complete, key=lambda r: float(r["value"]))
    # best.toml is the best trial's full config, trainable as it is
    text = (study / "best.toml").read_text()
    assert f"trial {best['number']}," in text
    result = CliRunner().invoke(main, ["--config", str(study / "best.toml"), "--runs-dir",
                                       str(tmp_path / "again"), "--name", "b", "--quiet"])
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "again" / "b" / "summary.json").read_text())
    first = json.loads((study / f"trial-{int(best['number']):04d}-seed-0" / "summary.json").read_text())
    assert again["final"]["val_loss"] == first["final"]["val_loss"]  # same config, same seed
    # the study is Optuna's: loaded from the journal by anyone
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    st = optuna.load_study(study_name="study",
                           storage=JournalStorage(JournalFileBackend(str(study / "study.log"))))
    assert len(st.trials) == 6 and st.best_trial.number == int(best["number"])
    # train table tables the trials; train report draws the study view
    table = CliRunner().invoke(main, ["table", str(study)])
    assert table.exit_code == 0 and "optim.lr" in table.output
    report = CliRunner().invoke(main, ["report", str(study), "--out", str(tmp_path / "report")])
    assert report.exit_code == 0, report.output
    page = (tmp_path / "report" / "report.html").read_text()
    for chart in ("study-0-by-trial", "study-0-param-optim.lr", "study-0-importance"):
        assert f'"id":"{chart}"' in page


def test_the_same_file_gives_the_same_trials_and_more_trials_continue(tmp_path):
    path = write_tune(tmp_path, 'trials = 3\nseeds = [0]\nsampler = "tpe"\npruner = "none"')
    for name in ("a", "b"):
        assert tune(path, "--runs-dir", tmp_path / "runs", "--name", name).exit_code == 0
    a, b = (read_csv(tmp_path / "runs" / n / "trials.csv") for n in ("a", "b"))
    assert [r["optim.lr"] for r in a] == [r["optim.lr"] for r in b]
    result = tune(path, "--runs-dir", tmp_path / "runs", "--name", "a", "--trials", "4")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "runs" / "a" / "trials.csv")
    assert len(rows) == 4 and [r["optim.lr"] for r in rows[:3]] == [r["optim.lr"] for r in a]


def test_pruned_runs_have_status_pruned_and_resume(tmp_path):
    # the grid's first point trains well, the second cannot learn: the median pruner stops it
    params = '"optim.lr" = {choices = [0.1, 1e-9]}'
    path = write_tune(tmp_path, 'trials = 2\nseeds = [0, 1]\nsampler = "grid"\npruner = "median"\nseed = 1',
                      params, epochs=4)
    result = tune(path, "--runs-dir", tmp_path / "runs", "--name", "s")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "runs" / "s" / "trials.csv")
    pruned = [r for r in rows if r["state"] == "pruned"]
    assert pruned and pruned[0]["optim.lr"] == "1e-09", rows
    run = tmp_path / "runs" / "s" / f"trial-{int(pruned[0]['number']):04d}-seed-0"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "pruned" and summary["epochs_done"] == int(pruned[0]["pruned_at"]) < 4
    other = json.loads((run.parent / run.name.replace("seed-0", "seed-1") / "summary.json").read_text())
    assert other["status"] == "pruned" and other["epochs_done"] == summary["epochs_done"]  # lockstep
    result = CliRunner().invoke(main, ["resume", str(run), "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs_done"] == 4


def test_resume_after_sigkill_of_the_tuner_counts_no_trial_twice(tmp_path):
    path = write_tune(tmp_path, 'trials = 3\nseeds = [0, 1]\nsampler = "random"\npruner = "none"',
                      epochs=40)
    (tmp_path / "tiny.toml").write_text((tmp_path / "tiny.toml").read_text()
                                        .replace("length = 200", "length = 2000"))
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "trainer", "tune", str(path), "--runs-dir", str(runs), "--name", "s"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = runs / "s" / "trial-0001-seed-0" / "metrics.csv"
    deadline = time.time() + 120
    while not (target.is_file() and target.read_text().count("\n") > 3):
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    result = tune(path, "--runs-dir", runs, "--name", "s", "--quiet")
    assert result.exit_code == 0, result.output
    rows = read_csv(runs / "s" / "trials.csv")
    lost = [r for r in rows if r["state"] == "lost"]
    done = [r for r in rows if r["state"] == "complete"]
    assert len(lost) == 1 and lost[0]["number"] == "1"
    assert len(done) == 3                       # the budget, no more, no fewer
    retry = [r for r in done if r["retry_of"] == "1"]
    assert len(retry) == 1 and retry[0]["optim.lr"] == lost[0]["optim.lr"]
    assert lost[0]["note"] == f"retried as trial {retry[0]['number']}"
    killed = json.loads((runs / "s" / "trial-0001-seed-0" / "summary.json").read_text())
    assert killed["status"] == "interrupted"     # not `running` for ever


def test_a_killed_worker_costs_only_its_trial_which_is_retried(tmp_path):
    from test_sweep_survive import holders
    path = write_tune(tmp_path, 'trials = 3\nseeds = [0]\nsampler = "random"\npruner = "none"',
                      epochs=40)
    (tmp_path / "tiny.toml").write_text((tmp_path / "tiny.toml").read_text()
                                        .replace("length = 200", "length = 2000"))
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "trainer", "tune", str(path), "--runs-dir", str(runs), "--name", "s",
           "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = runs / "s" / "trial-0000-seed-0"
    deadline = time.time() + 120
    while not ((run / "checkpoint.npz").is_file() and holders(run) - {proc.pid}):
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.02)
    for pid in holders(run) - {proc.pid}:   # the worker training trial 0
        os.kill(pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "died" in err and "trial 0 is tried again" in err
    rows = read_csv(runs / "s" / "trials.csv")
    assert [r["state"] for r in rows].count("complete") == 3
    lost = [r for r in rows if r["state"] == "lost"]
    assert [r["number"] for r in lost] == ["0"]
    assert [r["optim.lr"] for r in rows if r["retry_of"] == "0"] == [lost[0]["optim.lr"]]


def test_confirm_retrains_the_best_on_fresh_seeds(tmp_path):
    path = write_tune(tmp_path, 'trials = 2\nseeds = [0]\nsampler = "random"\npruner = "none"\n'
                      'per = "model.cell"',
                      '"optim.lr" = {low = 0.01, high = 0.3, log = true}\n'
                      '"model.cell" = {choices = ["rnn", "gru"]}\n', epochs=2)
    result = tune(path, "--runs-dir", tmp_path / "runs", "--name", "s", "--confirm", "2")
    assert result.exit_code == 0, result.output
    study = tmp_path / "runs" / "s"
    assert (study / "best-cell=rnn.toml").is_file() and (study / "best-cell=gru.toml").is_file()
    names = sorted(p.name for p in (study / "confirm").iterdir() if p.is_dir())
    assert len(names) == 4 and all(n.endswith(("seed=1", "seed=2")) for n in names)
    assert "P(better than best)" in result.output and "figure to publish" in result.output
    # on the finished study: nothing is trained again, the same table
    again = tune(path, "--runs-dir", tmp_path / "runs", "--name", "s", "--confirm", "2")
    assert again.exit_code == 0 and "4 runs on fresh seeds [1, 2], 0 to run" in again.output
    assert again.stdout == result.stdout


def test_a_pruner_whose_package_is_missing_is_one_line_before_anything_is_written(tmp_path, monkeypatch):
    path = write_tune(tmp_path, 'trials = 2\npruner = "wilcoxon"')
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "scipy" else real(name, *a))
    result = tune(path, "--runs-dir", tmp_path / "runs", "--name", "s")
    assert result.exit_code == 1 and "pip install scipy" in result.output
    assert result.output.count("\n") == 1 and not (tmp_path / "runs").exists()


def test_without_optuna_train_tune_says_how_to_install_it(tmp_path, monkeypatch):
    path = write_tune(tmp_path, "trials = 2")
    monkeypatch.setitem(sys.modules, "optuna", None)   # import optuna raises ImportError
    result = tune(path, "--runs-dir", tmp_path / "runs", "--name", "s")
    assert result.exit_code != 0
    assert result.output.count("\n") == 1 and "pip install 'rnn-trainer[tune]'" in result.output
    assert not (tmp_path / "runs").exists()


def test_trainer_tune_from_python_returns_the_trials_and_the_best_config(tmp_path, monkeypatch):
    import trainer
    (tmp_path / "tiny.toml").write_text(TINY_SINE)
    monkeypatch.chdir(tmp_path)
    study = trainer.tune({"base": "tiny.toml",
                          "tune": {"seeds": [0], "trials": 2, "sampler": "random", "pruner": "none",
                                   "params": {"optim.lr": {"low": 0.01, "high": 0.3, "log": True}}}},
                         runs_dir="runs", name="py")
    assert len(study.trials) == 2 and set(study.trials["state"]) == {"complete"}
    assert study.best_config["optim"]["lr"] == pytest.approx(study.best["optim.lr"])
    assert (tmp_path / "runs" / "py" / "study.log").is_file()


def test_a_study_runs_on_a_dask_cluster_and_the_client_keeps_the_journal(tmp_path):
    pytest.importorskip("distributed")
    from test_sweep_dask import _processes
    path = write_tune(tmp_path, 'trials = 4\nseeds = [0, 1]\nsampler = "random"\npruner = "median"')
    runs = tmp_path / "runs"
    with _processes(2) as (address, _):
        result = CliRunner().invoke(main, ["tune", str(path), "--scheduler", address, "--runs-dir",
                                           str(runs), "--name", "d", "--confirm", "2"],
                                    catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = read_csv(runs / "d" / "trials.csv")
    assert len(rows) == 4 and {r["state"] for r in rows} <= {"complete", "pruned"}
    for r in rows:
        n = int(r["number"])
        for seed in (0, 1):
            summary = json.loads((runs / "d" / f"trial-{n:04d}-seed-{seed}" / "summary.json").read_text())
            assert summary["status"] == ("completed" if r["state"] == "complete" else "pruned")
    st = optuna.load_study(study_name="study", storage=__import__("trainer.tuning.study", fromlist=["x"])
                           .storage(runs / "d"))
    pruned = [t for t in st.trials if t.state.name == "PRUNED"]
    assert all(t.intermediate_values for t in st.trials)   # replayed into the journal
    assert len(pruned) == sum(r["state"] == "pruned" for r in rows)
    assert len(list((runs / "d" / "confirm").iterdir())) >= 2


def test_a_study_directory_another_process_holds_is_refused_in_one_line(tmp_path):
    """train tune holds its study directory's lock as train sweep does (cli.common.hold_dir):
    a second tuner is refused in one line naming the holder, exit 2, and writes nothing."""
    from trainer.rundir.safe_io import Lock
    path = write_tune(tmp_path, 'trials = 1\nseeds = [0]\nsampler = "random"')
    args = (path, "--runs-dir", tmp_path / "runs", "--name", "s", "--quiet")
    assert tune(*args).exit_code == 0
    study = tmp_path / "runs" / "s"
    before = {str(p): p.stat().st_mtime_ns for p in study.rglob("*") if p.name != ".lock"}
    held = Lock(study)
    try:
        result = tune(*args)
    finally:
        held.release()
    assert result.exit_code == 2, result.output
    assert f"pid {os.getpid()}" in result.output and result.output.count("\n") == 1
    assert {str(p): p.stat().st_mtime_ns for p in study.rglob("*") if p.name != ".lock"} == before
