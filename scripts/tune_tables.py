"""Remake docs/configs.md's tables: how each shipped config's settings were chosen, over ten seeds.

Runs every configs/tune-<config>.toml with `train sweep` (running again resumes them), tables
each with `train table --markdown` (what a user gets), and adds a line on the shipped point: how
many of its ten seeds beat the baseline, and for sine its val MSE as a fraction of persistence's.

    python scripts/tune_tables.py                 # print the tables
    python scripts/tune_tables.py --write         # and put them into docs/configs.md
"""
import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

from readme_io import ROOT, blas_kernel, write_block

# (config, the figure its docs page states)
TUNES = (("sine", "val_mse"), ("counting", "val_accuracy"), ("adding", "val_mse"), ("copy", "val_accuracy"),
         ("parity", "val_accuracy"), ("anbn", "val_string_accuracy"))


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
    for name, metric in TUNES:
        table, results = tune(name, args.runs_dir, args.workers)
        rows = shipped_rows(name, results)
        base = rows[f"baseline_{metric}"].iloc[0]
        if name == "sine":
            ratio = rows["baseline_val_mse"] / rows[metric]
            shipped = (f"The shipped point: val MSE {rows[metric].max():.1e} at worst, "
                       f"{ratio.min():.0f}x to {ratio.max():.0f}x below persistence's "
                       f"{rows['baseline_val_mse'].iloc[0]:.4f}")
        elif metric == "val_mse":
            shipped = (f"The shipped point: val MSE {rows[metric].min():.3g} to {rows[metric].max():.3g}, "
                       f"against the baseline's {base:.3g}")
        else:
            shipped = (f"The shipped point: {metric.removeprefix('val_').replace('_', ' ')} "
                       f"{rows[metric].min():.3f} to {rows[metric].max():.3f}, against the baseline's {base:.3f}")
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
