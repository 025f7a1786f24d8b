"""Wall time of a 24-run sweep with `--workers 2` against 24 `train` calls in a shell loop.

    python scripts/bench_sweep.py [--runs 24] [--workers 2] [--repeat 1] [--config configs/sine.toml]

Both train the same 24 configs (seeds 0..23 of the config) into a temporary
folder; the script checks that they reach the same final losses, then prints
both wall times and their ratio. Not a test: timings depend on the machine.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trainer.rundir import CONFIG, SUMMARY

ROOT = Path(__file__).resolve().parents[1]
# the `train` of this interpreter's environment (a user runs it with that environment active)
TRAIN = str(Path(sys.executable).with_name("train")) if Path(sys.executable).with_name("train").exists() \
    else "train"


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def finals(folder):
    """{seed: val_loss} of every run directory under folder (read from summary.json)."""
    out = {}
    for summary in folder.glob(f"**/{SUMMARY}"):
        config = (summary.parent / CONFIG).read_text()
        seed = int(next(ln for ln in config.splitlines() if ln.startswith("seed =")).split("=")[1])
        out[seed] = json.loads(summary.read_text())["final"]["val_loss"]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "sine.toml"))
    p.add_argument("--runs", type=int, default=24)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="time each side this many times; report the median")
    args = p.parse_args()
    config = Path(args.config).resolve()
    sweep_times, loop_times = [], []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        tmp = Path(tmp)
        sweep_file = tmp / "sweep-bench.toml"
        sweep_file.write_text(f'base = "{config}"\n[sweep]\nseeds = {list(range(args.runs))}\n')
        for i in range(args.repeat):
            sweep_dir, loop_dir = tmp / f"sweep{i}", tmp / f"loop{i}"
            sweep_times.append(timed([TRAIN, "sweep", str(sweep_file), "--workers", str(args.workers),
                                      "--runs-dir", str(sweep_dir), "--name", "s", "--quiet"]))
            loop = (f'for i in $(seq 0 {args.runs - 1}); do {TRAIN} --config "{config}" '
                    f'--set train.seed=$i --runs-dir "{loop_dir}" --quiet; done')
            loop_times.append(timed(["bash", "-c", loop]))
            a, b = finals(sweep_dir), finals(loop_dir)
            if a != b or len(a) != args.runs:
                sys.exit(f"error: the sweep and the loop disagree: {a} vs {b}")
    sweep_s, loop_s = statistics.median(sweep_times), statistics.median(loop_times)
    print(f"config: {config.relative_to(ROOT) if config.is_relative_to(ROOT) else config}, "
          f"{args.runs} runs (seeds 0..{args.runs - 1}), same final losses both ways")
    print(f"train sweep --workers {args.workers}: {sweep_s:7.2f} s")
    print(f"shell loop of {args.runs} train calls: {loop_s:7.2f} s")
    print(f"speed-up: {loop_s / sweep_s:.2f}x")


if __name__ == "__main__":
    main()
