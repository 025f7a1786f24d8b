"""The run's figures: loss curves from metrics.csv and a view of what the model predicts,
drawn from the arrays evaluate.task_view returns (plotting never runs a model).

matplotlib is imported here, inside the functions, so that `train --help` and
the training loop do not pay for it; metrics.csv is read with the csv module,
which starts faster than pandas and is all a run's own plots need.
"""
import csv
import io
from pathlib import Path

import numpy as np

from trainer.plots.style import COLORS, figure, log_y, save, style
from trainer.rundir.layout import GRADIENT_REACH, METRICS

LOSS_PNG, TASK_PNG, REACH_PNG = "loss_curves.png", "task_view.png", "gradient_reach.png"


def plot_losses(metrics_csv, metric, baseline, title, epoch_starts, path):
    """Train and val loss against step (log scale), the baseline's val loss as a line;
    for a metric other than the loss (accuracy), a second panel with it. epoch_starts: mark
    where each epoch starts (a stream task's carried state is reset there)."""
    df = read_metrics(metrics_csv)
    two = metric != "mse"
    fig, axes = figure((10 if two else 6.4, 4), 1, 2 if two else 1, squeeze=False,
                       margins=(0.75, 1.0 if not two else 0.25, 0.55, 0.7, 1.75))
    ax = axes[0, 0]
    for split in ("train", "val"):
        d = df[split]
        if len(d["step"]):
            ax.plot(d["step"], d["loss"], color=COLORS[split], lw=1.6 if split == "val" else 1.0,
                    marker="o" if split == "val" and len(d["step"]) < 40 else None, ms=3, label=split)
    ax.axhline(baseline["val_loss"], color=COLORS["base"], ls="--", lw=1, label="baseline (val)")
    losses = np.concatenate([df["train"]["loss"], df["val"]["loss"]])
    if len(losses) and (losses > 0).all():
        log_y(ax)
    ax.set(xlabel="step", ylabel="loss", title="loss")
    if epoch_starts:
        _mark_epochs(axes[0], df["val"])
    ax.legend()
    lrs = np.asarray(df["train"]["lr"], float) if "lr" in df["train"] else np.array([])
    lrs = lrs[np.isfinite(lrs)]
    if len(lrs) and lrs.min() == lrs.max():   # a constant rate is said, not drawn as a line
        ax.set_title(f"loss (learning rate {lrs[0]:g} throughout)")
    elif len(lrs):  # the rate of the schedule, right axis
        rate = ax.twinx()
        rate.plot(df["train"]["step"], df["train"]["lr"], color=COLORS["base"], lw=0.9, ls=":")
        top = np.nanmax(df["train"]["lr"])
        if np.isfinite(top) and top > 0:
            rate.set_ylim(0, 1.15 * top)  # from zero: a constant rate is a flat line, not noise
        rate.set_ylabel("learning rate (dotted)", color=COLORS["base"])
        style(rate, grid=False)
        rate.spines["right"].set_visible(True)
    if two:
        ax = axes[0, 1]
        d = df["val"]
        ax.plot(d["step"], d[metric], color=COLORS["val"], marker="o", ms=3, label=f"val {metric}")
        ax.axhline(baseline[f"val_{metric}"], color=COLORS["base"], ls="--", lw=1, label="baseline")
        ax.set(xlabel="step", ylabel=metric, title=f"val {metric}")
        ax.legend()
    fig.suptitle(title)
    save(fig, path)


def _mark_epochs(axes, val):
    """A faint vertical line at the first step of every epoch after the first."""
    steps, epochs = val["step"], val["epoch"]
    if not len(steps) or epochs[0] <= 0:
        return
    per_epoch = steps[0] / epochs[0]
    starts = per_epoch * np.arange(1, int(epochs[-1]))
    if len(starts) > 60:  # too many to read as lines
        return
    for ax in axes:
        for i, x in enumerate(starts):
            ax.axvline(x, color=COLORS["base"], lw=0.6, alpha=0.35, ls="-",
                       label="epoch start (state reset)" if i == 0 and ax is axes[0] else None)


def read_metrics(path):
    """metrics.csv as {split: {column: float array}} (empty cells as NaN). A last line
    without its newline is a row torn by a kill: it is not a row yet, and is left out."""
    with open(path, newline="") as f:
        text = f.read()
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(io.StringIO(text))
    cols = [c for c in reader.fieldnames or () if c != "split"]
    raw = {"train": {c: [] for c in cols}, "val": {c: [] for c in cols}}
    for row in reader:
        for c in cols:
            raw[row["split"]][c].append(float(row[c]) if row[c] != "" else np.nan)
    return {split: {c: np.array(v) for c, v in d.items()} for split, d in raw.items()}


UNCHECKED = ("unchecked backward: trained with model.check = false, so these norms come from\n"
             "the layer's own backward, never compared with finite differences")


def plot_gradient_reach(reach_csv, title, unchecked, path):
    """||dL/dh_t|| against t for each probed step (before and after training): where the
    curve falls towards the window's start, the error signal does not reach back.
    `unchecked`: the layer's backward was not checked (model.check = false), and the figure
    says so in its title and in a box over the curves: it may draw a wrong gradient."""
    data = np.loadtxt(reach_csv, delimiter=",", skiprows=1, ndmin=2)
    fig, ax = figure((6.4, 4.5 if unchecked else 4),
                     margins=(0.85, 0.25, 0.55, 0.95 if unchecked else 0.45, 0))
    steps = sorted(set(data[:, 0].astype(int)))
    for i, step in enumerate(steps):
        d = data[data[:, 0] == step]
        label = "before training" if step == 0 else f"after {step} steps"
        color = COLORS["base"] if step == 0 else COLORS["gen"] if i == len(steps) - 1 else COLORS["pred"]
        positive = d[:, 2] > 0
        ax.plot(d[positive, 1], d[positive, 2], color=color, lw=1.6, marker=".", ms=4, label=label)
    log_y(ax)
    ax.set(xlabel="time step t of the window", ylabel="||dL/dh_t||",
           title=f"{title} (unchecked backward)" if unchecked else title)
    if unchecked:
        ax.text(0.5, 1.08, UNCHECKED, transform=ax.transAxes, ha="center", va="bottom",
                fontsize=8.5, color=COLORS["wrong"],
                bbox={"boxstyle": "round,pad=0.35", "fc": "#FBEAEA", "ec": COLORS["wrong"]})
    ax.legend()
    save(fig, path)


def unchecked_cell(summary):
    """Whether the run's summary says its plug-in cell trained with model.check = false."""
    plugins = summary.get("plugins") if isinstance(summary, dict) else None
    cell = plugins.get("cell") if isinstance(plugins, dict) else None
    return isinstance(cell, dict) and cell.get("checked") is False


def plot_values(truth, one_step, generated, start, title, path):
    """Value task: truth vs one-step prediction over the span, and free-running
    generation from step `start` on (the model fed its own outputs)."""
    fig, ax = figure((10, 3.8), margins=(0.7, 0.25, 0.55, 0.4, 0))
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
    fig, ax = figure((10, 3.8), margins=(0.7, 0.25, 0.55, 0.4, 0))
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


def draw_run(run_path, view, summary, note=""):
    """Write the run's loss curves, gradient reach and task view next to its metrics.csv from
    its files and `view` (evaluate.task_view's arrays); returns the paths. `note` is appended
    to the task view's title (which model it shows, e.g. the best)."""
    jobs = figure_jobs(run_path, view, summary, note)
    for fn, args in jobs:
        fn(*args)
    return [args[-1] for _, args in jobs]


def figure_jobs(run_path, view, summary, note=""):
    """The run's figures as independent jobs (function, arguments), the PNG path last in each:
    draw_run draws them in turn, plots.background's helper all at once."""
    run_path = Path(run_path)
    name, task = run_path.name, view["task"]
    jobs = [(plot_losses, (run_path / METRICS, view["metric"], summary.get("baseline") or {},
                           f"{name}: {task}", view["kind"] in ("values", "tokens"), run_path / LOSS_PNG))]
    if view["kind"] == "tokens":
        shown = ((summary.get("best") if note else None) or summary.get("final") or {}) if summary else {}
        final = shown.get("val_accuracy")
        extra = f", val accuracy {final:.4f}" if final is not None else ""
        jobs.append((plot_tokens, (view["truth"], view["predicted"], f"{task}: next token{extra}{note}",
                                   run_path / TASK_PNG)))
    elif view["kind"] == "values":
        jobs.append((plot_values, (view["truth"], view["one_step"], view["generated"], view["start"],
                                   f"{task}: truth, one-step prediction and free-running generation{note}",
                                   run_path / TASK_PNG)))
    else:
        from trainer.plots.episodes import plot_episodes
        jobs.append((plot_episodes, (view, note, run_path / TASK_PNG)))
    if (run_path / GRADIENT_REACH).exists():
        jobs.append((plot_gradient_reach, (run_path / GRADIENT_REACH,
                                           f"{task}: how far back the error signal reaches",
                                           unchecked_cell(summary), run_path / REACH_PNG)))
    return jobs
