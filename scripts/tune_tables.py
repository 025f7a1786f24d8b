"""Remake docs/configs.md's tables: how the shipped SGD configs were chosen, over ten seeds.

Runs configs/tune-sine.toml and configs/tune-counting.toml with `train sweep` (running again
resumes them), tables each with `train table --markdown` (what a user gets), and adds the
per-seed figure the docs promise: sine's val MSE as a fraction of persistence's in each seed.

    python scripts/tune_tables.py                 # print the tables
    python scripts/tune_tables.py --write         # and put them into docs/configs.md
"""
import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

from readme_io import ROOT, blas_kernel, write_block

TUNES = ("sine", "counting")


def train(*args):
    cmd = [sys.executable, "-m", "trainer", *map(str, args)]
    print("$ train", " ".join(map(str, args)), file=sys.stderr)
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def tune(name, runs_dir, workers):
    """The tune sweep's markdown table and its results, and the shipped point's rows."""
    train("sweep", ROOT / "configs" / f"tune-{name}.toml", "--name", f"tune-{name}", "--runs-dir",
          runs_dir, "--workers", workers, "--quiet")
    sweep = Path(runs_dir) / f"tune-{name}"
    table = train("table", sweep, "--markdown").strip()
    results = pd.read_csv(sweep / "results.csv")
    return table, results


def shipped_rows(name, results):
    """The rows of the tune sweep that are the shipped config (its own values of the swept keys)."""
    import tomllib
    cfg = tomllib.loads((ROOT / "configs" / f"{name}.toml").read_text())
    keep = pd.Series(True, index=results.index)
    for col in results.columns:
        if "." in col and col.split(".")[0] in cfg:
            section, key = col.split(".", 1)
            keep &= results[col] == cfg[section][key]
    return results[keep]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-dir", default=str(ROOT / "runs"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    kernel = blas_kernel()
    for name in TUNES:
        table, results = tune(name, args.runs_dir, args.workers)
        rows = shipped_rows(name, results)
        metric = "val_mse" if name == "sine" else "val_accuracy"
        if name == "sine":
            ratio = rows["baseline_val_mse"] / rows[metric]
            shipped = (f"The shipped point: val MSE {rows[metric].max():.1e} at worst, "
                       f"{ratio.min():.0f}x to {ratio.max():.0f}x below persistence's "
                       f"{rows['baseline_val_mse'].iloc[0]:.4f}")
        else:
            shipped = (f"The shipped point: accuracy {rows[metric].min():.3f} at worst, against the "
                       f"baseline's {rows['baseline_val_accuracy'].iloc[0]:.3f}")
        beat = int(rows["beats_baseline"].astype(str).eq("True").sum())
        shipped += (f"; {beat} of {len(rows)} seeds beat the baseline; training "
                    f"{rows['wall_s'].median():.2f} s median ({rows['wall_s'].max():.2f} s at most) "
                    f"on one thread (BLAS: {kernel}).")
        text = f"{table}\n\n{shipped}"
        print(f"{name}:\n{text}\n")
        if args.write:
            write_block(f"tune-{name}-table", text)


if __name__ == "__main__":
    main()
