"""A sweep's figures, drawn from results.csv and each run's metrics.csv and summary.json.

final_vs_<key>.png: the final figures against one swept key (mean line, min-max
band and every seed as a dot; one line per combination of the other keys; the
baseline dashed). loss_curves.png: every run's train and val loss overlaid,
coloured by group (the runs that differ only in seed). pandas and matplotlib
are imported inside the functions.
"""
from pathlib import Path

import numpy as np

from trainer.plots.style import COLORS, figure, save
from trainer.rundir.layout import CONFIG, METRICS, RunDir


LEGEND_MAX = 16  # groups named in a legend; past that the first ones, a count and the last


def _read(results_csv):
    import pandas as pd
    df = pd.read_csv(results_csv)
    root = Path(results_csv).parent
    base = [((RunDir(root / rel).read_summary() or {}).get("baseline") or {}) if rel else {}
            for rel in df["run_dir"].fillna("")]
    return df, root, base


def _label(key, value):
    short = key.split(".", 1)[-1]
    return f"{short}={value:.3g}" if isinstance(value, float) else f"{short}={value}"


def _palette(n, ordered):
    import matplotlib
    cmap = matplotlib.colormaps["viridis" if ordered else "tab10"]
    return [cmap(0.05 + 0.8 * i / max(n - 1, 1)) if ordered else cmap(i % 10) for i in range(n)]


def plot_final(results_csv, key, path, title=None):
    """The final val loss (and val metric, when not the loss) against `key`."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    df, _, base = _read(results_csv)
    metrics = [c for c in df.columns if c.startswith("val_") and c != "val_loss" and c != "val_mse"]
    panels = ["val_loss"] + metrics
    keys = [c for c in df.columns[:list(df.columns).index("seed")] if c != key]
    groups = list(df.groupby(keys, sort=True)) if keys else [((), df)]
    numeric = _numeric(df[key])
    xs = sorted(df[key].unique()) if numeric else list(dict.fromkeys(df[key]))
    pos = (lambda v: v) if numeric else (lambda v: xs.index(v))
    seeds = df["seed"].nunique()
    ncol = 2 * len(panels)   # legend columns below the panels: two per panel's width
    rows = -(-(len(groups) + 1 + 2 * (seeds > 1) + 1) // ncol)
    fig, axes = figure((5.2 * len(panels), 4.3 + 0.22 * rows), 1, len(panels), squeeze=False)
    colors = _palette(len(groups), ordered=False) if len(groups) > 1 else [COLORS["train"]]
    continuous = numeric and df[key].nunique() > 12   # a random search: each run its own value
    if continuous:
        groups, colors = [((), df)], [COLORS["train"]]
    for ax, col in zip(axes[0], panels):
        if continuous:
            _scatter_trend(ax, df[df["status"] == "completed"], key, col)
        for (gkey, g), color in zip(groups if not continuous else [], colors):
            ok = g[g["status"] == "completed"]
            stats = ok.groupby(key)[col].agg(["mean", "min", "max"]).reindex(xs)
            gname = ", ".join(_label(k, v) for k, v in zip(keys, np.atleast_1d(gkey))) or "mean"
            x = [pos(v) for v in stats.index]
            ax.plot(x, stats["mean"], "-o", color=color, lw=1.8, ms=5,
                    label=gname + (f" over {df['seed'].nunique()} seeds" if df["seed"].nunique() > 1 else ""))
            ax.fill_between(x, stats["min"], stats["max"], color=color, alpha=0.18, lw=0)
            ax.plot([pos(v) for v in ok[key]], ok[col], ".", color=color, alpha=0.6, ms=6)
            bad = g[g["status"] != "completed"]
            if len(bad):
                ax.plot([pos(v) for v in bad[key]], [0.96] * len(bad), "x", color=COLORS["gen"],
                        ms=7, transform=ax.get_xaxis_transform(),
                        label=f"not completed ({', '.join(sorted(set(bad['status'])))})")
        bvals = [b.get(col) for b in base if b.get(col) is not None]
        if bvals and np.allclose(bvals, bvals[0], rtol=1e-6):
            ax.axhline(bvals[0], color=COLORS["base"], ls="--", lw=1.2, label="baseline")
        elif bvals:
            bl = [(pos(v), b.get(col)) for v, b in zip(df[key], base) if b.get(col) is not None]
            bl = sorted(set(bl))
            ax.plot(*zip(*bl), "--", color=COLORS["base"], lw=1.2, label="baseline")
        _x_axis(ax, key, xs, numeric)
        if col == "val_loss" and (df[col].dropna() > 0).all() and df[col].notna().any():
            ax.set_yscale("log")
        ax.set(ylabel=f"final {col}", title=f"final {col.replace('_', ' ')} vs {key}")
    # one legend for all panels, below them: inside an axes it covered the data it names
    handles, labels = [], []
    for ax in axes[0]:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    if seeds > 1 and not continuous:  # what the band and the dots are
        handles += [Patch(color=COLORS["base"], alpha=0.3, lw=0, label=f"min-max over {seeds} seeds"),
                    Line2D([], [], ls="", marker=".", ms=6, color=COLORS["base"], label="one seed")]
        labels += [h.get_label() for h in handles[-2:]]
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(handles), ncol), fontsize=8,
               frameon=False)
    fig.suptitle((f"{title}: " if title else "") + f"final figures against {key}")
    save(fig, path)
    return Path(path)


def _scatter_trend(ax, ok, key, col):
    """A sampled key: each run a point on the key's own scale, and a running median."""
    ok = ok.sort_values(key)
    window = max(3, len(ok) // 8)
    ax.plot(ok[key], ok[col], ".", color=COLORS["train"], alpha=0.6, ms=6, label="each run")
    ax.plot(ok[key], ok[col].rolling(window, center=True, min_periods=1).median(), "-",
            color=COLORS["val"], lw=1.8, label=f"running median of {window}")


def _numeric(column):
    """Whether a swept key's values lie on a number line: numbers, not true/false."""
    import pandas as pd
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _x_axis(ax, key, xs, numeric):
    from matplotlib.ticker import FixedLocator, NullLocator
    if not numeric:   # categories; true/false as TOML writes them
        ax.set_xticks(range(len(xs)), [str(v).lower() if isinstance(v, (bool, np.bool_)) else str(v)
                                       for v in xs])
    else:
        if min(xs) > 0 and max(xs) / min(xs) >= 8:
            ax.set_xscale("log")
        if len(xs) <= 10:
            ax.xaxis.set_major_locator(FixedLocator(xs))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticklabels([f"{v:g}" for v in xs])
    ax.set_xlabel(key)


def plot_curves(results_csv, keys, path, title=None):
    """Train and val loss of every run in results.csv against epochs, grouped by `keys`."""
    import pandas as pd
    from matplotlib.lines import Line2D
    df, root, base = _read(results_csv)
    df = df[df["run_dir"].fillna("") != ""]
    # runs that differ only in seed are one group: a seeds-only sweep is one colour, one entry
    groups = list(df.groupby(keys, sort=True)) if keys else [(f"{len(df)} runs (seeds)", df)]
    ordered = len(keys) == 1 and _numeric(df[keys[0]])
    colors = _palette(len(groups), ordered)
    fig, axes = figure((11, 4), 1, 2, sharey=True)
    positive, handles = True, []
    for (gkey, g), color in zip(groups, colors):
        label = ", ".join(_label(k, v) for k, v in zip(keys, np.atleast_1d(gkey))) if keys else str(gkey)
        handles.append(Line2D([], [], color=color, lw=1.6, label=label))
        for rel in g["run_dir"]:
            if not (root / rel / METRICS).is_file():  # failed before training
                continue
            m = pd.read_csv(root / rel / METRICS)
            per_epoch = _steps_per_epoch(m, root / rel)
            for ax, split in zip(axes, ("train", "val")):
                d = m[m["split"] == split]
                positive &= bool((d["loss"] > 0).all())
                ax.plot(d["step"] / per_epoch, d["loss"], color=color, alpha=0.75,
                        lw=1.0 if split == "train" else 1.4, ms=2.5,
                        marker="o" if split == "val" and len(d) < 30 else None)
    for ax, split in zip(axes, ("train", "val")):
        bvals = [b[f"{split}_loss"] for b in base if b.get(f"{split}_loss") is not None]
        if bvals and np.allclose(bvals, bvals[0], rtol=1e-6):
            line = ax.axhline(bvals[0], color=COLORS["base"], ls="--", lw=1, label="baseline")
            handles += [line] if split == "val" else []
        if positive:
            ax.set_yscale("log")
        ax.set(xlabel="epoch", title=f"{split} loss")
    axes[0].set_ylabel("loss")
    if len(groups) > LEGEND_MAX:  # a legend of every group would squeeze the axes to nothing
        extra = handles[len(groups):]
        handles = handles[:LEGEND_MAX - 1] + [Line2D([], [], ls="", label=(
            f"... {len(groups) - LEGEND_MAX + 1} more groups")), handles[len(groups) - 1]] + extra
    axes[1].legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    what = f"train and val loss of {len(df)} runs" + (f", coloured by {', '.join(keys)}" if keys else "")
    fig.suptitle(f"{title}: {what}" if title else what)
    save(fig, path)
    return Path(path)


def _steps_per_epoch(m, run_path):
    """Steps in one epoch: from the first val row, else from config.toml's keys (a built-in
    task's), else from summary.json's total steps."""
    val = m[m["split"] == "val"]
    if len(val):
        return float(val["step"].iloc[0]) / float(val["epoch"].iloc[0])
    try:
        from trainer.config import tomlio
        from trainer.config.checks import steps_per_epoch_of
        cfg = tomlio.read(run_path / CONFIG)
        return steps_per_epoch_of(cfg) or RunDir(run_path).read_summary()["total_steps"] / \
            cfg["train"]["epochs"]
    except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):  # ValueError: a ConfigError too; TypeError: no summary
        return 1.0


def figure_jobs(results_csv, keys, out_dir, title=None):
    """A sweep's figures as independent jobs (function, arguments), the PNG path third in
    each: `draw` draws them in turn, plots.background's helper all at once."""
    out_dir = Path(out_dir)
    jobs = [(plot_final, (results_csv, k, out_dir / f"final_vs_{k.split('.', 1)[-1]}.png", title))
            for k in keys]
    jobs.append((plot_curves, (results_csv, keys, out_dir / "loss_curves.png", title)))
    return jobs


def draw(results_csv, keys, out_dir, title=None):
    """All of a sweep's figures into out_dir; returns their paths."""
    return [fn(*args) for fn, args in figure_jobs(results_csv, keys, out_dir, title)]
