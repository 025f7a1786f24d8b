"""Sweeps that survive: a killed worker, a killed sweep process, interrupted runs resumed in
place, a symbolic link in a run's place (local pool; the Dask cases are in test_sweep_dask.py)."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from trainer.cli import main
from trainer.sweeps import execute as sweep_run, spec as sweep
from trainer.sweeps.results import RESULTS
from test_sweep_run import read_csv, write_sweep

# long enough (about a second) to be killed mid-training after its first checkpoint
LONG = '"task.length" = [2000]\n"train.checkpoint_every" = [5]\n'


def holders(path):
    """Pids of processes with a file under `path` open (from /proc; Linux)."""
    out = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                if os.readlink(fd).startswith(str(path) + "/"):
                    out.add(int(fd_dir.parent.name))
        except OSError:
            continue
    return out


def children(pid):
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_when(run_dir, done, timeout=60):
    """SIGKILL the process training run_dir once its first checkpoint is on disk."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (run_dir / "checkpoint.npz").exists():
            pids = holders(run_dir)
            if pids:
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                done.append(pids)
                return
        time.sleep(0.01)


@pytest.mark.slow
def test_a_killed_worker_costs_only_its_run_which_is_retried_and_resumed(tmp_path):
    path = write_sweep(tmp_path, '"train.bptt" = [5, 10]\n' + LONG, seeds="[0, 1]")
    runs = tmp_path / "runs"
    victim = runs / "k" / "bptt=5-length=2000-checkpoint_every=5-seed=0"
    killed = []
    watcher = threading.Thread(target=kill_when, args=(victim, killed))
    watcher.start()
    result = CliRunner().invoke(main, ["sweep", str(path), "--workers", "2", "--runs-dir", str(runs),
                                       "--name", "k"], catch_exceptions=False)
    watcher.join()
    assert killed, "the run was never seen training"
    assert result.exit_code == 0, result.output
    assert f"{victim.name}: its worker process died; trying it again" in result.stderr
    assert [r["status"] for r in read_csv(runs / "k" / RESULTS)] == ["completed"] * 4
    rows = read_csv(victim / "metrics.csv")
    assert [int(r["step"]) for r in rows if r["split"] == "train"] == sorted(
        {int(r["step"]) for r in rows if r["split"] == "train"})  # resumed: no row twice


@pytest.mark.slow
def test_workers_exit_when_the_sweep_process_is_killed_and_a_rerun_finishes_the_sweep(tmp_path):
    path = write_sweep(tmp_path, '"train.bptt" = [5, 10]\n' + LONG.replace("2000", "20000"))
    runs = tmp_path / "runs"
    args = ["sweep", str(path), "--workers", "2", "--runs-dir", str(runs), "--name", "p", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "trainer", *args], stderr=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(runs.glob("p/*/checkpoint.npz"))) < 2:
            time.sleep(0.02)
        workers = {pid for pid in children(proc.pid) if holders(runs / "p") & {pid}}
        assert len(workers) == 2, "both workers training"
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers), "orphaned workers still training"
    # the same sweep again, at once: the killed runs are resumed in place, none counted failed
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in read_csv(runs / "p" / RESULTS)] == ["completed"] * 2
    for run in (runs / "p").glob("*/metrics.csv"):
        steps = [int(r["step"]) for r in read_csv(run) if r["split"] == "train"]
        assert steps == sorted(set(steps))  # resumed where it stood: no row twice


def test_a_symlink_in_a_runs_place_is_left_alone_and_recorded_failed(tmp_path):
    path = write_sweep(tmp_path, '"train.bptt" = [5, 10]\n')
    runs = tmp_path / "runs"
    args = ["sweep", str(path), "--runs-dir", str(runs), "--name", "s", "--quiet", "--workers", "1"]
    assert CliRunner().invoke(main, args, catch_exceptions=False).exit_code == 0
    victim = next(p for p in (runs / "s").iterdir() if p.name.startswith("bptt=5"))
    summary = json.loads((victim / "summary.json").read_text())
    (victim / "summary.json").write_text(json.dumps({**summary, "status": "failed"}))
    outside = tmp_path / "outside"
    victim.rename(outside)
    victim.symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.iterdir())
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert "Traceback" not in result.output and "rmtree" not in result.output
    assert victim.is_symlink() and sorted(p.name for p in outside.iterdir()) == before
    rows = {r["run_dir"]: r for r in read_csv(runs / "s" / RESULTS)}
    assert sorted(r["status"] for r in rows.values()) == ["completed", "failed"]


def test_a_run_whose_worker_dies_twice_is_recorded_failed_and_the_others_go_on(tmp_path, monkeypatch):
    """The retry rule of run_local, with the pool's rounds scripted: 'a' loses its worker in
    two rounds (charged once, retried, then failed); 'b' is ended by the pool for a's death in
    the first round (not charged) and lands in the second."""
    points = [sweep.Point(name, {}, 0, None) for name in ("a", "b")]
    rounds, landed, retried = [], {}, []

    def scripted_round(ctx, todo, sweep_dir, workers, stop, events, land, should_stop, figures):
        rounds.append([p.name for p in todo])
        assert len(rounds) <= 2, "a run charged twice must not be tried a third time"
        a, b = todo[0], (todo[1] if len(todo) > 1 else None)
        if len(rounds) == 1:
            return [a, b], {"started": {"a", "b"}, "ended": {"b"}, "pids": set()}
        if b is not None:
            land(b, {"status": "completed"})
        return [a], {"started": {"a"}, "ended": set(), "pids": set()}

    monkeypatch.setattr(sweep_run, "_pool_round", scripted_round)
    (tmp_path / "a").mkdir()
    sweep_run.run_local(points, tmp_path, 2, lambda p, s: landed.__setitem__(p.name, s),
                        on_retry=lambda p, why: retried.append(p.name))
    assert rounds == [["a", "b"], ["a", "b"]]
    assert retried == ["a"]
    assert landed["b"]["status"] == "completed"
    assert landed["a"]["status"] == "failed" and "died twice" in landed["a"]["error"]
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["status"] == "failed"
