"""The report's charts as plotly figure specs (plain dicts, drawn by plotly.js in the page).

Specs are built directly as JSON-ready dicts rather than through plotly's Python figure
objects: a 200-run sweep's figures take milliseconds this way. Runs are grouped by the
values of the swept (or differing) keys, seeds pooled: each group is a mean line with a
min-max band, its runs thin lines whose hover names the run.
"""
import math

import numpy as np

CATEGORY = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"]
VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
           "#6ece58", "#b5de2b", "#fde725"]
BASE = "#7f7f7f"
MAX_GROUPS = 12   # more groups than this: no legend entries, runs coloured by the first key


def final(rec, col):
    v = (rec["summary"].get("final") or {}).get(col)
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


def metric_of(records):
    """The most common task metric among the runs (its final figure is val_<metric>)."""
    names = [r["summary"].get("metric") for r in records if r["summary"].get("metric")]
    return max(set(names), key=names.count) if names else "mse"


def loss_name(record):
    """The loss a run's curves show: MSE for a regression task (metric mse), else cross-entropy."""
    return "MSE" if record["summary"].get("metric", "mse") == "mse" else "cross-entropy"


def one_loss(records):
    """The records whose loss is the most common one's, and a note on those left out (None when
    every run has the same loss): MSE and cross-entropy are not on one scale, so their curves
    are never overlaid."""
    names = [loss_name(r) for r in records]
    if len(set(names)) < 2:
        return records, None
    keep = max(set(names), key=names.count)
    other = sorted({n for n in names if n != keep})
    left = len(records) - names.count(keep)
    return ([r for r, n in zip(records, names) if n == keep],
            f"{left} run{'s' * (left != 1)} whose loss is {' or '.join(other)} "
            f"{'is' if left == 1 else 'are'} left out of the loss curves, which show the "
            f"{names.count(keep)} {keep} runs: the two losses are not on one scale")


def short(key):
    return key.split(".", 1)[-1]


def value_label(key, value):
    return f"{short(key)}={value:.3g}" if isinstance(value, float) else f"{short(key)}={value}"


def group(records, keys):
    """[(label, [record indices])] by the values of `keys`, in order of first appearance
    (sorted by value when there is one numeric key)."""
    out = {}
    for i, r in enumerate(records):
        vals = tuple(r["config"].get(k) for k in keys)
        out.setdefault(vals, []).append(i)
    items = list(out.items())
    if len(keys) == 1 and all(isinstance(v[0], (int, float)) for v, _ in items):
        items.sort(key=lambda kv: kv[0][0])
    out = []
    for vals, idx in items:
        label = ", ".join(value_label(k, v) for k, v in zip(keys, vals)) or "all runs"
        if len(label) > 48:  # runs that differ in many keys: named by their runs instead
            first = records[idx[0]]["label"]
            label = first if len(idx) == 1 else f"{first} and {len(idx) - 1} like it"
        out.append((label, idx))
    return out


def colors(n, ordered):
    if ordered:
        return [VIRIDIS[round(i * (len(VIRIDIS) - 1) / max(n - 1, 1))] for i in range(n)]
    return [CATEGORY[i % len(CATEGORY)] for i in range(n)]


def _rgba(hex_color, alpha):
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def per_epoch(rec):
    """Steps in one epoch (to put runs of different lengths on an epoch axis)."""
    val = rec["metrics"]["val"]
    if val.get("step") and val.get("epoch") and val["epoch"][0]:
        return val["step"][0] / val["epoch"][0]
    total, epochs = rec["summary"].get("total_steps"), rec["config"].get("train.epochs")
    return total / epochs if total and epochs else 1.0


def _baseline_shapes(records, col):
    values = sorted({round((r["summary"].get("baseline") or {}).get(col), 12) for r in records
                     if isinstance((r["summary"].get("baseline") or {}).get(col), (int, float))})
    if not values or len(values) > 4:
        return [], []
    shapes = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": v, "y1": v,
               "line": {"color": BASE, "dash": "dash", "width": 1.5}} for v in values]
    legend = [{"x": [None], "y": [None], "mode": "lines", "name": "baseline (dashed)",
               "line": {"color": BASE, "dash": "dash"}, "hoverinfo": "skip"}]
    return shapes, legend


def curves(records, groups, split, column="loss", log=True, title=None, by=""):
    """One split's curve of every run against epochs: per group a mean line and min-max band
    over its runs, each run a thin line (hover: the run)."""
    many = len(groups) > MAX_GROUPS
    palette = colors(len(groups), ordered=True) if many else colors(len(groups), ordered=len(groups) > 2)
    traces, positive = [], True
    for (label, idx), color in zip(groups, palette):
        pooled = {}
        for i in idx:
            rec = records[i]
            d = rec["metrics"][split]
            steps, ys = d.get("step") or [], d.get(column) or []
            pts = [(s, y) for s, y in zip(steps, ys) if s is not None and y is not None and math.isfinite(y)]
            if not pts:
                continue
            scale = per_epoch(rec)
            xs = [s / scale for s, _ in pts]
            yv = [y for _, y in pts]
            positive &= all(y > 0 for y in yv)
            for x, y in zip(xs, yv):
                pooled.setdefault(round(x, 9), []).append(y)
            traces.append({"x": xs, "y": yv, "mode": "lines" if len(xs) > 1 else "markers",
                           "name": rec["label"], "legendgroup": label,
                           "showlegend": False, "line": {"color": color, "width": 1 if len(idx) > 1 else 1.8},
                           "opacity": (0.35 if len(idx) < 10 else 0.15) if len(idx) > 1 else 0.9,
                           "hovertemplate": f"{rec['label']}<br>epoch %{{x:.2f}}<br>{column} %{{y:.4g}}<extra></extra>"})
        if not pooled:
            continue
        if many or len(idx) == 1:
            traces[-1]["showlegend"] = not many
            traces[-1]["name"] = label if len(idx) == 1 else traces[-1]["name"]
            continue
        xs = sorted(pooled)
        lo, hi = [min(pooled[x]) for x in xs], [max(pooled[x]) for x in xs]
        mean = [float(np.mean(pooled[x])) for x in xs]
        traces.append({"x": xs, "y": hi, "mode": "lines", "line": {"width": 0}, "showlegend": False,
                       "legendgroup": label, "hoverinfo": "skip"})
        traces.append({"x": xs, "y": lo, "mode": "lines", "line": {"width": 0}, "fill": "tonexty",
                       "fillcolor": _rgba(color, 0.18), "showlegend": False, "legendgroup": label,
                       "hoverinfo": "skip"})
        traces.append({"x": xs, "y": mean, "mode": "lines+markers" if len(xs) < 30 else "lines",
                       "name": f"{label} (mean of {len(idx)})",
                       "legendgroup": label, "line": {"color": color, "width": 2.4},
                       "hovertemplate": f"{label}: mean of {len(idx)}<br>epoch %{{x:.2f}}<br>"
                                        f"{column} %{{y:.4g}}<extra></extra>"})
    if any(len(idx) > 1 for _, idx in groups) and not many:
        traces.append({"x": [None], "y": [None], "mode": "lines", "fill": "toself", "name":
                       "shaded: min-max over a group's runs; thin: each run", "line": {"color": BASE},
                       "fillcolor": _rgba(BASE, 0.25), "hoverinfo": "skip"})
    shapes, legend = _baseline_shapes(records, f"{split}_loss" if column == "loss" else f"val_{column}")
    what = f"{split} {column}"
    note = f" ({len(groups)} groups, coloured by the first key)" if many else ""
    return {"data": traces + legend, "layout": {
        "title": {"text": title or f"{what} of {len(records)} runs{by}{note}"},
        "xaxis": {"title": {"text": "epoch"}},
        "yaxis": {"title": {"text": what}, "type": "log" if log and positive else "linear"},
        "shapes": shapes, "showlegend": not many,
        "legend": {"font": {"size": 10}, "orientation": "h", "y": -0.18, "yanchor": "top"},
        "hovermode": "closest"}}


def _axis(values):
    """(x positions, axis spec) for a swept key's values: numbers as they are (log when they
    span a factor of 8 or more), anything else as categories."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        pos = [v for v in values if v > 0]
        log = len(pos) == len(values) and pos and max(pos) / min(pos) >= 8
        axis = {"type": "log" if log else "linear"}
        if len(values) <= 12:  # a tick at every swept value
            axis.update(tickvals=list(values), ticktext=[f"{v:g}" for v in values])
        return list(values), axis
    return [str(v) for v in values], {"type": "category"}


def parallel(records, keys, cols):
    """Parallel coordinates over the swept keys and the final figures, coloured by the last."""
    done = [r for r in records if all(final(r, c) is not None for c in cols)
            and all(r["config"].get(k) is not None for k in keys)]
    dims = []
    for k in keys:
        vals = [r["config"][k] for r in done]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            dims.append(_dimension(k, vals))
        else:
            cats = list(dict.fromkeys(str(v) for v in vals))
            dims.append({"label": k, "values": [cats.index(str(v)) for v in vals],
                         "tickvals": list(range(len(cats))), "ticktext": cats})
    for c in cols:
        dims.append(_dimension(f"final {c}", [final(r, c) for r in done], c in ("val_loss", "val_mse")))
    color = [final(r, cols[-1]) for r in done]
    return {"data": [{"type": "parcoords", "dimensions": dims,
                      "line": {"color": color, "colorscale": "Viridis", "showscale": True,
                               "colorbar": {"title": {"text": cols[-1]}}}}],
            "layout": {"title": {"text": f"parallel coordinates of {len(done)} finished runs "
                                         f"(colour: final {cols[-1]})"},
                       "margin": {"l": 80, "r": 80, "t": 80, "b": 40}}}


def _dimension(label, values, log_ok=True):
    """A parallel-coordinates axis; values spanning a factor of 8 or more are placed on a log
    scale, labelled with the values themselves (0.001, 0.01 ...), not their log10."""
    pos = [v for v in values if v > 0]
    if log_ok and values and len(pos) == len(values) and max(pos) / min(pos) >= 8:
        distinct = sorted(set(values))
        if len(distinct) <= 8:   # a grid's values: each labelled
            ticks = distinct
        else:                    # many values: the powers of ten between them
            ticks = [10.0 ** k for k in range(math.floor(math.log10(min(pos))),
                                                math.ceil(math.log10(max(pos))) + 1)]
        return {"label": f"{label} (log scale)", "values": [math.log10(v) for v in values],
                "tickvals": [math.log10(t) for t in ticks], "ticktext": [f"{t:g}" for t in ticks]}
    return {"label": label, "values": values}


def variance_explained(records, keys, col):
    """{key: eta squared}: the share of the variance of the final `col` across finished runs
    that grouping by that key alone explains, SS_between / SS_total (on log10 of the figure
    for a loss or MSE, which spans decades). Returns (shares, number of runs, log used)."""
    done = [r for r in records if final(r, col) is not None]
    y = np.array([final(r, col) for r in done], float)
    use_log = col in ("val_loss", "val_mse") and len(y) and (y > 0).all()
    if use_log:
        y = np.log10(y)
    total = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
    shares = {}
    for k in keys:
        if total <= 0:
            shares[k] = 0.0
            continue
        by = {}
        for r, v in zip(done, y):
            by.setdefault(str(r["config"].get(k)), []).append(v)
        between = sum(len(v) * (np.mean(v) - y.mean()) ** 2 for v in by.values())
        shares[k] = float(between / total)
    return shares, len(done), bool(use_log)
