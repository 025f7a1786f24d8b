"""Randomized kill test: SIGKILL `train` at random moments over a whole run, from its first
milliseconds to its finishing steps (the last gradient probe, the figures, the summary), then
resume it (killed again at random, half of the time) until it is `completed`, and check it
against the same run never interrupted: every array of checkpoint.npz and best.npz bit for bit,
every metrics row, the final and best numbers, the gradient probes and the figures.

    python scripts/kill_test.py                  # 200 kills, about 4 minutes on 2 cores here
    python scripts/kill_test.py --kills 20 --seed 3
    python scripts/kill_test.py --epochs 40      # a longer run: more kills land in training

Where each kill landed is read from what it left: no run directory (killed before the
directory was renamed into place: `at start`), a run without a checkpoint (`before the first
checkpoint`), one whose checkpoint is mid-run (`in training`), or one whose checkpoint holds
the last step but whose summary is not `completed` (`in the finishing steps`), or one already
`completed` (the process was closing its figure helper). A kill that came after the process
had exited is not counted. The suite runs a few of these (tests/test_kill_random.py).
"""
import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# a small run (10 steps an epoch) whose finishing steps (probe, three figures) are a good part
# of its life at 4 epochs; more epochs give training a larger share of the random moments
def run_args(epochs=4):
    return ["--config", str(ROOT / "configs/sine.toml"), "--quiet",
            "--set", "task.length=400", "--set", "task.val_length=100", "--set", "train.batch_size=4",
            "--set", "train.bptt=10", "--set", f"train.epochs={epochs}", "--set", "train.log_every=3",
            "--set", "train.checkpoint_every=7", "--set", "model.hidden=8"]


PLACES = ("at start", "before the first checkpoint", "in training", "in the finishing steps",
          "after the summary said completed")


def train(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "trainer", *map(str, args)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def killed_after(proc, delay):
    """SIGKILL proc after `delay` seconds; True if it was still running then."""
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True


def place(run):
    """Where a kill landed, from what it left in the run directory."""
    if not run.is_dir():
        return "at start"
    if not (run / "checkpoint.npz").exists():
        return "before the first checkpoint"
    with np.load(run / "checkpoint.npz", allow_pickle=False) as z:
        step = json.loads(str(z["state"]))["position"]["step"]
    summary = json.loads((run / "summary.json").read_text())
    if step < summary["total_steps"]:
        return "in training"
    return PLACES[4] if summary["status"] == "completed" else "in the finishing steps"


def snapshot(run):
    """What must equal the uninterrupted run's: the arrays of checkpoint.npz and best.npz, rows,
    final and best numbers, probes, figure names."""
    arrays = {}
    for name in ("checkpoint.npz", "best.npz"):
        if (run / name).exists():
            with np.load(run / name, allow_pickle=False) as z:
                arrays.update({f"{name}:{k}": z[k] for k in z.files if k != "state"})
    with open(run / "metrics.csv", newline="") as f:
        rows = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in csv.DictReader(f)]
    summary = json.loads((run / "summary.json").read_text())
    return {"arrays": arrays, "rows": rows, "status": summary["status"], "final": summary["final"],
            "best": summary.get("best"),
            "probes": (run / "gradient_reach.csv").read_text(),
            "figures": sorted(p.name for p in run.glob("*.png")),
            "temporaries": sorted(p.name for p in run.iterdir()
                                  if p.name.startswith(".") and p.name != ".lock")}


def same(a, b):
    """The first difference between two snapshots, or None."""
    if a["arrays"].keys() != b["arrays"].keys():
        return "checkpoint array names"
    for k in a["arrays"]:
        x, y = a["arrays"][k], b["arrays"][k]
        if x.dtype != y.dtype or not np.array_equal(x, y):
            return f"checkpoint array {k}"
    for key in ("rows", "status", "final", "best", "probes", "figures", "temporaries"):
        if a[key] != b[key]:
            return key
    return None


def reference(workdir, env=None, args=None):
    """The uninterrupted run's snapshot and the wall time of its process."""
    args = args or run_args()
    start = time.perf_counter()
    proc = train(*args, "--runs-dir", workdir, "--name", "reference", env=env)
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the reference run failed: {err.strip()}")
    return snapshot(workdir / "reference"), wall


def trial(workdir, name, delay, rng, wall, env=None, args=None, max_attempts=20):
    """Kill a run after `delay` s, then resume it (killed again at random half of the time)
    until it completes. Returns (where the first kill landed or None if it came too late,
    kills in all, the completed run's snapshot)."""
    run = workdir / name
    args = args or run_args()
    proc = train(*args, "--runs-dir", workdir, "--name", name, env=env)
    first = place(run) if killed_after(proc, delay) else None
    kills = int(first is not None)
    for _ in range(max_attempts):
        if (run / "summary.json").exists() and \
                json.loads((run / "summary.json").read_text()).get("status") == "completed":
            return first, kills, snapshot(run)
        proc = train(*args, "--runs-dir", workdir, "--name", name, env=env) if not run.is_dir() \
            else train("resume", run, "--quiet", env=env)
        if rng.random() < 0.5:
            kills += killed_after(proc, rng.uniform(0, wall))
        else:
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise AssertionError(f"{name}: resume exited {proc.returncode}: {err.strip()}")
    raise AssertionError(f"{name}: not completed after {max_attempts} attempts")


def delays(n, wall, rng):
    """n kill times spread over the whole process life: one drawn in each n-th of it."""
    out = [wall * (i + rng.random()) / n for i in range(n)]
    rng.shuffle(out)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200, help="runs to kill (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill times")
    parser.add_argument("--epochs", type=int, default=4,
                        help="epochs of 10 steps in the killed run (default 4)")
    args = parser.parse_args()
    train_args = run_args(args.epochs)
    rng = random.Random(args.seed)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="kill-test-") as tmp:
        workdir = Path(tmp)
        ref, wall = reference(workdir, env, train_args)
        print(f"uninterrupted run ({args.epochs} epochs of 10 steps): {wall:.2f} s from process "
              "start to exit; "
              f"{args.kills} runs killed at random moments over that span", flush=True)
        counts = {p: 0 for p in PLACES}
        late = kills = identical = 0
        for i, delay in enumerate(delays(args.kills, wall, rng)):
            first, n, snap = trial(workdir, f"r{i}", delay, rng, wall, env, train_args)
            diff = same(snap, ref)
            if diff:
                raise SystemExit(f"r{i} (killed after {delay:.3f} s at {first}): differs in {diff}")
            identical += 1
            kills += n
            if first is None:
                late += 1
            else:
                counts[first] += 1
            shutil.rmtree(workdir / f"r{i}")
            if (i + 1) % 20 == 0:
                print(f"  {i + 1}/{args.kills} done", flush=True)
    landed = args.kills - late
    print(f"{landed} first kills landed ({late} came after the process had exited): "
          + ", ".join(f"{n} {p}" for p, n in counts.items()))
    print(f"{kills} kills in all (resumes killed again included); "
          f"{identical} of {args.kills} runs completed identical to the uninterrupted run")


if __name__ == "__main__":
    main()
