"""Sweep efficiency: how much of a sweep's wall time its workers spend training (issue #14).

    python scripts/bench_sweep.py                        # both sweeps, this checkout's `train`
    python scripts/bench_sweep.py --reference OLD/train  # the same sweeps with another `train`,
                                                         # interleaved, so both see the same load
    python scripts/bench_sweep.py --only sine --repeat 3

Two sweeps, each into a fresh temporary folder:
  sine   24 runs of configs/sine.toml (seeds 0..23), `--workers 2`.
         efficiency = the runs' summed training wall_s / (workers x the sweep's wall time);
         target: at least 0.6.
  tiny   200 runs of a tiny sine config (a few steps each), `--workers 2`;
         target: at least 3x faster than the reference (the issue's 43 s when no reference runs).
Each side must reach the same final losses in every repeat (a sweep is deterministic).
Medians over --repeat; not a test: timings depend on the machine and its load.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trainer.rundir.layout import SUMMARY

ROOT = Path(__file__).resolve().parents[1]
EFFICIENCY_TARGET, TINY_SPEEDUP_TARGET, TINY_BEFORE_S = 0.6, 3.0, 43.0
# the tiny config: sine with a short stream, 2 epochs of 4 windows each
TINY_SET = {"task.length": 2000, "task.val_length": 100, "train.epochs": 2, "train.batch_size": 16,
            "train.bptt": 25, "model.hidden": 16}


def default_train():
    """The `train` of this interpreter's environment (a user runs it with that environment active)."""
    exe = Path(sys.executable).with_name("train")
    return str(exe) if exe.exists() else "train"


def sweep_file(folder, name, runs, overrides):
    text = f'base = "{ROOT / "configs" / "sine.toml"}"\n'
    if overrides:
        text += "[set]\n" + "".join(f'"{k}" = {v!r}\n' for k, v in overrides.items())
    text += f"[sweep]\nseeds = {list(range(runs))}\n"
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def run_sweep(train, spec, folder, workers):
    """(wall seconds, {seed: final val_loss}, summed training wall_s) of one `train sweep`."""
    start = time.perf_counter()
    subprocess.run([train, "sweep", str(spec), "--workers", str(workers), "--runs-dir", str(folder),
                    "--name", "s", "--quiet"], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    finals, trained = {}, 0.0
    for summary_path in (folder / "s").glob(f"*/{SUMMARY}"):
        summary = json.loads(summary_path.read_text())
        seed = int(summary_path.parent.name.rsplit("seed=", 1)[-1])
        finals[seed] = summary["final"]["val_loss"]
        trained += summary["wall_s"]
    return wall, finals, trained


def blas_kernel():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')}" for i in blas) or "none"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", default=default_train(), help="the `train` measured (default: this environment's)")
    p.add_argument("--reference", help="another `train` executable timed side by side (e.g. an older checkout's)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="time each sweep this many times; report the median")
    p.add_argument("--only", choices=("sine", "tiny"), action="append")
    args = p.parse_args()
    import numpy as np  # noqa: F401  (loads BLAS so threadpoolctl can name the kernel)
    print(f"BLAS kernel in this environment: {blas_kernel()}; workers: {args.workers}; "
          f"median of {args.repeat}")
    sides = {"ours": args.train} | ({"reference": args.reference} if args.reference else {})
    parts = args.only or ["sine", "tiny"]
    checks = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        tmp = Path(tmp)
        specs = {"sine": sweep_file(tmp, "sine24", 24, {}), "tiny": sweep_file(tmp, "tiny200", 200, TINY_SET)}
        for part in parts:
            walls = {s: [] for s in sides}
            trained = {s: [] for s in sides}
            finals = {}
            for i in range(args.repeat):
                for side, train in sides.items():  # interleaved: both sides see the same load
                    wall, fin, tr = run_sweep(train, specs[part], tmp / f"{part}-{side}-{i}", args.workers)
                    walls[side].append(wall)
                    trained[side].append(tr)
                    if finals.setdefault(side, fin) != fin:
                        sys.exit(f"error: {side}: the {part} sweep reached other final losses in repeat {i}")
            print(f"\n{part}: {len(finals['ours'])} runs")
            for side in sides:
                wall, tr = statistics.median(walls[side]), statistics.median(trained[side])
                eff = tr / (args.workers * wall)
                print(f"  {side:9s} wall {wall:7.2f} s, training (sum of wall_s) {tr:6.2f} s, "
                      f"efficiency {eff:.2f}")
            ours = statistics.median(walls["ours"])
            if part == "sine":
                eff = statistics.median(trained["ours"]) / (args.workers * ours)
                checks.append(("1. sine 24-run sweep efficiency", eff, EFFICIENCY_TARGET))
            else:
                before = statistics.median(walls["reference"]) if args.reference else TINY_BEFORE_S
                what = "reference measured here" if args.reference else "the issue's 43 s"
                checks.append((f"1. tiny 200-run sweep speed-up over {what}", before / ours,
                               TINY_SPEEDUP_TARGET))
    print("\ntargets:")
    for what, value, want in checks:
        print(f"  {'met ' if value >= want else 'MISS'}  {what}: {value:.2f} (target {want:g})")


if __name__ == "__main__":
    main()
