"""Kill a run at many points, resume it, and get the numbers of a run never interrupted."""
import csv
import json
import os
import signal
import subprocess
import sys
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
         "--set", "train.checkpoint_every=7", "--set", "model.hidden=8",
         # Adam at a constant rate: the optimizer with the most state to restore (m, v, t)
         "--set", "optim.name=adam", "--set", "optim.lr=0.01", "--set", "optim.schedule=constant"]
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
        out = {k: z[k] for k in z.files if k != "state"}  # parameters, optimizer, streams, carried
    assert "rnn.Wx" in out and "optim.m.rnn.Wx" in out and "stream.batches" in out
    return out


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
    assert not [p.name for p in run.iterdir() if p.name.startswith(".") and p.name != ".lock"]
    # the finishing steps were done too: the same probes and the same figures
    probes = set((run / "gradient_reach.csv").read_text().splitlines())
    assert set((ref / "gradient_reach.csv").read_text().splitlines()) <= probes  # + extensions'
    assert sorted(p.name for p in run.glob("*.png")) == sorted(p.name for p in ref.glob("*.png"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    runs = tmp_path_factory.mktemp("ref")
    train(*SMALL, "--runs-dir", str(runs), "--name", "ref", check=0)
    return runs / "ref"


# (point, n, the step the resume starts from): checkpoints land after steps 7, 10 (epoch end),
# 14, 20, 21, 28, 30...; metrics rows come after steps 3, 6, 9, 10 (val), 12, 15, 18, 20 (val)...
KILLS = [
    ("step", 1, 0),              # before any checkpoint: starts over
    ("step", 5, 0),              # mid-epoch, before the first checkpoint
    ("step", 9, 7),              # after the step-7 checkpoint, a row written since
    ("step", 10, 7),             # the epoch's last step, before validation
    ("step", 23, 21),            # mid-epoch 3
    ("checkpoint-half", 1, 0),   # the first checkpoint half written
    ("checkpoint-half", 3, 10),  # the step-14 checkpoint half written
    ("checkpoint-done", 2, 10),  # right after the epoch's checkpoint, before the summary
    ("row-torn", 4, 7),          # the step-9 row half written
    ("row-torn", 8, 14),         # the step-20 val row half written
    ("probe", 2, 40),            # the finishing gradient probe, after the last checkpoint
    ("plots", 0, 40),            # drawing the figures, after the last checkpoint
]


def resume(run):
    proc = train("resume", str(run), check=0)
    return int(proc.stderr.split(" at step ")[1].split()[0]) if " at step " in proc.stderr else None


@pytest.mark.parametrize("point,n,start", KILLS)
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path, reference, point, n, start):
    proc = train(*SMALL, "--runs-dir", str(tmp_path), "--name", "r", point=point, n=n)
    assert proc.returncode == -signal.SIGKILL
    run = tmp_path / "r"
    assert json.loads((run / "summary.json").read_text())["status"] == "running"
    assert resume(run) == start
    assert_same_run(run, reference)


def test_killed_twice_including_during_resume(tmp_path, reference):
    run = tmp_path / "r"
    train(*SMALL, "--runs-dir", str(tmp_path), "--name", "r", point="step", n=12)
    proc = train("resume", str(run), point="step", n=31)
    assert proc.returncode == -signal.SIGKILL and " at step 10 " in proc.stderr
    assert resume(run) == 30
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


def test_real_sigterm_from_outside(tmp_path, reference):
    """A real SIGTERM from another process to a run mid-epoch: exit 130 with the step it was on
    checkpointed, then resume to the uninterrupted result. The run waits after step 13 until the
    signal has come (killer.py's pause), so it is never over before the signal arrives."""
    proc = subprocess.Popen([sys.executable, str(TESTS / "killer.py"), "pause", "13", *SMALL,
                             "--runs-dir", str(tmp_path), "--name", "r"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        while not seen or seen[-1] != "paused after step 13\n":
            line = proc.stderr.readline()
            assert line, f"the run ended before step 13: {''.join(seen)}"
            seen.append(line)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    run = tmp_path / "r"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["steps"] == 13
    assert f"train resume {run}" in err and "Traceback" not in err
    train("resume", str(run), "--quiet", check=0)
    assert_same_run(run, reference)


def test_resume_extends_a_finished_run_like_a_longer_one(tmp_path, reference):
    longer = [a if a != "train.epochs=4" else "train.epochs=6" for a in SMALL]
    train(*longer, "--runs-dir", str(tmp_path), "--name", "long", check=0)
    train(*SMALL, "--runs-dir", str(tmp_path), "--name", "r", check=0)
    proc = train("resume", str(tmp_path / "r"), check=0)
    assert "already completed 4 epochs" in proc.stderr
    train("resume", str(tmp_path / "r"), "--epochs", "6", "--quiet", check=0)
    assert_same_run(tmp_path / "r", tmp_path / "long")


EPISODES = ["--config", str(ROOT / "configs/adding.toml"), "--quiet", "--set", "task.length=8",
            "--set", "task.train_size=120", "--set", "task.val_size=30", "--set", "train.batch_size=20",
            "--set", "train.epochs=3", "--set", "train.log_every=4", "--set", "train.checkpoint_every=5",
            "--set", "model.hidden=6"]
LSTM_STREAM = [a if a != "model.hidden=8" else "model.cell=lstm" for a in SMALL]
# a layer of four parameters (Wx, Wh, b and the peepholes p): checkpointed by its names
PEEPHOLE_STREAM = LSTM_STREAM + ["--set", "model.peepholes=true", "--set", "model.init_gates=chrono"]


# 128 cells at batch 32: where numpy's OpenBLAS has small-matrix kernels (SkylakeX), each step's
# (512 x 130) x (130 x 32) product is taken in row blocks (trainer/layers/recurrent.py)
LSTM_BLOCKS = LSTM_STREAM + ["--set", "model.hidden=128", "--set", "train.batch_size=32",
                             "--set", "task.length=3200"]


@pytest.mark.parametrize("args,n,start", [(EPISODES, 9, 6), (LSTM_STREAM, 9, 7),
                                          (PEEPHOLE_STREAM, 9, 7), (LSTM_BLOCKS, 9, 7)],
                         ids=["episodes", "lstm-stream", "peephole-stream", "lstm-row-blocks"])
def test_resume_is_exact_for_episodes_and_lstm(tmp_path, args, n, start):
    """Episodes draw from the run's generator (its state is checkpointed); the LSTM carries c
    too (resumed mid-epoch, where the carried h and c matter)."""
    train(*args, "--runs-dir", str(tmp_path), "--name", "ref", check=0)
    proc = train(*args, "--runs-dir", str(tmp_path), "--name", "r", point="step", n=n)
    assert proc.returncode == -signal.SIGKILL
    assert resume(tmp_path / "r") == start
    assert_same_run(tmp_path / "r", tmp_path / "ref")


FAST = SMALL + ["--set", "optim.lr=0.2"]
PLATEAU = FAST + ["--set", "optim.schedule=plateau", "--set", "optim.patience=1"]
EARLY = FAST + ["--set", "train.early_stop=1"]


@pytest.mark.parametrize("args,n,start", [(PLATEAU, 23, 21), (EARLY, 15, 14)],
                         ids=["plateau", "early-stop"])
def test_kill_and_resume_is_exact_with_a_plateau_schedule_and_early_stopping(tmp_path, args, n,
                                                                            start):
    """At lr 0.2 epoch 2 validates worse than epoch 1: the plateau schedule halves the rate for
    epochs 3 and 4, and early stopping (1 epoch) ends the run after epoch 2."""
    train(*args, "--runs-dir", str(tmp_path), "--name", "ref", check=0)
    ref = tmp_path / "ref"
    proc = train(*args, "--runs-dir", str(tmp_path), "--name", "r", point="step", n=n)
    assert proc.returncode == -signal.SIGKILL
    assert resume(tmp_path / "r") == start
    assert_same_run(tmp_path / "r", ref)
    summary = json.loads((ref / "summary.json").read_text())
    for name in ("best.npz",):
        with np.load(tmp_path / "r" / name) as a, np.load(ref / name) as b:
            assert all(np.array_equal(a[k], b[k]) for k in a.files if k != "state")
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["best"] == summary["best"]
    if args is PLATEAU:
        assert {float(r["lr"]) for r in rows(ref)} == {0.2, 0.1} and not summary["stopped_early"]
    else:
        assert summary["stopped_early"] and summary["epochs_done"] == 2 and summary["steps"] == 20
        assert summary["best"]["epoch"] == 1
        proc = train("resume", str(tmp_path / "r"), check=0)
        assert "stopped early at epoch 2" in proc.stderr


def test_divergence_never_writes_a_non_finite_checkpoint(tmp_path):
    args = ["--set", "optim.name=sgd", "--set", "optim.lr=1e300", "--set", "optim.clip=0",
            "--set", "train.checkpoint_every=1"]
    proc = train(*SMALL, *args, "--runs-dir", str(tmp_path), "--name", "r")
    assert proc.returncode == 3, proc.stderr
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["status"] == "diverged"
    for name in ("checkpoint.npz", "best.npz"):
        if (tmp_path / "r" / name).exists():
            with np.load(tmp_path / "r" / name, allow_pickle=False) as z:
                for k in z.files:
                    assert z[k].dtype.kind not in "fc" or np.isfinite(z[k]).all(), (name, k)


def test_a_run_interrupted_in_its_finishing_steps_is_finished_by_resume(tmp_path, reference):
    """A double Ctrl-C while the figures are drawn leaves all epochs done and status
    'interrupted': resume draws them and says 'completed' (it used to say 'already completed')."""
    train(*SMALL, "--runs-dir", str(tmp_path), "--name", "r", point="plots")
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    summary["status"] = "interrupted"
    (tmp_path / "r" / "summary.json").write_text(json.dumps(summary))
    proc = train("resume", str(tmp_path / "r"), check=0)
    assert "already" not in proc.stderr
    assert_same_run(tmp_path / "r", reference)
    proc = train("resume", str(tmp_path / "r"), check=0)  # now there is nothing left to do
    assert "already completed" in proc.stderr


def test_a_step_checkpoint_on_an_epochs_last_window_resumes(tmp_path):
    """checkpoint_every dividing an epoch's windows: the step checkpoint lands with the epoch's
    windows all done and its validation still to come (window == windows an epoch). The
    validator refused it (found by scripts/kill_test.py --epochs 40)."""
    every5 = [a if a != "train.checkpoint_every=7" else "train.checkpoint_every=5" for a in SMALL]
    train(*every5, "--runs-dir", str(tmp_path), "--name", "ref", check=0)
    proc = train(*every5, "--runs-dir", str(tmp_path), "--name", "r", point="checkpoint-done", n=2)
    assert proc.returncode == -signal.SIGKILL
    assert resume(tmp_path / "r") == 10
    assert_same_run(tmp_path / "r", tmp_path / "ref")
