"""Kill a run at many points, resume it, and get the numbers of a run never interrupted."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# 4 epochs of 10 windows; train rows every 3 steps (so rows straddle checkpoints), an extra
# checkpoint every 7 steps (so some fall mid-epoch, one at an epoch's last window)
SMALL = ["--config", str(ROOT / "configs/sine.toml"), "--quiet",
         "--set", "task.length=400", "--set", "task.val_length=100", "--set", "train.batch_size=4",
         "--set", "train.bptt=10", "--set", "train.epochs=4", "--set", "train.log_every=3",
         "--set", "train.checkpoint_every=7", "--set", "model.hidden=8"]
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{TESTS}"}


def train(*args, point=None, n=0, check=None):
    cmd = [sys.executable, "-m", "trainer", *args] if point is None else \
        [sys.executable, str(TESTS / "killer.py"), point, str(n), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=120)
    if check is not None:
        assert proc.returncode == check, proc.stderr
    return proc


def params(run):
    with np.load(run / "checkpoint.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files if k.startswith(("param_", "optim_"))}


def rows(run):
    with open(run / "metrics.csv", newline="") as f:
        out = list(csv.DictReader(f))
    for r in out:
        r.pop("elapsed_s")
    return out


def assert_same_run(run, ref):
    a, b = params(run), params(ref)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k  # bit for bit
    assert rows(run) == rows(ref)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["final"] == json.loads((ref / "summary.json").read_text())["final"]
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    runs = tmp_path_factory.mktemp("ref")
    train(*SMALL, "--runs-dir", str(runs), "--name", "ref", check=0)
    return runs / "ref"


KILLS = [
    ("step", 1),             # before any checkpoint: starts over
    ("step", 5),             # mid-epoch, before the first checkpoint
    ("step", 9),             # after the step-7 checkpoint, rows written since
    ("step", 10),            # the epoch's last step, before validation
    ("step", 23),            # mid-epoch 3
    ("checkpoint-half", 1),  # the first checkpoint half written
    ("checkpoint-half", 3),
    ("checkpoint-done", 2),  # right after a checkpoint, before the summary
    ("row-torn", 4),         # a metrics row half written
    ("row-torn", 12),
]


@pytest.mark.parametrize("point,n", KILLS)
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path, reference, point, n):
    proc = train(*SMALL, "--runs-dir", str(tmp_path), "--name", "r", point=point, n=n)
    assert proc.returncode == -signal.SIGKILL
    run = tmp_path / "r"
    assert json.loads((run / "summary.json").read_text())["status"] == "running"
    train("resume", str(run), "--quiet", check=0)
    assert_same_run(run, reference)


def test_killed_twice_including_during_resume(tmp_path, reference):
    run = tmp_path / "r"
    train(*SMALL, "--runs-dir", str(tmp_path), "--name", "r", point="step", n=12)
    proc = train("resume", str(run), "--quiet", point="step", n=31)
    assert proc.returncode == -signal.SIGKILL
    train("resume", str(run), "--quiet", check=0)
    assert_same_run(run, reference)


@pytest.mark.parametrize("point", ["sigint", "sigterm", "sigint-twice"])
def test_signals_stop_cleanly_and_resume(tmp_path, reference, point):
    proc = train(*SMALL, "--runs-dir", str(tmp_path), "--name", "r", point=point, n=13)
    assert proc.returncode == 130
    run = tmp_path / "r"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert f"train resume {run}" in proc.stderr and "Traceback" not in proc.stderr
    if point != "sigint-twice":  # the clean stop checkpoints the step it finished
        assert summary["steps"] == 13
    train("resume", str(run), "--quiet", check=0)
    assert_same_run(run, reference)


def test_real_sigterm_from_outside(tmp_path):
    """A real signal to a real process mid-run: exit 130, then resume to the uninterrupted result."""
    args = [a if a != "train.epochs=4" else "train.epochs=300" for a in SMALL] + \
        ["--runs-dir", str(tmp_path)]
    ref = train(*args, "--name", "ref", check=0)
    assert ref.returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "trainer", *args, "--name", "r"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "r" / "metrics.csv"
    deadline = time.time() + 60
    while time.time() < deadline and (not metrics.exists() or metrics.stat().st_size < 2000):
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == 130, err
    train("resume", str(tmp_path / "r"), "--quiet", check=0)
    assert_same_run(tmp_path / "r", tmp_path / "ref")


def test_resume_extends_a_finished_run_like_a_longer_one(tmp_path, reference):
    longer = [a if a != "train.epochs=4" else "train.epochs=6" for a in SMALL]
    train(*longer, "--runs-dir", str(tmp_path), "--name", "long", check=0)
    train(*SMALL, "--runs-dir", str(tmp_path), "--name", "r", check=0)
    proc = train("resume", str(tmp_path / "r"), check=0)
    assert "already completed 4 epochs" in proc.stderr
    train("resume", str(tmp_path / "r"), "--epochs", "6", "--quiet", check=0)
    assert_same_run(tmp_path / "r", tmp_path / "long")
