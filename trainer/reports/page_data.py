"""What the report page shows, as JSON-ready data built from the runs' records
(rundir/collect.py): the progress line, the loss curves grouped by the swept or differing
keys, a sweep's charts and its results table (`train table`'s rows), the runs table, and
each run's details. build() takes these steps in turn.
"""
import json
import math
import time
from pathlib import Path

from trainer.reports import figures
from trainer.rundir import collect
from trainer.rundir.layout import RESULTS

FINAL_COLS = ("train_loss", "val_loss")


def build(records, sweeps, title, live, notes, images):
    """Everything the page shows, as JSON-ready data; `images`: {run path: its task view's
    path in the report folder, or None when the image budget was spent}."""
    metric = figures.metric_of(records)
    val_metric = f"val_{metric}"
    swept = list(dict.fromkeys(k for s in sweeps for k in collect.swept_keys(s)))
    differing = collect.differing_keys([r["config"] for r in records])
    keys = swept or differing
    groups, by = _curve_groups(records, keys, val_metric)
    curved, mixed = figures.one_loss(records)
    if mixed:   # the runs of the other loss are left out of the curves, and said
        notes = [*notes, mixed]
        groups = _groups(curved, keys)
    charts = _curve_charts(curved, groups, metric, by)
    sweep_info = results = None
    if swept and records:
        sweep_info = _sweep_charts(records, sweeps, swept, metric, charts)
        results = _results_table(records, swept)
    text, going = state(records, sweeps, live)
    return {"title": title, "made": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "state": text, "going": going,
            "notes": notes, "metric": val_metric, "keys": keys, "swept": bool(swept), "sweep": sweep_info,
            "table": _runs_table(records, differing, val_metric), "charts": charts,
            "runs": _run_details(records, differing, images), "results": results,
            "sources": [str(p) for p in sweeps]}


def _groups(records, keys):
    """The runs grouped by the values of `keys`, or one group per run without keys."""
    return figures.group(records, keys) if keys else [(r["label"], [i]) for i, r in enumerate(records)]


def _curve_groups(records, keys, val_metric):
    """(the curves' groups, how they are grouped when not by every key): too many groups to
    read are grouped by the one key that explains most of `val_metric` instead."""
    groups = _groups(records, keys)
    if len(groups) > figures.MAX_GROUPS and keys:
        few = [k for k in keys
               if len({json.dumps(r["config"].get(k)) for r in records}) <= figures.MAX_GROUPS]
        if few:
            shares = figures.variance_explained(records, few, val_metric)[0]
            key = max(few, key=lambda k: shares[k])
            return figures.group(records, [key]), f" grouped by {key} (explains most of {val_metric})"
    return groups, ""


def _curve_charts(records, groups, metric, by):
    """Training and validation loss curves, and the validation metric's unless it is the MSE
    (the loss itself)."""
    charts = [{"id": "curve-train", "spec": figures.curves(records, groups, "train", by=by)},
              {"id": "curve-val", "spec": figures.curves(records, groups, "val", by=by)}]
    if metric != "mse":
        charts.append({"id": "curve-metric", "spec": figures.curves(
            records, groups, "val", column=metric, log=False, by=by)})
    return charts


def _sweep_charts(records, sweeps, swept, metric, charts):
    """Add a sweep's charts to `charts` (final figure against each swept key, time to target,
    parallel coordinates, which keys matter); returns what the page says about the sweep."""
    from trainer.reports import sweep_figures
    val_metric = f"val_{metric}"
    method, params = "grid", {}
    for sweep_dir in sweeps:
        m, p = collect.sweep_params(sweep_dir)
        method, params = (m if m == "random" else method), {**params, **p}
    continuous = sweep_figures.continuous_keys(records, swept, method, params)
    matter, n, used_log = sweep_figures.which_keys_matter(records, swept, val_metric, continuous)
    for k in swept:
        spec = params.get(k)
        charts.append({"id": f"final-{k}", "spec": sweep_figures.final_vs(
            records, k, val_metric, [o for o in swept if o != k and o != "train.seed"], continuous,
            log_drawn=isinstance(spec, dict) and bool(spec.get("log")), shares=matter["one-way"])})
    if any("target" in r["summary"] for r in records):   # train.target set: time to it
        for k in swept:
            charts.append({"id": f"target-{k}", "spec": sweep_figures.target_vs(records, k)})
    cols = ["val_loss", val_metric] if val_metric != "val_loss" and metric != "mse" else [val_metric]
    charts.append({"id": "parallel", "spec": figures.parallel(records, swept, cols)})
    charts.append({"id": "variance", "spec": sweep_figures.matter_chart(matter, val_metric, used_log)})
    return {"keys": swept, "shares": matter["one-way"], "two_way": matter["two-way"],
            "rank": matter["rank"], "continuous": sorted(continuous), "n": n, "log": used_log,
            "metric": val_metric}


def _results_table(records, swept):
    """The sweep's answer, shown first: train table's rows of the readable runs (the same
    numbers), or None when no group has a run."""
    from trainer.analysis import results_table, table_text
    readable = [(r["config"], r["summary"]) for r in records
                if r["summary"].get("status") not in ("unreadable", None)]
    table = results_table.build(readable, [k for k in swept if k != "train.seed"])
    return table_text.as_data(table) if table.groups else None


def _runs_table(records, differing, val_metric):
    """The sortable table of runs: columns and a row per run (non-finite figures as None)."""
    finals = list(dict.fromkeys(c for c in (*FINAL_COLS, val_metric) if c))
    extra = sorted({k for r in records for k in (r["summary"].get("final") or {})} - set(finals))
    shown_keys = [k for k in differing if k not in ("task.name", "model.cell")]  # columns of their own
    columns = (["run", "status", "task", "cell"] + shown_keys + [f"final {c}" for c in finals + extra]
               + [f"best {val_metric}", "best epoch", "baseline val_loss", f"baseline {val_metric}",
                  "beats baseline", "target epoch", "steps", "wall_s"])
    rows = []
    for r in records:
        s, cfg = r["summary"], r["config"]
        final, best, base = s.get("final") or {}, s.get("best") or {}, s.get("baseline") or {}
        rows.append([r["label"], s.get("status", "no summary"), cfg.get("task.name"), cfg.get("model.cell")]
                    + [cfg.get(k) for k in shown_keys] + [_clean(final.get(c)) for c in finals + extra]
                    + [_clean(best.get(val_metric)), best.get("epoch"), _clean(base.get("val_loss")),
                       _clean(base.get(val_metric)), _yes_no(s.get("beats_baseline")),
                       (s.get("target") or {}).get("epoch") if isinstance(s.get("target"), dict) else None,
                       s.get("steps"), s.get("wall_s")])
    return {"columns": columns, "rows": rows}


def _run_details(records, differing, images):
    """Each run's config, summary (its provenance apart), curves, gradient reach and image."""
    runs = []
    for r in records:
        m = r["metrics"]
        s = dict(r["summary"])
        runs.append({"label": r["label"], "path": r["path"], "config": r["config"],
                     "differs": differing, "summary": s, "env": s.pop("env", None),
                     "train": {k: m["train"].get(k, []) for k in ("step", "loss", "lr")},
                     "val": {k: m["val"].get(k, []) for k in ("step", "epoch", "loss")},
                     "reach": r["reach"], "image": images.get(r["path"]),
                     "image_missing": r["task_png"] if r["task_png"] and images.get(r["path"]) is None else None})
    return runs


def _yes_no(v):
    return {True: "yes", False: "no"}.get(v)


def _clean(v):
    return v if not isinstance(v, float) or math.isfinite(v) else None


def state(records, sweeps, live):
    """What the page says about progress: finished, or still going."""
    counts = {}
    for r in records:
        s = r["summary"].get("status", "no summary")
        counts[s] = counts.get(s, 0) + 1
    planned = sum(_planned(s) for s in sweeps)
    parts = [", ".join(f"{n} {s}" for s, n in sorted(counts.items()))] if counts else []
    if planned > len(records):
        parts.append(f"{planned - len(records)} of the sweep's {planned} runs not started")
    text = "; ".join(parts) or "no runs yet"
    running = counts.get("running", 0)
    if live:
        return f"still going (the sweep is running): {text}", True
    if running:
        ages = [time.time() - r["mtime"] for r in records if r["summary"].get("status") == "running" and r["mtime"]]
        ago = f", last update {min(ages):.0f} s before this report" if ages else ""
        return f"still going ({running} running{ago}): {text}", True
    if not records:   # a sweep that has not finished a run yet: nothing to call finished
        return text, False
    return f"finished: {text}", False


def _planned(sweep_dir):
    try:
        with open(Path(sweep_dir) / RESULTS) as f:
            return max(sum(1 for _ in f) - 1, 0)
    except OSError:
        return 0
