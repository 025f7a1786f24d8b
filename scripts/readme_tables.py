"""The README's tables of what the shipped configs reach and of long runs, over five seeds.

    python scripts/readme_tables.py                  # run the sweeps, print both tables
    python scripts/readme_tables.py --write-readme   # and put them into README.md between markers
    python scripts/readme_tables.py --only shipped --workers 2 --runs-dir runs

Every row is a `train sweep` of a shipped config over seeds 0..4 into
RUNS_DIR/readme-* (running again resumes). Each figure is the mean (min-max)
over the seeds of the run's final validation metric (`final` in summary.json),
or of the best epoch's where the row says best; "beats the baseline" counts the
seeds whose figure is better than the task's trivial predictor. The BLAS kernel
that ran is printed and written under the tables: float32 results depend on it.
About 2 minutes on 2 cores for the shipped configs, 3 for the long runs.
"""
import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from readme_io import ROOT, SEEDS, blas_kernel, mean_range, number, run_sweep, write_block

# (row label, config, overrides, metric shown)
SHIPPED = [
    ("`configs/sine.toml`", "sine", {}, "val_mse"),
    ("`configs/counting.toml`", "counting", {}, "val_accuracy"),
    ("`configs/adding.toml` (tanh RNN)", "adding", {}, "val_mse"),
    ("`configs/adding.toml`, `--set model.cell=lstm`", "adding", {"model.cell": "lstm"}, "val_mse"),
    ("`configs/copy.toml` (tanh RNN)", "copy", {}, "val_accuracy"),
    ("`configs/anbn.toml`, n = 1..10", "anbn", {}, "val_string_accuracy"),
    ("`configs/anbn.toml`, n = 11..20 (beyond training)", "anbn", {}, "val_long_string_accuracy"),
    ("`configs/parity.toml`", "parity", {}, "val_accuracy"),
]
# the long runs were made with the Adam sine setting (constant rate), pinned here: the shipped
# configs/sine.toml trains with SGD, momentum and a cosine schedule
LONG = {"train.epochs": 200, "optim.name": "adam", "optim.lr": 0.01, "optim.schedule": "constant",
        "model.hidden": 64, "task.val_length": 500}
LONG_RUNS = [
    ("200 epochs, constant rate", {}),
    ("`train.early_stop=10`", {"train.early_stop": 10}),
    ("`optim.schedule=plateau`", {"optim.schedule": "plateau"}),
    ("plateau and `early_stop=10`", {"optim.schedule": "plateau", "train.early_stop": 10}),
]


def lower_is_better(metric):
    return metric.endswith(("mse", "loss"))


def summaries(runs_dir, name, results):
    return [json.loads((Path(runs_dir) / name / rel / "summary.json").read_text())
            for rel in results["run_dir"].dropna()]


def sweep_name(config, overrides, prefix):
    return "-".join([prefix, config] + [f"{k.split('.')[-1]}={v}" for k, v in overrides.items()])


def shipped_table(runs_dir, workers):
    lines = ["| config | final metric, mean (min-max) of 5 seeds | trivial baseline | beats the baseline "
             "| training time |", "| --- | --- | --- | --- | --- |"]
    for label, config, overrides, metric in SHIPPED:
        name = sweep_name(config, overrides, "readme-shipped")
        results = run_sweep(ROOT / "configs" / f"{config}.toml", name, runs_dir, SEEDS, overrides, workers)
        runs = summaries(runs_dir, name, results)
        done = [s for s in runs if s["status"] == "completed"]
        values = pd.Series([s["final"][metric] for s in done])
        base = runs[0]["baseline"][metric]
        better = (values < base) if lower_is_better(metric) else (values > base)
        fmt = number if lower_is_better(metric) else "{:.3f}"
        others = len(runs) - len(done)
        lines.append(f"| {label} | {metric.removeprefix('val_').replace('_', ' ')} "
                     f"{mean_range(values, fmt)}{f', {others} not completed' if others else ''} "
                     f"| {number(base) if fmt is number else fmt.format(base)} | {int(better.sum())} of {len(runs)} "
                     f"| {mean_range([s['wall_s'] for s in runs], '{:.1f}')} s |")
    return "\n".join(lines)


def long_table(runs_dir, workers):
    lines = ["| run | epochs run | best val MSE | epoch of the best | final val MSE | training time |",
             "| --- | --- | --- | --- | --- | --- |"]
    for label, overrides in LONG_RUNS:
        name = sweep_name("sine", {**LONG, **overrides}, "readme-long")
        results = run_sweep(ROOT / "configs" / "sine.toml", name, runs_dir, SEEDS, {**LONG, **overrides},
                            workers)
        runs = summaries(runs_dir, name, results)
        stopped = sum(bool(s.get("stopped_early")) for s in runs)
        epochs = mean_range([s["epochs_done"] for s in runs], "{:.0f}")
        lines.append(f"| {label} | {epochs}{f', {stopped} of {len(runs)} stopped early' if stopped else ''} "
                     f"| {mean_range([s['best']['val_mse'] for s in runs])} "
                     f"| {mean_range([s['best']['epoch'] for s in runs], '{:.0f}')} "
                     f"| {mean_range([s['final']['val_mse'] for s in runs])} "
                     f"| {mean_range([s['wall_s'] for s in runs], '{:.1f}')} s |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-dir", default=str(ROOT / "runs"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--only", choices=("shipped", "long"), action="append")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    kernel = blas_kernel()
    print(f"BLAS: {kernel}", file=sys.stderr)
    note = f"\n\n(BLAS kernel that ran: {kernel}.)"
    for part in args.only or ("shipped", "long"):
        text = (shipped_table if part == "shipped" else long_table)(args.runs_dir, args.workers) + note
        print(text + "\n")
        if args.write_readme:
            write_block(f"{part}-table", text)


if __name__ == "__main__":
    main()
