"""A sweep's own charts in the report: the final figure against each key with a line per
value of the other keys (the interaction a two-key question asks about), continuous keys of a
random search as points on their own scale with a running median, and which keys matter:
one-way shares, two-way interaction shares, and rank correlations for continuous keys.
"""
import json

import numpy as np

from trainer.reports.figures import CATEGORY, _axis, _baseline_shapes, final

MAX_LINES = 8      # lines per chart; beyond, the lines follow the one other key that matters most
MAX_VALUES = 12    # a numeric key with more distinct values is continuous (a random search)


def continuous_keys(records, keys, method, params):
    """The keys drawn from a range by a random search, or with more than MAX_VALUES values."""
    out = set()
    for k in keys:
        values = [r["config"].get(k) for r in records if r["config"].get(k) is not None]
        numeric = values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        spec = params.get(k)
        ranged = isinstance(spec, dict) and method == "random"
        if numeric and (ranged or len(set(values)) > MAX_VALUES):
            out.add(k)
    return out


def _response(records, col):
    """(finished records, their final figure; log10 for a loss or MSE that is positive, which
    spans decades), and whether the log was taken."""
    done = [r for r in records if final(r, col) is not None]
    y = np.array([final(r, col) for r in done], float)
    use_log = bool(col in ("val_loss", "val_mse") and len(y) and (y > 0).all())
    return done, (np.log10(y) if use_log else y), use_log


def _value(r, k):
    return json.dumps(r["config"].get(k), sort_keys=True)


def _ss_between(y, labels):
    groups = {}
    for v, g in zip(y, labels):
        groups.setdefault(g, []).append(v)
    return sum(len(v) * (np.mean(v) - y.mean()) ** 2 for v in groups.values())


def which_keys_matter(records, keys, col, continuous):
    """{"one-way": {key: share}, "two-way": {"a × b": share}, "rank": {key: Spearman rho}},
    the number of runs and whether log10 was used. One-way: SS_between / SS_total of the key's
    groups (eta squared); two-way: the interaction's SS (cells' SS less both keys' one-way SS)
    over SS_total, for each pair of categorical keys; rank: for a continuous key, whose every
    run is its own group (a trivial 100%), the rank correlation with the final figure."""
    done, y, used_log = _response(records, col)
    out = {"one-way": {}, "two-way": {}, "rank": {}}
    total = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
    cats = [k for k in keys if k not in continuous]
    for k in cats:
        out["one-way"][k] = float(_ss_between(y, [_value(r, k) for r in done]) / total) if total > 0 else 0.0
    for i, a in enumerate(cats):
        for b in cats[i + 1:]:
            if total <= 0:
                share = 0.0
            else:
                cells = _ss_between(y, [_value(r, a) + "|" + _value(r, b) for r in done])
                share = max(0.0, float(cells / total) - out["one-way"][a] - out["one-way"][b])
            out["two-way"][f"{a} × {b}"] = share
    for k in keys:
        if k in continuous and len(done) > 2:
            x = np.array([r["config"][k] for r in done], float)
            out["rank"][k] = _spearman(x, y)
    return out, len(done), used_log


def _spearman(x, y):
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(v):
    """Ranks with ties given their mean rank."""
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v), float)
    ranks[order] = np.arange(len(v), dtype=float)
    for value in np.unique(v):
        tied = v == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def matter_chart(matter, col, used_log):
    """A bar per one-way and two-way share (0..100%), and per rank correlation (-1..1)."""
    shares = {**matter["one-way"], **{f"{k} (interaction)": v for k, v in matter["two-way"].items()}}
    names = sorted(shares, key=shares.get)
    data = [{"type": "bar", "orientation": "h", "y": names, "x": [shares[k] for k in names],
             "marker": {"color": CATEGORY[0]}, "name": "share of variance",
             "hovertemplate": "%{y}: %{x:.1%}<extra></extra>"}]
    ranks = matter["rank"]
    if ranks:
        data.append({"type": "bar", "orientation": "h", "y": [f"{k} (rank correlation)" for k in ranks],
                     "x": list(ranks.values()), "marker": {"color": CATEGORY[1]},
                     "name": "rank correlation (continuous key)", "xaxis": "x2",
                     "hovertemplate": "%{y}: %{x:.2f}<extra></extra>"})
    rows = len(names) + len(ranks)
    layout = {"title": {"text": f"which keys matter for final {col}{' (log10)' if used_log else ''}"},
              "xaxis": {"range": [0, 1], "tickformat": ".0%", "title": {"text": "share of variance"}},
              "yaxis": {"automargin": True}, "height": 160 + 40 * rows, "barmode": "overlay"}
    if ranks:
        layout["xaxis2"] = {"range": [-1, 1], "overlaying": "x", "side": "top",
                            "title": {"text": "rank correlation"}}
    return {"data": data, "layout": layout}


def final_vs(records, key, col, others, continuous, log_drawn=False, shares=None):
    """The final figure against `key`: for a categorical key, a mean line per value of the
    other keys (each run a point in its line's colour); for a continuous key, each run a point
    on the key's own scale (log when the search drew it log-uniformly) and a running median."""
    done = [r for r in records if final(r, col) is not None and r["config"].get(key) is not None]
    shapes, legend = _baseline_shapes(records, col)
    positive = bool(done) and all(final(r, col) > 0 for r in done) and col in ("val_loss", "val_mse")
    yaxis = {"title": {"text": f"final {col}"}, "type": "log" if positive else "linear"}
    if key in continuous:
        return _scatter(done, key, col, log_drawn, shapes, legend, yaxis)
    lines_by = _line_keys(done, [k for k in others if k not in continuous], shares or {})
    groups = {}
    for r in done:
        groups.setdefault(tuple(_value(r, k) for k in lines_by), []).append(r)
    traces = []
    order = lambda item: [(isinstance(v, str), v) for v in map(json.loads, item[0])]  # noqa: E731
    for n, (gkey, runs) in enumerate(sorted(groups.items(), key=order)):
        color = CATEGORY[n % len(CATEGORY)]
        name = ", ".join(f"{k.split('.', 1)[-1]}={json.loads(v)}" for k, v in zip(lines_by, gkey)) or "mean over seeds"
        by_value = {}
        for r in runs:
            by_value.setdefault(r["config"][key], []).append(final(r, col))
        values = sorted(by_value, key=lambda v: (isinstance(v, str), v))
        xs, _ = _axis(values)
        px, _ = _axis([r["config"][key] for r in runs])
        traces.append({"x": px, "y": [final(r, col) for r in runs], "mode": "markers", "showlegend": False,
                       "text": [r["label"] for r in runs], "marker": {"color": color, "size": 7, "opacity": 0.5},
                       "hovertemplate": "%{text}<br>" + f"{key} %{{x}}<br>{col} %{{y:.4g}}<extra></extra>"})
        traces.append({"x": xs, "y": [float(np.mean(by_value[v])) for v in values], "mode": "lines+markers",
                       "name": name, "line": {"color": color, "width": 2.5}})
    all_values = sorted({r["config"][key] for r in done}, key=lambda v: (isinstance(v, str), v))
    _, axis = _axis(all_values)
    by = f", a line per {' and '.join(lines_by)}" if lines_by else ", the mean over seeds"
    return {"data": traces + legend, "layout": {
        "title": {"text": f"final {col} vs {key}{by}"}, "xaxis": {"title": {"text": key}, **axis},
        "yaxis": yaxis, "shapes": shapes, "hovermode": "closest"}}


def _line_keys(done, others, shares):
    """The other keys whose value combinations make the lines: all of them while there are at
    most MAX_LINES combinations, else the one (with few enough values) that explains most."""
    if not others:
        return []
    combos = {tuple(_value(r, k) for k in others) for r in done}
    if len(combos) <= MAX_LINES:
        return list(others)
    few = [k for k in others if len({_value(r, k) for r in done}) <= MAX_LINES]
    return [max(few, key=lambda k: shares.get(k, 0.0))] if few else []


def _scatter(done, key, col, log_drawn, shapes, legend, yaxis):
    x = np.array([r["config"][key] for r in done], float)
    y = [final(r, col) for r in done]
    log = bool(log_drawn or (len(x) and (x > 0).all() and x.max() / x.min() >= 8))
    order = np.argsort(x)
    window = max(3, len(x) // 8)
    ys = np.array(y, float)[order]
    median = [float(np.median(ys[max(0, i - window // 2): i + window // 2 + 1])) for i in range(len(ys))]
    traces = [{"x": x.tolist(), "y": y, "mode": "markers", "name": "each run",
               "text": [r["label"] for r in done], "marker": {"color": CATEGORY[0], "size": 7, "opacity": 0.6},
               "hovertemplate": "%{text}<br>" + f"{key} %{{x:.4g}}<br>{col} %{{y:.4g}}<extra></extra>"},
              {"x": x[order].tolist(), "y": median, "mode": "lines", "name": f"running median of {window}",
               "line": {"color": CATEGORY[1], "width": 2.5}}]
    return {"data": traces + legend, "layout": {
        "title": {"text": f"final {col} vs {key} (sampled: each run a point)"},
        "xaxis": {"title": {"text": key + (" (log scale)" if log else "")}, "type": "log" if log else "linear"},
        "yaxis": yaxis, "shapes": shapes, "hovermode": "closest"}}


def target_vs(records, key):
    """Epochs to `train.target` against a swept key: each run that reached it a point, the
    median a line; the runs that did not are counted in the title."""
    def epoch(r):
        t = r["summary"].get("target")
        return t.get("epoch") if isinstance(t, dict) else None
    with_target = [r for r in records if "target" in r["summary"] and r["config"].get(key) is not None]
    reached = [r for r in with_target if epoch(r) is not None]
    by_value = {}
    for r in reached:
        by_value.setdefault(r["config"][key], []).append(epoch(r))
    values = sorted(by_value, key=lambda v: (isinstance(v, str), v))
    xs, axis = _axis(values)
    px, _ = _axis([r["config"][key] for r in reached])
    missed = len(with_target) - len(reached)
    return {"data": [
        {"x": px, "y": [epoch(r) for r in reached], "mode": "markers", "name": "each run",
         "text": [r["label"] for r in reached], "marker": {"color": CATEGORY[0], "size": 7, "opacity": 0.6},
         "hovertemplate": "%{text}<br>" + f"{key} %{{x}}<br>epoch %{{y}}<extra></extra>"},
        {"x": xs, "y": [float(np.median(by_value[v])) for v in values], "mode": "lines+markers",
         "name": "median", "line": {"color": CATEGORY[1], "width": 2.5}}],
        "layout": {"title": {"text": f"epochs to train.target vs {key} ({len(reached)} of "
                                     f"{len(with_target)} runs reached it{'' if not missed else f'; {missed} did not'})"},
                   "xaxis": {"title": {"text": key}, **axis}, "yaxis": {"title": {"text": "epochs to target"}},
                   "hovermode": "closest"}}
