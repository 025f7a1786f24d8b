"""Run one of the shipped sweep experiments and draw its README figure into docs/.

    python scripts/experiment.py bptt     # truncation length vs accuracy, counting, repeat=8
    python scripts/experiment.py lr       # learning rate vs final loss, sine
    python scripts/experiment.py bptt --write-readme   # and its table into README.md

It calls `train sweep` (re-running resumes: finished runs are kept), then
reads the sweep directory's results.csv and each run's metrics.csv and
summary.json with pandas, draws docs/sweep-<name>.png, and prints `train table
SWEEP --markdown` (the final figure per swept value over the sweep file's five
seeds: mean, min-max, 95% interval, how many beat the trivial baseline) with the
BLAS kernel that ran.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from readme_io import ROOT, blas_kernel, write_block  # noqa: E402
from trainer.rundir.layout import METRICS, SUMMARY  # noqa: E402

# the `train` of this interpreter's environment (a user runs it with that environment active)
TRAIN = str(Path(sys.executable).with_name("train")) if Path(sys.executable).with_name("train").exists() \
    else "train"
EXPERIMENTS = {
    "bptt": {"sweep": "configs/sweep-bptt.toml", "key": "train.bptt", "metric": "val_accuracy",
             "title": "counting (each token held 8 steps): truncation length vs accuracy"},
    "lr": {"sweep": "configs/sweep-lr.toml", "key": "optim.lr", "metric": "val_loss",
           "title": "sine with Adam: learning rate vs final validation loss"},
}
BASE_COLOR, CMAP = "#7F7F7F", "viridis"


def run_sweep(name, spec, runs_dir, workers):
    cmd = [TRAIN, "sweep", str(ROOT / spec["sweep"]), "--name", f"exp-{name}",
           "--runs-dir", str(runs_dir)] + (["--workers", str(workers)] if workers else [])
    print("$", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    return Path(runs_dir) / f"exp-{name}"


def load(sweep_dir):
    """results.csv, plus each run's metrics.csv and summary.json, keyed by run_dir."""
    results = pd.read_csv(sweep_dir / "results.csv")
    metrics, summaries = {}, {}
    for rel in results["run_dir"].dropna():
        metrics[rel] = pd.read_csv(sweep_dir / rel / METRICS)
        summaries[rel] = json.loads((sweep_dir / rel / SUMMARY).read_text())
    return results, metrics, summaries


def figure(spec, results, metrics, summaries, path):
    key, metric = spec["key"], spec["metric"]
    done = results[results["status"] == "completed"]
    stats = done.groupby(key)[metric].agg(["mean", "min", "max", "count"])
    values = list(stats.index)
    colors = dict(zip(values, plt.get_cmap(CMAP)([0.05 + 0.8 * i / max(len(values) - 1, 1)
                                                   for i in range(len(values))])))
    baseline = next(iter(summaries.values()))["baseline"]
    plt.rcParams.update({"axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
                         "grid.alpha": 0.3, "legend.frameon": False, "font.size": 10})
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.5, 4.2), dpi=110)

    left.fill_between(values, stats["min"], stats["max"], color="#4C72B0", alpha=0.18, lw=0,
                      label="min-max over seeds")
    left.plot(values, stats["mean"], "-o", color="#4C72B0", lw=2, label=f"mean of {stats['count'].max()} seeds")
    left.scatter(done[key], done[metric], c=[colors[v] for v in done[key]], s=18, zorder=3,
                 edgecolors="white", linewidths=0.5, label="each seed")
    left.axhline(baseline[metric], color=BASE_COLOR, ls="--", lw=1.2, label="trivial baseline")
    left.set_xscale("log")
    left.set_xticks(values, [f"{v:g}" for v in values])
    left.minorticks_off()
    if metric == "val_loss":
        left.set_yscale("log")
    left.set(xlabel=key, ylabel=f"final {metric}", title=f"final {metric.replace('_', ' ')}")
    left.legend(fontsize=8)

    for rel, m in metrics.items():
        v = results.loc[results["run_dir"] == rel, key].iloc[0]
        val = m[m["split"] == "val"]
        right.plot(val["epoch"], val["loss"], color=colors[v], lw=1.2, alpha=0.8)
    for v in values:
        right.plot([], [], color=colors[v], lw=2, label=f"{key.split('.')[-1]}={v:g}")
    right.axhline(baseline["val_loss"], color=BASE_COLOR, ls="--", lw=1.2, label="trivial baseline")
    right.set_yscale("log")
    right.set(xlabel="epoch", ylabel="val loss", title="validation loss of every run")
    right.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(spec["title"])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return stats


def table(sweep_dir):
    """The table a user gets: `train table SWEEP --markdown` (per swept value: runs, the final
    metric's mean, min-max and 95% interval, k of n beating the baseline, and the sentences)."""
    out = subprocess.run([TRAIN, "table", str(sweep_dir), "--markdown"], check=True, capture_output=True,
                         text=True).stdout
    return out.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(EXPERIMENTS))
    parser.add_argument("--runs-dir", default=str(ROOT / "runs"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", default=None, help="figure path (default: docs/sweep-<name>.png)")
    parser.add_argument("--write-readme", action="store_true", help="put the table into README.md")
    args = parser.parse_args()
    spec = EXPERIMENTS[args.name]
    sweep_dir = run_sweep(args.name, spec, args.runs_dir, args.workers)
    results, metrics, summaries = load(sweep_dir)
    out = Path(args.out or ROOT / "docs" / f"sweep-{args.name}.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    stats = figure(spec, results, metrics, summaries, out)
    baseline = next(iter(summaries.values()))["baseline"][spec["metric"]]
    print(stats.to_string(float_format=lambda x: f"{x:.4g}"))
    print(f"baseline {spec['metric']}: {baseline:.4g}; statuses: "
          f"{results['status'].value_counts().to_dict()}; figure: {out}")
    text = table(sweep_dir) + f"\n\n(BLAS kernel that ran: {blas_kernel()}.)"
    print(text)
    if args.write_readme:
        write_block(f"experiment-{args.name}", text)


if __name__ == "__main__":
    main()
