"""The memory results table: tanh RNN, IRNN, LSTM and GRU on adding (lengths 20, 50, 100) and
copy (delays 10, 20, 50), five seeds each, against the tasks' trivial baselines.

    python scripts/memory_table.py                 # run the four sweeps, print the table
    python scripts/memory_table.py --write-readme  # and put it into README.md between its markers
    python scripts/memory_table.py --workers 2 --runs-dir runs

It runs `train sweep` on configs/sweep-memory-{adding,copy}{,-irnn}.toml into
RUNS_DIR/memory-* (running again resumes: finished runs are kept), then tables
each with `train table --csv --by KEY,model.cell`. About 15 minutes on 2 cores.
"""
import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

from readme_io import ROOT, blas_kernel, write_block
SWEEPS = [("adding", "task.length", "val_mse", ""), ("adding", "task.length", "val_mse", "-irnn"),
          ("copy", "task.delay", "val_accuracy", ""), ("copy", "task.delay", "val_accuracy", "-irnn")]
CELLS = ["rnn", "irnn", "lstm", "gru"]


def run_sweeps(runs_dir, workers):
    """Run the four sweeps and table each with `train table --csv` (the numbers a user gets),
    grouped by the setting and the cell; one frame of all groups."""
    import io
    frames = []
    for task, key, metric, variant in SWEEPS:
        name = f"memory-{task}{variant}"
        cmd = [sys.executable, "-m", "trainer", "sweep", str(ROOT / f"configs/sweep-{name}.toml"),
               "--name", name, "--runs-dir", str(runs_dir), "--quiet"]
        if workers:
            cmd += ["--workers", str(workers)]
        print("$", " ".join(cmd[2:]), file=sys.stderr)
        subprocess.run(cmd, check=True)
        sweep = Path(runs_dir) / name
        table = subprocess.run([sys.executable, "-m", "trainer", "table", str(sweep), "--csv",
                                "--by", f"{key},model.cell"], check=True, capture_output=True, text=True).stdout
        df = pd.read_csv(io.StringIO(table))
        df["task"], df["setting"] = task, df[key]
        df["cell"] = "irnn" if variant else df["model.cell"]
        results = pd.read_csv(sweep / "results.csv")
        df["baseline"] = df[key].map(results.groupby(key)[f"baseline_{metric}"].mean())
        df["wall_s"] = results["wall_s"].sum() / len(df)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def table(df):
    """Markdown: one row per task and length, one column per cell: the mean (min-max) over
    seeds and how many beat the baseline, from `train table`."""
    lines = ["| task | " + " | ".join(CELLS) + " | baseline |", "| --- " * (len(CELLS) + 2) + "|"]
    for (task, setting), group in df.groupby(["task", "setting"], sort=True):
        what = "MSE" if task == "adding" else "accuracy"
        label = f"{task}, {'length' if task == 'adding' else 'delay'} {setting} ({what})"
        cells = []
        for cell in CELLS:
            row = group[group["cell"] == cell]
            if not len(row) or pd.isna(row["mean"].iloc[0]):
                cells.append("-")
                continue
            r = row.iloc[0]
            text = f"{r['mean']:.2g} ({r['min']:.2g}-{r['max']:.2g}), {int(r['beat_baseline'])} of {int(r['runs'])}"
            if r["finished"] < r["runs"]:
                text += f" ({int(r['runs'] - r['finished'])} not completed)"
            cells.append(text)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {group['baseline'].mean():.3f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--runs-dir", default=str(ROOT / "runs"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    df = run_sweeps(args.runs_dir, args.workers)
    text = table(df)
    minutes = df["wall_s"].sum() / 60
    print(text)
    print(f"\n{int(df['runs'].sum())} runs, {minutes:.1f} min of training in all", file=sys.stderr)
    text += f"\n\n(BLAS kernel that ran: {blas_kernel()}.)"
    if args.write_readme:
        write_block("memory-table", text)


if __name__ == "__main__":
    main()
