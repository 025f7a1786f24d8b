"""One writer per run directory, writes only inside it, and a run directory made whole or not at
all (issue 10 groups 1, 2 and 5, and the small cases of group 10 that go with them)."""
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.rundir import layout, safe_io, writers
from trainer.cli import main

ROOT = Path(__file__).resolve().parents[1]
SINE = str(ROOT / "configs/sine.toml")
TINY = ["--set", "task.length=200", "--set", "task.val_length=50", "--set", "train.epochs=1",
        "--set", "train.batch_size=4", "--set", "train.bptt=10", "--set", "model.hidden=4"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def train(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def new_run(runs, name="r", *extra):
    result = train("--config", SINE, "--quiet", "--runs-dir", runs, "--name", name, *TINY, *extra)
    assert result.exit_code == 0, result.output
    return Path(runs) / name


def metrics_lines(run):
    return (run / "metrics.csv").read_text().count("\n")


# -- 1. no writes through symlinks ----------------------------------------------------------------

def test_resume_never_writes_through_a_symlinked_metrics_file(tmp_path):
    run = new_run(tmp_path / "runs")
    outside = tmp_path / "outside.csv"
    outside.write_text((run / "metrics.csv").read_text() + "precious\n" * 5)
    before = outside.read_bytes()
    (run / "metrics.csv").unlink()
    (run / "metrics.csv").symlink_to(outside)
    result = train("resume", run, "--epochs", "3", "--quiet")
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "symbolic link" in result.stderr
    assert outside.read_bytes() == before


@pytest.mark.parametrize("name", ["task_view.png", "loss_curves.png"])
def test_plot_replaces_a_symlinked_figure_and_leaves_its_target_alone(tmp_path, name):
    run = new_run(tmp_path / "runs")
    outside = tmp_path / "notes.txt"
    outside.write_text("my notes\n")
    (run / name).unlink()
    (run / name).symlink_to(outside)
    result = train("plot", run)
    assert result.exit_code == 0, result.output
    assert outside.read_text() == "my notes\n"
    assert not (run / name).is_symlink() and (run / name).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("name", ["checkpoint.npz", "summary.json"])
def test_files_written_whole_replace_a_symlink_instead_of_following_it(tmp_path, name):
    target = tmp_path / "target"
    target.write_text("keep\n")
    (tmp_path / name).symlink_to(target)
    safe_io.atomic_write(tmp_path / name, lambda f: f.write(b"new"))
    assert target.read_text() == "keep\n"
    assert not (tmp_path / name).is_symlink() and (tmp_path / name).read_bytes() == b"new"


# -- 2. one writer per run directory --------------------------------------------------------------

@pytest.mark.parametrize("command", [["resume", "--epochs", "2"], ["plot"]])
def test_a_second_writer_exits_2_naming_the_holder(tmp_path, command):
    run = new_run(tmp_path / "runs")
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.name != ".lock"}
    held = safe_io.Lock(run)  # another descriptor: flock refuses it even within one process
    try:
        result = train(command[0], run, *command[1:])
    finally:
        held.release()
    assert result.exit_code == 2, result.output
    line, = result.stderr.strip().splitlines()
    assert f"pid {os.getpid()}" in line
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.name != ".lock"} == before


def test_a_lock_file_left_by_a_dead_process_does_not_block(tmp_path):
    run = new_run(tmp_path / "runs")
    (run / ".lock").write_text("999999\n")  # its writer was killed: no flock is held on it
    result = train("resume", run, "--epochs", "2", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads((run / "summary.json").read_text())["epochs_done"] == 2


def test_a_forked_child_does_not_keep_the_lock(tmp_path):
    """The figure helper is forked while the run is locked; when the run is killed the helper
    may live on a moment drawing: it must not keep the run locked against `train resume`
    (the randomized kill test found it did)."""
    lock = safe_io.Lock(tmp_path)
    ready, told = os.pipe()
    pid = os.fork()
    if pid == 0:  # the at-fork handlers have run when fork returns here
        os.write(told, b"x")
        time.sleep(3)
        os._exit(0)
    try:
        os.read(ready, 1)
        lock.release()
        safe_io.Lock(tmp_path).release()  # the child lives on, the lock is free
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(ready)
        os.close(told)


def test_two_resumes_at_once_one_runs_and_the_other_is_refused(tmp_path):
    """The reported case: both resumes exited 0 and metrics.csv held 1,477 rows against 950."""
    run = new_run(tmp_path / "runs", "r", "--set", "train.log_every=1")
    rows_per_epoch = metrics_lines(run) - 1
    first = subprocess.Popen([sys.executable, "-m", "trainer", "resume", str(run), "--epochs", "40",
                              "--quiet"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the first holds the lock (its pid is written)
        lock = run / ".lock"
        if lock.exists() and lock.read_text().strip() == str(first.pid):
            break
        time.sleep(0.02)
    second = subprocess.run([sys.executable, "-m", "trainer", "resume", str(run), "--epochs", "40",
                             "--quiet"], env=ENV, capture_output=True, text=True, timeout=120)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert second.returncode == 2 and f"pid {first.pid}" in second.stderr, second.stderr
    assert second.stderr.count("\n") == 1
    assert metrics_lines(run) - 1 == 40 * rows_per_epoch  # no row twice


def test_a_second_sweep_into_the_same_directory_is_refused(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'base = "{SINE}"\n[set]\n"train.epochs" = 1\n"task.length" = 200\n'
                     '"task.val_length" = 50\n"model.hidden" = 4\n"train.batch_size" = 4\n'
                     '[sweep]\nmethod = "grid"\nseeds = [0]\n[sweep.params]\n"train.bptt" = [10]\n')
    args = ["sweep", sweep, "--name", "s", "--runs-dir", tmp_path / "runs", "--quiet"]
    assert train(*args).exit_code == 0
    sweep_dir = tmp_path / "runs" / "s"
    before = {str(p): p.stat().st_mtime_ns for p in sweep_dir.rglob("*") if p.name != ".lock"}
    held = safe_io.Lock(sweep_dir)
    try:
        result = train(*args)
    finally:
        held.release()
    assert result.exit_code == 2, result.output
    assert f"pid {os.getpid()}" in result.stderr and result.stderr.count("\n") == 1
    assert {str(p): p.stat().st_mtime_ns for p in sweep_dir.rglob("*") if p.name != ".lock"} == before


# -- 5. a run directory appears whole or not at all -----------------------------------------------

def test_a_failure_while_making_the_run_directory_leaves_nothing(tmp_path, monkeypatch):
    def full(self, cfg):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.path / "config.toml"))

    monkeypatch.setattr(layout.RunDir, "write_config", full)
    result = train("--config", SINE, "--quiet", "--runs-dir", tmp_path / "runs", *TINY)
    assert result.exit_code == 1, result.output
    line, = result.stderr.strip().splitlines()
    assert "No space left on device" in line and "Traceback" not in result.output
    assert list((tmp_path / "runs").iterdir()) == []  # no run directory, no temporary


def test_a_killed_creation_leaves_no_run_directory_and_the_name_free(tmp_path):
    """Killed between making the directory and writing its config: only a hidden temporary is
    left, which is no run; the same --name then trains."""
    code = ("import os, signal\nfrom trainer.rundir import layout\n"
            "layout.RunDir.write_config = lambda self, cfg: os.kill(os.getpid(), signal.SIGKILL)\n"
            "from trainer.cli import main\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", code, "--config", SINE, "--quiet", "--runs-dir",
                           str(tmp_path / "runs"), "--name", "r", *TINY], env=ENV, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "runs" / "r").exists()
    left, = [p for p in (tmp_path / "runs").iterdir()]
    assert left.name.startswith(".new-")
    new_run(tmp_path / "runs", "r")
    assert left.exists()  # too young to be called abandoned: it might be a creation under way
    old = time.time() - layout.ABANDONED_S - 1
    os.utime(left, (old, old))
    live = tmp_path / "runs" / ".new-live"
    live.mkdir()
    os.utime(live, (old, old))
    held = safe_io.Lock(live)  # a creation under way holds its lock: kept however old
    try:
        new_run(tmp_path / "runs", "r2")
    finally:
        held.release()
    assert not left.exists() and live.exists()


def test_sigterm_before_the_run_directory_exists_stops_the_run_with_130(tmp_path, monkeypatch):
    create = layout.RunDir.create.__func__

    def signalled(cls, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # in the window that used to exit 143
        return create(cls, *args, **kwargs)

    monkeypatch.setattr(layout.RunDir, "create", classmethod(signalled))
    result = train("--config", SINE, "--quiet", "--runs-dir", tmp_path / "runs", "--name", "r",
                   *TINY)
    assert result.exit_code == 130, result.output
    assert json.loads((tmp_path / "runs/r/summary.json").read_text())["status"] == "interrupted"
    monkeypatch.undo()
    assert train("resume", tmp_path / "runs/r", "--quiet").exit_code == 0


def test_a_full_disk_during_resume_is_one_line_exit_1(tmp_path, monkeypatch):
    run = new_run(tmp_path / "runs")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writers.CheckpointWriter, "submit", full)
    result = train("resume", run, "--epochs", "2", "--quiet")
    assert result.exit_code == 1, result.output
    line, = result.stderr.strip().splitlines()
    assert "No space left on device" in line and "Traceback" not in result.output


@pytest.mark.parametrize("then", ["resume", "plot"])
def test_a_failure_while_drawing_leaves_the_run_completed_and_resume_or_plot_draws(
        tmp_path, monkeypatch, then):
    """Group 3 and issue 13: the figures fail (a full disk) after the last checkpoint: the run
    is `completed` with the error in its summary and one warning line, exit 0 (the numbers
    stand); `train resume` or `train plot` draws them and the summary stops saying otherwise."""
    import trainer.plots.run as plots_run
    jobs = plots_run.figure_jobs

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(plots_run, "figure_jobs", full)
    result = train("--config", SINE, "--quiet", "--runs-dir", tmp_path, "--name", "r", *TINY)
    assert result.exit_code == 0, result.output
    run = tmp_path / "r"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and "No space left" in summary["plot_error"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    # a tiny run also warns that it did not beat its baseline; the drawing failure is one line
    warning, = [line for line in warnings if "beat the baseline" not in line]
    assert "No space left" in warning and f"train plot {run}" in warning
    assert not list(run.glob("*.png"))
    monkeypatch.setattr(plots_run, "figure_jobs", jobs)
    result = train(then, run, *(["--quiet"] if then == "resume" else []))
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and "plot_error" not in summary
    assert len(list(run.glob("*.png"))) == 3


# -- the small cases of group 10 ------------------------------------------------------------------

def test_a_300_character_name_is_refused_before_anything_is_made(tmp_path):
    result = train("--config", SINE, "--quiet", "--runs-dir", tmp_path / "a" / "b",
                   "--name", "x" * 300, *TINY)
    assert result.exit_code == 2 and "--name" in result.stderr and "--runs-dir" not in result.stderr
    assert not (tmp_path / "a").exists()


def test_a_default_run_name_from_an_odd_config_file_name_is_one_plain_word(tmp_path):
    odd = tmp_path / "my\nconfig \x1b[31m.toml"
    odd.write_text(Path(SINE).read_text())
    result = train("--config", odd, "--quiet", "--runs-dir", tmp_path / "runs", *TINY)
    assert result.exit_code == 0, result.output
    made, = (tmp_path / "runs").iterdir()
    assert layout.check_name(made.name) and str(made) == result.stdout.strip()


def test_resume_removes_a_gradient_reach_temporary(tmp_path):
    run = new_run(tmp_path / "runs")
    (run / ".gradient_reach.csv-dead").write_text("half")
    assert train("resume", run, "--epochs", "2", "--quiet").exit_code == 0
    assert not list(run.glob(".gradient_reach*"))


def test_importing_the_package_leaves_the_umask_alone():
    code = ("import os\n"
            "def umask(mask): raise AssertionError('os.umask called at import')\n"
            "os.umask = umask\n"
            "import trainer.rundir, trainer.training.run, trainer.cli, trainer.api.runs\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr


def test_new_files_get_the_usual_permissions(tmp_path):
    run = new_run(tmp_path / "runs")
    mask = os.umask(0o022)
    os.umask(mask)
    for name in ("config.toml", "summary.json", "checkpoint.npz", "metrics.csv", "task_view.png"):
        assert (run / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


def test_plot_of_a_killed_run_with_a_torn_last_row_draws_and_changes_no_row(tmp_path):
    run = new_run(tmp_path / "runs")
    with open(run / "metrics.csv", "a") as f:
        f.write("99,9,tra")  # what a kill mid-write leaves
    before = (run / "metrics.csv").read_bytes()
    result = train("plot", run)
    assert result.exit_code == 0, result.output
    assert (run / "loss_curves.png").stat().st_size > 0
    assert (run / "metrics.csv").read_bytes() == before  # resume is what drops the torn row
