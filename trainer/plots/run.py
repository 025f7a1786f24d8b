"""The run's figures: loss curves from metrics.csv and a view of what the model predicts.

matplotlib is imported here, inside the functions, so that `train --help` and
the training loop do not pay for it; metrics.csv is read with the csv module,
which starts faster than pandas and is all a run's own plots need.
"""
import csv
from pathlib import Path

import numpy as np

from trainer.plots.style import COLORS, pyplot, save
from trainer.rundir import GRADIENT_REACH, METRICS

LOSS_PNG, TASK_PNG, REACH_PNG = "loss_curves.png", "task_view.png", "gradient_reach.png"
def plot_losses(metrics_csv, metric, baseline, title, path):
    """Train and val loss against step (log scale), the baseline's val loss as a line;
    for a metric other than the loss (accuracy), a second panel with it."""
    plt = pyplot()
    df = read_metrics(metrics_csv)
    two = metric != "mse"
    fig, axes = plt.subplots(1, 2 if two else 1, figsize=(10 if two else 6.4, 4), squeeze=False)
    ax = axes[0, 0]
    for split in ("train", "val"):
        d = df[split]
        if len(d["step"]):
            ax.plot(d["step"], d["loss"], color=COLORS[split], lw=1.6 if split == "val" else 1.0,
                    marker="o" if split == "val" and len(d["step"]) < 40 else None, ms=3, label=split)
    ax.axhline(baseline["val_loss"], color=COLORS["base"], ls="--", lw=1, label="baseline (val)")
    losses = np.concatenate([df["train"]["loss"], df["val"]["loss"]])
    if len(losses) and (losses > 0).all():
        ax.set_yscale("log")
    ax.set(xlabel="step", ylabel="loss", title="loss")
    ax.legend()
    if "lr" in df["train"] and len(df["train"]["step"]):  # the rate of the schedule, right axis
        rate = ax.twinx()
        rate.plot(df["train"]["step"], df["train"]["lr"], color=COLORS["base"], lw=0.9, ls=":")
        rate.set_ylabel("learning rate (dotted)", color=COLORS["base"])
        rate.spines["right"].set_visible(True)
        rate.grid(False)
    if two:
        ax = axes[0, 1]
        d = df["val"]
        ax.plot(d["step"], d[metric], color=COLORS["val"], marker="o", ms=3, label=f"val {metric}")
        ax.axhline(baseline[f"val_{metric}"], color=COLORS["base"], ls="--", lw=1, label="baseline")
        ax.set(xlabel="step", ylabel=metric, title=f"val {metric}")
        ax.legend()
    fig.suptitle(title)
    save(fig, path)


def read_metrics(path):
    """metrics.csv as {split: {column: float array}} (empty cells as NaN)."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        cols = [c for c in reader.fieldnames or () if c != "split"]
        raw = {"train": {c: [] for c in cols}, "val": {c: [] for c in cols}}
        for row in reader:
            for c in cols:
                raw[row["split"]][c].append(float(row[c]) if row[c] != "" else np.nan)
    return {split: {c: np.array(v) for c, v in d.items()} for split, d in raw.items()}


def plot_gradient_reach(reach_csv, title, path):
    """||dL/dh_t|| against t for each probed step (before and after training): where the
    curve falls towards the window's start, the error signal does not reach back."""
    plt = pyplot()
    data = np.loadtxt(reach_csv, delimiter=",", skiprows=1, ndmin=2)
    fig, ax = plt.subplots(figsize=(6.4, 4))
    steps = sorted(set(data[:, 0].astype(int)))
    for i, step in enumerate(steps):
        d = data[data[:, 0] == step]
        label = "before training" if step == 0 else f"after {step} steps"
        color = COLORS["base"] if step == 0 else COLORS["gen"] if i == len(steps) - 1 else COLORS["pred"]
        positive = d[:, 2] > 0
        ax.plot(d[positive, 1], d[positive, 2], color=color, lw=1.6, marker=".", ms=4, label=label)
    ax.set_yscale("log")
    ax.set(xlabel="time step t of the window", ylabel="||dL/dh_t||", title=title)
    ax.legend()
    save(fig, path)


def plot_values(truth, one_step, generated, start, title, path):
    """Value task: truth vs one-step prediction over the span, and free-running
    generation from step `start` on (the model fed its own outputs)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.8))
    t = np.arange(len(truth))
    ax.plot(t, truth, color=COLORS["truth"], lw=2.2, alpha=0.35, label="truth")
    ax.plot(t, one_step, color=COLORS["pred"], lw=1.1, label="one-step prediction")
    tg = np.arange(start, start + len(generated))
    ax.plot(tg, generated, color=COLORS["gen"], lw=1.3, ls="--", label="free-running generation")
    ax.axvline(start, color=COLORS["base"], lw=0.8, ls=":")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.25 * (hi - lo))  # room for the legend above the curves
    ax.set(xlabel="validation step", ylabel="value", title=title)
    ax.legend(loc="upper right", ncol=3)
    save(fig, path)


def plot_tokens(truth, predicted, title, path):
    """Token task: true next tokens and the model's argmax predictions; misses marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.8))
    t = np.arange(len(truth))
    ax.step(t, truth, where="mid", color=COLORS["truth"], lw=2.2, alpha=0.35, label="true next token")
    ax.plot(t, predicted, ".", color=COLORS["pred"], ms=4, label="predicted")
    miss = predicted != truth
    if miss.any():
        ax.plot(t[miss], predicted[miss], "x", color=COLORS["gen"], ms=6,
                label=f"wrong ({int(miss.sum())})")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.25 * (hi - lo))
    ax.set(xlabel="validation step", ylabel="token", title=title)
    ax.legend(loc="upper right", ncol=3)
    save(fig, path)


def draw_run(run_path, model, task, summary, steps=None, note=""):
    """Write the run's loss curves and task view next to its metrics.csv; returns the paths.
    `note` is appended to the task view's title (which model it shows, e.g. the best)."""
    from trainer.evaluate import free_run, predict_stream
    run_path = Path(run_path)
    name = run_path.name
    paths = [run_path / LOSS_PNG, run_path / TASK_PNG]
    plot_losses(run_path / METRICS, task.metric, task.baseline, f"{name}: {task.name}", paths[0])
    reach = run_path / GRADIENT_REACH
    if reach.exists():
        paths.append(run_path / REACH_PNG)
        plot_gradient_reach(reach, f"{task.name}: how far back the error signal reaches", paths[-1])
    if task.episodes:
        from trainer.plots.episodes import plot_episodes
        plot_episodes(model, task, paths[1], note=note)
    elif task.input_tokens:
        span = min(steps or 120, len(task.val_x))
        pred = predict_stream(model, task.val_x[:span]).argmax(axis=1)
        shown = (summary.get("best") if note else None) or summary.get("final", {}) if summary else {}
        final = shown.get("val_accuracy")
        extra = f", val accuracy {final:.4f}" if final is not None else ""
        plot_tokens(task.val_y[:span], pred, f"{task.name}: next token{extra}{note}", paths[1])
    else:
        steps = steps or 200
        warm = min(100, len(task.val_x) // 2)
        span = min(warm + steps, len(task.val_x))
        one_step = predict_stream(model, task.val_x[:span])[:, 0]
        # reading x[:warm] predicts y[warm - 1]; from there on the model reads its own outputs
        generated = free_run(model, task.val_x[:warm], steps + 1)[:, 0]  # may run past the data
        plot_values(task.val_y[:span, 0], one_step, generated, warm - 1,
                    f"{task.name}: truth, one-step prediction and free-running generation{note}",
                    paths[1])
    return paths
